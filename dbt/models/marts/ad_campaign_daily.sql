-- One row per store, date, ad platform and campaign (marketing.md marts.ad_campaign_daily). Platform-attributed
-- sales overlap across platforms and include sales that happened anyway: never add them to net sales.
with campaign_days as (

    select * from {{ ref('int_ad_campaign_days') }}

),

final as (

    select
        store_id,
        ad_date as "date",
        ad_platform,
        campaign,
        {{ money('spend') }} as spend,
        cast(impressions as bigint) as impressions,
        cast(clicks as bigint) as clicks,
        attributed_orders,
        {{ money('attributed_sales') }} as attributed_sales,
        {{ safe_divide('clicks', 'impressions') }} as ctr,
        {{ safe_divide('spend', 'clicks') }} as cpc,
        {{ safe_divide('spend', 'impressions') }} * 1000 as cpm,
        {{ safe_divide('attributed_orders', 'clicks') }} as cvr,
        {{ safe_divide('attributed_sales', 'spend') }} as roas
    from campaign_days

)

select * from final

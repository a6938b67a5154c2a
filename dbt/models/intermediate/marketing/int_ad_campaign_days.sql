-- One row per store, day, ad platform and campaign up to D, latest export wins.
with spend as (

    select * from {{ ref('stg_ad_spend') }}
    where export_date <= {{ run_date() }}
      and ad_date <= {{ run_date() }}

),

ranked as (

    select
        spend.*,
        {{ latest_version_rank('store_id, ad_date, ad_platform, campaign') }} as version_rank
    from spend

),

final as (

    select
        store_id,
        ad_date,
        ad_platform,
        campaign,
        spend,
        impressions,
        clicks,
        attributed_orders,
        attributed_sales
    from ranked
    where version_rank = 1

)

select * from final

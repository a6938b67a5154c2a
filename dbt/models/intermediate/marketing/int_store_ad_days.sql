-- Ad spend per store and day for kpi_store_daily: 0 on a day inside the span of the store's ad rows without any
-- (the store advertises, not that day), no row outside it or for a store without ad exports (unknown, NULL).
with campaign_days as (

    select * from {{ ref('int_ad_campaign_days') }}

),

spans as (

    select store_id, min(ad_date) as first_date, max(ad_date) as last_date
    from campaign_days
    group by store_id

),

daily as (

    select
        store_id,
        ad_date,
        sum(spend) as ad_spend,
        sum(attributed_sales) as attributed_sales
    from campaign_days
    group by store_id, ad_date

),

final as (

    select
        store_days.store_id,
        store_days."date",
        {{ money('coalesce(daily.ad_spend, 0)') }} as ad_spend,
        {{ money('coalesce(daily.attributed_sales, 0)') }} as attributed_sales
    from {{ ref('int_store_days') }} as store_days
    inner join spans
        on store_days.store_id = spans.store_id
        and store_days."date" between spans.first_date and spans.last_date
    left join daily
        on store_days.store_id = daily.store_id
        and store_days."date" = daily.ad_date

)

select * from final

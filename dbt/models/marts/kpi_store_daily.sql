-- One row per store and date, without gaps from the store's first paid order or traffic day to D
-- (kpis.md marts.kpi_store_daily). Ratios are NULL when their denominator is 0 or unknown.
with store_days as (

    select * from {{ ref('int_store_days') }}

),

stores as (

    select * from {{ ref('stg_stores') }}

),

phases as (  -- targets.md: the thresholds in force on each day

    select * from {{ ref('int_store_thresholds') }}

),

traffic as (

    select * from {{ ref('int_daily_traffic') }}

),

daily_reviews as (

    select * from {{ ref('int_daily_reviews') }}

),

daily_orders as (

    select
        store_id,
        paid_date,
        count(*) as orders,
        -- an anonymous order is its own one-off customer
        count(distinct customer_key) + sum(case when is_anonymous then 1 else 0 end) as buyers,
        sum(case when is_anonymous then 1 else 0 end) as anonymous_buyers,
        sum(units) as units,
        sum(gross_sales) as gross_sales,
        sum(discounts) as discounts,
        sum(net_sales) as net_sales,
        sum(refunds) as refunds
    from {{ ref('int_order_facts') }}
    group by store_id, paid_date

),

first_time_customers as (

    select store_id, first_paid_date, count(*) as customers
    from {{ ref('int_customer_first_orders') }}
    group by store_id, first_paid_date

),

reviews_30d as (

    select
        store_days.store_id,
        store_days."date",
        sum(daily_reviews.reviews) as reviews,
        sum(daily_reviews.positive_reviews) as positive_reviews
    from store_days
    inner join daily_reviews
        on store_days.store_id = daily_reviews.store_id
        and daily_reviews.review_date between {{ add_days('store_days."date"', -29) }} and store_days."date"
    group by store_days.store_id, store_days."date"

),

snapshots as (

    select
        store_id,
        "date",
        count(*) as skus_in_snapshot,
        sum(case when stockout then 1 else 0 end) as skus_stockout,
        sum(case when low_cover then 1 else 0 end) as skus_low_cover,
        sum(case when units_28d > 0 then 1 else 0 end) as skus_selling_28d
    from {{ ref('stock_cover') }}
    group by store_id, "date"

),

ad_days as (  -- marketing.md: NULL for a store without any ad_spend export

    select * from {{ ref('int_store_ad_days') }}

),

customer_daily as (

    select * from {{ ref('int_customer_daily') }}

),

joined as (

    select
        store_days.store_id,
        store_days."date",
        stores.platform,
        stores.currency,
        traffic.visitors,
        traffic.sessions,
        traffic.pageviews,
        cast(coalesce(daily_orders.orders, 0) as bigint) as orders,
        cast(coalesce(daily_orders.buyers, 0) as bigint) as buyers,
        cast(coalesce(daily_orders.units, 0) as bigint) as units,
        {{ money('coalesce(daily_orders.gross_sales, 0)') }} as gross_sales,
        {{ money('coalesce(daily_orders.discounts, 0)') }} as discounts,
        {{ money('coalesce(daily_orders.net_sales, 0)') }} as net_sales,
        {{ money('coalesce(daily_orders.refunds, 0)') }} as refunds,
        cast(coalesce(first_time_customers.customers, 0) + coalesce(daily_orders.anonymous_buyers, 0) as bigint)
            as new_buyers,
        cast(coalesce(daily_reviews.reviews, 0) as bigint) as reviews,
        reviews_30d.reviews as reviews_30d,
        reviews_30d.positive_reviews as positive_reviews_30d,
        cast(snapshots.skus_in_snapshot as bigint) as skus_in_snapshot,
        cast(snapshots.skus_stockout as bigint) as skus_stockout,
        cast(snapshots.skus_low_cover as bigint) as skus_low_cover,
        snapshots.skus_selling_28d,
        phase.daily_orders_min as daily_orders_target,
        phase.conversion_rate_min as conversion_rate_target,
        stores.goal_daily_orders,
        ad_days.ad_spend,
        ad_days.attributed_sales,
        customer_daily.repurchase_rate_30d,
        customer_daily.loyal_customers
    from store_days
    inner join stores
        on store_days.store_id = stores.store_id
    inner join phases as phase
        on store_days.store_id = phase.store_id
        and {{ in_phase('phase', 'store_days."date"') }}
    left join traffic
        on store_days.store_id = traffic.store_id
        and store_days."date" = traffic.traffic_date
    left join daily_orders
        on store_days.store_id = daily_orders.store_id
        and store_days."date" = daily_orders.paid_date
    left join first_time_customers
        on store_days.store_id = first_time_customers.store_id
        and store_days."date" = first_time_customers.first_paid_date
    left join daily_reviews
        on store_days.store_id = daily_reviews.store_id
        and store_days."date" = daily_reviews.review_date
    left join reviews_30d
        on store_days.store_id = reviews_30d.store_id
        and store_days."date" = reviews_30d."date"
    left join snapshots
        on store_days.store_id = snapshots.store_id
        and store_days."date" = snapshots."date"
    left join ad_days
        on store_days.store_id = ad_days.store_id
        and store_days."date" = ad_days."date"
    left join customer_daily
        on store_days.store_id = customer_daily.store_id
        and store_days."date" = customer_daily."date"

),

final as (

    select
        store_id,
        "date",
        platform,
        currency,
        visitors,
        sessions,
        pageviews,
        orders,
        buyers,
        units,
        gross_sales,
        discounts,
        net_sales,
        refunds,
        {{ safe_divide('net_sales', 'orders') }} as aov,
        {{ safe_divide('net_sales', 'buyers') }} as sales_per_buyer,
        {{ safe_divide('units', 'orders') }} as units_per_order,
        {{ safe_divide('orders', 'visitors') }} as conversion_rate,
        {{ safe_divide('buyers', 'visitors') }} as buyer_conversion_rate,
        new_buyers,
        buyers - new_buyers as returning_buyers,
        {{ safe_divide('buyers - new_buyers', 'buyers') }} as returning_buyer_rate,
        {{ safe_divide('refunds', 'net_sales') }} as refund_rate,
        reviews,
        {{ safe_divide('positive_reviews_30d', 'reviews_30d') }} as positive_review_rate_30d,
        skus_in_snapshot,
        skus_stockout,
        skus_low_cover,
        {{ safe_divide('skus_selling_28d', 'skus_in_snapshot') }} as sell_through_rate_28d,
        daily_orders_target,
        ad_spend,
        attributed_sales,
        {{ safe_divide('net_sales', 'ad_spend') }} as mer,
        {{ safe_divide('ad_spend', 'net_sales') }} as ad_spend_share,
        {{ safe_divide('ad_spend', 'new_buyers') }} as new_buyer_cac,
        repurchase_rate_30d,
        loyal_customers,
        conversion_rate_target,
        case when conversion_rate_target > 0 then daily_orders_target / conversion_rate_target end
            as visitors_needed,
        case when conversion_rate_target > 0 then goal_daily_orders / conversion_rate_target end
            as visitors_needed_for_goal
    from joined

)

select * from final

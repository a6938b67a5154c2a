-- One row per breach of a rule of kpis.md marts.kpi_alerts, for every date up to D. The pipeline e-mails only
-- the rows dated D; older rows are kept so alert history can be queried.
with stores as (

    select
        store_id,
        store_name || ' (' || store_id || ')' as store_label,
        conversion_rate_min,
        positive_review_rate_min,
        daily_orders_min,
        cover_days_min
    from {{ ref('stg_stores') }}

),

daily as (

    select daily.*, stores.store_label, stores.conversion_rate_min, stores.positive_review_rate_min,
           stores.daily_orders_min
    from {{ ref('kpi_store_daily') }} as daily
    inner join stores on daily.store_id = stores.store_id

),

conversion_below_target as (

    select
        store_id, "date", 'conversion_below_target' as rule, 'ops' as owner_role, 'warning' as severity,
        cast(null as varchar) as sku, cast(null as varchar) as order_id, cast(null as integer) as line_number,
        conversion_rate as value, conversion_rate_min as threshold,
        store_label || ' converted ' || {{ format_percent('conversion_rate') }} || ' of visitors on '
            || cast("date" as varchar) || ', below the target of ' || {{ format_percent('conversion_rate_min') }}
            || '.' as message
    from daily
    where conversion_rate < conversion_rate_min

),

orders_below_target as (

    select
        store_id, "date", 'orders_below_target', 'ops', 'warning',
        cast(null as varchar), cast(null as varchar), cast(null as integer),
        cast(orders as double precision), cast(daily_orders_min as double precision),
        store_label || ' had ' || cast(orders as varchar) || ' paid orders on ' || cast("date" as varchar)
            || ', below the daily target of ' || cast(daily_orders_min as varchar) || '.'
    from daily
    where orders < daily_orders_min

),

positive_review_rate_low as (

    select
        store_id, "date", 'positive_review_rate_low', 'customer_service', 'warning',
        cast(null as varchar), cast(null as varchar), cast(null as integer),
        positive_review_rate_30d, positive_review_rate_min,
        store_label || ' had a 30-day positive review rate of ' || {{ format_percent('positive_review_rate_30d') }}
            || ' on ' || cast("date" as varchar) || ', below the minimum of '
            || {{ format_percent('positive_review_rate_min') }} || '.'
    from daily
    where positive_review_rate_30d < positive_review_rate_min

),

traffic_drop as (

    select
        current_day.store_id, current_day."date", 'traffic_drop', 'marketing', 'warning',
        cast(null as varchar), cast(null as varchar), cast(null as integer),
        cast(current_day.visitors as double precision), 0.7 * previous_day.visitors,
        current_day.store_label || ' had ' || cast(current_day.visitors as varchar) || ' visitors on '
            || cast(current_day."date" as varchar) || ', below 70% of the '
            || cast(previous_day.visitors as varchar) || ' visitors a week earlier ('
            || {{ format_number('0.7 * previous_day.visitors', 1) }} || ').'
    from daily as current_day
    inner join daily as previous_day
        on current_day.store_id = previous_day.store_id
        and previous_day."date" = {{ add_days('current_day."date"', -7) }}
    where current_day.visitors < 0.7 * previous_day.visitors

),

cover as (

    select cover.*, stores.store_label, replenishment.suggested_order_qty
    from {{ ref('stock_cover') }} as cover
    inner join stores on cover.store_id = stores.store_id
    left join {{ ref('replenishment') }} as replenishment
        on cover.store_id = replenishment.store_id
        and cover.sku = replenishment.sku
        and cover."date" = replenishment."date"

),

stockout as (

    select
        store_id, "date", 'stockout', 'merchandiser', 'critical',
        sku, cast(null as varchar), cast(null as integer),
        cast(on_hand as double precision), cast(0 as double precision),
        store_label || ': SKU ' || sku || ' is stocked out (on hand ' || cast(on_hand as varchar) || ') on '
            || cast("date" as varchar) || ' after selling ' || cast(units_28d as varchar)
            || ' units in 28 days; suggested order: ' || cast(suggested_order_qty as varchar) || ' units.'
    from cover
    where stockout and units_28d > 0

),

low_cover as (

    select
        cover.store_id, cover."date", 'low_cover', 'merchandiser', 'warning',
        cover.sku, cast(null as varchar), cast(null as integer),
        cover.days_of_cover, stores.cover_days_min,
        cover.store_label || ': SKU ' || cover.sku || ' has ' || {{ format_number('cover.days_of_cover', 1) }}
            || ' days of cover on ' || cast(cover."date" as varchar) || ', below the minimum of '
            || {{ format_number('stores.cover_days_min', 1) }} || ' days; suggested order: '
            || cast(cover.suggested_order_qty as varchar) || ' units.'
    from cover
    inner join stores on cover.store_id = stores.store_id
    where cover.low_cover

),

discount_floor as (

    select
        violations.store_id, violations."date", 'discount_floor', 'ops', 'critical',
        violations.sku, violations.order_id, violations.line_number,
        violations.price_ratio, violations.discount_floor,
        stores.store_label || ': order ' || violations.order_id || ' sold SKU ' || coalesce(violations.sku, '?')
            || ' at ' || {{ format_percent('violations.price_ratio') }} || ' of its list price on '
            || cast(violations."date" as varchar) || ', below the floor of '
            || {{ format_percent('violations.discount_floor') }} || '.'
    from {{ ref('discount_violations') }} as violations
    inner join stores on violations.store_id = stores.store_id

),

{# missing_data: a configured store with no orders export or no traffic covering a day. Checked on every day of
   the store's calendar and always on D (also for a store that never sent anything). -#}
checked_days as (

    select store_id, "date" from {{ ref('int_store_days') }}
    union
    select store_id, {{ run_date() }} from stores

),

orders_covered as (

    select distinct store_id, export_date as "date"
    from {{ ref('stg_export_files') }}
    where dataset = 'orders' and status = 'loaded' and export_date <= {{ run_date() }}
    union
    select distinct store_id, export_date from {{ ref('stg_orders') }} where export_date <= {{ run_date() }}
    union
    select distinct store_id, paid_date from {{ ref('int_order_facts') }}

),

coverage as (

    select
        checked_days.store_id,
        checked_days."date",
        orders_covered."date" is not null as has_orders,
        traffic.traffic_date is not null as has_traffic
    from checked_days
    left join orders_covered
        on checked_days.store_id = orders_covered.store_id
        and checked_days."date" = orders_covered."date"
    left join {{ ref('int_daily_traffic') }} as traffic
        on checked_days.store_id = traffic.store_id
        and checked_days."date" = traffic.traffic_date

),

missing_data as (

    select
        coverage.store_id, coverage."date", 'missing_data', 'data', 'warning',
        cast(null as varchar), cast(null as varchar), cast(null as integer),
        cast(null as double precision), cast(null as double precision),
        stores.store_label || ' has no '
            || case
                when not coverage.has_orders and not coverage.has_traffic then 'orders export and no traffic'
                when not coverage.has_orders then 'orders export'
                else 'traffic'
            end
            || ' covering ' || cast(coverage."date" as varchar) || '.'
    from coverage
    inner join stores on coverage.store_id = stores.store_id
    where not (coverage.has_orders and coverage.has_traffic)

),

unioned as (

    select * from conversion_below_target
    union all select * from orders_below_target
    union all select * from positive_review_rate_low
    union all select * from traffic_drop
    union all select * from stockout
    union all select * from low_cover
    union all select * from discount_floor
    union all select * from missing_data

),

{# marketing.md: rules about one campaign name it in `campaign` #}
with_campaign as (

    select unioned.*, cast(null as varchar) as campaign from unioned
    union all select * from {{ ref('int_alerts_roas_below_target') }}

),

{#- merchandising.md rules; promo_date tells apart a SKU's alerts for two promo days -#}
with_merchandising as (

    select with_campaign.*, cast(null as date) as promo_date from with_campaign
    union all
    select
        store_id, "date", rule, owner_role, severity, sku, order_id, line_number, value, threshold, message,
        cast(null as varchar) as campaign, promo_date
    from {{ ref('merchandising_alerts') }}

),

final as (

    select
        store_id || '|' || cast("date" as varchar) || '|' || rule || '|' || coalesce(sku, '') || '|'
            || coalesce(order_id, '') || '|' || coalesce(cast(line_number as varchar), '')
            || coalesce('|' || campaign, '') || coalesce('|' || cast(promo_date as varchar), '') as alert_id,
        store_id,
        "date",
        rule,
        owner_role,
        severity,
        sku,
        order_id,
        line_number,
        cast(value as double precision) as value,
        cast(threshold as double precision) as threshold,
        message,
        campaign,
        promo_date
    from with_merchandising

)

select * from final

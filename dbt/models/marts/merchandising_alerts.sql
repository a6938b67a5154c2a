-- The merchandiser's rules of merchandising.md "Alerts" (hero_stock_low, promo_stock_risk), in kpi_alerts' columns
-- plus promo_date; kpi_alerts adds them to its other rules (read alerts from kpi_alerts).
with stores as (

    select store_id, store_name || ' (' || store_id || ')' as store_label, hero_min_on_hand
    from {{ ref('stg_stores') }}

),

heroes as (

    select distinct store_id, sku from {{ ref('int_hero_skus') }}

),

snapshot_dates as (

    select distinct store_id, snapshot_date as "date" from {{ ref('int_stock_snapshots') }}

),

-- every hero on every snapshot date of its store; absent from that snapshot: on hand 0
hero_stock as (

    select
        snapshot_dates.store_id,
        snapshot_dates."date",
        heroes.sku,
        coalesce(replenishment.on_hand, 0) as on_hand,
        coalesce(replenishment.suggested_order_qty, stores.hero_min_on_hand) as suggested_order_qty,
        stores.hero_min_on_hand,
        stores.store_label
    from snapshot_dates
    inner join heroes
        on snapshot_dates.store_id = heroes.store_id
    inner join stores
        on snapshot_dates.store_id = stores.store_id
    left join {{ ref('replenishment') }} as replenishment
        on snapshot_dates.store_id = replenishment.store_id
        and snapshot_dates."date" = replenishment."date"
        and heroes.sku = replenishment.sku

),

hero_stock_low as (

    select
        store_id, "date", 'hero_stock_low' as rule, 'merchandiser' as owner_role,
        case when on_hand <= 0 then 'critical' else 'warning' end as severity,
        sku, cast(null as varchar) as order_id, cast(null as integer) as line_number,
        cast(on_hand as double precision) as value, cast(hero_min_on_hand as double precision) as threshold,
        store_label || ': hero SKU ' || sku || ' has ' || cast(on_hand as varchar) || ' units on hand on '
            || cast("date" as varchar) || ', below the minimum of ' || cast(hero_min_on_hand as varchar)
            || '; suggested order: ' || cast(suggested_order_qty as varchar) || ' units.' as message,
        cast(null as date) as promo_date
    from hero_stock
    where on_hand < hero_min_on_hand

),

promo_stock_risk as (

    select
        readiness.store_id, {{ run_date() }} as "date", 'promo_stock_risk', 'merchandiser',
        case when readiness.days_until <= 7 then 'critical' else 'warning' end,
        readiness.sku, cast(null as varchar), cast(null as integer),
        cast(readiness.shortfall as double precision), cast(0 as double precision),
        stores.store_label || ': SKU ' || readiness.sku || ' is ' || cast(readiness.shortfall as varchar)
            || ' units short for the promo day ' || cast(readiness.promo_date as varchar) || ' (in '
            || cast(readiness.days_until as varchar) || ' days; decide by '
            || cast(readiness.decision_due as varchar) || ').',
        readiness.promo_date
    from {{ ref('promo_readiness') }} as readiness
    inner join stores on readiness.store_id = stores.store_id
    where readiness.shortfall > 0

),

final as (

    select * from hero_stock_low
    union all
    select * from promo_stock_risk

)

select * from final

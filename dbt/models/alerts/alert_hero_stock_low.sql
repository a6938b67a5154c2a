-- hero_stock_low (merchandising.md): a hero SKU under hero_min_on_hand in a stock snapshot of its store; absent
-- from the snapshot counts as 0 on hand. Critical at 0 or less. The rule's row is in dbt_project.yml `alert_rules`.
with stores as (  -- one row per store and threshold phase (targets.md): the minimum in force on the snapshot date

    select
        stg_stores.store_id,
        stg_stores.store_name || ' (' || stg_stores.store_id || ')' as store_label,
        phase.valid_from,
        phase.valid_to,
        phase.hero_min_on_hand
    from {{ ref('stg_stores') }} as stg_stores
    inner join {{ ref('int_store_thresholds') }} as phase
        on stg_stores.store_id = phase.store_id

),

heroes as (

    select distinct store_id, sku from {{ ref('int_hero_skus') }}

),

snapshot_dates as (

    select distinct store_id, snapshot_date as "date" from {{ ref('int_stock_snapshots') }}

),

-- every hero on every snapshot date of its store
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
        and {{ in_phase('stores', 'snapshot_dates."date"') }}
    left join {{ ref('replenishment') }} as replenishment
        on snapshot_dates.store_id = replenishment.store_id
        and snapshot_dates."date" = replenishment."date"
        and heroes.sku = replenishment.sku

),

final as (

    select
        store_id,
        "date",
        case when on_hand <= 0 then 'critical' else 'warning' end as severity,
        sku,
        cast(on_hand as double precision) as value,
        cast(hero_min_on_hand as double precision) as threshold,
        store_label || ': hero SKU ' || sku || ' has ' || cast(on_hand as varchar) || ' units on hand on '
            || cast("date" as varchar) || ', below the minimum of ' || cast(hero_min_on_hand as varchar)
            || '; suggested order: ' || cast(suggested_order_qty as varchar) || ' units.' as message
    from hero_stock
    where on_hand < hero_min_on_hand

)

select * from final

-- Days of stock cover per store, SKU and snapshot date (kpis.md marts.stock_cover).
with snapshots as (

    select * from {{ ref('int_stock_snapshots') }}

),

sku_units as (

    select * from {{ ref('int_sku_daily_units') }}

),

stores as (

    -- targets.md: the cover_days_min in force on the row's date
    select store_id, valid_from, valid_to, cover_days_min from {{ ref('int_store_thresholds') }}

),

store_first_paid as (

    select store_id, min(paid_date) as first_paid_date
    from {{ ref('int_order_facts') }}
    group by store_id

),

catalogue_names as (

    select * from {{ ref('int_product_list_prices') }}

),

units_28d as (

    select
        snapshots.store_id,
        snapshots.sku,
        snapshots.snapshot_date,
        coalesce(sum(sku_units.units), 0) as units_28d
    from snapshots
    left join sku_units
        on snapshots.store_id = sku_units.store_id
        and snapshots.sku = sku_units.sku
        and sku_units.sales_date between {{ add_days('snapshots.snapshot_date', -27) }} and snapshots.snapshot_date
    group by snapshots.store_id, snapshots.sku, snapshots.snapshot_date

),

demand as (

    select
        snapshots.store_id,
        snapshots.sku,
        snapshots.snapshot_date,
        coalesce(snapshots.product_name, catalogue_names.product_name) as product_name,
        snapshots.on_hand,
        cast(units_28d.units_28d as bigint) as units_28d,
        -- NULL before the store's first paid order: there is no sales window to average over yet.
        case
            when store_first_paid.first_paid_date <= snapshots.snapshot_date
                then least(28, snapshots.snapshot_date - store_first_paid.first_paid_date + 1)
        end as window_days,
        stores.cover_days_min
    from snapshots
    inner join stores
        on snapshots.store_id = stores.store_id
        and {{ in_phase('stores', 'snapshots.snapshot_date') }}
    inner join units_28d
        on snapshots.store_id = units_28d.store_id
        and snapshots.sku = units_28d.sku
        and snapshots.snapshot_date = units_28d.snapshot_date
    left join store_first_paid
        on snapshots.store_id = store_first_paid.store_id
    left join catalogue_names
        on snapshots.store_id = catalogue_names.store_id
        and snapshots.sku = catalogue_names.sku
        and catalogue_names.valid_from <= snapshots.snapshot_date
        and (catalogue_names.valid_to is null or snapshots.snapshot_date < catalogue_names.valid_to)

),

cover as (

    select
        demand.*,
        {{ safe_divide('units_28d', 'window_days') }} as avg_daily_units,
        -- max(on_hand, 0) / (units_28d / window_days), written with one division so exact cases stay exact
        case
            when units_28d > 0
                then {{ safe_divide('greatest(on_hand, 0) * window_days', 'units_28d') }}
        end as days_of_cover,
        on_hand <= 0 as stockout
    from demand

),

final as (

    select
        store_id,
        sku,
        snapshot_date as "date",
        product_name,
        on_hand,
        units_28d,
        cast(window_days as integer) as window_days,
        avg_daily_units,
        days_of_cover,
        stockout,
        not stockout and coalesce(days_of_cover < cover_days_min, false) as low_cover
    from cover

)

select * from final

-- ABC classes and product roles per store and SKU as of D (merchandising.md marts.product_classes).
with product_daily as (

    select * from {{ ref('product_daily') }}

),

stores as (

    select store_id, dead_stock_days from {{ ref('int_store_thresholds') }} as phase
    where {{ in_phase('phase', run_date()) }}  -- targets.md: the value in force on D

),

heroes as (

    select distinct store_id, sku from {{ ref('int_hero_skus') }}

),

latest_snapshot as (

    select snapshots.store_id, snapshots.sku, snapshots.on_hand
    from {{ ref('int_stock_snapshots') }} as snapshots
    inner join (
        select store_id, max(snapshot_date) as snapshot_date
        from {{ ref('int_stock_snapshots') }}
        group by store_id
    ) as latest
        on snapshots.store_id = latest.store_id
        and snapshots.snapshot_date = latest.snapshot_date

),

sales_90d as (

    select
        store_id,
        sku,
        sum(units) as units_90d,
        sum(net_sales) as net_sales_90d,
        -- NULL when any sold day lacks a cost
        case when count(*) = count(unit_cost) then sum(gross_profit) end as gross_profit_90d
    from product_daily
    where "date" between {{ add_days(run_date(), -89) }} and {{ run_date() }}
    group by store_id, sku

),

last_sold as (

    select store_id, sku, max("date") as last_sold_date
    from product_daily
    group by store_id, sku

),

population as (

    select store_id, sku from sales_90d
    union
    select store_id, sku from latest_snapshot

),

measured as (

    select
        population.store_id,
        population.sku,
        coalesce(sales_90d.units_90d, 0) as units_90d,
        coalesce(sales_90d.net_sales_90d, 0) as net_sales_90d,
        case when sales_90d.sku is null then 0 else sales_90d.gross_profit_90d end as gross_profit_90d,
        heroes.sku is not null as is_hero,
        latest_snapshot.on_hand,
        last_sold.last_sold_date,
        stores.dead_stock_days
    from population
    inner join stores
        on population.store_id = stores.store_id
    left join sales_90d
        on population.store_id = sales_90d.store_id
        and population.sku = sales_90d.sku
    left join heroes
        on population.store_id = heroes.store_id
        and population.sku = heroes.sku
    left join latest_snapshot
        on population.store_id = latest_snapshot.store_id
        and population.sku = latest_snapshot.sku
    left join last_sold
        on population.store_id = last_sold.store_id
        and population.sku = last_sold.sku

),

classed as (

    select
        measured.*,
        {{ safe_divide('gross_profit_90d', 'net_sales_90d') }} as margin_90d,
        {{ safe_divide('net_sales_90d', 'sum(net_sales_90d) over (partition by store_id)') }} as sales_share,
        case when units_90d = 0 then 'U' else {{ abc_class('net_sales_90d') }} end as abc_class,
        case when units_90d = 0 then 'U' else {{ abc_class('units_90d') }} end as units_class,
        case when gross_profit_90d is null then null when units_90d = 0 then 'U'
            else {{ abc_class('gross_profit_90d', 'store_id, gross_profit_90d is null') }} end as profit_class,
        -- the store's margin over all SKUs with a known cost in the 90 days
        {{ safe_divide('sum(gross_profit_90d) over (partition by store_id)',
                       'sum(case when gross_profit_90d is not null then net_sales_90d end) over (partition by store_id)') }}
            as store_margin_90d,
        coalesce(on_hand > 0, false)
            and (last_sold_date is null
                 or last_sold_date < {{ add_days(run_date(), '1 - dead_stock_days') }}) as dead_stock
    from measured

),

final as (

    select
        store_id,
        sku,
        cast(units_90d as bigint) as units_90d,
        cast(net_sales_90d as double precision) as net_sales_90d,
        cast(gross_profit_90d as double precision) as gross_profit_90d,
        margin_90d,
        sales_share,
        abc_class,
        units_class,
        profit_class,
        is_hero,
        cast(on_hand as bigint) as on_hand,
        last_sold_date,
        dead_stock,
        case
            when is_hero then 'hero'
            when dead_stock then 'dead_stock'
            when profit_class = 'A' then 'profit_driver'
            when units_class = 'A' and margin_90d < store_margin_90d then 'traffic_driver'
            else 'long_tail'
        end as role
    from classed

)

select * from final

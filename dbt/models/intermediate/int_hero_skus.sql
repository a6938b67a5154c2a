-- Hero SKUs per store as of D (merchandising.md): the configured list; a store without one gets its 2 SKUs with
-- the most units in D-27 ... D (ties: SKU ascending).
with configured as (

    select distinct store_id, sku from {{ ref('stg_hero_skus') }}

),

stores as (

    select store_id from {{ ref('stg_stores') }}

),

units_28d as (

    select store_id, sku, sum(units) as units_28d
    from {{ ref('int_sku_daily_units') }}
    where sales_date between {{ add_days(run_date(), -27) }} and {{ run_date() }}
    group by store_id, sku
    having sum(units) > 0

),

ranked as (

    select
        units_28d.store_id,
        units_28d.sku,
        row_number() over (
            partition by units_28d.store_id order by units_28d.units_28d desc, {{ bytewise('units_28d.sku') }}
        ) as sales_rank
    from units_28d
    where units_28d.store_id not in (select store_id from configured)

),

final as (

    select configured.store_id, configured.sku, true as is_configured
    from configured
    inner join stores on configured.store_id = stores.store_id
    union all
    select store_id, sku, false
    from ranked
    where sales_rank <= 2

)

select * from final

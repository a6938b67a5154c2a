-- Reorder point and suggested order quantity per store, SKU and stock snapshot date (merchandising.md
-- marts.replenishment): the rows of stock_cover.
with cover as (

    select * from {{ ref('stock_cover') }}

),

sku_units as (

    select * from {{ ref('int_sku_daily_units') }}

),

stores as (

    -- targets.md: the phases; each snapshot row takes the one in force on its date
    select store_id, valid_from, valid_to, lead_time_days, review_days, service_level_z, hero_min_on_hand
    from {{ ref('int_store_thresholds') }}

),

heroes as (

    select distinct store_id, sku from {{ ref('int_hero_skus') }}

),

lead_times as (

    select * from {{ ref('int_product_lead_times') }}

),

-- Σ units and Σ units² over the window_days days ending on the snapshot date (days without sales add 0)
window_sums as (

    select
        cover.store_id,
        cover.sku,
        cover."date",
        coalesce(sum(sku_units.units), 0) as units_sum,
        coalesce(sum(sku_units.units * sku_units.units), 0) as units_sum_sq
    from cover
    left join sku_units
        on cover.store_id = sku_units.store_id
        and cover.sku = sku_units.sku
        and sku_units.sales_date between {{ add_days('cover."date"', '1 - cover.window_days') }} and cover."date"
    group by cover.store_id, cover.sku, cover."date"

),

demand as (

    select
        cover.store_id,
        cover.sku,
        cover."date",
        cover.product_name,
        cover.on_hand,
        cover.units_28d,
        cover.avg_daily_units,
        cover.window_days,
        cover.days_of_cover,
        cover.stockout,
        cover.low_cover,
        -- population standard deviation, from integer sums: sqrt(n Σx² − (Σx)²) / n
        sqrt(cast(cover.window_days * window_sums.units_sum_sq - window_sums.units_sum * window_sums.units_sum
                  as double precision)) / cover.window_days as demand_std,
        cast(coalesce(lead_times.lead_time_days, stores.lead_time_days) as integer) as lead_time_days,
        stores.review_days,
        stores.service_level_z,
        stores.hero_min_on_hand,
        heroes.sku is not null as is_hero
    from cover
    inner join stores
        on cover.store_id = stores.store_id
        and {{ in_phase('stores', 'cover."date"') }}
    inner join window_sums
        on cover.store_id = window_sums.store_id
        and cover.sku = window_sums.sku
        and cover."date" = window_sums."date"
    left join lead_times
        on cover.store_id = lead_times.store_id
        and cover.sku = lead_times.sku
    left join heroes
        on cover.store_id = heroes.store_id
        and cover.sku = heroes.sku

),

points as (

    select
        demand.*,
        service_level_z * demand_std * sqrt(cast(lead_time_days as double precision)) as safety_stock,
        avg_daily_units * lead_time_days
            + service_level_z * demand_std * sqrt(cast(lead_time_days as double precision)) as demand_point
    from demand

),

floored as (

    select
        points.*,
        -- a hero SKU keeps at least hero_min_on_hand (also before the store's first sale, when there is no demand)
        case
            when is_hero then greatest(coalesce(demand_point, 0), hero_min_on_hand)
            else demand_point
        end as reorder_point
    from points

),

ordered as (

    select
        store_id,
        sku,
        "date",
        product_name,
        on_hand,
        units_28d,
        avg_daily_units,
        window_days,
        days_of_cover,
        stockout,
        low_cover,
        demand_std,
        lead_time_days,
        safety_stock,
        reorder_point,
        case
            when is_hero then greatest(reorder_point + coalesce(avg_daily_units, 0) * review_days, hero_min_on_hand)
            else reorder_point + avg_daily_units * review_days
        end as order_up_to,
        is_hero,
        coalesce(greatest(on_hand, 0) <= reorder_point and (avg_daily_units > 0 or is_hero), false)
            as needs_reorder
    from floored

),

final as (

    select
        ordered.*,
        case
            when needs_reorder then cast(ceil(order_up_to - greatest(on_hand, 0)) as bigint)
            else 0
        end as suggested_order_qty
    from ordered

)

select * from final

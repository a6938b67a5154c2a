-- Paid order lines sold below the store's discount floor outside promo days (kpis.md marts.discount_violations).
with lines as (

    select * from {{ ref('int_paid_order_lines') }}

),

list_prices as (

    select * from {{ ref('int_product_list_prices') }}

),

stores as (

    -- targets.md: the discount_floor in force on the row's date
    select store_id, valid_from, valid_to, discount_floor from {{ ref('int_store_thresholds') }}

),

promo_days as (

    select distinct store_id, promo_date from {{ ref('stg_promo_days') }}

),

priced as (

    select
        lines.store_id,
        lines.paid_date,
        lines.order_id,
        lines.line_number,
        lines.sku,
        lines.quantity,
        lines.unit_price,
        lines.order_net_sales,
        lines.order_gross_sales,
        -- compare-at price, else the catalogue price in force that day, else the line's own list price
        -- (Taobao 价格, generic list_price)
        coalesce(lines.compare_at_price, list_prices.list_price, lines.list_price) as list_price,
        stores.discount_floor
    from lines
    inner join stores
        on lines.store_id = stores.store_id
        and {{ in_phase('stores', 'lines.paid_date') }}
    left join list_prices
        on lines.store_id = list_prices.store_id
        and lines.sku = list_prices.sku
        and list_prices.valid_from <= lines.paid_date
        and (list_prices.valid_to is null or lines.paid_date < list_prices.valid_to)

),

violations as (

    select priced.*
    from priced
    left join promo_days
        on priced.store_id = promo_days.store_id
        and priced.paid_date = promo_days.promo_date
    where promo_days.promo_date is null
      and priced.list_price > 0
      and priced.order_gross_sales > 0
      -- unit_price * net / gross / list_price < floor, compared exactly in decimals (exactly the floor is allowed)
      and {{ wide_decimal('priced.unit_price') }} * {{ wide_decimal('priced.order_net_sales') }}
          < {{ wide_decimal('priced.discount_floor', 6) }} * {{ wide_decimal('priced.order_gross_sales') }}
            * {{ wide_decimal('priced.list_price') }}

),

final as (

    select
        store_id,
        paid_date as "date",
        order_id,
        line_number,
        sku,
        quantity,
        {{ safe_divide(wide_decimal('unit_price') ~ ' * ' ~ wide_decimal('order_net_sales'), 'order_gross_sales') }}
            as effective_unit_price,
        list_price,
        {{ safe_divide(wide_decimal('unit_price') ~ ' * ' ~ wide_decimal('order_net_sales'),
                       wide_decimal('order_gross_sales') ~ ' * ' ~ wide_decimal('list_price')) }} as price_ratio,
        discount_floor
    from violations

)

select * from final

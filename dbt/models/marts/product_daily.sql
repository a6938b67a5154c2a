-- Sales, cost and margin per store, SKU and paid date (merchandising.md marts.product_daily).
with lines as (

    select * from {{ ref('int_paid_order_lines') }}
    where sku is not null

),

costs as (

    select * from {{ ref('int_product_costs') }}

),

daily as (

    select
        store_id,
        sku,
        paid_date,
        sum(quantity) as units,
        sum(quantity * unit_price) as gross_sales,
        -- each line's gross x its order's net_sales / gross_sales (discount_violations' effective price)
        sum(case
            when order_gross_sales > 0
                then {{ safe_divide(wide_decimal('quantity * unit_price') ~ ' * ' ~ wide_decimal('order_net_sales'),
                                    'order_gross_sales') }}
            else 0
        end) as net_sales
    from lines
    group by store_id, sku, paid_date
    having sum(quantity) > 0

),

costed as (

    select
        daily.*,
        costs.unit_cost,
        daily.units * costs.unit_cost as cogs
    from daily
    left join costs
        on daily.store_id = costs.store_id
        and daily.sku = costs.sku
        and costs.valid_from <= daily.paid_date
        and (costs.valid_to is null or daily.paid_date < costs.valid_to)

),

final as (

    select
        store_id,
        sku,
        paid_date as "date",
        cast(units as bigint) as units,
        {{ money('gross_sales') }} as gross_sales,
        cast(net_sales as double precision) as net_sales,
        unit_cost,
        {{ money('cogs') }} as cogs,
        net_sales - cast(cogs as double precision) as gross_profit,
        {{ safe_divide('net_sales - cast(cogs as double precision)', 'net_sales') }} as margin
    from costed

)

select * from final

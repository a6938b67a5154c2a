-- Units sold per store, SKU and paid date (paid orders only): the demand side of stock cover.
with lines as (

    select * from {{ ref('int_paid_order_lines') }}
    where sku is not null

),

final as (

    select
        store_id,
        sku,
        paid_date as sales_date,
        cast(sum(quantity) as bigint) as units
    from lines
    group by store_id, sku, paid_date

)

select * from final

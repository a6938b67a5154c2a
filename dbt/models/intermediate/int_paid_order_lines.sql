{{ order_chain_incremental() }}
-- Lines of the orders that count (paid on or before D), with their order's paid date and money, so line-level
-- marts (SKU demand, discount checks) never re-derive which orders count. Tips are not merchandise: left out.
with lines as (

    select * from {{ ref('int_order_lines_latest') }} as lines
    where true{{ order_chain_only_changed('lines') }}

),

orders as (

    select * from {{ ref('int_order_facts') }} as facts
    where true{{ order_chain_only_changed('facts') }}

),

final as (

    select
        lines.store_id,
        lines.order_id,
        lines.line_number,
        orders.paid_date,
        lines.sku,
        lines.product_name,
        lines.quantity,
        lines.unit_price,
        lines.compare_at_price,
        lines.list_price,
        orders.gross_sales as order_gross_sales,
        orders.net_sales as order_net_sales
    from lines
    inner join orders
        on lines.store_id = orders.store_id
        and lines.order_id = orders.order_id
    where not coalesce(lines.is_tip, false)

)

select * from final

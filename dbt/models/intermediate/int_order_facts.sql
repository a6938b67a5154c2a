-- Canonical order facts (kpis.md "Order facts"): one row per order paid on or before D, on its store-local
-- paid date. Unpaid orders never count; a later cancellation shows up as a refund.
with orders as (

    select
        latest.*,
        -- raw timestamps are store-local wall-clock time, so the date part is the store-local paid date
        cast(paid_at as date) as paid_date
    from {{ ref('int_orders_latest') }} as latest
    where paid_at is not null
      and cast(paid_at as date) <= {{ run_date() }}

),

stores as (

    select store_id, platform from {{ ref('stg_stores') }}

),

line_totals as (

    select
        store_id,
        order_id,
        sum({{ wide_decimal('unit_price') }} * quantity) as gross_sales,
        sum(quantity) as units,
        count(*) as lines
    from {{ ref('int_order_lines_latest') }}
    group by store_id, order_id

),

joined as (

    select
        orders.store_id,
        orders.order_id,
        stores.platform,
        orders.customer_key,
        orders.paid_at,
        orders.paid_date,
        coalesce(line_totals.gross_sales, 0) as gross_sales,
        coalesce(orders.order_discount, 0) as order_discount,
        coalesce(orders.total, 0) - coalesce(orders.shipping, 0) as taobao_net_sales,
        coalesce(orders.refunded_amount, 0) as refunds,
        coalesce(line_totals.units, 0) as units,
        coalesce(line_totals.lines, 0) as lines
    from orders
    inner join stores
        on orders.store_id = stores.store_id
    left join line_totals
        on orders.store_id = line_totals.store_id
        and orders.order_id = line_totals.order_id

),

final as (

    select
        store_id,
        order_id,
        platform,
        customer_key,
        customer_key is null as is_anonymous,
        paid_at,
        paid_date,
        {{ money('gross_sales') }} as gross_sales,
        {{ money("case when platform = 'taobao' then gross_sales - taobao_net_sales else order_discount end") }}
            as discounts,
        {{ money("case when platform = 'taobao' then taobao_net_sales else gross_sales - order_discount end") }}
            as net_sales,
        {{ money('refunds') }} as refunds,
        cast(units as bigint) as units,
        cast(lines as bigint) as lines
    from joined

)

select * from final

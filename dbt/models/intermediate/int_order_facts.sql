{{ order_chain_incremental() }}
-- Canonical order facts (kpis.md "Order facts"): one row per order paid on or before D, on its store-local
-- paid date. Unpaid orders never count; a later cancellation shows up as a refund.
--
-- Paid: the export's payment time; else (Shopify) a Financial Status that says the money came in, paid at
-- Created at; else (a cash-on-delivery store) a fulfilled order that was not cancelled, paid when fulfilled.
-- Shopify money: Subtotal is merchandise after discounts (a free-shipping code inside Discount Amount is not a
-- merchandise discount); in a tax-inclusive order Subtotal still holds its share of Taxes, which net sales drop.
with stores as (

    select
        store_id,
        platform,
        prices_include_tax,
        coalesce(cash_on_delivery, false) as cash_on_delivery
    from {{ ref('stg_stores') }}

),

latest as (

    select
        latest.*,
        stores.platform,
        stores.prices_include_tax,
        case
            when latest.paid_at is not null then 'paid_at'
            when stores.platform = 'shopify' and latest.created_at is not null
                and lower(latest.status) in ('paid', 'partially_paid', 'partially_refunded', 'refunded')
                then 'financial_status'
            when stores.cash_on_delivery and latest.fulfilled_at is not null and latest.cancelled_at is null
                then 'cash_on_delivery'
        end as paid_basis
    from {{ ref('int_orders_latest') }} as latest
    inner join stores
        on latest.store_id = stores.store_id
    where true{{ order_chain_only_changed('latest') }}

),

orders as (

    select
        latest.*,
        case paid_basis
            when 'paid_at' then paid_at
            when 'financial_status' then created_at
            when 'cash_on_delivery' then fulfilled_at
        end as counted_paid_at
    from latest

),

counted as (

    select * from orders
    where counted_paid_at is not null
      and cast(counted_paid_at as date) <= {{ run_date() }}

),

line_totals as (

    select
        store_id,
        order_id,
        sum(case when not coalesce(is_tip, false) then {{ wide_decimal('unit_price') }} * quantity end)
            as merchandise,
        sum(case when is_tip then {{ wide_decimal('unit_price') }} * quantity end) as tips,
        sum(case when not coalesce(is_tip, false) then quantity end) as units,
        count(case when not coalesce(is_tip, false) then 1 end) as lines
    from {{ ref('int_order_lines_latest') }} as lines
    where true{{ order_chain_only_changed('lines') }}
    group by store_id, order_id

),

joined as (

    select
        orders.store_id,
        orders.order_id,
        orders.platform,
        orders.customer_key,
        orders.counted_paid_at as paid_at,
        -- raw timestamps are store-local wall-clock time, so the date part is the store-local paid date
        cast(orders.counted_paid_at as date) as paid_date,
        orders.paid_basis,
        orders.subtotal,
        coalesce(orders.shipping, 0) as shipping,
        coalesce(orders.taxes, 0) as taxes,
        coalesce(line_totals.merchandise, 0) as merchandise,
        coalesce(line_totals.tips, 0) as tips,
        coalesce(orders.order_discount, 0) as order_discount,
        coalesce(orders.total, 0) - coalesce(orders.shipping, 0) as taobao_net_sales,
        coalesce(orders.refunded_amount, 0) as refunds,
        coalesce(line_totals.units, 0) as units,
        coalesce(line_totals.lines, 0) as lines,
        orders.platform = 'shopify' and orders.subtotal is not null
            and coalesce(
                orders.prices_include_tax,
                coalesce(orders.taxes, 0) > 0
                and abs(coalesce(orders.total, 0) - coalesce(line_totals.tips, 0)
                        - orders.subtotal - coalesce(orders.shipping, 0)) <= 0.01
            ) as is_tax_inclusive
    from counted as orders
    left join line_totals
        on orders.store_id = line_totals.store_id
        and orders.order_id = line_totals.order_id

),

taxed as (

    select
        joined.*,
        case
            when is_tax_inclusive and subtotal + shipping <> 0
                then {{ money_share('taxes', 'subtotal', 'subtotal + shipping') }}
            else 0
        end as merchandise_tax
    from joined

),

net as (

    select
        taxed.*,
        case
            when platform = 'taobao' then taobao_net_sales
            when platform = 'shopify' and subtotal is not null then subtotal - merchandise_tax
            else merchandise - order_discount
        end as net_amount
    from taxed

),

priced as (

    select
        net.*,
        -- gross at the prices net sales are stated in: a tax-inclusive order's line prices shed their VAT share
        case
            when merchandise_tax <> 0 then {{ money_share('merchandise', 'net_amount', 'subtotal') }}
            else {{ money('merchandise') }}
        end as gross_amount
    from net

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
        paid_basis,
        coalesce(is_tax_inclusive, false) as is_tax_inclusive,
        {{ money('merchandise_tax') }} as merchandise_tax,
        {{ money('tips') }} as tips,
        {{ money('gross_amount') }} as gross_sales,
        {{ money('gross_amount - net_amount') }} as discounts,
        {{ money('net_amount') }} as net_sales,
        {{ money('refunds') }} as refunds,
        cast(units as bigint) as units,
        cast(lines as bigint) as lines
    from priced

)

select * from final

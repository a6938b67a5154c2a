-- One row per store and known customer as of D: totals, the 365-day window, RFM scores and the segment
-- (customers.md marts.customer_segments). Anonymous (guest) orders are never a customer.
with orders as (

    select store_id, customer_key, paid_date, net_sales
    from {{ ref('int_order_facts') }}
    where customer_key is not null

),

stores as (

    select store_id, loyal_min_orders from {{ ref('int_store_thresholds') }} as phase
    where {{ in_phase('phase', run_date()) }}  -- targets.md: the value in force on D

),

customers as (

    select
        store_id,
        customer_key,
        min(paid_date) as first_paid_date,
        max(paid_date) as last_paid_date,
        count(*) as orders,
        sum(net_sales) as net_sales,
        sum(case when paid_date >= {{ add_days(run_date(), -364) }} then 1 else 0 end) as orders_365d,
        sum(case when paid_date >= {{ add_days(run_date(), -364) }} then net_sales else 0 end) as net_sales_365d
    from orders
    group by store_id, customer_key

),

measured as (

    select
        customers.*,
        {{ days_between('customers.last_paid_date', run_date()) }} as recency_days,
        stores.loyal_min_orders
    from customers
    inner join stores
        on customers.store_id = stores.store_id

),

scored as (

    select
        measured.*,
        -- 5 = most recent / most frequent / most spent; customer_key decides ties, so the scores are reproducible
        ntile(5) over (partition by store_id order by recency_days desc, {{ bytewise('customer_key') }}) as r_score,
        ntile(5) over (partition by store_id order by orders_365d, {{ bytewise('customer_key') }}) as f_score,
        ntile(5) over (partition by store_id order by net_sales_365d, {{ bytewise('customer_key') }}) as m_score
    from measured

),

final as (

    select
        store_id,
        customer_key,
        first_paid_date,
        last_paid_date,
        cast(orders as bigint) as orders,
        {{ money('net_sales') }} as net_sales,
        cast(orders_365d as bigint) as orders_365d,
        {{ money('net_sales_365d') }} as net_sales_365d,
        recency_days,
        cast(r_score as integer) as r_score,
        cast(f_score as integer) as f_score,
        cast(m_score as integer) as m_score,
        {{ customer_segment('first_paid_date', 'orders', 'orders_365d', 'recency_days', run_date(),
                            'loyal_min_orders') }} as segment
    from scored

)

select * from final

-- One row per known customer and store: the first paid order and whether another paid order followed within
-- 90 days (paid after the first one, the same day counts). Anonymous orders have no customer and are left out.
--
-- Why grouping instead of ranking (docs/decisions.md, "Customer models at 10 M lines"): the first order is the
-- earliest paid_at, ties to the smallest order_id, and every other order of the customer is paid after it, so its
-- repeats within 90 days are the customer's orders dated up to first_paid_date + 90, less the first one. Two
-- hash aggregations give that without a window sorting all orders by the 64-character customer key, and
-- without joining a customer's orders to each other. paid_date is the date part of paid_at (int_order_facts), so
-- the earliest paid_at also has the earliest paid_date. `orders` is read twice: NOT MATERIALIZED makes that two
-- scans of int_order_facts instead of a copy of all its customer orders (which spilled at 10 M lines).
with orders as not materialized (

    select store_id, customer_key, order_id, paid_at, paid_date
    from {{ ref('int_order_facts') }}
    where customer_key is not null

),

customers as (

    select store_id, customer_key, min(paid_at) as first_paid_at, min(paid_date) as first_paid_date
    from orders
    group by store_id, customer_key

),

counted as (

    select
        customers.store_id,
        customers.customer_key,
        customers.first_paid_at,
        customers.first_paid_date,
        min(case when orders.paid_at = customers.first_paid_at then orders.order_id end) as first_order_id,
        count(case when orders.paid_date <= {{ add_days('customers.first_paid_date', 90) }} then 1 end) - 1
            as repeat_orders_90d
    from customers
    inner join orders
        on customers.store_id = orders.store_id
        and customers.customer_key = orders.customer_key
    group by customers.store_id, customers.customer_key, customers.first_paid_at, customers.first_paid_date

),

final as (

    select
        store_id,
        customer_key,
        first_order_id,
        first_paid_at,
        first_paid_date,
        cast(repeat_orders_90d as bigint) as repeat_orders_90d,
        repeat_orders_90d > 0 as repurchased_90d
    from counted

)

select * from final

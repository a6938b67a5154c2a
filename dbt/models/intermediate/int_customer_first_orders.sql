-- One row per known customer and store: the first paid order and whether another paid order followed within
-- 90 days (paid after the first one, the same day counts). Anonymous orders have no customer and are left out.
with orders as (

    select store_id, customer_key, order_id, paid_at, paid_date
    from {{ ref('int_order_facts') }}
    where customer_key is not null

),

ranked as (

    select
        orders.*,
        row_number() over (partition by store_id, customer_key order by paid_at, order_id) as order_rank
    from orders

),

first_orders as (

    select
        store_id,
        customer_key,
        order_id as first_order_id,
        paid_at as first_paid_at,
        paid_date as first_paid_date
    from ranked
    where order_rank = 1

),

repeat_orders as (

    select
        first_orders.store_id,
        first_orders.customer_key,
        count(*) as repeat_orders_90d
    from first_orders
    inner join ranked
        on first_orders.store_id = ranked.store_id
        and first_orders.customer_key = ranked.customer_key
        and ranked.order_rank > 1
        and ranked.paid_date <= {{ add_days('first_orders.first_paid_date', 90) }}
    group by first_orders.store_id, first_orders.customer_key

),

final as (

    select
        first_orders.store_id,
        first_orders.customer_key,
        first_orders.first_order_id,
        first_orders.first_paid_at,
        first_orders.first_paid_date,
        cast(coalesce(repeat_orders.repeat_orders_90d, 0) as bigint) as repeat_orders_90d,
        coalesce(repeat_orders.repeat_orders_90d, 0) > 0 as repurchased_90d
    from first_orders
    left join repeat_orders
        on first_orders.store_id = repeat_orders.store_id
        and first_orders.customer_key = repeat_orders.customer_key

)

select * from final

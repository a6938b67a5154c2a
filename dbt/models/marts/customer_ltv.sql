-- Lifetime value per store, cohort month and month offset (customers.md marts.customer_ltv): the cohort's
-- cumulative net sales and orders per customer month by month, one row for every month up to D's, active or not.
with first_orders as (

    select store_id, customer_key, {{ month_start('first_paid_date') }} as cohort_month
    from {{ ref('int_customer_first_orders') }}

),

orders as (

    select
        first_orders.store_id,
        first_orders.cohort_month,
        orders.customer_key,
        {{ month_start('orders.paid_date') }} as order_month,
        orders.net_sales
    from {{ ref('int_order_facts') }} as orders
    inner join first_orders
        on orders.store_id = first_orders.store_id
        and orders.customer_key = first_orders.customer_key

),

cohorts as (

    select store_id, cohort_month, count(*) as customers
    from first_orders
    group by store_id, cohort_month

),

-- the store calendar has no gaps up to D, so its months are every month a cohort can reach
months as (

    select distinct store_id, {{ month_start('"date"') }} as calendar_month
    from {{ ref('int_store_days') }}

),

activity as (

    select
        store_id,
        cohort_month,
        order_month,
        count(distinct customer_key) as active_customers,
        count(*) as orders,
        sum(net_sales) as net_sales
    from orders
    group by store_id, cohort_month, order_month

),

grid as (

    select
        cohorts.store_id,
        cohorts.cohort_month,
        months.calendar_month,
        cohorts.customers,
        coalesce(activity.active_customers, 0) as active_customers,
        coalesce(activity.orders, 0) as orders,
        coalesce(activity.net_sales, 0) as net_sales
    from cohorts
    inner join months
        on cohorts.store_id = months.store_id
        and months.calendar_month >= cohorts.cohort_month
    left join activity
        on cohorts.store_id = activity.store_id
        and cohorts.cohort_month = activity.cohort_month
        and months.calendar_month = activity.order_month

),

cumulative as (

    select
        grid.*,
        sum(net_sales) over (partition by store_id, cohort_month order by calendar_month
                             rows between unbounded preceding and current row) as cumulative_net_sales,
        sum(orders) over (partition by store_id, cohort_month order by calendar_month
                          rows between unbounded preceding and current row) as cumulative_orders
    from grid

),

final as (

    select
        store_id,
        cohort_month,
        cast(
            (extract(year from calendar_month) - extract(year from cohort_month)) * 12
            + extract(month from calendar_month) - extract(month from cohort_month)
            as integer) as months_since_first,
        cast(customers as bigint) as customers,
        cast(active_customers as bigint) as active_customers,
        {{ safe_divide('cumulative_net_sales', 'customers') }} as cumulative_net_sales_per_customer,
        {{ safe_divide('cumulative_orders', 'customers') }} as cumulative_orders_per_customer,
        {{ month_end('calendar_month') }} <= {{ run_date() }} as is_complete
    from cumulative

)

select * from final

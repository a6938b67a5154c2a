-- Customer KPIs per store and date (customers.md "New columns of marts.kpi_store_daily"): 生意参谋's 30-day
-- repurchase rate and the number of loyal customers, with each date as D. Anonymous orders are never a customer.
with store_days as (

    select store_id, "date" from {{ ref('int_store_days') }}

),

stores as (

    -- targets.md: the phases; a spell is counted only on the days of the phase whose loyal_min_orders made it
    select store_id, valid_from, valid_to, loyal_min_orders from {{ ref('int_store_thresholds') }}

),

customer_orders as (

    select store_id, customer_key, order_id, paid_date
    from {{ ref('int_order_facts') }}
    where customer_key is not null

),

customer_days as (

    select distinct store_id, customer_key, paid_date from customer_orders

),

-- 30-day repurchase: who bought in date-59 ... date-30, and who of them again in date-29 ... date
windows as (

    select
        store_days.store_id,
        store_days."date",
        customer_days.customer_key,
        max(case when customer_days.paid_date <= {{ add_days('store_days."date"', -30) }} then 1 else 0 end)
            as in_base,
        max(case when customer_days.paid_date >= {{ add_days('store_days."date"', -29) }} then 1 else 0 end)
            as came_back
    from store_days
    inner join customer_days
        on store_days.store_id = customer_days.store_id
        and customer_days.paid_date between {{ add_days('store_days."date"', -59) }} and store_days."date"
    group by store_days.store_id, store_days."date", customer_days.customer_key

),

repurchase as (

    select
        store_id,
        "date",
        sum(in_base) as base_customers,
        sum(in_base * came_back) as repurchased_customers
    from windows
    group by store_id, "date"

),

-- loyal spells: while order n is a customer's latest, they are loyal from max(its date, first order + 30 days;
-- `new` wins first) to the earliest of the day before their next order, 90 days after it (recency), and 364
-- days after the order loyal_min_orders - 1 before it (still enough orders in the 365-day window), or D
ranked as (

    select
        customer_orders.*,
        row_number() over (partition by store_id, customer_key order by paid_date, order_id) as order_rank,
        lead(paid_date) over (partition by store_id, customer_key order by paid_date, order_id) as next_paid_date,
        min(paid_date) over (partition by store_id, customer_key) as first_paid_date
    from customer_orders

),

spells as (

    select
        latest.store_id,
        greatest(latest.paid_date, {{ add_days('latest.first_paid_date', 30) }}, stores.valid_from) as loyal_from,
        least(
            coalesce({{ add_days('latest.next_paid_date', -1) }}, {{ run_date() }}),
            {{ add_days('latest.paid_date', 90) }},
            {{ add_days('window_start.paid_date', 364) }},
            coalesce({{ add_days('stores.valid_to', -1) }}, {{ run_date() }})
        ) as loyal_until
    from ranked as latest
    inner join stores
        on latest.store_id = stores.store_id
    inner join ranked as window_start
        on latest.store_id = window_start.store_id
        and latest.customer_key = window_start.customer_key
        and window_start.order_rank = latest.order_rank - stores.loyal_min_orders + 1

),

-- loyal customers on a date = spells begun on or before it - spells ended before it (a running sum)
events as (

    select store_id, loyal_from as "date", 1 as change, false as is_day from spells where loyal_from <= loyal_until
    union all
    select store_id, {{ add_days('loyal_until', 1) }} as "date", -1 as change, false as is_day
    from spells where loyal_from <= loyal_until
    union all
    select store_id, "date", 0 as change, true as is_day from store_days

),

running as (

    select
        store_id,
        "date",
        is_day,
        sum(change) over (partition by store_id order by "date"
                          range between unbounded preceding and current row) as loyal_customers
    from events

),

final as (

    select
        store_days.store_id,
        store_days."date",
        cast(coalesce(repurchase.base_customers, 0) as bigint) as repurchase_base_30d,
        cast(coalesce(repurchase.repurchased_customers, 0) as bigint) as repurchased_30d,
        {{ safe_divide('repurchase.repurchased_customers', 'repurchase.base_customers') }} as repurchase_rate_30d,
        cast(running.loyal_customers as bigint) as loyal_customers
    from store_days
    inner join running
        on store_days.store_id = running.store_id
        and store_days."date" = running."date"
        and running.is_day
    left join repurchase
        on store_days.store_id = repurchase.store_id
        and store_days."date" = repurchase."date"

)

select * from final

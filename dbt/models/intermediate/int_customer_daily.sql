-- Customer KPIs per store and date (customers.md "New columns of marts.kpi_store_daily"): 生意参谋's 30-day
-- repurchase rate and the number of loyal customers, with each date as D. Anonymous orders are never a customer.
--
-- Why it is written this way (docs/decisions.md, "Customer models at 10 M lines"): every count is a running sum
-- of +1/-1 changes over the store calendar, and every change comes from ONE window pass over each customer's
-- orders. Pairing each date with each customer grows as customers x days; pairing a customer's orders with each
-- other (a self-join on the customer) grows with the square of their orders; and each extra window partitioned by
-- the 64-character customer key costs a sort of all orders.
with store_days as (

    select store_id, "date" from {{ ref('int_store_days') }}

),

stores as (

    -- targets.md: the phases; a spell is counted only on the days of the phase whose loyal_min_orders made it
    select
        store_id,
        valid_from,
        valid_to,
        loyal_min_orders,
        row_number() over (partition by store_id order by valid_from, valid_to) as phase
    from {{ ref('int_store_thresholds') }}

),

customer_orders as (

    select store_id, customer_key, paid_date
    from {{ ref('int_order_facts') }}
    where customer_key is not null

),

-- each customer's orders in paid_date order, once per phase of their store (usually one): the next order's date,
-- the first order's, and the date of the order loyal_min_orders - 1 before this one (NULL when there are fewer
-- orders before it; loyal_min_orders is per phase, so the copies differ only there). Only dates are taken from
-- the neighbours, and the n-th date of a customer's sorted dates is the same whichever of two same-day orders
-- comes first, so no tie-breaker is needed.
ordered as (

    select
        customer_orders.store_id,
        customer_orders.paid_date,
        stores.phase,
        stores.valid_from,
        stores.valid_to,
        lead(customer_orders.paid_date) over customer_phase as next_paid_date,
        first_value(customer_orders.paid_date) over customer_phase as first_paid_date,
        lag(customer_orders.paid_date, stores.loyal_min_orders - 1) over customer_phase as window_start_date
    from customer_orders
    inner join stores
        on customer_orders.store_id = stores.store_id
    window customer_phase as (
        partition by customer_orders.store_id, customer_orders.customer_key, stores.phase
        order by customer_orders.paid_date
    )

),

-- 30-day repurchase: of the customers who bought in date-59 ... date-30 (the base, A), those who bought again in
-- date-29 ... date (B). |A and B| = |A| + |B| - |A or B|, and "A or B" is "bought in date-59 ... date". A customer
-- bought within the w days up to a date when it lies in the span of one of their paid days: from that day to the
-- earlier of its w-th day and the day before their next paid day. Those spans never overlap, so counting spans
-- counts customers. The last order of each paid day carries the next paid day (earlier ones have a same-day
-- next order and an empty span). This and `spells` are NOT MATERIALIZED: each reads the window's result where it
-- is used rather than keeping a copy of millions of rows (a third faster at 10 M lines).
paid_day_spans as not materialized (

    select
        store_id,
        paid_date as span_from,
        least({{ add_days('paid_date', 29) }}, coalesce({{ add_days('next_paid_date', -1) }},
                                                       {{ add_days('paid_date', 29) }})) as until_30d,
        least({{ add_days('paid_date', 59) }}, coalesce({{ add_days('next_paid_date', -1) }},
                                                       {{ add_days('paid_date', 59) }})) as until_60d
    from ordered
    where phase = 1
      and (next_paid_date is null or next_paid_date > paid_date)

),

-- loyal spells: while an order is a customer's latest, they are loyal from max(its date, first order + 30 days;
-- `new` wins first) to the earliest of the day before their next order, 90 days after it (recency), and 364
-- days after the order loyal_min_orders - 1 before it (still enough orders in the 365-day window), or D
spells as not materialized (

    select
        store_id,
        greatest(paid_date, {{ add_days('first_paid_date', 30) }}, valid_from) as loyal_from,
        least(
            coalesce({{ add_days('next_paid_date', -1) }}, {{ run_date() }}),
            {{ add_days('paid_date', 90) }},
            {{ add_days('window_start_date', 364) }},
            coalesce({{ add_days('valid_to', -1) }}, {{ run_date() }})
        ) as loyal_until
    from ordered
    where window_start_date is not null

),

-- each count on a date = the changes dated on or before it. base: A, in a span 30 days before the date;
-- came_back: A + B - (A or B), where B's and "A or B"'s +1 on span_from cancel out
events as (

    select store_id, loyal_from as "date", 1 as loyal, 0 as base, 0 as came_back
    from spells where loyal_from <= loyal_until
    union all
    select store_id, {{ add_days('loyal_until', 1) }} as "date", -1 as loyal, 0 as base, 0 as came_back
    from spells where loyal_from <= loyal_until
    union all
    select store_id, {{ add_days('span_from', 30) }} as "date", 0 as loyal, 1 as base, 1 as came_back
    from paid_day_spans
    union all
    select store_id, {{ add_days('until_30d', 31) }} as "date", 0 as loyal, -1 as base, -1 as came_back
    from paid_day_spans
    union all
    select store_id, {{ add_days('until_30d', 1) }} as "date", 0 as loyal, 0 as base, -1 as came_back
    from paid_day_spans
    union all
    select store_id, {{ add_days('until_60d', 1) }} as "date", 0 as loyal, 0 as base, 1 as came_back
    from paid_day_spans
    union all
    select store_id, "date", 0 as loyal, 0 as base, 0 as came_back from store_days

),

-- summed per store and date first, so the running sum runs over one row per date (about 1,100 for 3 years), not
-- over every change (a window over those is one partition per store, sorted as a whole)
daily_changes as (

    select store_id, "date", sum(loyal) as loyal, sum(base) as base, sum(came_back) as came_back
    from events
    group by store_id, "date"

),

running as (

    select
        store_id,
        "date",
        sum(loyal) over days_so_far as loyal_customers,
        sum(base) over days_so_far as base_customers,
        sum(came_back) over days_so_far as repurchased_customers
    from daily_changes
    window days_so_far as (partition by store_id order by "date" rows between unbounded preceding and current row)

),

final as (

    select
        store_days.store_id,
        store_days."date",
        cast(running.base_customers as bigint) as repurchase_base_30d,
        cast(running.repurchased_customers as bigint) as repurchased_30d,
        {{ safe_divide('running.repurchased_customers', 'running.base_customers') }} as repurchase_rate_30d,
        cast(running.loyal_customers as bigint) as loyal_customers
    from store_days
    inner join running
        on store_days.store_id = running.store_id
        and store_days."date" = running."date"

)

select * from final

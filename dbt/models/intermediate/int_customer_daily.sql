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

-- 30-day repurchase: who bought in date-59 ... date-30, and who of them again in date-29 ... date. Counted
-- without pairing each date with each customer (that pairing grows as customers x 60 days): a customer "bought
-- within 30 days" on the dates of their islands, the union of [paid_date, paid_date + 29] over their paid days.
-- They are in a date's base when date - 30 lies in an island, and came back when date does too. So the base on a
-- date counts the islands shifted by 30 days that cover it; the repurchased count the overlaps of an island with
-- a shifted island of the same customer (disjoint, so nobody is counted twice).
island_starts as (

    select
        store_id,
        customer_key,
        paid_date,
        case
            when lag(paid_date) over (partition by store_id, customer_key order by paid_date)
                >= {{ add_days('paid_date', -30) }} then 0
            else 1
        end as starts_island
    from customer_days

),

numbered_days as (

    select
        *,
        sum(starts_island) over (partition by store_id, customer_key order by paid_date
                                 rows between unbounded preceding and current row) as island
    from island_starts

),

islands as (

    select store_id, customer_key, min(paid_date) as first_day, {{ add_days('max(paid_date)', 29) }} as last_day
    from numbered_days
    group by store_id, customer_key, island

),

base_spans as (

    select store_id, {{ add_days('first_day', 30) }} as span_from, {{ add_days('last_day', 30) }} as span_until
    from islands

),

came_back_spans as (

    select
        recent.store_id,
        greatest(recent.first_day, {{ add_days('earlier.first_day', 30) }}) as span_from,
        least(recent.last_day, {{ add_days('earlier.last_day', 30) }}) as span_until
    from islands as recent
    inner join islands as earlier
        on recent.store_id = earlier.store_id
        and recent.customer_key = earlier.customer_key
        and recent.first_day <= {{ add_days('earlier.last_day', 30) }}
        and {{ add_days('earlier.first_day', 30) }} <= recent.last_day

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

-- each count on a date = spans begun on or before it - spans ended before it (a running sum)
events as (

    select store_id, loyal_from as "date", 1 as loyal, 0 as base, 0 as came_back, false as is_day
    from spells where loyal_from <= loyal_until
    union all
    select store_id, {{ add_days('loyal_until', 1) }} as "date", -1 as loyal, 0 as base, 0 as came_back,
        false as is_day
    from spells where loyal_from <= loyal_until
    union all
    select store_id, span_from as "date", 0 as loyal, 1 as base, 0 as came_back, false as is_day from base_spans
    union all
    select store_id, {{ add_days('span_until', 1) }} as "date", 0 as loyal, -1 as base, 0 as came_back,
        false as is_day
    from base_spans
    union all
    select store_id, span_from as "date", 0 as loyal, 0 as base, 1 as came_back, false as is_day
    from came_back_spans
    union all
    select store_id, {{ add_days('span_until', 1) }} as "date", 0 as loyal, 0 as base, -1 as came_back,
        false as is_day
    from came_back_spans
    union all
    select store_id, "date", 0 as loyal, 0 as base, 0 as came_back, true as is_day from store_days

),

running as (

    select
        store_id,
        "date",
        is_day,
        sum(loyal) over days_so_far as loyal_customers,
        sum(base) over days_so_far as base_customers,
        sum(came_back) over days_so_far as repurchased_customers
    from events
    window days_so_far as (partition by store_id order by "date" range between unbounded preceding and current row)

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
        and running.is_day

)

select * from final

-- Is the stock ready for each promo day in the next promo_horizon_days? One row per store, upcoming promo day and
-- SKU as of D (merchandising.md marts.promo_readiness).
with stores as (

    select store_id, promo_lift, promo_horizon_days from {{ ref('int_store_thresholds') }} as phase
    where {{ in_phase('phase', run_date()) }}  -- targets.md: the value in force on D

),

promo_days as (

    select distinct store_id, promo_date from {{ ref('stg_promo_days') }}

),

sku_units as (

    select * from {{ ref('int_sku_daily_units') }}

),

heroes as (

    select distinct store_id, sku from {{ ref('int_hero_skus') }}

),

store_first_paid as (

    select store_id, min(paid_date) as first_paid_date
    from {{ ref('int_order_facts') }}
    group by store_id

),

latest_replenishment as (

    select replenishment.*
    from {{ ref('replenishment') }} as replenishment
    inner join (
        select store_id, max("date") as "date"
        from {{ ref('replenishment') }}
        group by store_id
    ) as latest
        on replenishment.store_id = latest.store_id
        and replenishment."date" = latest."date"

),

upcoming as (

    select
        promo_days.store_id,
        promo_days.promo_date,
        cast(promo_days.promo_date - {{ run_date() }} as integer) as days_until
    from promo_days
    inner join stores
        on promo_days.store_id = stores.store_id
    where promo_days.promo_date > {{ run_date() }}
      and promo_days.promo_date <= {{ add_days(run_date(), 'stores.promo_horizon_days') }}

),

skus as (

    select store_id, sku from latest_replenishment where avg_daily_units > 0
    union
    select store_id, sku from heroes

),

-- every store day from the store's first paid date, marked promo or not, with the store's SKU units
store_days as (

    select
        days.store_id,
        days."date",
        promo_days.promo_date is not null as is_promo,
        coalesce(units.units, 0) as units
    from {{ ref('int_store_days') }} as days
    inner join store_first_paid
        on days.store_id = store_first_paid.store_id
        and days."date" >= store_first_paid.first_paid_date
    left join promo_days
        on days.store_id = promo_days.store_id
        and days."date" = promo_days.promo_date
    left join (
        select store_id, sales_date, sum(units) as units from sku_units group by store_id, sales_date
    ) as units
        on days.store_id = units.store_id
        and days."date" = units.sales_date
    where days."date" <= {{ run_date() }}

),

baseline_days as (

    select store_id, count(*) as non_promo_days
    from store_days
    where not is_promo
      and "date" between {{ add_days(run_date(), -27) }} and {{ run_date() }}
    group by store_id

),

baseline_units as (

    select sku_units.store_id, sku_units.sku, sum(sku_units.units) as units
    from sku_units
    inner join store_days
        on sku_units.store_id = store_days.store_id
        and sku_units.sales_date = store_days."date"
    where not store_days.is_promo
      and sku_units.sales_date between {{ add_days(run_date(), -27) }} and {{ run_date() }}
    group by sku_units.store_id, sku_units.sku

),

-- each past promo day Q with its 28 preceding days' non-promo days (on or after the first paid date)
observed_lifts as (

    select
        promo.store_id,
        promo."date" as promo_date,
        promo.units as promo_units,
        count(before."date") as non_promo_days,
        {{ safe_divide('sum(before.units)', 'count(before."date")') }} as baseline_units
    from store_days as promo
    left join store_days as before
        on promo.store_id = before.store_id
        and before."date" between {{ add_days('promo."date"', -28) }} and {{ add_days('promo."date"', -1) }}
        and not before.is_promo
    where promo.is_promo
    group by promo.store_id, promo."date", promo.units
    having count(before."date") >= 14

),

latest_lift as (

    select store_id, promo_date as lift_promo_date, {{ safe_divide('promo_units', 'baseline_units') }} as lift
    from (
        select
            observed_lifts.*,
            row_number() over (partition by store_id order by promo_date desc) as recency
        from observed_lifts
    ) as ranked
    where recency = 1

),

readiness as (

    select
        upcoming.store_id,
        upcoming.promo_date,
        skus.sku,
        upcoming.days_until,
        {{ add_days('upcoming.promo_date', -7) }} as decision_due,
        latest_replenishment.on_hand,
        coalesce({{ safe_divide('baseline_units.units', 'baseline_days.non_promo_days') }}, 0)
            as baseline_daily_units,
        -- the observed lift, or the promo_lift threshold when none could be observed (or its baseline is 0)
        coalesce(latest_lift.lift, stores.promo_lift) as promo_lift,
        case when latest_lift.lift is not null then latest_lift.lift_promo_date end as lift_observed_on,
        coalesce(latest_replenishment.safety_stock, 0) as safety_stock
    from upcoming
    inner join stores
        on upcoming.store_id = stores.store_id
    inner join skus
        on upcoming.store_id = skus.store_id
    left join latest_replenishment
        on skus.store_id = latest_replenishment.store_id
        and skus.sku = latest_replenishment.sku
    left join baseline_units
        on skus.store_id = baseline_units.store_id
        and skus.sku = baseline_units.sku
    left join baseline_days
        on skus.store_id = baseline_days.store_id
    left join latest_lift
        on upcoming.store_id = latest_lift.store_id

),

expected as (

    select
        readiness.*,
        baseline_daily_units * (days_until - 1) + baseline_daily_units * promo_lift as expected_units
    from readiness

),

shortfalls as (

    select
        store_id,
        promo_date,
        sku,
        days_until,
        decision_due,
        cast(on_hand as bigint) as on_hand,
        baseline_daily_units,
        promo_lift,
        lift_observed_on,
        expected_units,
        safety_stock,
        cast(ceil(greatest(0, expected_units + safety_stock - greatest(coalesce(on_hand, 0), 0))) as bigint)
            as shortfall
    from expected

),

final as (

    select shortfalls.*, shortfalls.shortfall = 0 as ready from shortfalls

)

select * from final

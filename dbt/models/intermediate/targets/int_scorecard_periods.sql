-- targets.md role_scorecards, step 1: one row per store and period (ISO week, calendar month) holding a KPI day of
-- the store up to D, with the sums, averages and prorated targets role_scorecards turns into one row per KPI.
with days as (

    select * from {{ ref('kpi_store_daily') }}
    where "date" <= {{ run_date() }}

),

phases as (

    select * from {{ ref('int_store_thresholds') }}

),

monthly as (

    select
        store_id,
        month,
        {{ month_end('month') }} - month + 1 as days_in_month,
        max(case when metric = 'net_sales' then target end) as net_sales,
        max(case when metric = 'visitors' then target end) as visitors,
        max(case when metric = 'new_buyers' then target end) as new_buyers,
        max(case when metric = 'ad_budget' then target end) as ad_budget
    from {{ ref('stg_monthly_targets') }}
    group by store_id, month

),

violations as (

    select store_id, "date", count(*) as violations from {{ ref('discount_violations') }} group by store_id, "date"

),

stockouts as (

    select store_id, "date", sum(case when stockout and units_28d > 0 then 1 else 0 end) as stockout_skus
    from {{ ref('stock_cover') }}
    group by store_id, "date"

),

heroes_low as (

    select store_id, "date", count(*) as heroes_low from {{ ref('alert_hero_stock_low') }} group by store_id, "date"

),

missing as (

    select distinct store_id, "date" from {{ ref('alert_missing_data') }}

),

day_facts as (

    select
        days.store_id,
        days."date",
        days.orders,
        days.visitors,
        days.net_sales,
        days.refunds,
        days.new_buyers,
        days.ad_spend,
        days.attributed_sales,
        days.positive_review_rate_30d,
        days.sell_through_rate_28d,
        days.skus_in_snapshot,
        days.daily_orders_target,
        days.conversion_rate_target,
        phase.roas_min,
        phase.positive_review_rate_min,
        phase.refund_rate_max,
        -- the day's share of its month's target (NULL when that month has no target)
        monthly.net_sales / monthly.days_in_month as net_sales_target,
        monthly.visitors / monthly.days_in_month as visitors_target,
        monthly.new_buyers / monthly.days_in_month as new_buyers_target,
        monthly.ad_budget / monthly.days_in_month as ad_budget_target,
        coalesce(violations.violations, 0) as discount_violations,
        -- stock KPIs only on snapshot days: no snapshot means unknown, not 0
        case when days.skus_in_snapshot is not null then coalesce(stockouts.stockout_skus, 0) end as stockout_skus,
        case when days.skus_in_snapshot is not null then coalesce(heroes_low.heroes_low, 0) end as heroes_low,
        case when missing.store_id is not null then 1 else 0 end as missing_data
    from days
    inner join phases as phase
        on days.store_id = phase.store_id
        and {{ in_phase('phase', 'days."date"') }}
    left join monthly
        on days.store_id = monthly.store_id
        and {{ month_start('days."date"') }} = monthly.month
    left join violations
        on days.store_id = violations.store_id
        and days."date" = violations."date"
    left join stockouts
        on days.store_id = stockouts.store_id
        and days."date" = stockouts."date"
    left join heroes_low
        on days.store_id = heroes_low.store_id
        and days."date" = heroes_low."date"
    left join missing
        on days.store_id = missing.store_id
        and days."date" = missing."date"

),

periods as (

    select 'week' as period_type, cast(date_trunc('week', "date") as date) as period_start, day_facts.*
    from day_facts
    union all
    select 'month' as period_type, {{ month_start('"date"') }} as period_start, day_facts.*
    from day_facts

),

ranked as (

    select
        periods.*,
        row_number() over (partition by store_id, period_type, period_start order by "date" desc) as day_rank,
        row_number() over (partition by store_id, period_type, period_start
                           order by case when skus_in_snapshot is null then 1 else 0 end, "date" desc)
            as snapshot_rank
    from periods

),

-- Σ of a prorated target, NULL when any day's month has no target
{%- set prorated = ['net_sales_target', 'visitors_target', 'new_buyers_target', 'ad_budget_target'] %}

aggregated as (

    select
        store_id,
        period_type,
        period_start,
        case when period_type = 'week' then {{ add_days('period_start', 6) }} else {{ month_end('period_start') }}
            end as period_end,
        min("date") as first_day,
        max("date") as last_day,
        count(*) as days,
        sum(orders) as orders,
        sum(case when visitors is not null then orders end) as orders_with_visitors,
        sum(visitors) as visitors,
        sum(net_sales) as net_sales,
        sum(refunds) as refunds,
        sum(new_buyers) as new_buyers,
        sum(ad_spend) as ad_spend,
        sum(attributed_sales) as attributed_sales,
        avg(cast(daily_orders_target as double precision)) as daily_orders_target,
        avg(cast(conversion_rate_target as double precision)) as conversion_rate_target,
        avg(cast(roas_min as double precision)) as roas_min,
        {%- for column in prorated %}
        case when count({{ column }}) = count(*) then sum({{ column }}) end as {{ column }},
        {%- endfor %}
        sum(discount_violations) as discount_violations,
        sum(stockout_skus) as stockout_sku_days,
        sum(heroes_low) as hero_days_below_min,
        sum(missing_data) as days_missing_data,
        max(case when day_rank = 1 then positive_review_rate_30d end) as positive_review_rate_30d,
        max(case when day_rank = 1 then positive_review_rate_min end) as positive_review_rate_min,
        max(case when day_rank = 1 then refund_rate_max end) as refund_rate_max,
        max(case when snapshot_rank = 1 and skus_in_snapshot is not null then sell_through_rate_28d end)
            as sell_through_rate_28d
    from ranked
    group by store_id, period_type, period_start

),

final as (

    select
        aggregated.*,
        {{ run_date() }} > period_end as is_complete
    from aggregated

)

select * from final

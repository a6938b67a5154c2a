-- targets.md marts.target_pacing: one row per store, month and targeted metric up to D's month. A month's days
-- after D do not count; a past month is complete, so its projection is its actual.
with targets as (

    select
        store_id,
        month,
        case when metric = 'ad_budget' then 'ad_spend' else metric end as metric,
        target
    from {{ ref('stg_monthly_targets') }}
    where month <= {{ month_start(run_date()) }}

),

daily as (

    select * from {{ ref('kpi_store_daily') }}
    where "date" <= {{ run_date() }}

),

daily_values as (  -- one row per store, day and metric
    {%- for metric in ['net_sales', 'orders', 'visitors', 'new_buyers', 'ad_spend'] %}
    {% if not loop.first %}union all{% endif %}
    select store_id, "date", '{{ metric }}' as metric, cast({{ metric }} as double precision) as value from daily
    {%- endfor %}

),

months as (

    select
        targets.store_id,
        targets.month,
        targets.metric,
        targets.target,
        {{ month_end('targets.month') }} - targets.month + 1 as days_in_month,
        least({{ run_date() }}, {{ month_end('targets.month') }}) as last_day
    from targets

),

phases as (

    select * from {{ ref('int_store_thresholds') }}

),

aggregated as (

    select
        months.store_id,
        months.month,
        months.metric,
        months.target,
        months.days_in_month,
        months.last_day - months.month + 1 as days_elapsed,
        sum(daily_values.value) as actual_to_date,
        avg(case when daily_values."date" >= {{ add_days('months.last_day', -6) }} then daily_values.value end)
            as run_rate_7d
    from months
    left join daily_values
        on months.store_id = daily_values.store_id
        and months.metric = daily_values.metric
        and daily_values."date" between months.month and months.last_day
    group by months.store_id, months.month, months.metric, months.target, months.days_in_month, months.last_day

),

projected as (

    select
        aggregated.*,
        aggregated.target * aggregated.days_elapsed / aggregated.days_in_month as expected_to_date,
        case
            when aggregated.days_elapsed = aggregated.days_in_month then aggregated.actual_to_date
            else aggregated.actual_to_date + (aggregated.days_in_month - aggregated.days_elapsed) * aggregated.run_rate_7d
        end as projected
    from aggregated

),

final as (

    select
        projected.store_id,
        projected.month,
        projected.metric,
        projected.target,
        cast(projected.days_in_month as integer) as days_in_month,
        cast(projected.days_elapsed as integer) as days_elapsed,
        projected.actual_to_date,
        projected.expected_to_date,
        {{ safe_divide('projected.actual_to_date', 'projected.expected_to_date') }} as pacing,
        projected.run_rate_7d,
        projected.projected,
        -- compared at 6 decimals so that exactly the target (or the tolerance) is on track on both backends
        case
            when projected.target is null or projected.projected is null then null
            when projected.metric = 'ad_spend'
                then cast(projected.projected as decimal(38, 6))
                    <= cast(projected.target * (1 + phase.budget_tolerance) as decimal(38, 6))
            else cast(projected.projected as decimal(38, 6)) >= cast(projected.target as decimal(38, 6))
        end as on_track,
        phase.budget_tolerance,
        phase.pacing_min
    from projected
    left join phases as phase  -- the thresholds in force on the month's last day to date
        on projected.store_id = phase.store_id
        and {{ in_phase('phase', add_days('projected.month', 'projected.days_elapsed - 1')) }}

)

select * from final

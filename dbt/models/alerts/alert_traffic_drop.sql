-- traffic_drop (kpis.md): visitors below 70 % of the same weekday a week earlier. Its own SQL because it compares
-- two days; owner, severity and wording of the rule are in dbt_project.yml `alert_rules`.
with stores as (

    select store_id, {{ store_label() }} as store_label
    from {{ ref('stg_stores') }}

),

daily as (

    select daily.store_id, daily."date", daily.visitors, stores.store_label
    from {{ ref('kpi_store_daily') }} as daily
    inner join stores on daily.store_id = stores.store_id

),

final as (

    select
        current_day.store_id,
        current_day."date",
        cast(current_day.visitors as double precision) as value,
        0.7 * previous_day.visitors as threshold,
        current_day.store_label || ' had ' || cast(current_day.visitors as varchar) || ' visitors on '
            || cast(current_day."date" as varchar) || ', below 70% of the '
            || cast(previous_day.visitors as varchar) || ' visitors a week earlier ('
            || {{ format_number('0.7 * previous_day.visitors', 1) }} || ').' as message
    from daily as current_day
    inner join daily as previous_day
        on current_day.store_id = previous_day.store_id
        and previous_day."date" = {{ add_days('current_day."date"', -7) }}
    where current_day.visitors < 0.7 * previous_day.visitors

)

select * from final

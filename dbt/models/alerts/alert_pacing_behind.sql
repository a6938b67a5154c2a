-- pacing_behind (targets.md): in D's month, from its 7th day on, a net_sales or orders target whose projected
-- month end is below pacing_min × target. Fires on D only (target_pacing is the month's state as of D); owner,
-- severity and wording of the rule are in dbt_project.yml `alert_rules`.
with stores as (

    select store_id, {{ store_label() }} as store_label from {{ ref('stg_stores') }}

),

final as (

    select
        pacing.store_id,
        {{ run_date() }} as "date",
        pacing.metric,
        cast(pacing.projected as double precision) as value,
        cast(pacing.pacing_min * pacing.target as double precision) as threshold,
        stores.store_label || ' is behind its ' || {{ format_month('pacing.month') }} || ' '
            || replace(pacing.metric, '_', ' ') || ' target: ' || {{ format_number('pacing.actual_to_date') }}
            || ' in ' || cast(pacing.days_elapsed as varchar) || ' days projects '
            || {{ format_number('pacing.projected') }} || ' by month end, below '
            || {{ format_percent('pacing.pacing_min') }} || ' of the target of '
            || {{ format_number('pacing.target') }} || '.' as message
    from {{ ref('target_pacing') }} as pacing
    inner join stores on pacing.store_id = stores.store_id
    where pacing.month = {{ month_start(run_date()) }}
      and pacing.days_elapsed >= 7
      and pacing.metric in ('net_sales', 'orders')
      and cast(pacing.projected as decimal(38, 6)) < cast(pacing.pacing_min * pacing.target as decimal(38, 6))

)

select * from final

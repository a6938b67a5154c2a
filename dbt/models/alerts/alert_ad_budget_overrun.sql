-- ad_budget_overrun (targets.md): in D's month, ad spend to date above the prorated ad budget × (1 +
-- budget_tolerance). Fires on D only; owner, severity and wording are in dbt_project.yml `alert_rules`.
with stores as (

    select store_id, {{ store_label() }} as store_label from {{ ref('stg_stores') }}

),

final as (

    select
        pacing.store_id,
        {{ run_date() }} as "date",
        pacing.metric,
        cast(pacing.actual_to_date as double precision) as value,
        cast(pacing.expected_to_date * (1 + pacing.budget_tolerance) as double precision) as threshold,
        stores.store_label || ' spent ' || {{ format_number('pacing.actual_to_date') }} || ' on ads in the first '
            || cast(pacing.days_elapsed as varchar) || ' days of ' || {{ format_month('pacing.month') }}
            || ', above the prorated budget of ' || {{ format_number('pacing.expected_to_date') }} || ' plus '
            || {{ format_percent('pacing.budget_tolerance') }} || ' (monthly budget '
            || {{ format_number('pacing.target') }} || ').' as message
    from {{ ref('target_pacing') }} as pacing
    inner join stores on pacing.store_id = stores.store_id
    where pacing.month = {{ month_start(run_date()) }}
      and pacing.metric = 'ad_spend'
      and cast(pacing.actual_to_date as decimal(38, 6))
          > cast(pacing.expected_to_date * (1 + pacing.budget_tolerance) as decimal(38, 6))

)

select * from final

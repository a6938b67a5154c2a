-- promo_stock_risk (merchandising.md): one alert per promo_readiness row with a shortfall, dated D; critical when
-- the promo day is at most 7 days away. The rule's row is in dbt_project.yml `alert_rules`.
with stores as (

    select store_id, {{ store_label() }} as store_label from {{ ref('stg_stores') }}

),

final as (

    select
        readiness.store_id,
        {{ run_date() }} as "date",
        case when readiness.days_until <= 7 then 'critical' else 'warning' end as severity,
        readiness.sku,
        cast(readiness.shortfall as double precision) as value,
        cast(0 as double precision) as threshold,
        stores.store_label || ': SKU ' || readiness.sku || ' is ' || cast(readiness.shortfall as varchar)
            || ' units short for the promo day ' || cast(readiness.promo_date as varchar) || ' (in '
            || cast(readiness.days_until as varchar) || ' days; decide by '
            || cast(readiness.decision_due as varchar) || ').' as message,
        readiness.promo_date
    from {{ ref('promo_readiness') }} as readiness
    inner join stores on readiness.store_id = stores.store_id
    where readiness.shortfall > 0

)

select * from final

-- discount_floor (kpis.md): one alert per discount violation (order line). Its own SQL because its rows come from
-- discount_violations as they are; owner, severity and wording of the rule are in dbt_project.yml `alert_rules`.
with stores as (

    select store_id, {{ store_label() }} as store_label
    from {{ ref('stg_stores') }}

),

final as (

    select
        violations.store_id,
        violations."date",
        violations.sku,
        violations.order_id,
        violations.line_number,
        violations.price_ratio as value,
        violations.discount_floor as threshold,
        stores.store_label || ': order ' || violations.order_id || ' sold SKU ' || coalesce(violations.sku, '?')
            || ' at ' || {{ format_percent('violations.price_ratio') }} || ' of its list price on '
            || cast(violations."date" as varchar) || ', below the floor of '
            || {{ format_percent('violations.discount_floor') }} || '.' as message
    from {{ ref('discount_violations') }} as violations
    inner join stores on violations.store_id = stores.store_id

)

select * from final

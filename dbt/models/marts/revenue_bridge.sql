-- Net sales against the same weekday one week earlier, split into traffic, conversion and basket effects
-- (kpis.md marts.revenue_bridge). ln(S/S0) = ln(V/V0) + ln(CR/CR0) + ln(AOV/AOV0) because S = V x CR x AOV.
with daily as (

    select * from {{ ref('kpi_store_daily') }}

),

paired as (

    select
        current_day.store_id,
        current_day."date",
        previous_day."date" as date_prev,
        current_day.net_sales,
        previous_day.net_sales as net_sales_prev,
        current_day.visitors,
        previous_day.visitors as visitors_prev,
        current_day.conversion_rate,
        previous_day.conversion_rate as conversion_rate_prev,
        current_day.aov,
        previous_day.aov as aov_prev
    from daily as current_day
    inner join daily as previous_day
        on current_day.store_id = previous_day.store_id
        and previous_day."date" = {{ add_days('current_day."date"', -7) }}
    where current_day.visitors > 0 and previous_day.visitors > 0
      and current_day.conversion_rate > 0 and previous_day.conversion_rate > 0
      and current_day.aov > 0 and previous_day.aov > 0

),

final as (

    select
        store_id,
        "date",
        date_prev,
        net_sales,
        net_sales_prev,
        ln({{ safe_divide('net_sales', 'net_sales_prev') }}) as log_change,
        ln({{ safe_divide('visitors', 'visitors_prev') }}) as visitors_effect,
        ln(conversion_rate / conversion_rate_prev) as conversion_effect,
        ln(aov / aov_prev) as aov_effect,
        visitors,
        visitors_prev,
        conversion_rate,
        conversion_rate_prev,
        aov,
        aov_prev
    from paired

)

select * from final

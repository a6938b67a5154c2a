-- 90-day repurchase per store and cohort month of customers' first paid order (kpis.md marts.repurchase_cohorts).
with first_orders as (

    select * from {{ ref('int_customer_first_orders') }}

),

cohorts as (

    select
        store_id,
        {{ month_start('first_paid_date') }} as cohort_month,
        count(*) as customers,
        sum(case when repurchased_90d then 1 else 0 end) as repurchased_90d
    from first_orders
    group by store_id, {{ month_start('first_paid_date') }}

),

final as (

    select
        store_id,
        cohort_month,
        cast(customers as bigint) as customers,
        cast(repurchased_90d as bigint) as repurchased_90d,
        {{ safe_divide('repurchased_90d', 'customers') }} as repurchase_rate_90d,
        -- until the 90 days after the cohort's last day have passed, the rate can still grow
        {{ add_days(month_end('cohort_month'), 90) }} <= {{ run_date() }} as is_mature
    from cohorts

)

select * from final

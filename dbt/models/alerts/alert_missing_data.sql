-- missing_data (kpis.md): a configured store with no orders export or no traffic covering a day. Checked on every
-- day of the store's calendar and always on D (also for a store that never sent anything). Owner, severity and
-- wording of the rule are in dbt_project.yml `alert_rules`.
with stores as (

    select store_id, {{ store_label() }} as store_label
    from {{ ref('stg_stores') }}

),

checked_days as (

    select store_id, "date" from {{ ref('int_store_days') }}
    union
    select store_id, {{ run_date() }} from stores

),

orders_covered as (

    select distinct store_id, export_date as "date"
    from {{ ref('stg_export_files') }}
    where dataset = 'orders' and status = 'loaded' and export_date <= {{ run_date() }}
    union
    select distinct store_id, export_date from {{ ref('stg_orders') }} where export_date <= {{ run_date() }}
    union
    select distinct store_id, paid_date from {{ ref('int_order_facts') }}

),

coverage as (

    select
        checked_days.store_id,
        checked_days."date",
        orders_covered."date" is not null as has_orders,
        traffic.traffic_date is not null as has_traffic
    from checked_days
    left join orders_covered
        on checked_days.store_id = orders_covered.store_id
        and checked_days."date" = orders_covered."date"
    left join {{ ref('int_daily_traffic') }} as traffic
        on checked_days.store_id = traffic.store_id
        and checked_days."date" = traffic.traffic_date

),

final as (

    select
        coverage.store_id,
        coverage."date",
        cast(null as double precision) as value,
        cast(null as double precision) as threshold,
        stores.store_label || ' has no '
            || case
                when not coverage.has_orders and not coverage.has_traffic then 'orders export and no traffic'
                when not coverage.has_orders then 'orders export'
                else 'traffic'
            end
            || ' covering ' || cast(coverage."date" as varchar) || '.' as message
    from coverage
    inner join stores on coverage.store_id = stores.store_id
    where not (coverage.has_orders and coverage.has_traffic)

)

select * from final

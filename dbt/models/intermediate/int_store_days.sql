-- The calendar of each configured store: every date without gaps from its first paid order or traffic day to D.
with stores as (

    select store_id from {{ ref('stg_stores') }}

),

activity_starts as (

    select store_id, min(paid_date) as first_day from {{ ref('int_order_facts') }} group by store_id
    union all
    select store_id, min(traffic_date) as first_day from {{ ref('int_daily_traffic') }} group by store_id

),

first_days as (

    select
        stores.store_id,
        min(activity_starts.first_day) as first_day
    from stores
    inner join activity_starts
        on stores.store_id = activity_starts.store_id
    group by stores.store_id

),

final as (

    select
        first_days.store_id,
        {{ add_days('first_days.first_day', 'day_offsets.day_offset') }} as "date"
    from first_days
    cross join lateral generate_series(0, {{ run_date() }} - first_days.first_day) as day_offsets (day_offset)

)

select * from final

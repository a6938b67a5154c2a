-- loyal_customers of kpi_store_daily on D is the number of loyal customers in customer_segments: the daily count
-- and the segment must be the same rules. Returns the stores where they differ.
with daily as (

    select store_id, loyal_customers from {{ ref('kpi_store_daily') }} where "date" = {{ run_date() }}

),

segments as (

    select store_id, count(*) as loyal_customers
    from {{ ref('customer_segments') }}
    where segment = 'loyal'
    group by store_id

)

select daily.store_id, daily.loyal_customers, coalesce(segments.loyal_customers, 0) as loyal_in_segments
from daily
left join segments
    on daily.store_id = segments.store_id
where daily.loyal_customers <> coalesce(segments.loyal_customers, 0)

-- One traffic row per store and day up to D, latest export wins.
with traffic as (

    select * from {{ ref('stg_traffic') }}
    where export_date <= {{ run_date() }}
      and traffic_date <= {{ run_date() }}

),

ranked as (

    select
        traffic.*,
        {{ latest_version_rank('store_id, traffic_date') }} as version_rank
    from traffic

),

final as (

    select
        store_id,
        traffic_date,
        visitors,
        sessions,
        pageviews
    from ranked
    where version_rank = 1

)

select * from final

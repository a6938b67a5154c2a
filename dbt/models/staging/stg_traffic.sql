with source as (

    select * from {{ source('raw', 'traffic') }}

),

renamed as (

    select
        _store_id as store_id,
        "date" as traffic_date,
        visitors,
        sessions,
        pageviews,
        paying_buyers,
        {{ lineage_columns() }}

    from source

)

select * from renamed

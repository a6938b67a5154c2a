with source as (

    select * from {{ source('raw', 'traffic_sources') }}

),

renamed as (

    select
        _store_id as store_id,
        "date" as traffic_date,
        trim(source) as source,
        nullif(trim(source_detail), '') as source_detail,
        visitors,
        sessions,
        orders,
        buyers,
        sales,
        {{ lineage_columns() }}

    from source

)

select * from renamed

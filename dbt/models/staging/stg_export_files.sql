with source as (

    select * from {{ source('audit', 'files') }}

),

renamed as (

    select
        path as source_file,
        store_id,
        dataset,
        export_date,
        status,
        rows_loaded

    from source

)

select * from renamed

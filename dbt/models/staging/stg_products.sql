with source as (

    select * from {{ source('raw', 'products') }}

),

renamed as (

    select
        _store_id as store_id,
        valid_from,
        sku,
        product_name,
        list_price,
        cost,
        launched_on,
        lead_time_days,
        {{ lineage_columns() }}

    from source

)

select * from renamed

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
        {{ lineage_columns() }}

    from source

)

select * from renamed

with source as (

    select * from {{ source('raw', 'stock') }}

),

renamed as (

    select
        _store_id as store_id,
        snapshot_date,
        sku,
        location,
        product_name,
        on_hand,
        {{ lineage_columns() }}

    from source

)

select * from renamed

with source as (

    select * from {{ source('raw', 'order_lines') }}

),

renamed as (

    select
        _store_id as store_id,
        order_id,
        line_number,
        sku,
        product_name,
        quantity,
        unit_price,
        compare_at_price,
        list_price,
        {{ lineage_columns() }}

    from source

)

select * from renamed

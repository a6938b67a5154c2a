with source as (

    select * from {{ source('raw', 'hero_skus') }}

),

renamed as (

    select
        store_id,
        sku

    from source

)

select * from renamed

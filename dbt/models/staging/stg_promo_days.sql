with source as (

    select * from {{ source('raw', 'promo_days') }}

),

renamed as (

    select
        store_id,
        "date" as promo_date

    from source

)

select * from renamed

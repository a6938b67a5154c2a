with source as (

    select * from {{ source('raw', 'reviews') }}

),

renamed as (

    select
        _store_id as store_id,
        review_id,
        reviewed_at,
        cast(reviewed_at as date) as review_date,
        rating,
        product,
        order_id,
        {{ lineage_columns() }}

    from source

)

select * from renamed

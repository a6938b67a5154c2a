with source as (

    select * from {{ source('raw', 'orders') }}

),

renamed as (

    select
        _store_id as store_id,
        order_id,
        customer_key,
        currency,
        status,
        created_at,
        paid_at,
        cancelled_at,
        fulfilled_at,
        subtotal,
        order_discount,
        shipping,
        taxes,
        total,
        goods_amount,
        refunded_amount,
        item_count,
        {{ lineage_columns() }}

    from source

)

select * from renamed

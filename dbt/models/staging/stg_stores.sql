with source as (

    select * from {{ source('raw', 'stores') }}

),

renamed as (

    select
        store_id,
        name as store_name,
        platform,
        timezone,
        currency,
        prices_include_tax,
        coalesce(cash_on_delivery, false) as cash_on_delivery,
        {%- for column in threshold_columns() %}
        {{ column }},
        {%- endfor %}
        goal_daily_orders

    from source

)

select * from renamed

with source as (

    select * from {{ source('raw', 'ad_spend') }}

),

renamed as (

    select
        _store_id as store_id,
        "date" as ad_date,
        ad_platform,
        trim(campaign) as campaign,
        currency,
        spend,
        impressions,
        clicks,
        attributed_orders,
        attributed_sales,
        {{ lineage_columns() }}

    from source

)

select * from renamed

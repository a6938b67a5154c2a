-- Each SKU's own lead time: the latest catalogue export up to D that gives one (generic products lead_time_days).
with products as (

    select * from {{ ref('stg_products') }}
    where export_date <= {{ run_date() }}
      and valid_from <= {{ run_date() }}
      and lead_time_days is not null

),

ranked as (

    select
        products.*,
        row_number() over (
            partition by store_id, sku
            order by valid_from desc, export_date desc, {{ bytewise('source_file') }} desc, source_row_number desc
        ) as version_rank
    from products

),

final as (

    select store_id, sku, cast(lead_time_days as integer) as lead_time_days
    from ranked
    where version_rank = 1

)

select * from final

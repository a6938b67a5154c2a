-- Catalogue list prices with their validity: a later export replaces the earlier price from its export date on,
-- so each price holds from valid_from up to (excluding) the next one's valid_from.
with products as (

    select * from {{ ref('stg_products') }}
    where export_date <= {{ run_date() }}
      and valid_from <= {{ run_date() }}

),

ranked as (

    select
        products.*,
        {{ latest_version_rank('store_id, sku, valid_from') }} as version_rank
    from products

),

final as (

    select
        store_id,
        sku,
        product_name,
        list_price,
        valid_from,
        lead(valid_from) over (partition by store_id, sku order by valid_from) as valid_to
    from ranked
    where version_rank = 1

)

select * from final

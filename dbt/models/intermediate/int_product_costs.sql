-- Unit costs with their validity (merchandising.md): a later export that gives a SKU's cost replaces it from its
-- export date on; an export without a cost leaves the earlier one in force; before the first one there is none.
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

costs as (

    select store_id, sku, cost as unit_cost, valid_from
    from ranked
    where version_rank = 1
      and cost is not null

),

final as (

    select
        store_id,
        sku,
        unit_cost,
        valid_from,
        lead(valid_from) over (partition by store_id, sku order by valid_from) as valid_to
    from costs

)

select * from final

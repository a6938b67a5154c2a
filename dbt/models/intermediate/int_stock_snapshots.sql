-- On hand per store, SKU and snapshot date up to D: latest export wins per location, then locations are summed.
with stock as (

    select * from {{ ref('stg_stock') }}
    where export_date <= {{ run_date() }}
      and snapshot_date <= {{ run_date() }}

),

ranked as (

    select
        stock.*,
        {{ latest_version_rank('store_id, snapshot_date, sku, location') }} as version_rank
    from stock

),

final as (

    select
        store_id,
        sku,
        snapshot_date,
        max(product_name) as product_name,
        cast(sum(on_hand) as bigint) as on_hand
    from ranked
    where version_rank = 1
    group by store_id, sku, snapshot_date

)

select * from final

-- On hand per store, SKU and snapshot date up to D: per location the latest export wins, and within it rows of
-- the same SKU and location add up (Shopify does not enforce unique SKUs); then locations are summed. A row
-- without SKU is not a SKU; 'not stocked' (NULL) adds nothing, and a SKU stocked at no location is not in the
-- snapshot.
with stock as (

    select * from {{ ref('stg_stock') }}
    where export_date <= {{ run_date() }}
      and snapshot_date <= {{ run_date() }}
      and sku is not null

),

location_files as (

    select
        store_id,
        snapshot_date,
        sku,
        location,
        source_file,
        max(export_date) as export_date,
        max(source_row_number) as source_row_number
    from stock
    group by store_id, snapshot_date, sku, location, source_file

),

latest_files as (

    select
        location_files.*,
        {{ latest_version_rank('store_id, snapshot_date, sku, location') }} as version_rank
    from location_files

),

final as (

    select
        stock.store_id,
        stock.sku,
        stock.snapshot_date,
        max(stock.product_name) as product_name,
        cast(sum(stock.on_hand) as bigint) as on_hand
    from stock
    inner join latest_files
        on stock.store_id = latest_files.store_id
        and stock.snapshot_date = latest_files.snapshot_date
        and stock.sku = latest_files.sku
        and coalesce(stock.location, '') = coalesce(latest_files.location, '')
        and stock.source_file = latest_files.source_file
    where latest_files.version_rank = 1
    group by stock.store_id, stock.sku, stock.snapshot_date
    having count(stock.on_hand) > 0

)

select * from final

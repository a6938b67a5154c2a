{{ order_chain_incremental() }}
-- The lines of every order as the latest export that lists them says. An order's lines are taken as one set
-- from a single file (never mixed across exports); on Taobao lines come from the line report, a different file
-- from the order report, so the set is chosen independently of the order row. A Shopify tip (a line named Tip,
-- without SKU) is flagged: it is not merchandise (kpis.md "Order facts").
with lines as (

    select * from {{ ref('stg_order_lines') }} as lines
    where export_date <= {{ run_date() }}{{ order_chain_only_changed('lines') }}

),

line_sets as (

    select
        store_id,
        order_id,
        source_file,
        max(export_date) as export_date,
        max(source_row_number) as source_row_number
    from lines
    group by store_id, order_id, source_file

),

latest_sets as (

    select
        store_id,
        order_id,
        source_file,
        {{ latest_version_rank('store_id, order_id') }} as version_rank
    from line_sets

),

final as (

    select
        lines.store_id,
        lines.order_id,
        lines.line_number,
        lines.sku,
        lines.product_name,
        lines.quantity,
        lines.unit_price,
        lines.compare_at_price,
        lines.list_price,
        stores.platform = 'shopify' and lines.sku is null and lower(trim(lines.product_name)) = 'tip' as is_tip,
        lines.source_file
    from lines
    inner join {{ ref('stg_stores') }} as stores
        on lines.store_id = stores.store_id
    inner join latest_sets
        on lines.store_id = latest_sets.store_id
        and lines.order_id = latest_sets.order_id
        and lines.source_file = latest_sets.source_file
    where latest_sets.version_rank = 1

)

select * from final

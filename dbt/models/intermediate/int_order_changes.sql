-- The orders the incremental order chain recomputes tonight: on a rebuild night every order with a raw row
-- visible on D; else orders with a row from a raw file version the previous night did not read, with a row
-- whose export date became visible (previous D < export_date <= D), or with a time that may make it count as
-- paid now (a paid, created or fulfilled date in (previous D, D]). Every other order's raw rows visible on D are exactly those of
-- the previous night, so its rows in the chain are unchanged. After the build, this night is recorded as the
-- state the next night compares with.
{{ config(post_hook=[
    "{{ order_chain_clear('order_chain_files') }}",
    "{{ order_chain_record_files() }}",
    "{{ order_chain_clear('order_chain_state') }}",
    "{{ order_chain_record_state() }}",
    "{{ order_chain_statistics() }}",
]) }}
with night as (

    select * from {{ ref('int_order_chain_night') }}

),

new_files as (

    select dataset, source_file, batch_id, loaded_at from {{ ref('int_order_files') }}
    except
    select dataset, source_file, batch_id, loaded_at from {{ order_chain_table('order_chain_files') }}

),

raw_rows as (

    select
        'orders' as dataset, orders.store_id, orders.order_id, orders.source_file, orders.batch_id,
        orders.loaded_at, orders.export_date,
        {%- for moment in ['paid_at', 'created_at', 'fulfilled_at'] %}
        {{ 'or' if not loop.first }} cast(orders.{{ moment }} as date) > night.previous_run_date
            and cast(orders.{{ moment }} as date) <= night.run_date
        {%- endfor %} as may_count_now
    from {{ ref('stg_orders') }} as orders
    cross join night
    union all
    select
        'order_lines', store_id, order_id, source_file, batch_id, loaded_at, export_date, false
    from {{ ref('stg_order_lines') }}

),

visible as (

    select raw_rows.*, night.rebuild_all, night.previous_run_date
    from raw_rows
    cross join night
    where raw_rows.export_date <= night.run_date

)

-- joins and plain filters, no OR of a semi join (a mark join over every raw row: seconds at 10 M lines)
select store_id, order_id from visible
where rebuild_all or export_date > previous_run_date or may_count_now
union
select visible.store_id, visible.order_id
from visible
inner join new_files
    on visible.dataset = new_files.dataset
    and visible.source_file = new_files.source_file
    and visible.batch_id = new_files.batch_id
    and visible.loaded_at = new_files.loaded_at

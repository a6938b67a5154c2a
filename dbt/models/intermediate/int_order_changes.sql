-- The orders the incremental order chain recomputes tonight (empty on a rebuild night: then it recomputes all):
-- orders with a row from a raw file version the previous night did not read, with a row whose export date
-- became visible (previous D < export_date <= D), or with a time that may make it count as paid now (a paid,
-- created or fulfilled date in (previous D, D]). Every other order's raw rows visible on D are exactly those of
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
    where not rebuild_all

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

)

select distinct raw_rows.store_id, raw_rows.order_id
from raw_rows
cross join night
where raw_rows.export_date <= night.run_date
  and (
      raw_rows.export_date > night.previous_run_date
      or raw_rows.may_count_now
      or exists (
          select 1 from new_files
          where new_files.dataset = raw_rows.dataset and new_files.source_file = raw_rows.source_file
            and new_files.batch_id = raw_rows.batch_id and new_files.loaded_at = raw_rows.loaded_at
      )
  )

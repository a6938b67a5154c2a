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

changed_orders as (

    select orders.store_id, orders.order_id
    from {{ ref('stg_orders') }} as orders
    cross join night
    where orders.export_date <= night.run_date
      and (
          orders.export_date > night.previous_run_date
          or cast(orders.paid_at as date) > night.previous_run_date and cast(orders.paid_at as date) <= night.run_date
          or cast(orders.created_at as date) > night.previous_run_date
              and cast(orders.created_at as date) <= night.run_date
          or cast(orders.fulfilled_at as date) > night.previous_run_date
              and cast(orders.fulfilled_at as date) <= night.run_date
          or exists (
              select 1 from new_files
              where new_files.dataset = 'orders' and new_files.source_file = orders.source_file
                and new_files.batch_id = orders.batch_id and new_files.loaded_at = orders.loaded_at
          )
      )

),

changed_lines as (

    select lines.store_id, lines.order_id
    from {{ ref('stg_order_lines') }} as lines
    cross join night
    where lines.export_date <= night.run_date
      and (
          lines.export_date > night.previous_run_date
          or exists (
              select 1 from new_files
              where new_files.dataset = 'order_lines' and new_files.source_file = lines.source_file
                and new_files.batch_id = lines.batch_id and new_files.loaded_at = lines.loaded_at
          )
      )

)

select store_id, order_id from changed_orders
union
select store_id, order_id from changed_lines

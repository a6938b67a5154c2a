-- The raw file versions the order chain reads now (a re-ingested file comes back with a new batch and load
-- time): int_order_changes compares them with the versions of the last planned night.
select distinct 'orders' as dataset, source_file, batch_id, loaded_at from {{ ref('stg_orders') }}
union all
select distinct 'order_lines' as dataset, source_file, batch_id, loaded_at from {{ ref('stg_order_lines') }}

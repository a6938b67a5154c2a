{#- The order chain (int_orders_latest, int_order_lines_latest, int_order_facts, int_paid_order_lines) is
    incremental, keyed on (store_id, order_id): a night deletes and recomputes, from all their raw rows, only the
    orders int_order_changes lists (every order when int_order_chain_night says rebuild_all; docs/decisions.md
    "Incremental order chain"). The state that decision reads is kept beside the tables, in tables these macros write inside the
    same transaction as the model they belong to, so it always describes what the tables hold:
      order_chain_state  one row: the inputs of the last planned night (D, project fingerprint, stores digest,
                         token = a digest of all three and of the raw file versions)
      order_chain_files  the raw file versions (dataset, source_file, batch_id, loaded_at) of that night
      order_chain_built  per chain model: the token of the night it was last built for -#}

{% macro order_chain_models() -%}
    {{ return(['int_orders_latest', 'int_order_lines_latest', 'int_order_facts', 'int_paid_order_lines']) }}
{%- endmacro %}

{% macro order_chain_table(name) -%}
    {{ this.schema }}.{{ name }}
{%- endmacro %}

{#- The store settings the chain reads, as one digest: a change rebuilds the chain. -#}
{% macro order_chain_stores_digest() -%}
    (select coalesce(md5(string_agg(
        store_id || ':' || coalesce(platform, '') || ':' || coalesce(cast(prices_include_tax as varchar), '')
        || ':' || coalesce(cast(cash_on_delivery as varchar), ''), '|' order by store_id)), '')
     from {{ ref('stg_stores') }})
{%- endmacro %}

{#- Hooks are single statements (one per hook string), rendered when the model runs. -#}

{#- Pre-hooks of int_order_chain_night: the state tables exist before it reads them. -#}
{% macro order_chain_create_state(name) -%}
    {%- set columns = {
        'order_chain_state': 'run_date date, fingerprint varchar, stores_digest varchar, token varchar',
        'order_chain_files': 'dataset varchar, source_file varchar, batch_id varchar, loaded_at timestamp',
        'order_chain_built': 'model varchar, token varchar',
    } -%}
    create table if not exists {{ order_chain_table(name) }} ({{ columns[name] }})
{%- endmacro %}

{#- Post-hooks of int_order_changes: this night's inputs become the state the next night compares with. -#}
{% macro order_chain_clear(name) -%}
    delete from {{ order_chain_table(name) }}
{%- endmacro %}

{% macro order_chain_record_files() -%}
    insert into {{ order_chain_table('order_chain_files') }}
    select dataset, source_file, batch_id, loaded_at from {{ ref('int_order_files') }}
{%- endmacro %}

{% macro order_chain_record_state() -%}
    insert into {{ order_chain_table('order_chain_state') }}
    select run_date, fingerprint, stores_digest, token from {{ ref('int_order_chain_night') }}
{%- endmacro %}

{#- Post-hook of int_order_changes on PostgreSQL: planner statistics for the state tables (planner_statistics()
    covers dbt's own tables only). -#}
{% macro order_chain_statistics() -%}
    {%- if target.type == 'postgres' -%}
        analyze {{ order_chain_table('order_chain_state') }}, {{ order_chain_table('order_chain_files') }},
            {{ order_chain_table('order_chain_built') }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- Pre-hooks of a chain model: drop the orders this night recomputes; on a rebuild night every row (orders
    that are gone from raw included). Two statements, each a plain scan or semi join: an OR of the two is a
    mark join that costs a second per million rows on DuckDB. -#}
{% macro order_chain_delete_all() -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where (select rebuild_all from {{ ref('int_order_chain_night') }})
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{% macro order_chain_delete_changed() -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where {{ order_chain_changed(this) }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- Post-hooks of a chain model: the table now holds this night's token. -#}
{% macro order_chain_forget_built() -%}
    delete from {{ order_chain_table('order_chain_built') }} where model = '{{ this.name }}'
{%- endmacro %}

{% macro order_chain_record_built() -%}
    insert into {{ order_chain_table('order_chain_built') }}
    select '{{ this.name }}', token from {{ order_chain_table('order_chain_state') }}
{%- endmacro %}

{#- True for a row of `relation` (an alias or table with store_id, order_id) whose order this night recomputes
    (int_order_changes lists every order on a rebuild night). -#}
{% macro order_chain_changed(relation) -%}
    exists (select 1 from {{ ref('int_order_changes') }} as changes
            where changes.store_id = {{ relation }}.store_id and changes.order_id = {{ relation }}.order_id)
{%- endmacro %}

{#- The config of every chain model, and the models its incremental branch reads (dbt parses with
    is_incremental() false, so refs only made there would not order the build). -#}
{% macro order_chain_incremental() -%}
    {{ config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='sync_all_columns',
        pre_hook=["{{ order_chain_delete_all() }}", "{{ order_chain_delete_changed() }}"],
        post_hook=["{{ order_chain_forget_built() }}", "{{ order_chain_record_built() }}"],
    ) }}
    -- depends_on: {{ ref('int_order_chain_night') }}, {{ ref('int_order_changes') }}
{%- endmacro %}

{#- `and <the row's order is recomputed tonight>` in an incremental build; nothing in a full one or a dbt unit
    test (which has no `this` to ask is_incremental() about). -#}
{% macro order_chain_only_changed(relation) -%}
    {%- if this is not none and is_incremental() %} and {{ order_chain_changed(relation) }}{% endif -%}
{%- endmacro %}

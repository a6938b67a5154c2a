-- One row: the inputs of this night's order chain and whether it must be rebuilt in full (docs/decisions.md
-- "Incremental order chain"). Incremental needs a previous night that every chain model was built for (the same
-- token), D not before its D, the same project and store settings, and none of its raw file versions gone.
{{ config(pre_hook=[
    "{{ order_chain_create_state('order_chain_state') }}",
    "{{ order_chain_create_state('order_chain_files') }}",
    "{{ order_chain_create_state('order_chain_built') }}",
]) }}
with files_digest as (

    select coalesce(md5(string_agg(
        dataset || ':' || source_file || ':' || batch_id || ':' || cast(loaded_at as varchar), '|'
        order by dataset, source_file, batch_id, loaded_at)), '') as digest
    from {{ ref('int_order_files') }}

),

night as (

    select
        {{ run_date() }} as run_date,
        {{ project_fingerprint() }} as fingerprint,
        {{ order_chain_stores_digest() }} as stores_digest,
        (select digest from files_digest) as files_digest

),

previous as (

    select * from {{ order_chain_table('order_chain_state') }}

),

built as (

    select
        count(distinct built.model) as models,
        count(distinct built.token) as tokens,
        min(built.token) as token
    from {{ order_chain_table('order_chain_built') }} as built
    where built.model in ('{{ order_chain_models() | join("', '") }}')

),

gone as (

    select count(*) as files
    from (
        select dataset, source_file, batch_id, loaded_at from {{ order_chain_table('order_chain_files') }}
        except
        select dataset, source_file, batch_id, loaded_at from {{ ref('int_order_files') }}
    ) as removed

),

decided as (

    select
        night.run_date,
        night.fingerprint,
        night.stores_digest,
        md5(cast(night.run_date as varchar) || '|' || night.fingerprint || '|' || night.stores_digest || '|'
            || night.files_digest) as token,
        previous.run_date as previous_run_date,
        case
            when previous.token is null then 'no previous night'
            when built.models < {{ order_chain_models() | length }} or built.tokens <> 1
                or built.token <> previous.token then 'chain models built for different nights'
            when night.run_date < previous.run_date then 'D before the previous D'
            when night.fingerprint <> previous.fingerprint then 'dbt project changed'
            when night.stores_digest <> previous.stores_digest then 'store settings changed'
            when gone.files > 0 then 'a raw file was changed or forgotten'
        end as rebuild_reason
    from night
    cross join built
    cross join gone
    left join previous on true

)

select
    run_date,
    fingerprint,
    stores_digest,
    token,
    previous_run_date,
    rebuild_reason,
    rebuild_reason is not null as rebuild_all
from decided

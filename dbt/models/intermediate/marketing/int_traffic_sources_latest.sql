-- One row per store, day, source and source detail up to D, latest export wins, with its channel.
with sources as (

    select * from {{ ref('stg_traffic_sources') }}
    where export_date <= {{ run_date() }}
      and traffic_date <= {{ run_date() }}

),

stores as (

    select store_id, platform from {{ ref('stg_stores') }}

),

ranked as (

    select
        sources.*,
        {{ latest_version_rank("store_id, traffic_date, source, coalesce(source_detail, '')") }} as version_rank
    from sources

),

latest as (

    select ranked.*, stores.platform
    from ranked
    inner join stores on ranked.store_id = stores.store_id
    where version_rank = 1

),

{# a source_detail rule beats a source rule; at the same level the store's own rules beat the default map #}
rules as (

    select store_id, 'source_detail' as match_on, match_value, channel, 1 as priority
    from {{ ref('stg_store_channels') }}
    union all
    select store_id, 'source', match_value, channel, 3 from {{ ref('stg_store_channels') }}
    union all
    select stores.store_id, map.match_on, lower(trim(map.match_value)), map.channel,
           case when map.match_on = 'source_detail' then 2 else 4 end
           + case when map.platform = 'any' then 0.5 else 0 end
    from {{ ref('channel_map') }} as map
    inner join stores on map.platform in (stores.platform, 'any')

),

matched as (

    select
        latest.store_id,
        latest.traffic_date,
        latest.source,
        latest.source_detail,
        rules.channel,
        row_number() over (
            partition by latest.store_id, latest.traffic_date, latest.source, latest.source_detail
            order by rules.priority
        ) as rule_rank
    from latest
    inner join rules
        on latest.store_id = rules.store_id
        and rules.match_value = lower(case when rules.match_on = 'source' then latest.source
                                           else latest.source_detail end)

),

final as (

    select
        latest.store_id,
        latest.traffic_date,
        coalesce(matched.channel, 'other') as channel,
        matched.channel is null as is_unmapped,
        latest.source,
        latest.source_detail,
        latest.visitors,
        latest.sessions,
        latest.orders,
        latest.buyers,
        latest.sales
    from latest
    left join matched
        on latest.store_id = matched.store_id
        and latest.traffic_date = matched.traffic_date
        and latest.source = matched.source
        and coalesce(latest.source_detail, '') = coalesce(matched.source_detail, '')
        and matched.rule_rank = 1

)

select * from final

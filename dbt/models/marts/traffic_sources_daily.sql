-- One row per store, date, source and source detail (marketing.md marts.traffic_sources_daily). Visitors by
-- source are not additive: one visitor who came twice by different sources counts in both.
with sources as (

    select * from {{ ref('int_traffic_sources_latest') }}

),

traffic as (

    select * from {{ ref('int_daily_traffic') }}

),

final as (

    select
        sources.store_id,
        sources.traffic_date as "date",
        sources.channel,
        sources.source,
        sources.source_detail,
        cast(sources.visitors as bigint) as visitors,
        cast(sources.sessions as bigint) as sessions,
        cast(sources.orders as bigint) as orders,
        cast(sources.buyers as bigint) as buyers,
        {{ money('sources.sales') }} as sales,
        {{ safe_divide('sources.buyers', 'sources.visitors') }} as buyer_conversion_rate,
        {{ safe_divide('sources.sales', 'sources.visitors') }} as uv_value,
        {{ safe_divide('sources.visitors', 'traffic.visitors') }} as visitor_share
    from sources
    left join traffic
        on sources.store_id = traffic.store_id
        and sources.traffic_date = traffic.traffic_date

)

select * from final

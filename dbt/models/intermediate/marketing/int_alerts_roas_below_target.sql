-- marketing.md roas_below_target: a campaign-day with spend >= min_campaign_spend and roas < roas_min. Its own
-- model producing kpi_alerts' columns (plus campaign); kpi_alerts unions it in.
with stores as (  -- one row per store and threshold phase (targets.md): the roas_min in force on the day

    select
        stg_stores.store_id,
        stg_stores.store_name || ' (' || stg_stores.store_id || ')' as store_label,
        phase.valid_from,
        phase.valid_to,
        phase.roas_min,
        phase.min_campaign_spend
    from {{ ref('stg_stores') }} as stg_stores
    inner join {{ ref('int_store_thresholds') }} as phase
        on stg_stores.store_id = phase.store_id

),

campaigns as (

    select * from {{ ref('ad_campaign_daily') }}

),

final as (

    select
        campaigns.store_id,
        campaigns."date",
        'roas_below_target' as rule,
        'marketing' as owner_role,
        'warning' as severity,
        cast(null as varchar) as sku,
        cast(null as varchar) as order_id,
        cast(null as integer) as line_number,
        campaigns.roas as value,
        cast(stores.roas_min as double precision) as threshold,
        stores.store_label || ': ' || campaigns.ad_platform || ' campaign ''' || campaigns.campaign
            || ''' returned a ROAS of ' || {{ format_number('campaigns.roas') }} || ' on '
            || cast(campaigns."date" as varchar) || ' (' || {{ format_number('campaigns.attributed_sales') }}
            || ' attributed sales on ' || {{ format_number('campaigns.spend') }} || ' spend), below the target of '
            || {{ format_number('stores.roas_min') }} || '.' as message,
        campaigns.campaign
    from campaigns
    inner join stores on campaigns.store_id = stores.store_id and {{ in_phase('stores', 'campaigns."date"') }}
    where campaigns.spend >= stores.min_campaign_spend
      and campaigns.roas < stores.roas_min

)

select * from final

-- targets.md: the thresholds in force per store and phase. A store the pipeline wrote no phase for (a warehouse
-- written by an older storekpi) has one open phase holding its raw.stores thresholds, so every mart joining on
-- the row's date finds exactly one phase.
with phases as (

    select * from {{ ref('stg_store_thresholds') }}

),

stores as (

    select * from {{ ref('stg_stores') }}

)

select * from phases
union all
select
        stores.store_id,
        cast('1900-01-01' as date) as valid_from,
        cast(null as date) as valid_to,
        stores.conversion_rate_min,
        stores.positive_review_rate_min,
        stores.daily_orders_min,
        stores.cover_days_min,
        stores.discount_floor,
        stores.max_quarantine_share,
        stores.roas_min,
        stores.min_campaign_spend,
        stores.loyal_min_orders,
        stores.hero_min_on_hand,
        stores.lead_time_days,
        stores.review_days,
        stores.service_level,
        stores.service_level_z,
        stores.promo_lift,
        stores.dead_stock_days,
        stores.promo_horizon_days,
        stores.pacing_min,
        stores.budget_tolerance,
        stores.refund_rate_max
from stores
where not exists (select 1 from phases where phases.store_id = stores.store_id)

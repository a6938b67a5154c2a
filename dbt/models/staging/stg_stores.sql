with source as (

    select * from {{ source('raw', 'stores') }}

),

renamed as (

    select
        store_id,
        name as store_name,
        platform,
        timezone,
        currency,
        conversion_rate_min,
        positive_review_rate_min,
        daily_orders_min,
        cover_days_min,
        discount_floor,
        max_quarantine_share,
        prices_include_tax,
        coalesce(cash_on_delivery, false) as cash_on_delivery,
        roas_min,
        min_campaign_spend,
        loyal_min_orders,
        hero_min_on_hand,
        lead_time_days,
        review_days,
        service_level,
        service_level_z,
        promo_lift,
        dead_stock_days,
        promo_horizon_days,
        pacing_min,
        budget_tolerance,
        refund_rate_max,
        goal_daily_orders

    from source

)

select * from renamed

{#- Every threshold column a store carries (schema.THRESHOLD_COLUMNS, checked by tests/unit/test_store_thresholds_written.py):
    raw.stores holds the values of the phase in force today, raw.store_thresholds one row per phase. -#}
{% macro threshold_columns() -%}
    {{ return([
        'conversion_rate_min', 'positive_review_rate_min', 'daily_orders_min', 'cover_days_min', 'discount_floor',
        'max_quarantine_share', 'roas_min', 'min_campaign_spend', 'loyal_min_orders', 'hero_min_on_hand',
        'lead_time_days', 'review_days', 'service_level', 'service_level_z', 'promo_lift', 'dead_stock_days',
        'promo_horizon_days', 'pacing_min', 'budget_tolerance', 'refund_rate_max'
    ]) }}
{%- endmacro %}

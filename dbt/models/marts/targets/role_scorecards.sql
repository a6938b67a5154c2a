-- targets.md marts.role_scorecards: one row per store, role, period (ISO week, calendar month) and KPI, scored over
-- the period's days from the store's first KPI day to D. A KPI without a target has NULL direction and met.
{%- set kpis = [
    ('ops', 'orders_per_day', safe_divide('orders', 'days'), 'daily_orders_target', 'at_least'),
    ('ops', 'conversion_rate', safe_divide('orders_with_visitors', 'visitors'), 'conversion_rate_target', 'at_least'),
    ('ops', 'net_sales', 'net_sales', 'net_sales_target', 'at_least'),
    ('ops', 'aov', safe_divide('net_sales', 'orders'), 'null', none),
    ('ops', 'discount_violations', 'discount_violations', '0', 'at_most'),
    ('marketing', 'visitors', 'visitors', 'visitors_target', 'at_least'),
    ('marketing', 'new_buyers', 'new_buyers', 'new_buyers_target', 'at_least'),
    ('marketing', 'ad_spend', 'ad_spend', 'ad_budget_target', 'at_most'),
    ('marketing', 'roas', safe_divide('attributed_sales', 'ad_spend'), 'roas_min', 'at_least'),
    ('marketing', 'mer', safe_divide('net_sales', 'ad_spend'), 'null', none),
    ('merchandiser', 'stockout_sku_days', 'stockout_sku_days', '0', 'at_most'),
    ('merchandiser', 'hero_days_below_min', 'hero_days_below_min', '0', 'at_most'),
    ('merchandiser', 'sell_through_rate_28d', 'sell_through_rate_28d', 'null', none),
    ('customer_service', 'positive_review_rate_30d', 'positive_review_rate_30d', 'positive_review_rate_min',
     'at_least'),
    ('customer_service', 'refund_rate', safe_divide('refunds', 'net_sales'), 'refund_rate_max', 'at_most'),
    ('data', 'days_missing_data', 'days_missing_data', '0', 'at_most'),
] %}
with periods as (

    select * from {{ ref('int_scorecard_periods') }}

),

kpis as (
    {%- for role, kpi, actual, target, direction in kpis %}
    {% if not loop.first %}union all{% endif %}
    select
        store_id,
        '{{ role }}' as role,
        period_type,
        period_start,
        period_end,
        is_complete,
        '{{ kpi }}' as kpi,
        {{ loop.index }} as kpi_order,
        cast({{ actual }} as double precision) as actual,
        cast({{ target }} as double precision) as target,
        cast({{ "'" ~ direction ~ "'" if direction else 'null' }} as varchar) as direction
    from periods
    {%- endfor %}

),

final as (

    select
        store_id,
        role,
        period_type,
        period_start,
        period_end,
        is_complete,
        kpi,
        kpi_order,
        actual,
        target,
        case when target is not null then direction end as direction,
        -- compared at 6 decimals so that exactly the target meets it on both backends
        case
            when actual is null or target is null or direction is null then null
            when direction = 'at_least'
                then cast(actual as decimal(38, 6)) >= cast(target as decimal(38, 6))
            else cast(actual as decimal(38, 6)) <= cast(target as decimal(38, 6))
        end as met
    from kpis

)

select * from final

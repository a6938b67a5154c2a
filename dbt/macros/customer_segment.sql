{#- The segment of a customer as of a date (customers.md), first rule that applies. Written once: customer_segments
    applies it as of D, int_customer_daily's loyal_customers must agree with it on every date. -#}
{% macro customer_segment(first_paid_date, orders, orders_365d, recency_days, as_of, loyal_min_orders) -%}
    case
        when {{ first_paid_date }} >= {{ add_days(as_of, -29) }} then 'new'
        when {{ orders_365d }} >= {{ loyal_min_orders }} and {{ recency_days }} <= 90 then 'loyal'
        when {{ orders }} >= 2 and {{ recency_days }} > 90 and {{ recency_days }} <= 180 then 'at_risk'
        when {{ recency_days }} > 180 then 'lapsed'
        when {{ orders }} = 1 then 'one_off'
        else 'regular'
    end
{%- endmacro %}

{#- Days from one date to a later one, as an integer on both backends. -#}
{% macro days_between(earlier, later) -%}
    cast({{ later }} - {{ earlier }} as integer)
{%- endmacro %}

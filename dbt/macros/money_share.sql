{#- amount x part / whole, rounded to the cent (half away from zero), in exact integer arithmetic on both backends:
    DuckDB divides decimals in floating point, which can round a half cent the other way than PostgreSQL. -#}
{% macro money_share(amount, part, whole) -%}
    {%- set a = 'cast(round((' ~ amount ~ ') * 100) as ' ~ ('hugeint' if target.type == 'duckdb' else 'numeric') ~ ')' -%}
    {%- set p = 'cast(round((' ~ part ~ ') * 100) as ' ~ ('hugeint' if target.type == 'duckdb' else 'numeric') ~ ')' -%}
    {%- set w = 'cast(round((' ~ whole ~ ') * 100) as ' ~ ('hugeint' if target.type == 'duckdb' else 'numeric') ~ ')' -%}
    {#- in cents: a x p / w; rounded as floor((2 |a p| + |w|) / (2 |w|)) -#}
    {%- set n = '(2 * abs(' ~ a ~ ' * ' ~ p ~ ') + abs(' ~ w ~ '))' -%}
    {%- set d = '(2 * abs(' ~ w ~ '))' -%}
    (sign({{ a }} * {{ p }} * {{ w }})
     * cast({% if target.type == 'duckdb' %}({{ n }} // {{ d }}){% else %}div({{ n }}, {{ d }}){% endif %} as decimal(18, 2))
     * 0.01)
{%- endmacro %}

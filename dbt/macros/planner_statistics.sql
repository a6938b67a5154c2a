{#- A post-hook of every table model: on PostgreSQL, gather the planner's statistics of the table just built, so
    the models that read it next are planned with its real row counts. A table made by CREATE TABLE AS has none
    until autovacuum gets to it, and the planner then takes a million-row intermediate for a few hundred rows
    (nested loops, spilled hash tables: seconds per model at 1 M order lines). DuckDB plans from the data itself:
    nothing to do there. An incremental model is analysed after every night's insert too. -#}
{% macro planner_statistics() -%}
    {%- if target.type == 'postgres' and model.config.materialized in ('table', 'incremental') -%}
        analyze {{ this }}
    {%- endif -%}
{%- endmacro %}

{#- Small helpers that read the same on DuckDB and PostgreSQL. -#}

{#- Ratio as double precision, NULL when the denominator is 0 or NULL (never 0, never an error). Casting first
    avoids integer division on PostgreSQL. -#}
{% macro safe_divide(numerator, denominator) -%}
    (cast({{ numerator }} as double precision) / nullif(cast({{ denominator }} as double precision), 0))
{%- endmacro %}

{#- date + n days. DuckDB only adds INTEGER (not BIGINT) to a DATE, hence the cast. -#}
{% macro add_days(date_expr, days) -%}
    ({{ date_expr }} + cast({{ days }} as integer))
{%- endmacro %}

{#- First day of the month of a date, as a DATE on both backends. -#}
{% macro month_start(date_expr) -%}
    cast(date_trunc('month', {{ date_expr }}) as date)
{%- endmacro %}

{#- Last day of the month of a date. -#}
{% macro month_end(date_expr) -%}
    (cast({{ month_start(date_expr) }} + interval '1 month' as date) - 1)
{%- endmacro %}

{#- Money summed without loss: DuckDB would otherwise widen to DECIMAL(38, 2) and Postgres to NUMERIC. -#}
{% macro money(expr) -%}
    cast({{ expr }} as decimal(18, 2))
{%- endmacro %}

{#- A wide exact decimal for products of money amounts (DuckDB keeps DECIMAL(18, x) products at width 18). -#}
{% macro wide_decimal(expr, scale=2) -%}
    cast({{ expr }} as decimal(38, {{ scale }}))
{%- endmacro %}

{#- A number as text for alert messages, rounded only for display. -#}
{% macro format_number(expr, scale=2) -%}
    cast(cast({{ expr }} as decimal(18, {{ scale }})) as varchar)
{%- endmacro %}

{#- A ratio as a percentage for alert messages: 0.0153 -> '1.53%'. -#}
{% macro format_percent(expr) -%}
    ({{ format_number('(' ~ expr ~ ') * 100', 2) }} || '%')
{%- endmacro %}

{#- Text compared byte by byte, as DuckDB does, where its order decides a result (a tie-break): a PostgreSQL
    database created with a language collation (the postgres image's default is en_US.utf8; ICU 'en-US') would
    otherwise put `orders_a-2.csv` after `orders_a_1.csv` (hyphen and underscore weigh differently there). -#}
{% macro bytewise(expr) -%}
    {{ expr }}{% if target.type == 'postgres' %} collate "C"{% endif %}
{%- endmacro %}

{#- Keep the newest version of each entity: latest export wins, ties go to the source file that sorts last. -#}
{% macro latest_version_rank(partition_by) -%}
    row_number() over (
        partition by {{ partition_by }}
        order by export_date desc, {{ bytewise('source_file') }} desc, source_row_number desc
    )
{%- endmacro %}

{#- A month as 'YYYY-MM' text for alert messages (a DATE's first 7 characters on both backends). -#}
{% macro format_month(expr) -%}
    substr(cast({{ expr }} as varchar), 1, 7)
{%- endmacro %}

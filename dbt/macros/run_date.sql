{#- The run's logical date D: marts cover dates <= D and ignore raw rows dated after it. -#}
{% macro run_date() -%}
    cast('{{ var("run_date") }}' as date)
{%- endmacro %}

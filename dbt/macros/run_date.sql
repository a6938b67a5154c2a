{#- The run's logical date D: marts cover dates <= D and ignore raw rows dated after it.
    A build reads D from the one-row table storekpi.dbt_runner writes before it (RUN_DATE_TABLE), so the parsed
    project is the same every night and dbt reuses its parse; the compiled SQL is then the same too. A `run_date`
    var (dbt unit tests' overrides; docs and compile, which dbt_runner gives it) makes D a literal instead. -#}
{% macro run_date() -%}
    {%- if var("run_date", none) is not none -%}
        cast('{{ var("run_date") }}' as date)
    {%- else -%}
        (select run_date from audit.dbt_run_date)
    {%- endif -%}
{%- endmacro %}

{#- A digest of the dbt project and dbt's version (storekpi.dbt_runner writes it beside D): incremental models
    rebuild in full when it changes, since new SQL may give old rows other values. 'unversioned' where D is a
    var (unit tests, docs, compile). -#}
{% macro project_fingerprint() -%}
    {%- if var("run_date", none) is not none -%}
        'unversioned'
    {%- else -%}
        (select project_fingerprint from audit.dbt_run_date)
    {%- endif -%}
{%- endmacro %}

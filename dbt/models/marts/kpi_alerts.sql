-- One row per breach of a rule of kpis.md marts.kpi_alerts, for every date up to D. The pipeline e-mails only
-- the rows dated D; older rows are kept so alert history can be queried. The rules are data: `alert_rules` in
-- dbt_project.yml, rendered one select per rule by macros/alert_rules.sql.
with stores as (

    select stg_stores.*, store_name || ' (' || store_id || ')' as store_label
    from {{ ref('stg_stores') }} as stg_stores

),

unioned as (
    {{ alert_rule_breaches() }}
),

final as (

    select
        store_id || '|' || cast("date" as varchar) || '|' || rule
            {%- for column, type in alert_key_columns() %}
            {%- if loop.index <= 3 %}
            || '|' || coalesce(cast({{ column }} as varchar), '')
            {%- else %}
            || coalesce('|' || cast({{ column }} as varchar), '') {#- a later key joins the id only where set #}
            {%- endif %}
            {%- endfor %} as alert_id,
        store_id,
        "date",
        rule,
        owner_role,
        severity,
        {%- for column, type in alert_key_columns()[:3] %}
        {{ column }},
        {%- endfor %}
        value,
        threshold,
        message
        {%- for column, type in alert_key_columns()[3:] %},
        {{ column }}  {#- later keys come last, so existing columns keep their places #}
        {%- endfor %}
    from unioned

)

select * from final

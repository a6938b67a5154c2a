-- One row per breach of a rule of kpis.md marts.kpi_alerts, for every date up to D. The pipeline e-mails only
-- the rows dated D; older rows are kept so alert history can be queried. The rules are data: `alert_rules` in
-- dbt_project.yml, rendered one select per rule by macros/alert_rules.sql.
-- `stores` has one row per store and threshold phase (targets.md): a threshold rule joins the phase in force on
-- its row's date, so a threshold changed on 12-13 changes alerts from 12-13 on only.
with stores as (

    select
        phase.*,
        stg_stores.store_name,
        stg_stores.platform,
        stg_stores.timezone,
        stg_stores.currency,
        stg_stores.store_name || ' (' || stg_stores.store_id || ')' as store_label
    from {{ ref('stg_stores') }} as stg_stores
    inner join {{ ref('int_store_thresholds') }} as phase
        on stg_stores.store_id = phase.store_id

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

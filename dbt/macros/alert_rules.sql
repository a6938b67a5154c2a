{#- Alert rules as data: the `alert_rules` list in dbt_project.yml (its header says how to add a rule) is rendered
    here into marts.kpi_alerts (one select per rule) and intermediate.alert_rules (the rules as a table, for
    analysts); alerts.py and report.py read the same list for each rule's wording. -#}

{#- The columns that identify what a breach is about besides store and date, with their types: NULL unless the
    rule's `keys` name them. Add a column at the end (and document it in kpi_alerts.yml) to give alerts a new key;
    keys after the first three join alert_id only where they are set, and come after message in kpi_alerts, so
    existing alert ids and column positions never change. -#}
{% macro alert_key_columns() -%}
    {{ return([('sku', 'varchar'), ('order_id', 'varchar'), ('line_number', 'integer'), ('campaign', 'varchar'),
               ('promo_date', 'date'), ('metric', 'varchar')]) }}
{%- endmacro %}

{#- A threshold given as a bare name is the store's stores.yml threshold of that name; anything else is SQL over
    the mart row `m` and `stores`. -#}
{% macro alert_threshold_sql(threshold) -%}
    {%- set threshold = threshold | string -%}
    {%- if modules.re.fullmatch('[a-z_][a-z0-9_]*', threshold) -%}
        stores.{{ threshold }}
    {%- else -%}
        ({{ threshold }})
    {%- endif -%}
{%- endmacro %}

{#- A placeholder of a message template as SQL text: {store}, {date}, {value}, {threshold} or any column of the
    mart row; ':percent' shows a ratio as '1.53%', ':N' rounds to N decimals, nothing casts as it is. -#}
{% macro alert_placeholder_sql(placeholder, rule) -%}
    {%- set name, _, fmt = placeholder.partition(':') -%}
    {%- if name == 'store' -%}
        {%- set expr = 'stores.store_label' -%}
    {%- elif name == 'date' -%}
        {%- set expr = 'm."date"' -%}
    {%- elif name == 'value' -%}
        {%- set expr = 'm.' ~ rule['column'] -%}
    {%- elif name == 'threshold' -%}
        {%- set expr = alert_threshold_sql(rule['threshold']) -%}
    {%- else -%}
        {%- set expr = 'm.' ~ name -%}
    {%- endif -%}
    {%- if fmt == 'percent' -%}
        {{ format_percent(expr) }}
    {%- elif fmt -%}
        {{ format_number(expr, fmt | int) }}
    {%- else -%}
        cast({{ expr }} as varchar)
    {%- endif -%}
{%- endmacro %}

{#- 'Shop {store} had {value} orders.' -> 'Shop ' || <store> || ' had ' || <value> || ' orders.' -#}
{% macro alert_message_sql(rule) -%}
    {%- set parts = modules.re.split('[{]([^{}]*)[}]', rule['message']) -%}
    {%- set sql = [] -%}
    {%- for part in parts -%}
        {%- if loop.index is even -%}
            {%- do sql.append(alert_placeholder_sql(part, rule)) -%}
        {%- elif part -%}
            {%- do sql.append("'" ~ part | replace("'", "''") ~ "'") -%}
        {%- endif -%}
    {%- endfor -%}
    {{ sql | join(' || ') }}
{%- endmacro %}

{#- The breaches of one rule in kpi_alerts' columns (before alert_id): from the model a rule names, else rendered
    from its threshold row. -#}
{% macro alert_rule_select(rule) -%}
    {%- set keys = rule.get('keys', []) -%}
    {%- set own_model = rule.get('model') -%}
    select
        m.store_id,
        m."date",
        '{{ rule["rule"] }}' as rule,
        '{{ rule["owner_role"] }}' as owner_role,
        {#- 'critical|warning': the rule's model gives each breach's severity -#}
        {{ 'm.severity' if '|' in rule['severity'] else "'" ~ rule['severity'] ~ "'" }} as severity,
        {%- for column, type in alert_key_columns() %}
        cast({{ 'm.' ~ column if column in keys else 'null' }} as {{ type }}) as {{ column }},
        {%- endfor %}
    {%- if own_model %}
        cast(m.value as double precision) as value,
        cast(m.threshold as double precision) as threshold,
        m.message
    from {{ ref(own_model) }} as m
    {%- else %}
        cast(m.{{ rule['column'] }} as double precision) as value,
        cast({{ alert_threshold_sql(rule['threshold']) }} as double precision) as threshold,
        {{ alert_message_sql(rule) }} as message
    from {{ ref(rule['mart']) }} as m
    inner join stores on m.store_id = stores.store_id and {{ in_phase('stores', 'm."date"') }}
    where m.{{ rule['column'] }} {{ rule['comparison'] }} {{ alert_threshold_sql(rule['threshold']) }}
        {%- if rule.get('where') %}
        and ({{ rule['where'] }})
        {%- endif %}
    {%- endif %}
{%- endmacro %}

{#- Every rule's breaches, unioned by name. -#}
{% macro alert_rule_breaches() -%}
    {%- for rule in var('alert_rules') %}
    {% if not loop.first %}union all{% endif %}
    {{ alert_rule_select(rule) }}
    {%- endfor %}
{%- endmacro %}

{#- The rules as rows (intermediate.alert_rules). -#}
{% macro alert_rules_rows() -%}
    {%- set fields = ['rule', 'owner_role', 'severity', 'label', 'mart', 'column', 'kpi_label', 'unit', 'history',
                      'history_label', 'keys', 'model', 'comparison', 'threshold', 'where', 'message'] -%}
    {%- for rule in var('alert_rules') %}
    {% if not loop.first %}union all{% endif %}
    select
        {%- for field in fields %}
        {%- set value = rule.get(field) %}
        {%- if field == 'history' and value is none %}{% set value = 'mart' %}{% endif %}
        {%- if field == 'history_label' and value is none %}{% set value = rule.get('kpi_label') %}{% endif %}
        {%- if field == 'keys' %}{% set value = (value or []) | join(',') or none %}{% endif %}
        cast({{ "'" ~ (value | string | replace("'", "''")) ~ "'" if value is not none else 'null' }} as varchar)
            as {{ 'column_name' if field == 'column' else field }}{{ ',' if not loop.last }}
        {%- endfor %}
    {%- endfor %}
{%- endmacro %}
{#- How alert messages name a store: "<name> (<id>)". -#}
{% macro store_label(name='store_name', id='store_id') -%}
    {{ name }} || ' (' || {{ id }} || ')'
{%- endmacro %}

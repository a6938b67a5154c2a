{#- targets.md: the phase of int_store_thresholds (alias `phase`) in force on a day: [valid_from, valid_to). -#}
{% macro in_phase(phase, day) -%}
    {{ day }} >= {{ phase }}.valid_from and ({{ phase }}.valid_to is null or {{ day }} < {{ phase }}.valid_to)
{%- endmacro %}

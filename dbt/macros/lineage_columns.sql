{#- The lineage every raw row carries (schema.LINEAGE), renamed the same way in every staging model. -#}
{% macro lineage_columns() -%}
        _source_file as source_file,
        _row_number as source_row_number,
        _export_date as export_date,
        _batch_id as batch_id,
        _loaded_at as loaded_at
{%- endmacro %}

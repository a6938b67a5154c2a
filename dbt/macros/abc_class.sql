{#- ABC class of one measure (merchandising.md): order the store's SKUs by the measure desc, SKU asc; with the
    measure summed over the SKUs before it = `preceding`: A when preceding < 0.80 x total, B when < 0.95 x total,
    else C. Compared as sums, not as ratios, so a share of exactly 0.80 is B. -#}
{% macro abc_class(measure, partition_by='store_id') -%}
    case
        when {{ measure }} is null then null
        when coalesce(sum({{ measure }}) over (
                partition by {{ partition_by }} order by {{ measure }} desc, {{ bytewise('sku') }}
                rows between unbounded preceding and 1 preceding), 0)
             < 0.80 * sum({{ measure }}) over (partition by {{ partition_by }}) then 'A'
        when coalesce(sum({{ measure }}) over (
                partition by {{ partition_by }} order by {{ measure }} desc, {{ bytewise('sku') }}
                rows between unbounded preceding and 1 preceding), 0)
             < 0.95 * sum({{ measure }}) over (partition by {{ partition_by }}) then 'B'
        else 'C'
    end
{%- endmacro %}

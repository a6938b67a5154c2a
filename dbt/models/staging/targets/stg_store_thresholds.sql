-- targets.md: the thresholds in force per store and phase, [valid_from, valid_to) (valid_to NULL: open).
select
        store_id,
        valid_from,
        valid_to,
        {%- for column in threshold_columns() %}
        {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
from {{ source('raw', 'store_thresholds') }}

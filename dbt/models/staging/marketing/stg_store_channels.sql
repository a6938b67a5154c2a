select
    store_id,
    lower(trim(match_value)) as match_value,
    channel
from {{ source('raw', 'store_channels') }}

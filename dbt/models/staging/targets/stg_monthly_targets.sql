-- targets.md: stores.yml `monthly_targets`, one row per store, month and metric (the store's entry merged key by
-- key over the defaults').
select
    store_id,
    month,
    metric,
    target
from {{ source('raw', 'monthly_targets') }}

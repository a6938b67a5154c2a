"""Rows of real exports that load but deserve a word to the data role (sources.md "Real exports").

Shopify does not enforce unique SKUs, so one SKU and location can appear on several rows of an export: the rows
are summed, and the warning lists them so someone can merge the duplicate variants. A row without SKU loads but no
SKU mart can show it: the warning counts such rows per file. A generic order whose lines disagree on a timestamp
by less than a day loads with its first line's value, and the warning names the order and the fields. Only rows
not yet published are looked at.
"""

from __future__ import annotations

import pandas as pd

from storekpi.quality.frames import UNPUBLISHED, read
from storekpi.warehouse import Warehouse

_UNPUBLISHED_STOCK = f"(select *, _batch_id as batch_id from raw.stock) as s where {UNPUBLISHED}"


def duplicate_skus(wh: Warehouse, batch_id: str) -> tuple[pd.DataFrame, int]:
    """(store, file, SKU, location) with more than one row, and how many SKU-location pairs were checked."""
    frame = read(wh, f"""
with pairs as (
  select _store_id as store_id, _source_file as source_file, sku, location, count(*) as stock_rows,
         sum(on_hand) as on_hand
  from {_UNPUBLISHED_STOCK} and sku is not null
  group by _store_id, _source_file, sku, location
)
select p.*, n.checked
from (select count(*) as checked from pairs) as n
left join (select * from pairs where stock_rows > 1) as p on true
order by p.store_id, p.source_file, p.sku, p.location""", [batch_id])
    return _split(frame)


def rows_without_sku(wh: Warehouse, batch_id: str) -> tuple[pd.DataFrame, int]:
    """Per file, the stock rows without SKU, and how many stock rows were checked. Rows of the file: a row of a
    one-column-per-location export is one row however many locations it lists."""
    frame = read(wh, f"""
with files as (
  select _store_id as store_id, _source_file as source_file, count(distinct _row_number) as stock_rows,
         count(distinct case when sku is null then _row_number end) as rows_without_sku
  from {_UNPUBLISHED_STOCK}
  group by _store_id, _source_file
)
select f.store_id, f.source_file, f.rows_without_sku, n.checked
from (select coalesce(sum(stock_rows), 0) as checked from files) as n
left join (select * from files where rows_without_sku > 0) as f on true
order by f.store_id, f.source_file""", [batch_id])
    return _split(frame)


def orders_with_line_differences(wh: Warehouse, batch_id: str) -> tuple[pd.DataFrame, int]:
    """Orders whose lines differed by less than a day in an order field, and how many orders were checked."""
    frame = read(wh, f"""
with batch as (
  select _store_id as store_id, _source_file as source_file, order_id, line_differences
  from (select *, _batch_id as batch_id from raw.orders) as o where {UNPUBLISHED}
)
select b.store_id, b.source_file, b.order_id, b.line_differences, n.checked
from (select count(*) as checked from batch) as n
left join (select * from batch where line_differences is not null) as b on true
order by b.store_id, b.source_file, b.order_id""", [batch_id])
    return _split(frame)


def _split(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    checked = int(frame["checked"].iloc[0])
    return frame.loc[frame["source_file"].notna()].drop(columns="checked").reset_index(drop=True), checked

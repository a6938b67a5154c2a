"""The DataFrames the gates validate, read from the build's marts and intermediate models, `raw` and `audit`.

Order facts (latest export wins, the per-platform formulas of kpis.md) and each store's calendar are defined once,
in dbt (`int_order_facts`, `int_store_days`); the gates read them from the build instead of computing them again,
and check that the marts agree with them (reconciliation, missing dates). The independent check of the
definitions themselves is the pandas reference of the tests. SQL here runs unchanged on DuckDB and PostgreSQL
(`?` placeholders, no `%`).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd

from storekpi.config import DEFAULT_THRESHOLDS, StoreConfig
from storekpi.warehouse import Warehouse

# Rows ingested by this run (the `?`) or by an earlier run that was never published. On DuckDB a blocked build is
# discarded with its raw rows, so this is tonight's batch; on PostgreSQL raw and audit are written in place, and a
# blocked night's files, unchanged and so not read again, must keep blocking until they are corrected or forgotten.
UNPUBLISHED = "(batch_id = ? or batch_id not in (select run_id from audit.runs where status = 'published'))"

ORDER_FACTS = "intermediate.int_order_facts"
ORDERS_LATEST = "intermediate.int_orders_latest"
STORE_DAYS = "intermediate.int_store_days"
DAILY_TRAFFIC = "intermediate.int_daily_traffic"

# Datasets every configured store must deliver daily; reviews and stock only once a store has sent them.
DAILY_DATASETS = ("orders", "traffic")
OCCASIONAL_DATASETS = ("reviews", "stock")


def read(wh: Warehouse, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
    """Query into pandas with one shape on both backends (PostgreSQL returns Decimal objects, DuckDB floats)."""
    frame = wh.query_df(sql, params or [])
    for column in frame.columns:
        if frame[column].dtype == object:
            sample = frame[column].dropna()
            if len(sample) and type(sample.iloc[0]).__name__ == "Decimal":
                frame[column] = frame[column].astype(float)
    return frame.reset_index(drop=True)


# -- order facts: dbt's int_order_facts, the one definition ---------------------------------------------------
def reconciliation(wh: Warehouse) -> pd.DataFrame:
    """Per store: Σ orders and Σ net_sales of kpi_store_daily next to the paid orders of the build's order facts.

    `raw_paid_orders` / `raw_net_sales` are int_order_facts' (the paid orders of raw up to D, latest export wins),
    so the check proves the mart lost or doubled no order on its way from the facts to the store-days.
    """
    sql = f"""
with fact_totals as (
  select store_id, count(*) as orders, sum(net_sales) as net_sales from {ORDER_FACTS} group by store_id
),
mart_totals as (
  select store_id, sum(orders) as orders, sum(net_sales) as net_sales
  from {wh.marts_schema}.kpi_store_daily
  group by store_id
)
select
  coalesce(m.store_id, f.store_id) as store_id,
  coalesce(m.orders, 0) as mart_orders,
  coalesce(f.orders, 0) as raw_paid_orders,
  cast(coalesce(m.net_sales, 0) as decimal(18, 2)) as mart_net_sales,
  cast(coalesce(f.net_sales, 0) as decimal(18, 2)) as raw_net_sales
from mart_totals as m
full outer join fact_totals as f on f.store_id = m.store_id
order by 1"""
    return read(wh, sql)


def batch_order_warnings(wh: Warehouse, batch_id: str) -> tuple[pd.DataFrame, int]:
    """Paid orders not yet published that break a warning rule (flagged per rule), and how many were checked.

    The rules (quality.md: a Shopify Total that is neither Subtotal + Shipping + Taxes nor, tax-inclusive,
    Subtotal + Shipping within 0.01, tips aside; a Shopify order counted paid by its Financial Status without a
    Paid at; negative discounts) are evaluated in SQL, in exact decimals, on the build's order facts and the
    export fields of their winning version, so only offending orders reach pandas: a backfill of a million orders
    must not sit in memory. Warnings look at exports not yet published only, so an old oddity does not warn again
    every night.
    """
    sql = f"""
with facts as (
  select
    f.store_id, f.order_id, f.paid_date, f.platform, o.source_file, o.batch_id, f.gross_sales, f.discounts,
    f.net_sales, o.subtotal, o.shipping, o.taxes, o.total, f.tips, f.paid_basis = 'financial_status' as paid_by_status
  from {ORDER_FACTS} as f
  inner join {ORDERS_LATEST} as o on o.store_id = f.store_id and o.order_id = f.order_id
),
batch as (
  select * from facts where {UNPUBLISHED}
),
flagged as (
  select
    *,
    coalesce(platform = 'shopify' and total is not null and subtotal is not null
             and abs(total - tips - subtotal - coalesce(shipping, 0) - coalesce(taxes, 0)) > 0.01
             and abs(total - tips - subtotal - coalesce(shipping, 0)) > 0.01, false) as total_mismatch,
    discounts < 0 as negative_discount
  from batch
),
offending as (
  select * from flagged where total_mismatch or paid_by_status or negative_discount
)
select o.*, n.checked
from (select count(*) as checked from batch) as n
left join offending as o on true
order by o.store_id, o.order_id"""
    frame = read(wh, sql, [batch_id])
    checked = int(frame["checked"].iloc[0])
    frame = frame.loc[frame["order_id"].notna()].drop(columns=["checked", "batch_id"]).reset_index(drop=True)
    return frame, checked


# -- marts: queries of the rows a table batch checks in SQL (suites.table), never read whole into pandas ---------
def kpi_store_daily(wh: Warehouse) -> str:
    return f"""
select store_id, "date", orders, buyers, visitors, conversion_rate, buyer_conversion_rate, gross_sales, net_sales
from {wh.marts_schema}.kpi_store_daily"""


def stock_cover(wh: Warehouse) -> str:
    return f'select store_id, sku, "date", on_hand from {wh.marts_schema}.stock_cover'


def repurchase_cohorts(wh: Warehouse) -> str:
    return f"select store_id, cohort_month, customers, repurchased_90d from {wh.marts_schema}.repurchase_cohorts"


def fractional_on_hand(wh: Warehouse) -> tuple[pd.DataFrame, int]:
    """stock_cover rows whose on_hand is missing or not a whole number, and how many rows stock_cover has."""
    rows = wh.query(f"select count(*) from {wh.marts_schema}.stock_cover")[0][0]
    return read(wh, f"""
select store_id, sku, "date", on_hand
from {wh.marts_schema}.stock_cover
where on_hand is null or on_hand <> floor(on_hand)
order by store_id, sku, "date"
"""), int(rows)


def missing_mart_dates(wh: Warehouse) -> pd.DataFrame:
    """Store-days of the build's calendar (int_store_days: every day from the store's first paid order or traffic
    day to D) that kpi_store_daily lacks."""
    return _days(read(wh, f"""
select d.store_id, d."date"
from {STORE_DAYS} as d
left join {wh.marts_schema}.kpi_store_daily as k on k.store_id = d.store_id and k."date" = d."date"
where k.store_id is null
order by 1, 2"""))


def missing_traffic_days(wh: Warehouse) -> pd.DataFrame:
    """Calendar days without traffic between a store's first and last traffic day (trailing gaps are freshness)."""
    return _days(read(wh, f"""
with bounds as (
  select store_id, min(traffic_date) as first_day, max(traffic_date) as last_day
  from {DAILY_TRAFFIC}
  group by store_id
)
select d.store_id, d."date"
from {STORE_DAYS} as d
inner join bounds as b on b.store_id = d.store_id and d."date" between b.first_day and b.last_day
left join {DAILY_TRAFFIC} as t on t.store_id = d.store_id and t.traffic_date = d."date"
where t.store_id is null
order by 1, 2"""))


# -- files and freshness ----------------------------------------------------------------------------------------
def batch_files(wh: Warehouse, config: StoreConfig, batch_id: str, run_date: date) -> pd.DataFrame:
    """audit.files rows not yet published, with each file's quarantined share and its store's allowed maximum
    (the one in force on the run's date, targets.md)."""
    files = read(wh, f"""
select
  path, store_id, dataset, status, reason, rows_in, rows_loaded, rows_quarantined,
  case when rows_in > 0 then rows_quarantined * 1.0 / rows_in else 0 end as quarantined_share
from audit.files
where status <> 'forgotten' and {UNPUBLISHED}
order by path""", [batch_id])
    limits = {store.id: store.thresholds_on(run_date)["max_quarantine_share"] for store in config.stores}
    default = DEFAULT_THRESHOLDS["max_quarantine_share"]
    files["quarantined_share"] = files["quarantined_share"].astype(float)
    files["max_quarantine_share"] = files["store_id"].map(limits).fillna(default).astype(float)
    return files


def stale_exports(wh: Warehouse, config: StoreConfig, run_date: date) -> tuple[pd.DataFrame, int]:
    """(store, dataset) pairs without a loaded export dated D or later, and how many pairs were expected."""
    delivered = read(wh, """
select store_id, dataset, max(export_date) as last_export_date
from audit.files
where status = 'loaded'
group by store_id, dataset""")
    delivered["last_export_date"] = as_day(delivered["last_export_date"])
    daily = pd.DataFrame([(s, d) for s in config.ids for d in DAILY_DATASETS], columns=["store_id", "dataset"])
    occasional = delivered.loc[delivered["dataset"].isin(OCCASIONAL_DATASETS)
                               & delivered["store_id"].isin(config.ids), ["store_id", "dataset"]]
    expected = pd.concat([daily, occasional], ignore_index=True)
    coverage = expected.merge(delivered, on=["store_id", "dataset"], how="left")
    stale = coverage["last_export_date"].isna() | (coverage["last_export_date"] < run_date)
    return coverage.loc[stale].reset_index(drop=True), len(coverage)


# -- helpers ------------------------------------------------------------------------------------------------------
def as_day(values: pd.Series) -> pd.Series:
    """Dates as Python `date` objects whatever the backend returned (datetime64, date, timestamp)."""
    if values.empty:
        return pd.Series([], dtype=object, index=values.index)
    return pd.to_datetime(values).dt.date


def _days(frame: pd.DataFrame) -> pd.DataFrame:
    frame["date"] = as_day(frame["date"])
    return frame

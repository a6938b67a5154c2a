"""The DataFrames the gates validate, read from the build's marts, `raw` and `audit`.

Reconciliation and the warnings recompute order facts from `raw` on their own (latest export wins, per platform
formula of kpis.md) instead of reading dbt's intermediate models: a gate that reuses the code it checks proves
nothing. SQL here runs unchanged on DuckDB and PostgreSQL (`?` placeholders, no `%`).
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


# -- order facts, computed independently from raw -------------------------------------------------------------
def order_facts_sql(config: StoreConfig) -> tuple[str, list[Any]]:
    """CTEs ending in `order_facts`: the latest version of every order counted as paid on or before D.

    Takes the run date three times as parameters, after the returned ones. Exports dated after D are ignored (a
    rerun of an old date reproduces it); among the rest the file with the latest export date wins, ties to the
    path that sorts last. Order rows and line rows are resolved separately because Taobao delivers them in two
    files. Paid and Shopify money follow kpis.md "Order facts": a Financial Status that says paid stands in for a
    missing Paid at (at Created at), a cash-on-delivery store's fulfilled, not cancelled order is paid when
    fulfilled; tips are not merchandise; a tax-inclusive order's net sales drop the merchandise share of Taxes,
    rounded half up to the cent (exactly: floor of a division by whole cents).
    """
    platforms = ", ".join("(?, ?, cast(? as boolean), cast(? as boolean))" for _ in config.stores)
    params: list[Any] = [value for store in config.stores for value in
                         (store.id, store.platform, store.prices_include_tax, store.cash_on_delivery)]
    sql = f"""
store_platforms as (
  select * from (values {platforms}) as p (store_id, platform, prices_include_tax, cash_on_delivery)
),
order_versions as (
  select
    o._store_id as store_id, o.order_id, o.status, o.created_at, o.paid_at, o.cancelled_at, o.fulfilled_at,
    o.subtotal, o.order_discount, o.shipping, o.taxes, o.total,
    o._source_file as source_file, o._batch_id as batch_id,
    row_number() over (
      partition by o._store_id, o.order_id order by o._export_date desc, o._source_file desc, o._row_number desc
    ) as version_rank
  from raw.orders as o
  where o._export_date <= ?
),
line_versions as (
  select
    l._store_id as store_id, l.order_id, l.quantity, l.unit_price, l.sku, l.product_name,
    rank() over (
      partition by l._store_id, l.order_id order by l._export_date desc, l._source_file desc
    ) as version_rank
  from raw.order_lines as l
  where l._export_date <= ?
),
latest_lines as (
  select
    l.store_id, l.order_id, l.quantity * l.unit_price as amount,
    p.platform = 'shopify' and l.sku is null and lower(trim(l.product_name)) = 'tip' as is_tip
  from line_versions as l
  inner join store_platforms as p on p.store_id = l.store_id
  where l.version_rank = 1
),
line_totals as (
  select
    store_id, order_id,
    sum(case when is_tip then 0 else amount end) as gross_sales,
    sum(case when is_tip then amount else 0 end) as tips
  from latest_lines
  group by store_id, order_id
),
paid_orders as (
  select
    o.*, p.platform, p.prices_include_tax, coalesce(l.gross_sales, 0) as gross_sales, coalesce(l.tips, 0) as tips,
    p.platform = 'shopify' and o.paid_at is null and o.created_at is not null
      and lower(o.status) in ('paid', 'partially_paid', 'partially_refunded', 'refunded') as paid_by_status,
    case
      when o.paid_at is not null then o.paid_at
      when p.platform = 'shopify' and o.created_at is not null
        and lower(o.status) in ('paid', 'partially_paid', 'partially_refunded', 'refunded') then o.created_at
      when p.cash_on_delivery and o.cancelled_at is null then o.fulfilled_at
    end as counted_paid_at
  from order_versions as o
  inner join store_platforms as p on p.store_id = o.store_id
  left join line_totals as l on l.store_id = o.store_id and l.order_id = o.order_id
  where o.version_rank = 1
),
shopify_tax as (
  select
    paid_orders.*,
    case
      when platform = 'shopify' and subtotal is not null
        and coalesce(prices_include_tax,
                     coalesce(taxes, 0) > 0
                     and abs(coalesce(total, 0) - tips - subtotal - coalesce(shipping, 0)) <= 0.01)
        and subtotal + coalesce(shipping, 0) > 0
      then floor((2 * (coalesce(taxes, 0) * 100) * (subtotal * 100) + (subtotal + coalesce(shipping, 0)) * 100)
                 / (2 * (subtotal + coalesce(shipping, 0)) * 100)) / 100
      else 0
    end as merchandise_tax
  from paid_orders
  where counted_paid_at is not null and cast(counted_paid_at as date) <= ?
),
order_facts as (
  select
    store_id, order_id, cast(counted_paid_at as date) as paid_date, platform, source_file, batch_id,
    subtotal, shipping, taxes, total, tips,
    paid_by_status,
    case
      when merchandise_tax = 0 then gross_sales
      else round(gross_sales * (subtotal - merchandise_tax) / subtotal, 2)
    end as gross_sales,
    case
      when platform = 'taobao' then coalesce(total, 0) - coalesce(shipping, 0)
      when platform = 'shopify' and subtotal is not null then subtotal - merchandise_tax
      else gross_sales - coalesce(order_discount, 0)
    end as net_sales
  from shopify_tax
)"""
    return sql, params


def reconciliation(wh: Warehouse, config: StoreConfig, run_date: date) -> pd.DataFrame:
    """Per store: Σ orders and Σ net_sales of kpi_store_daily next to the paid orders in raw, both to the cent."""
    facts, params = order_facts_sql(config)
    sql = f"""
with {facts},
raw_totals as (
  select store_id, count(*) as orders, sum(net_sales) as net_sales from order_facts group by store_id
),
mart_totals as (
  select store_id, sum(orders) as orders, sum(net_sales) as net_sales
  from {wh.marts_schema}.kpi_store_daily
  where "date" <= ?
  group by store_id
)
select
  coalesce(m.store_id, r.store_id) as store_id,
  coalesce(m.orders, 0) as mart_orders,
  coalesce(r.orders, 0) as raw_paid_orders,
  cast(coalesce(m.net_sales, 0) as decimal(18, 2)) as mart_net_sales,
  cast(coalesce(r.net_sales, 0) as decimal(18, 2)) as raw_net_sales
from mart_totals as m
full outer join raw_totals as r on r.store_id = m.store_id
order by 1"""
    return read(wh, sql, [*params, *[run_date] * 3, run_date])


def batch_order_warnings(wh: Warehouse, config: StoreConfig, run_date: date,
                         batch_id: str) -> tuple[pd.DataFrame, int]:
    """Paid orders not yet published that break a warning rule (flagged per rule), and how many were checked.

    The rules (quality.md: a Shopify Total that is neither Subtotal + Shipping + Taxes nor, tax-inclusive,
    Subtotal + Shipping within 0.01, tips aside; a Shopify order counted paid by its Financial Status without a
    Paid at; negative discounts) are evaluated in SQL, in exact decimals, so only offending orders reach pandas: a
    backfill of a million orders must not sit in memory. Warnings look at exports not yet published only, so an
    old oddity does not warn again every night.
    """
    facts, params = order_facts_sql(config)
    sql = f"""
with {facts},
batch as (
  select
    store_id, order_id, paid_date, platform, source_file, gross_sales, gross_sales - net_sales as discounts,
    net_sales, subtotal, shipping, taxes, total, tips, paid_by_status
  from order_facts
  where {UNPUBLISHED}
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
    frame = read(wh, sql, [*params, *[run_date] * 3, batch_id])
    checked = int(frame["checked"].iloc[0])
    return frame.loc[frame["order_id"].notna()].drop(columns="checked").reset_index(drop=True), checked


# -- marts ----------------------------------------------------------------------------------------------------
def kpi_store_daily(wh: Warehouse) -> pd.DataFrame:
    return read(wh, f"""
select store_id, "date", orders, buyers, visitors, conversion_rate, buyer_conversion_rate, gross_sales, net_sales
from {wh.marts_schema}.kpi_store_daily
order by store_id, "date"
""")


def stock_cover(wh: Warehouse) -> pd.DataFrame:
    return read(wh, f'select store_id, sku, "date", on_hand from {wh.marts_schema}.stock_cover '
                    'order by store_id, sku, "date"')


def repurchase_cohorts(wh: Warehouse) -> pd.DataFrame:
    return read(wh, f"select store_id, cohort_month, customers, repurchased_90d "
                    f"from {wh.marts_schema}.repurchase_cohorts order by store_id, cohort_month")


def missing_mart_dates(wh: Warehouse, config: StoreConfig, run_date: date, kpi: pd.DataFrame) -> pd.DataFrame:
    """Store-days absent from kpi_store_daily between the store's first paid order or traffic day and D.

    The first day comes from raw as well as from the mart, so a mart that starts late is caught too.
    """
    facts, params = order_facts_sql(config)
    raw_first = read(wh, f"""
with {facts}
select store_id, min(paid_date) as first_day from order_facts group by store_id
union all
select _store_id as store_id, min("date") as first_day
from raw.traffic
where "date" <= ? and _export_date <= ?
group by _store_id""", [*params, *[run_date] * 3, run_date, run_date])
    present = pd.DataFrame({"store_id": kpi["store_id"], "date": as_day(kpi["date"])})
    firsts = pd.concat([
        pd.DataFrame({"store_id": raw_first["store_id"], "first_day": as_day(raw_first["first_day"])}),
        present.rename(columns={"date": "first_day"}),
    ])
    bounds = firsts.groupby("store_id", as_index=False)["first_day"].min()
    bounds["last_day"] = run_date
    return _absent(date_spine(bounds), present)


def missing_traffic_days(wh: Warehouse, run_date: date) -> pd.DataFrame:
    """Days without a traffic row between a store's first and last traffic day (trailing gaps are freshness)."""
    days = read(wh, 'select distinct _store_id as store_id, "date" from raw.traffic '
                    'where "date" <= ? and _export_date <= ?', [run_date, run_date])
    days["date"] = as_day(days["date"])
    bounds = days.groupby("store_id", as_index=False).agg(first_day=("date", "min"), last_day=("date", "max"))
    return _absent(date_spine(bounds), days)


# -- files and freshness ----------------------------------------------------------------------------------------
def batch_files(wh: Warehouse, config: StoreConfig, batch_id: str) -> pd.DataFrame:
    """audit.files rows not yet published, with each file's quarantined share and its store's allowed maximum."""
    files = read(wh, f"""
select
  path, store_id, dataset, status, reason, rows_in, rows_loaded, rows_quarantined,
  case when rows_in > 0 then rows_quarantined * 1.0 / rows_in else 0 end as quarantined_share
from audit.files
where status <> 'forgotten' and {UNPUBLISHED}
order by path""", [batch_id])
    limits = {store.id: store.thresholds["max_quarantine_share"] for store in config.stores}
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


def date_spine(bounds: pd.DataFrame) -> pd.DataFrame:
    """Every (store_id, date) from first_day to last_day inclusive, without a Python loop over days."""
    if bounds.empty:
        return pd.DataFrame({"store_id": pd.Series([], dtype=object), "date": pd.Series([], dtype=object)})
    first = pd.to_datetime(bounds["first_day"])
    lengths = ((pd.to_datetime(bounds["last_day"]) - first).dt.days + 1).clip(lower=0)
    repeated = bounds.loc[bounds.index.repeat(lengths), ["store_id"]]
    offsets = repeated.groupby(level=0).cumcount().to_numpy()
    starts = first.loc[repeated.index].to_numpy()
    repeated["date"] = pd.Series(starts + pd.to_timedelta(offsets, unit="D"), index=repeated.index).dt.date
    return repeated.reset_index(drop=True)


def _absent(spine: pd.DataFrame, present: pd.DataFrame) -> pd.DataFrame:
    merged = spine.merge(present[["store_id", "date"]].drop_duplicates(), on=["store_id", "date"], how="left",
                         indicator=True)
    return merged.loc[merged["_merge"] == "left_only", ["store_id", "date"]].reset_index(drop=True)

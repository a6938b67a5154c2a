"""The expectations of quality.md layer 3, as data: which frame, which GX expectation, blocking or warning.

Most checks are built-in GX expectations. On the marts (table batches: `Batch.source` is a query, never read whole
into pandas) they are counted in SQL and GX validates the offending rows (see `sql_checks`); on the small frames
(this batch's files, reconciliation per store) GX validates every row. A check that is a query (missing
dates, stale exports, fractional stock) validates a frame of offending rows with a named subclass of
`expect_table_row_count_to_equal(0)` (see `gx_runner.ROW_FREE`), so it goes through GX and lands in
`audit.dq_results` like the rest, under a name that says what it checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd

from storekpi.config import StoreConfig
from storekpi.quality import export_warnings, frames, merchandising
from storekpi.warehouse import Warehouse

BLOCKING = True
WARNING = False
KPI = "marts.kpi_store_daily"
FILES = "audit.files"


@dataclass(frozen=True)
class Check:
    """One expectation. `expectation` is a GX expectation type; `kwargs` its arguments."""

    expectation: str
    kwargs: dict[str, Any]
    table_name: str
    column_name: str | None
    blocking: bool
    description: str
    shows: tuple[str, ...] = ()  # further frame columns worth showing in example rows

    @property
    def columns(self) -> list[str]:
        """Frame columns this check reads, shown in example rows next to the batch's keys."""
        names = [self.kwargs.get(k) for k in ("column", "column_A", "column_B")]
        return [n for n in names + list(self.kwargs.get("column_list", [])) + list(self.shows) if n]


@dataclass
class Counts:
    """A check's figures counted in SQL over a whole table (the frame GX sees holds only offending rows)."""

    element: int
    missing: int
    unexpected: int = 0

    def details(self) -> dict[str, Any]:
        """The figures as GX reports them for a column or pair check (percent of the rows not ignored)."""
        checked = self.element - self.missing
        return {"element_count": self.element, "unexpected_count": self.unexpected,
                "unexpected_percent": self.unexpected / checked * 100 if checked else None,
                "missing_count": self.missing}


@dataclass
class Batch:
    """One frame and the checks validated against it (one GX suite run).

    A table batch has `source`, the query of its rows, and an empty frame: `sql_checks.expand` turns it into one
    batch per check whose frame holds the check's first offending rows (in `keys` order) and `counts` its SQL
    counts.
    """

    suite: str
    name: str
    frame: pd.DataFrame
    keys: list[str]
    checks: list[Check] = field(default_factory=list)
    population: int | None = None  # for row-free checks: how many items the offending rows were drawn from
    source: str | None = None
    counts: Counts | None = None


def table(suite: str, name: str, source: str, keys: list[str], checks: list[Check]) -> Batch:
    """A batch checked in SQL on `source` (a select of the rows), not read into pandas."""
    return Batch(suite, name, pd.DataFrame(), keys, checks, source=source)


def between(column: str, table: str, blocking: bool, description: str, **bounds: Any) -> Check:
    return Check("expect_column_values_to_be_between", {"column": column, **bounds}, table, column, blocking,
                 description)


def a_at_least_b(a: str, b: str, table: str, blocking: bool, description: str, **extra: Any) -> Check:
    return Check("expect_column_pair_values_a_to_be_greater_than_b",
                 {"column_A": a, "column_B": b, "or_equal": True, **extra}, table, f"{a}, {b}", blocking,
                 description)


def unique(columns: list[str], table: str, description: str) -> Check:
    return Check("expect_compound_columns_to_be_unique", {"column_list": columns}, table, ", ".join(columns),
                 BLOCKING, description)


def no_rows(expectation: str, table: str, column: str | None, blocking: bool, description: str) -> Check:
    return Check(expectation, {}, table, column, blocking, description)


def build_batches(wh: Warehouse, *, run_date: date, config: StoreConfig, batch_id: str) -> list[Batch]:
    """Read every frame the gates need and attach the checks of quality.md to it."""
    from storekpi.quality import marketing

    return [*blocking_batches(wh, run_date, config, batch_id), *warning_batches(wh, run_date, config, batch_id),
            *marketing.batches(wh)]


def blocking_batches(wh: Warehouse, run_date: date, config: StoreConfig, batch_id: str) -> list[Batch]:
    fractional, stock_rows = frames.fractional_on_hand(wh)
    return [
        Batch("files", "files", frames.batch_files(wh, config, batch_id, run_date), ["path", "store_id", "dataset"], [
            Check("expect_column_values_to_be_in_set", {"column": "status", "value_set": ["loaded"]}, FILES,
                  "status", BLOCKING, "every file of this run is loaded, none rejected", ("reason",)),
            Check("expect_column_pair_values_a_to_be_greater_than_b",
                  {"column_A": "max_quarantine_share", "column_B": "quarantined_share", "or_equal": True}, FILES,
                  "rows_quarantined", BLOCKING,
                  "each file's quarantined share is at most the store's max_quarantine_share",
                  ("rows_in", "rows_quarantined")),
        ]),
        table("kpi_store_daily", "kpi_store_daily", frames.kpi_store_daily(wh), ["store_id", "date"], [
            unique(["store_id", "date"], KPI, "one row per store and date"),
            a_at_least_b("orders", "buyers", KPI, BLOCKING, "orders >= buyers"),
            between("buyers", KPI, BLOCKING, "buyers >= 0", min_value=0),
            a_at_least_b("visitors", "buyers", KPI, BLOCKING, "buyers <= visitors where visitors is known",
                         ignore_row_if="either_value_is_missing"),
            between("conversion_rate", KPI, BLOCKING, "conversion_rate within [0, 1]", min_value=0, max_value=1),
            between("buyer_conversion_rate", KPI, BLOCKING, "buyer_conversion_rate within [0, 1]",
                    min_value=0, max_value=1),
            between("net_sales", KPI, BLOCKING, "net_sales >= 0", min_value=0),
            a_at_least_b("gross_sales", "net_sales", KPI, BLOCKING, "net_sales <= gross_sales"),
        ]),
        Batch("kpi_store_daily", "kpi_store_daily_missing_dates",
              frames.missing_mart_dates(wh), ["store_id", "date"], [
                  no_rows("expect_no_missing_dates", KPI, "date", BLOCKING,
                          "every date of int_store_days: from the store's first paid order or traffic day to "
                          "the run date"),
              ]),
        Batch("reconciliation", "reconciliation", frames.reconciliation(wh), ["store_id"], [
            Check("expect_column_pair_values_to_be_equal",
                  {"column_A": "mart_orders", "column_B": "raw_paid_orders"}, KPI, "orders", BLOCKING,
                  "per store, sum of orders equals the paid orders in raw (the build's int_order_facts)"),
            Check("expect_column_pair_values_to_be_equal",
                  {"column_A": "mart_net_sales", "column_B": "raw_net_sales"}, KPI, "net_sales", BLOCKING,
                  "per store, sum of net_sales equals the paid orders in raw (int_order_facts), to the cent"),
        ]),
        table("stock_cover", "stock_cover", frames.stock_cover(wh), ["store_id", "sku", "date"], [
            unique(["store_id", "sku", "date"], "marts.stock_cover", "one row per store, sku and date"),
        ]),
        Batch("stock_cover", "stock_cover_fractional_on_hand", fractional, ["store_id", "sku", "date", "on_hand"], [
            no_rows("expect_on_hand_to_be_integer", "marts.stock_cover", "on_hand", BLOCKING,
                    "on_hand is a whole number"),
        ], population=stock_rows),
        table("repurchase_cohorts", "repurchase_cohorts", frames.repurchase_cohorts(wh),
              ["store_id", "cohort_month"], [
                  a_at_least_b("customers", "repurchased_90d", "marts.repurchase_cohorts", BLOCKING,
                               "customers >= repurchased_90d"),
                  between("repurchased_90d", "marts.repurchase_cohorts", BLOCKING, "repurchased_90d >= 0",
                          min_value=0),
              ]),
    ]


def warning_batches(wh: Warehouse, run_date: date, config: StoreConfig, batch_id: str) -> list[Batch]:
    stale, expected = frames.stale_exports(wh, config, run_date)
    return [
        Batch("freshness", "freshness", stale, ["store_id", "dataset", "last_export_date"], [
            no_rows("expect_exports_to_cover_run_date", FILES, "export_date", WARNING,
                    "every configured store and dataset has a loaded export dated on or after the run date"),
        ], population=expected),
        Batch("traffic", "traffic_missing_days", frames.missing_traffic_days(wh), ["store_id", "date"], [
            no_rows("expect_no_missing_traffic_days", "raw.traffic", "date", WARNING,
                    "a traffic row for every day between the store's first and last traffic day"),
        ]),
        *order_batches(wh, batch_id),
        *export_batches(wh, batch_id),
        hero_batch(wh, run_date, config),
    ]


def hero_batch(wh: Warehouse, run_date: date, config: StoreConfig) -> Batch:
    unseen, configured = merchandising.unseen_hero_skus(wh, config, run_date)
    return Batch("freshness", "hero_skus_unseen", unseen, ["store_id", "sku"], [
        no_rows("expect_hero_skus_to_appear_in_exports", "raw.order_lines", "sku", WARNING,
                "every stores.yml hero SKU appears in an orders, stock or products export of its store"),
    ], population=configured)


def order_batches(wh: Warehouse, batch_id: str) -> list[Batch]:
    """Tonight's orders, checked in SQL: each frame holds the offending orders only (row-free checks)."""
    orders, checked = frames.batch_order_warnings(wh, batch_id)
    keys = ["store_id", "order_id", "paid_date", "source_file"]
    total = orders.loc[orders["total_mismatch"].astype(bool)].reset_index(drop=True)
    by_status = orders.loc[orders["paid_by_status"].astype(bool)].reset_index(drop=True)
    negative = orders.loc[orders["negative_discount"].astype(bool)].reset_index(drop=True)
    return [
        Batch("orders", "orders_total", total, keys, [
            Check("expect_shopify_total_to_match_subtotal_shipping_taxes", {}, "raw.orders", "total", WARNING,
                  "Shopify Total (tips aside) is Subtotal + Shipping + Taxes, or Subtotal + Shipping when prices "
                  "include tax, within 0.01", ("subtotal", "shipping", "taxes", "tips", "total")),
        ], population=checked),
        Batch("orders", "orders_paid_without_paid_at", by_status, keys, [
            Check("expect_shopify_paid_orders_to_have_paid_at", {}, "raw.orders", "paid_at", WARNING,
                  "Shopify orders counted as paid by their Financial Status carry a Paid at (else they count at "
                  "Created at)", ("net_sales",)),
        ], population=checked),
        Batch("orders", "orders_discounts", negative, keys, [
            Check("expect_discounts_to_be_non_negative", {}, "raw.orders", "discounts", WARNING, "discounts >= 0",
                  ("gross_sales", "net_sales", "discounts")),
        ], population=checked),
    ]


def export_batches(wh: Warehouse, batch_id: str) -> list[Batch]:
    """Rows that loaded but need a person: duplicate SKU rows (summed), stock rows without SKU, and orders whose
    lines differed by less than a day in an order field."""
    duplicates, pairs = export_warnings.duplicate_skus(wh, batch_id)
    unnamed, rows = export_warnings.rows_without_sku(wh, batch_id)
    differing, orders = export_warnings.orders_with_line_differences(wh, batch_id)
    return [
        Batch("stock", "stock_duplicate_skus", duplicates, ["store_id", "source_file", "sku", "location"], [
            Check("expect_stock_skus_to_be_unique_per_location", {}, "raw.stock", "sku", WARNING,
                  "each SKU appears once per location in a stock export (duplicates are summed)",
                  ("stock_rows", "on_hand")),
        ], population=pairs),
        Batch("stock", "stock_rows_without_sku", unnamed, ["store_id", "source_file"], [
            Check("expect_stock_rows_to_have_a_sku", {}, "raw.stock", "sku", WARNING,
                  "every stock row has a SKU (rows without one stay out of SKU marts)", ("rows_without_sku",)),
        ], population=rows),
        Batch("orders", "orders_line_differences", differing, ["store_id", "source_file", "order_id"], [
            Check("expect_order_lines_to_agree_on_order_fields", {}, "raw.orders", "line_differences", WARNING,
                  "the lines of an order carry the same order-level values (less than a day apart, the first "
                  "line's value is taken)", ("line_differences",)),
        ], population=orders),
    ]

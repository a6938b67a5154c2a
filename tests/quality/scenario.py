"""A small hand-built warehouse whose every number is worked out below, for the quality-gate tests.

Two stores for run date D = 2026-11-20:

shop (shopify, USD)
- #1001 paid 11-19: first exported 11-19 without discount (gross 25, net 25), re-exported 11-20 with a 5.00
  discount -> latest version: gross 2x10 + 1x5 = 25.00, net 20.00, subtotal 20.00.
- #1002 paid 11-20: 1x30.00, net 30.00. An export dated 11-21 (after D) gives it a 30.00 discount: must be ignored.
- #1003 unpaid, #1004 paid 11-21 (after D): never count.
  -> raw: 2 paid orders, net 50.00. Traffic 11-18..11-20 (100, 120, 110 visitors).
tmall (taobao, CNY, max_quarantine_share 0.10)
- T1 paid 11-20: total 105.50 - shipping 10.00 = net 95.50, line 1x100.00 (discount 4.50).
- T2 paid 11-19: total 48.00, no shipping = net 48.00, lines 2x25.00 (discount 2.00).
  -> raw: 2 paid orders, net 143.50. Traffic 11-19..11-20 (1000, 900).

The marts agree with raw, every file of the batch is loaded, every store and dataset is fresh: zero failures and
zero warnings. Tests then break one thing at a time.
"""

from __future__ import annotations

import json
import tempfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from storekpi import config as config_module
from storekpi import dbt_runner
from storekpi.pipeline import _write_store_config
from storekpi.warehouse import Target, Warehouse

D = date(2026, 11, 20)
BATCH = "batch-20261120"
# audit.files columns a test row gives (the stat-cache columns stay NULL: hash the file next run)
FILES_COLUMNS = ("(path, store_id, dataset, export_date, sha256, format, encoding, status, reason, message, rows_in, "
                 "rows_loaded, rows_quarantined, batch_id, loaded_at)")
RUN_ID = "run-20261120"
SHOP_NEW = "shop/orders/2026-11-20/orders_export_1.csv"
SHOP_OLD = "shop/orders/2026-11-19/orders_export_1.csv"
SHOP_FUTURE = "shop/orders/2026-11-21/orders_export_1.csv"
TMALL_ORDERS = "tmall/orders/2026-11-20/ExportOrderList.csv"
TMALL_LINES = "tmall/orders/2026-11-20/ExportOrderDetailList.csv"
SHOP_TRAFFIC = "shop/traffic/2026-11-20/sessions.csv"
TMALL_TRAFFIC = "tmall/traffic/2026-11-20/shop_overview.csv"

STORES_YML = """
defaults:
  recipients:
    data: [data-lead@example.com]
stores:
  - id: shop
    platform: shopify
    currency: USD
    recipients: {data: [data-lead@example.com, shop-data@example.com]}
  - id: tmall
    platform: taobao
    currency: CNY
    timezone: Asia/Shanghai
    thresholds: {max_quarantine_share: 0.10}
"""

MONEY = "DECIMAL(18, 2)"
DOUBLE = "DOUBLE PRECISION"
MARTS = {
    "kpi_store_daily": {
        "store_id": "VARCHAR", "date": "DATE", "platform": "VARCHAR", "currency": "VARCHAR", "visitors": "INTEGER",
        "sessions": "INTEGER", "pageviews": "INTEGER", "orders": "INTEGER", "buyers": "INTEGER", "units": "INTEGER",
        "gross_sales": MONEY, "discounts": MONEY, "net_sales": MONEY, "refunds": MONEY, "aov": DOUBLE,
        "sales_per_buyer": DOUBLE, "units_per_order": DOUBLE, "conversion_rate": DOUBLE,
        "buyer_conversion_rate": DOUBLE, "new_buyers": "INTEGER", "returning_buyers": "INTEGER",
        "returning_buyer_rate": DOUBLE, "refund_rate": DOUBLE, "reviews": "INTEGER",
        "positive_review_rate_30d": DOUBLE, "skus_in_snapshot": "INTEGER", "skus_stockout": "INTEGER",
        "skus_low_cover": "INTEGER", "sell_through_rate_28d": DOUBLE, "daily_orders_target": "INTEGER",
    },
    "stock_cover": {
        "store_id": "VARCHAR", "sku": "VARCHAR", "date": "DATE", "product_name": "VARCHAR", "on_hand": "INTEGER",
        "units_28d": "INTEGER", "window_days": "INTEGER", "avg_daily_units": DOUBLE, "days_of_cover": DOUBLE,
        "stockout": "BOOLEAN", "low_cover": "BOOLEAN",
    },
    "repurchase_cohorts": {
        "store_id": "VARCHAR", "cohort_month": "DATE", "customers": "INTEGER", "repurchased_90d": "INTEGER",
        "repurchase_rate_90d": DOUBLE, "is_mature": "BOOLEAN",
    },
}


def stores_config(tmp_path: Path, extra: str = "") -> config_module.StoreConfig:
    path = tmp_path / "stores.yml"
    path.write_text(STORES_YML + extra, encoding="utf-8")
    return config_module.load(path)


def m(d: str) -> Decimal:
    return Decimal(d)


def build(wh: Warehouse, config: config_module.StoreConfig | None = None) -> None:
    """Create storekpi's tables and the three marts in `wh.marts_schema`, filled with the good scenario, and the
    dbt models the gates read (order facts, the store calendar) as views of raw."""
    empty(wh, config)
    _raw(wh)
    _audit(wh)
    _marts(wh)


def empty(wh: Warehouse, config: config_module.StoreConfig | None = None) -> None:
    """storekpi's tables, raw.stores from `config` (default STORES_YML), empty marts and the gates' dbt models as
    views."""
    if config is None:
        with tempfile.TemporaryDirectory() as folder:
            config = stores_config(Path(folder))
    wh.ensure_schema()
    wh.execute(f"CREATE SCHEMA IF NOT EXISTS {wh.marts_schema}")
    for table, columns in MARTS.items():
        cols = ", ".join(f'"{name}" {sql_type}' for name, sql_type in columns.items())
        wh.execute(f"CREATE TABLE {wh.marts_schema}.{table} ({cols})")
    _write_store_config(wh, config, D.year, D.year)
    wh.execute("CREATE SCHEMA IF NOT EXISTS intermediate")
    for name, columns in ORDER_CHAIN_STATE.items():  # what the chain's planning models read (their pre-hooks make it)
        wh.execute(f"CREATE TABLE IF NOT EXISTS intermediate.{name} ({columns})")
    for schema, name, sql in _compiled_models(wh):
        wh.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        wh.execute(f'CREATE VIEW {schema}."{name}" AS {sql}')


# The models the gates read, with everything upstream of them (staging and intermediate, not the marts).
GATE_MODELS = "+int_order_facts +int_orders_latest +int_store_days +int_daily_traffic"
# The order chain's state tables as macros/order_chain.sql `order_chain_create_state` makes them: empty, so the
# compiled chain models read as a first night (every order listed, nothing built before).
ORDER_CHAIN_STATE = {
    "order_chain_state": "run_date date, fingerprint varchar, stores_digest varchar, token varchar",
    "order_chain_files": "dataset varchar, source_file varchar, batch_id varchar, loaded_at timestamp",
    "order_chain_built": "model varchar, token varchar",
}
_COMPILED: dict[str, list[tuple[str, str, str]]] = {}


def _compiled_models(wh: Warehouse) -> list[tuple[str, str, str]]:
    """(schema, model, SQL) of GATE_MODELS as dbt compiles them for D, upstream first, once per backend.

    Views instead of dbt's tables, so that what a test changes in raw reaches the gates as it would through a
    build; the SQL is dbt's own, so the scenario holds no second definition of order facts or the calendar.
    """
    if wh.kind not in _COMPILED:
        with tempfile.TemporaryDirectory(prefix="storekpi-gate-models-") as scratch:
            target = wh.target if wh.kind == "postgres" else Target(str(Path(scratch) / "compile.duckdb"))
            result = dbt_runner._invoke("compile", Warehouse(target, marts_schema=wh.marts_schema), D,
                                        Path(scratch) / "work", extra=["--select", GATE_MODELS])
            assert result.success, result.exception
            manifest = json.loads((Path(scratch) / "work" / "target" / "manifest.json").read_text())
        nodes = {key: node for key, node in manifest["nodes"].items()
                 if node["resource_type"] == "model" and node.get("compiled_code")}
        ordered: list[str] = []

        def visit(key: str) -> None:
            if key in nodes and key not in ordered:
                for parent in nodes[key]["depends_on"]["nodes"]:
                    visit(parent)
                ordered.append(key)

        for key in sorted(nodes):
            visit(key)
        _COMPILED[wh.kind] = [
            (nodes[k]["schema"], nodes[k]["name"], nodes[k]["compiled_code"].replace(f'"{nodes[k]["database"]}".', ""))
            for k in ordered]
    return _COMPILED[wh.kind]


def insert(wh: Warehouse, table: str, rows: list[dict]) -> None:
    """Insert dict rows (same keys for all rows) with one portable INSERT per row: the data is tiny."""
    for row in rows:
        names = ", ".join(f'"{k}"' for k in row)
        marks = ", ".join("?" for _ in row)
        wh.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", list(row.values()))


def lineage(store: str, path: str, export_date: date, batch: str, rows: list[dict]) -> list[dict]:
    return [{**row, "_store_id": store, "_source_file": path, "_row_number": i + 2, "_export_date": export_date,
             "_batch_id": batch, "_loaded_at": datetime(2026, 11, 20, 23, 0)} for i, row in enumerate(rows)]


def order(order_id: str, paid_at: datetime | None, **money: str) -> dict:
    row = {"order_id": order_id, "customer_key": None, "currency": None, "paid_at": paid_at, "subtotal": None,
           "order_discount": None, "shipping": None, "total": None}
    row.update({k: m(v) for k, v in money.items()})
    return row


def line(order_id: str, number: int, quantity: int, unit_price: str) -> dict:
    return {"order_id": order_id, "line_number": number, "sku": f"SKU-{order_id}-{number}", "quantity": quantity,
            "unit_price": m(unit_price)}


def _raw(wh: Warehouse) -> None:
    nov = lambda day, hour: datetime(2026, 11, day, hour)  # noqa: E731 - local shorthand for the fixtures
    insert(wh, "raw.orders", lineage("shop", SHOP_OLD, date(2026, 11, 19), "batch-20261119", [
        order("#1001", nov(19, 10), subtotal="25.00", order_discount="0.00"),
    ]) + lineage("shop", SHOP_NEW, D, BATCH, [
        order("#1001", nov(19, 10), subtotal="20.00", order_discount="5.00"),
        order("#1002", nov(20, 9), subtotal="30.00", order_discount="0.00"),
        order("#1003", None, subtotal="50.00", order_discount="0.00"),
        order("#1004", nov(21, 8), subtotal="70.00", order_discount="0.00"),
    ]) + lineage("shop", SHOP_FUTURE, date(2026, 11, 21), "batch-20261121", [
        order("#1002", nov(20, 9), subtotal="0.00", order_discount="30.00"),
    ]) + lineage("tmall", TMALL_ORDERS, D, BATCH, [
        order("T1", nov(20, 12), total="105.50", shipping="10.00"),
        order("T2", nov(19, 20), total="48.00", shipping="0.00"),
    ]))
    insert(wh, "raw.order_lines", lineage("shop", SHOP_OLD, date(2026, 11, 19), "batch-20261119", [
        line("#1001", 1, 2, "10.00"), line("#1001", 2, 1, "5.00"),
    ]) + lineage("shop", SHOP_NEW, D, BATCH, [
        line("#1001", 1, 2, "10.00"), line("#1001", 2, 1, "5.00"), line("#1002", 1, 1, "30.00"),
        line("#1003", 1, 1, "50.00"), line("#1004", 1, 1, "70.00"),
    ]) + lineage("shop", SHOP_FUTURE, date(2026, 11, 21), "batch-20261121", [
        line("#1002", 1, 1, "30.00"),
    ]) + lineage("tmall", TMALL_LINES, D, BATCH, [
        line("T1", 1, 1, "100.00"), line("T2", 1, 2, "25.00"),
    ]))
    traffic = lambda day, visitors: {"date": date(2026, 11, day), "visitors": visitors}  # noqa: E731
    insert(wh, "raw.traffic", lineage("shop", SHOP_TRAFFIC, D, BATCH, [
        traffic(18, 100), traffic(19, 120), traffic(20, 110),
    ]) + lineage("tmall", TMALL_TRAFFIC, D, BATCH, [traffic(19, 1000), traffic(20, 900)]))


def audit_file(path: str, store: str, dataset: str, export_date: date, batch: str, rows_in: int,
               quarantined: int = 0, status: str = "loaded", reason: str | None = None) -> dict:
    return {"path": path, "store_id": store, "dataset": dataset, "export_date": export_date, "sha256": "0" * 64,
            "status": status, "reason": reason, "rows_in": rows_in, "rows_loaded": rows_in - quarantined,
            "rows_quarantined": quarantined, "batch_id": batch, "loaded_at": datetime(2026, 11, 20, 23, 0)}


def _audit(wh: Warehouse) -> None:
    insert(wh, "audit.files", [
        audit_file(SHOP_OLD, "shop", "orders", date(2026, 11, 19), "batch-20261119", 2),
        audit_file(SHOP_NEW, "shop", "orders", D, BATCH, 20),
        audit_file(SHOP_TRAFFIC, "shop", "traffic", D, BATCH, 3),
        audit_file(TMALL_ORDERS, "tmall", "orders", D, BATCH, 20, quarantined=1),  # 5 % <= tmall's 10 %
        audit_file(TMALL_LINES, "tmall", "orders", D, BATCH, 2),
        audit_file(TMALL_TRAFFIC, "tmall", "traffic", D, BATCH, 2),
    ])
    # the 11-19 night was validated and published; tonight's batch is not yet
    insert(wh, "audit.runs", [{"run_id": "batch-20261119", "date": date(2026, 11, 19), "status": "published",
                               "started_at": datetime(2026, 11, 19, 23, 0)}])


def kpi_row(store: str, day: int, visitors: int, orders: int, gross: str, net: str) -> dict:
    return {"store_id": store, "date": date(2026, 11, day), "visitors": visitors, "orders": orders,
            "buyers": orders, "gross_sales": m(gross), "discounts": m(gross) - m(net), "net_sales": m(net),
            "conversion_rate": orders / visitors, "buyer_conversion_rate": orders / visitors}


def _marts(wh: Warehouse) -> None:
    s = wh.marts_schema
    insert(wh, f"{s}.kpi_store_daily", [
        kpi_row("shop", 18, 100, 0, "0.00", "0.00"),
        kpi_row("shop", 19, 120, 1, "25.00", "20.00"),
        kpi_row("shop", 20, 110, 1, "30.00", "30.00"),
        kpi_row("tmall", 19, 1000, 1, "50.00", "48.00"),
        kpi_row("tmall", 20, 900, 1, "100.00", "95.50"),
    ])
    insert(wh, f"{s}.stock_cover", [
        {"store_id": "shop", "sku": "A", "date": D, "on_hand": 5},
        {"store_id": "shop", "sku": "B", "date": D, "on_hand": 0},
        {"store_id": "tmall", "sku": "X", "date": D, "on_hand": 12},
    ])
    insert(wh, f"{s}.repurchase_cohorts", [
        {"store_id": "shop", "cohort_month": date(2026, 11, 1), "customers": 2, "repurchased_90d": 0},
        {"store_id": "tmall", "cohort_month": date(2026, 11, 1), "customers": 2, "repurchased_90d": 1},
    ])

"""A published warehouse filled by hand: the marts of kpis.md for three stores around D = 2026-11-20 (a Friday).

Shared by tests/alerts and tests/report (the report tests load this file by path). The alert rules are dbt's job;
here `marts.kpi_alerts` holds the rows dbt would have written, and every number the tests expect is written below
or worked out in the tests by hand.

Routing (stores.yml below) and alerts dated D:
- tmall_flagship (天猫旗舰店): orders_below_target, conversion_below_target, discount_floor -> ops
  (ops.cn@, lead@); stockout TM-002, low_cover TM-003 -> merchandiser (merch@)
- shopify_eu: orders_below_target -> ops (lead@); low_cover EU-9 -> merchandiser (lead@);
  traffic_drop -> marketing (mkt@); missing_data -> data (data@)
- generic_quiet: no alert on D (an orders_below_target on D-1 for quiet@, a review alert on D-1 for cs@)
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd

from storekpi import config as storeconfig
from storekpi.warehouse import Target, Warehouse

D = date(2026, 11, 20)
DAYS = [D - timedelta(days=i) for i in range(34, -1, -1)]  # D-34 … D

STORES_YML = """
defaults:
  timezone: UTC
  thresholds: {conversion_rate_min: 0.02, daily_orders_min: 30}
stores:
  - id: tmall_flagship
    name: "天猫旗舰店"
    platform: taobao
    timezone: Asia/Shanghai
    currency: CNY
    thresholds: {daily_orders_min: 200}
    recipients:
      ops: [ops.cn@example.com, lead@example.com]
      merchandiser: [merch@example.com]
      marketing: [mkt@example.com]
      customer_service: [cs@example.com]
      data: [data@example.com]
  - id: shopify_eu
    name: "EU <Shop> & Co"
    platform: shopify
    timezone: Europe/Berlin
    currency: EUR
    recipients:
      ops: [lead@example.com]
      merchandiser: [lead@example.com]
      marketing: [mkt@example.com]
      customer_service: [cs@example.com]
      data: [data@example.com]
  - id: generic_quiet
    name: "Quiet store"
    platform: generic
    currency: USD
    recipients:
      ops: [quiet@example.com]
      customer_service: [cs@example.com]
"""

# The last 7 days (11-14 … 11-20) of the KPIs the alerts show.
TMALL_ORDERS_7 = [230, 215, 240, 210, 205, 198, 150]
TMALL_VISITORS_7 = [10000, 9800, 10500, 10200, 9900, 9600, 9500]
EU_ORDERS_7 = [35, 31, 33, 29, 30, 34, 20]
EU_VISITORS_7 = [1100, 1050, 990, 1000, 1020, 980, 600]


def _daily(store_id: str, platform: str, currency: str, orders_7: list[int], visitors_7: list[int],
           base_orders: int, base_visitors: int, target: int, aov: float) -> pd.DataFrame:
    rows = []
    for i, day in enumerate(DAYS):
        k = i - (len(DAYS) - 7)
        orders = orders_7[k] if k >= 0 else base_orders + (i % 5) * 3
        visitors = visitors_7[k] if k >= 0 else base_visitors + (i % 7) * 40
        net = round(orders * aov, 2)
        buyers = orders - orders // 10
        rows.append({
            "store_id": store_id, "date": day, "platform": platform, "currency": currency,
            "visitors": visitors, "sessions": visitors + visitors // 5, "pageviews": visitors * 4,
            "orders": orders, "buyers": buyers, "units": orders * 2, "gross_sales": round(net * 1.1, 2),
            "discounts": round(net * 0.1, 2), "net_sales": net, "refunds": round(net * 0.02, 2), "aov": aov,
            "sales_per_buyer": net / buyers, "units_per_order": 2.0, "conversion_rate": orders / visitors,
            "buyer_conversion_rate": buyers / visitors, "new_buyers": buyers // 2,
            "returning_buyers": buyers - buyers // 2, "returning_buyer_rate": (buyers - buyers // 2) / buyers,
            "refund_rate": 0.02, "reviews": 12, "positive_review_rate_30d": 0.99, "skus_in_snapshot": 5,
            "skus_stockout": 1, "skus_low_cover": 1, "sell_through_rate_28d": 0.8, "daily_orders_target": target,
        })
    return pd.DataFrame(rows)


def kpi_store_daily() -> pd.DataFrame:
    tmall = _daily("tmall_flagship", "taobao", "CNY", TMALL_ORDERS_7, TMALL_VISITORS_7, 220, 10000, 200, 55.0)
    eu = _daily("shopify_eu", "shopify", "EUR", EU_ORDERS_7, EU_VISITORS_7, 32, 1000, 30, 80.0)
    # the traffic day a week before D: 600 < 0.7 × 1000 is the traffic_drop
    eu.loc[eu["date"] == D - timedelta(days=7), ["visitors", "conversion_rate"]] = [1000, 32 / 1000]
    quiet = _daily("generic_quiet", "generic", "USD", [40] * 7, [2000] * 7, 40, 2000, 30, 20.0)
    quiet.loc[quiet["date"] == D - timedelta(days=3), ["visitors", "conversion_rate"]] = [None, None]
    return pd.concat([tmall, eu, quiet], ignore_index=True)


def stock_cover() -> pd.DataFrame:
    rows = []
    tm_002_on_hand = [12, 9, 6, 4, 2, 1, 0]
    tm_003_cover = [9.0, 8.5, 7.5, 6.0, 5.0, 4.2, 3.5]
    for k in range(7):
        day = D - timedelta(days=6 - k)
        rows += [
            ("tmall_flagship", "TM-001", day, "羊毛围巾", 300, 140, 28, 5.0, 60.0, False, False),
            ("tmall_flagship", "TM-002", day, "真丝睡衣", tm_002_on_hand[k], 56, 28, 2.0,
             0.0 if tm_002_on_hand[k] == 0 else tm_002_on_hand[k] / 2.0, tm_002_on_hand[k] <= 0, False),
            ("tmall_flagship", "TM-003", day, "<b>Scarf & Co</b>", 14, 112, 28, 4.0, tm_003_cover[k], False,
             tm_003_cover[k] < 7),
            ("tmall_flagship", "TM-004", day, "羊绒手套", 50, 0, 28, 0.0, None, False, False),
            ("tmall_flagship", "TM-005", day, "帆布包", -2, 0, 28, 0.0, None, True, False),
        ]
    rows += [("shopify_eu", "EU-9", D, "Linen shirt", 4, 56, 28, 2.0, 2.0, False, True),
             ("shopify_eu", "EU-1", D, "Wool socks", 80, 28, 28, 1.0, 80.0, False, False)]
    columns = ["store_id", "sku", "date", "product_name", "on_hand", "units_28d", "window_days", "avg_daily_units",
               "days_of_cover", "stockout", "low_cover"]
    return pd.DataFrame(rows, columns=columns)


def discount_violations() -> pd.DataFrame:
    d3 = D - timedelta(days=3)
    rows = [("tmall_flagship", D, "TB-9001", "TM-001", 2, 37.2, 60.0, 0.62)]
    rows += [("tmall_flagship", d3, f"TB-800{i}", "TM-001", 1, 36.0, 60.0, 0.60) for i in range(3)]
    columns = ["store_id", "date", "order_id", "sku", "quantity", "effective_unit_price", "list_price",
               "price_ratio"]
    return pd.DataFrame(rows, columns=columns)


def revenue_bridge() -> pd.DataFrame:
    # hand-picked factor ratios: visitors ×0.95, conversion ×0.86, AOV ×1.01 -> net sales ×0.825170
    v, c, a = math.log(0.95), math.log(0.86), math.log(1.01)
    return pd.DataFrame([{
        "store_id": "tmall_flagship", "date": D, "net_sales": 8251.70, "net_sales_prev": 10000.0,
        "log_change": v + c + a, "visitors_effect": v, "conversion_effect": c, "aov_effect": a,
    }])


def repurchase_cohorts() -> pd.DataFrame:
    rows = [("tmall_flagship", date(2026, m, 1), 400 + 10 * m, 60 + 5 * m, None, m <= 7) for m in range(1, 12)]
    rows += [("shopify_eu", date(2026, 10, 1), 0, 0, None, False)]
    frame = pd.DataFrame(rows, columns=["store_id", "cohort_month", "customers", "repurchased_90d",
                                        "repurchase_rate_90d", "is_mature"])
    frame["repurchase_rate_90d"] = (frame["repurchased_90d"] / frame["customers"]).where(frame["customers"] > 0)
    return frame


def kpi_alerts() -> pd.DataFrame:
    rows = [
        ("tmall_flagship", D, "orders_below_target", "ops", "warning", None, 150, 200),
        ("tmall_flagship", D, "conversion_below_target", "ops", "warning", None, 150 / 9500, 0.02),
        ("tmall_flagship", D, "discount_floor", "ops", "critical", "TM-001", 0.62, 0.70),
        ("tmall_flagship", D, "stockout", "merchandiser", "critical", "TM-002", 0, 0),
        ("tmall_flagship", D, "low_cover", "merchandiser", "warning", "TM-003", 3.5, 7),
        ("shopify_eu", D, "orders_below_target", "ops", "warning", None, 20, 30),
        ("shopify_eu", D, "low_cover", "merchandiser", "warning", "EU-9", 2.0, 7),
        ("shopify_eu", D, "traffic_drop", "marketing", "warning", None, 600, 700),
        ("shopify_eu", D, "missing_data", "data", "warning", None, None, None),
        # the day before: must never be mailed on D
        ("tmall_flagship", D - timedelta(days=1), "positive_review_rate_low", "customer_service", "warning", None,
         0.97, 0.985),
        ("generic_quiet", D - timedelta(days=1), "orders_below_target", "ops", "warning", None, 12, 30),
    ]
    frame = pd.DataFrame(rows, columns=["store_id", "date", "rule", "owner_role", "severity", "sku", "value",
                                        "threshold"])
    frame["message"] = "Store " + frame["store_id"] + ": " + frame["rule"] + " (" + frame["value"].astype(str) + \
        " vs " + frame["threshold"].astype(str) + ")."
    frame.loc[frame["rule"] == "missing_data", "message"] = "EU <Shop> & Co has no traffic export covering D."
    frame["campaign"] = pd.Series([None] * len(frame), dtype=object)  # marketing.md: only roas_below_target has one
    return frame


def audit_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("""insert into audit.files (path, store_id, dataset, export_date, sha256, format, encoding,
        status, reason, message, rows_in, rows_loaded, rows_quarantined, batch_id, loaded_at) values
        ('tmall_flagship/orders/2026-11-20/orders.csv', 'tmall_flagship', 'orders', '2026-11-20', 'ab', 'csv',
         'gb18030', 'loaded', null, null, 1200, 1195, 5, 'run1', '2026-11-21 01:00:00'),
        ('tmall_flagship/traffic/2026-11-20/traffic.xlsx', 'tmall_flagship', 'traffic', '2026-11-20', 'cd', 'xlsx',
         null, 'loaded', null, null, 1, 1, 0, 'run1', '2026-11-21 01:00:00'),
        ('shopify_eu/orders/2026-11-18/export.csv', 'shopify_eu', 'orders', '2026-11-18', 'ef', 'csv', 'utf-8',
         'loaded', null, null, 90, 90, 0, 'run1', '2026-11-21 01:00:00'),
        ('shopify_eu/orders/2026-11-18/broken.csv', 'shopify_eu', 'orders', '2026-11-18', 'gh', 'csv', 'utf-8',
         'rejected', 'unknown_headers', 'headers match no known export', 3, 0, 0, 'run1', '2026-11-21 01:00:00')""")
    con.execute("""insert into quarantine.rows values
        ('tmall_flagship', 'tmall_flagship/orders/2026-11-20/orders.csv', 17, '2026-11-20', 'run1',
         '2026-11-21 01:00:00', 'orders', 'unparseable', '订单付款时间', 'row 17: 订单付款时间 unparseable', '{}')""")
    con.execute("""insert into audit.dq_results values
        ('run1', 'marts', 'expect_compound_columns_to_be_unique', 'kpi_store_daily', null, true, true, 0, 100, '{}',
         '2026-11-21 01:02:00'),
        ('run1', 'freshness', 'expect_exports_to_cover_run_date', 'audit.files', null, false, false, 1, 3, '{}',
         '2026-11-21 01:02:00')""")


def build(tmp_path: Path) -> tuple[Warehouse, storeconfig.StoreConfig]:
    """Write the warehouse file and stores.yml under tmp_path; returns a read-only handle and the config."""
    stores_yml = tmp_path / "stores.yml"
    stores_yml.write_text(STORES_YML, encoding="utf-8")
    path = tmp_path / "warehouse.duckdb"
    target = Target(str(path))
    with Warehouse(target, path=path) as wh:
        wh.ensure_schema()
        con = wh.con
        con.execute("create schema marts")
        for name, frame in {"kpi_store_daily": kpi_store_daily(), "stock_cover": stock_cover(),
                            "discount_violations": discount_violations(), "revenue_bridge": revenue_bridge(),
                            "repurchase_cohorts": repurchase_cohorts(), "kpi_alerts": kpi_alerts()}.items():
            con.register("frame", frame)
            con.execute(f"create table marts.{name} as select * from frame")
            con.unregister("frame")
        con.execute("alter table marts.kpi_alerts alter column value type double")
        con.execute("alter table marts.kpi_alerts alter column threshold type double")
        con.execute("alter table marts.stock_cover alter column date type date")
        # replenishment has stock_cover's rows (the stockout and low_cover rules read it); no order suggested here
        con.execute("create table marts.replenishment as select *, false as is_hero, false as needs_reorder, "
                    "cast(null as double) as reorder_point, cast(null as double) as order_up_to, "
                    "cast(0 as bigint) as suggested_order_qty from marts.stock_cover")
        audit_tables(con)
    return Warehouse(target, path=path, read_only=True), storeconfig.load(stores_yml)

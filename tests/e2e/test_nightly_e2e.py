"""End to end through Airflow on a landing folder written by hand (tests/fixtures/e2e_landing).

Every KPI below was worked out by hand from the fixture files, not by running the code:

maple_shop (Shopify, America/Toronto, CAD)
- #1001 alice, paid 11-19 10:00 -0500: 2 × 10.00 + 1 × 5.00 = 25.00 gross, discount 2.50, net 22.50 (two lines; the
  second row leaves the order fields blank).
- #1002 bob, paid 2026-11-20 03:30 +0000 = 11-19 22:30 in Toronto: local date 11-19; 1 × 10.00, net 10.00.
- #1003 pending, never paid: never counts.
- #1004 guest (no e-mail), paid 11-20: 1 × 10.00, discount 1.00, net 9.00; an anonymous buyer is new.
- #1005 'ALICE@example.com ' (same customer once normalised), paid 11-20: 2 × 5.00 = 10.00 net, refunded 10.00;
  alice's first order was 11-19, so she is returning.
- traffic: 11-19 100 visitors / "1,200" sessions; 11-20 80 visitors / 900 sessions.
tea_house (Taobao, Asia/Shanghai, CNY)
- 5001 小明 paid 11-19: lines 2 × 100.00 = 200 gross; net = 实付 190.00 − 邮费 10.00 = 180.00; discounts 20.00.
- 5002 unpaid: never counts.
- 5003 小明 paid 11-20 23:59: 1 × 100 + 2 × 475 = 1050 gross; net = ￥1,000.00 − 0 = 1000; refund 100; returning.
- traffic (title lines before the header): 11-19 50 visitors, 300 pageviews; '20261120' 40 visitors, "2,000" pv.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import duckdb
import pytest

from tests.conftest import FIXTURES

pytestmark = pytest.mark.e2e

D = Decimal
NULL = None
COLUMNS = (
    "store_id", "date", "platform", "currency", "visitors", "sessions", "pageviews", "orders", "buyers", "units",
    "gross_sales", "discounts", "net_sales", "refunds", "aov", "sales_per_buyer", "units_per_order",
    "conversion_rate", "buyer_conversion_rate", "new_buyers", "returning_buyers", "returning_buyer_rate",
    "refund_rate", "reviews", "positive_review_rate_30d", "skus_in_snapshot", "skus_stockout", "skus_low_cover",
    "sell_through_rate_28d", "daily_orders_target",
)
EXPECTED = [
    ("maple_shop", date(2026, 11, 19), "shopify", "CAD", 100, 1200, NULL, 2, 2, 4,
     D("35.00"), D("2.50"), D("32.50"), D("0.00"), 16.25, 16.25, 2.0,
     0.02, 0.02, 2, 0, 0.0, 0.0, 0, NULL, NULL, NULL, NULL, NULL, 2),
    ("maple_shop", date(2026, 11, 20), "shopify", "CAD", 80, 900, NULL, 2, 2, 3,
     D("20.00"), D("1.00"), D("19.00"), D("10.00"), 9.5, 9.5, 1.5,
     0.025, 0.025, 1, 1, 0.5, 10 / 19, 0, NULL, NULL, NULL, NULL, NULL, 2),
    ("tea_house", date(2026, 11, 19), "taobao", "CNY", 50, NULL, 300, 1, 1, 2,
     D("200.00"), D("20.00"), D("180.00"), D("0.00"), 180.0, 180.0, 2.0,
     0.02, 0.02, 1, 0, 0.0, 0.0, 0, NULL, NULL, NULL, NULL, NULL, 2),
    ("tea_house", date(2026, 11, 20), "taobao", "CNY", 40, NULL, 2000, 1, 1, 3,
     D("1050.00"), D("50.00"), D("1000.00"), D("100.00"), 1000.0, 1000.0, 3.0,
     0.025, 0.025, 0, 1, 1.0, 0.1, 0, NULL, NULL, NULL, NULL, NULL, 2),
]


@pytest.fixture(scope="module")
def published(published_e2e_template, tmp_path_factory):
    from tests.conftest import copy_published

    copy = copy_published(published_e2e_template, tmp_path_factory.mktemp("e2e"))
    return copy.result, copy.warehouse, copy.root


def test_run_publishes(published, published_e2e_template):
    result, _, _ = published
    warehouse = published_e2e_template.warehouse  # the night was run there; `published` is its copy
    assert result.code == 0, result.stderr[-4000:]
    summary = result.summary
    assert summary["status"] == "published"
    assert summary["date"] == "2026-11-20"
    assert summary["stores"] == 2
    assert summary["files_loaded"] == 5
    # 6 Shopify rows + 3 Taobao orders + 4 Taobao lines + 2 + 2 traffic days; nothing quarantined.
    assert summary["rows_loaded"] == 17
    assert summary["rows_quarantined"] == 0
    # Only tea_house misses its daily target of 2 orders on 11-20 (maple_shop has exactly 2: no alert).
    assert summary["alerts"] == 1
    assert summary["warehouse"] == str(warehouse)


def _close(actual, expected) -> bool:
    if expected is None or actual is None:
        return actual is expected
    if isinstance(expected, float):
        return abs(float(actual) - expected) < 1e-9
    return actual == expected


def test_kpi_store_daily_matches_hand_values(published):
    _, warehouse, _ = published
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            f"select {', '.join(COLUMNS)} from marts.kpi_store_daily order by store_id, date").fetchall()
    assert len(rows) == len(EXPECTED)
    for actual, expected in zip(rows, EXPECTED):
        for column, a, e in zip(COLUMNS, actual, expected):
            assert _close(a, e), f"{expected[0]} {expected[1]} {column}: got {a!r}, expected {e!r}"


def test_alert_and_identity(published):
    _, warehouse, _ = published
    with duckdb.connect(str(warehouse), read_only=True) as con:
        alerts = con.execute("select store_id, rule, owner_role from marts.kpi_alerts where date = '2026-11-20'"
                             ).fetchall()
        identity = con.execute(
            "select count(*) from marts.kpi_store_daily where visitors is not null and orders > 0 "
            "and abs(net_sales - visitors * conversion_rate * aov) > 0.005").fetchone()[0]
    assert alerts == [("tea_house", "orders_below_target", "ops")]
    assert identity == 0


def test_no_personal_data_in_warehouse(published):
    _, warehouse, _ = published
    data = warehouse.read_bytes()
    for secret in ("alice@example.com", "ALICE@example.com", "bob@example.com", "Alice Martin", "小明", "小红"):
        assert secret.encode("utf-8") not in data, secret


def test_rerun_same_date_is_idempotent(published):
    from tests.conftest import run_cli

    result, warehouse, root = published
    before = _state(warehouse)
    again = run_cli("run", "--landing", str(FIXTURES / "e2e_landing"), "--warehouse", str(warehouse),
                    "--date", "2026-11-20", "--outbox", str(root / "outbox"), home=root / "state")
    assert again.code == 0, again.stderr[-4000:]
    assert again.summary["files_loaded"] == 0  # unchanged files are not read again
    assert _state(warehouse) == before


def _state(warehouse) -> dict:
    """Every mart's rows, and the row count of every raw and quarantine table."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = con.execute("select table_schema, table_name from information_schema.tables "
                             "where table_schema in ('marts', 'raw', 'quarantine') order by 1, 2").fetchall()
        assert len([t for t in tables if t[0] == "marts"]) == 16  # kpis.md 6 + marketing 2 + merchandising 4 + customers 2
        # + targets 2
        return {f"{schema}.{table}": con.execute(f"select * from {schema}.{table} order by all").fetchall()
                if schema == "marts" else con.execute(f"select count(*) from {schema}.{table}").fetchone()[0]
                for schema, table in tables}


def test_forget_removes_a_files_rows(published):
    """Runs last: forgetting the Shopify traffic export removes its two rows from raw, and only those."""
    from tests.conftest import run_cli

    _, warehouse, root = published
    relpath = "maple_shop/traffic/2026-11-20/sessions_over_time.csv"
    # an absolute path and no --landing: the file's place in the landing layout is its last four parts
    result = run_cli("forget", str(FIXTURES / "e2e_landing" / relpath), "--warehouse", str(warehouse),
                     home=root / "state")
    assert result.code == 0, result.stderr[-3000:]
    assert result.summary == {"forgotten": relpath, "rows_removed": 2}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select _store_id, count(*) from raw.traffic group by 1").fetchall() == [("tea_house", 2)]
        assert con.execute("select status from audit.files where path = ?", [relpath]).fetchall() == [("forgotten",)]
        assert con.execute("select count(*) from marts.kpi_store_daily").fetchone()[0] == 4  # rebuilt next run

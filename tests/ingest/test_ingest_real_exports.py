"""Ingest of real export quirks (sources.md "Real exports"): fixtures in the shape of the real files, expected
rows worked out by hand."""

from datetime import datetime

import pytest
from ingest_support import FIXTURES, quarantine, run

REAL = FIXTURES / "real"
REAL_EXPORTS = FIXTURES.parent / "real_exports"


@pytest.mark.parametrize("name, period", [("sessions_over_time_by_week.csv", "week"),
                                          ("sessions_over_time_by_month.csv", "month")])
def test_analytics_by_week_or_month_is_rejected_saying_to_export_by_day(wh, landing, name, period):
    path = landing.add("shop_us", "traffic", "2026-11-20", name, REAL / name)
    summary = run(wh, landing)
    assert summary.files_rejected == 1
    status, reason, message = wh.query("select status, reason, message from audit.files where path = ?", [path])[0]
    assert (status, reason) == ("rejected", "unknown_headers")
    assert f"This report is grouped by {period}" in message
    assert message.endswith("export the Sessions over time report again by Day")
    assert wh.query("select count(*) from raw.traffic") == [(0,)]


def test_generic_order_fields_a_minute_apart_take_the_first_lines_value(wh, landing):
    # UCI Online Retail shape: 536365's two lines were stamped 08:26 and 08:27; 536367's lines are two days apart
    path = landing.add("erp_shop", "orders", "2026-11-20", "orders.csv", REAL / "orders_minute_apart.csv")
    summary = run(wh, landing)
    assert (summary.rows_in, summary.rows_loaded, summary.rows_quarantined) == (5, 3, 2)
    assert wh.query("select order_id, created_at, paid_at, line_differences, _row_number from raw.orders "
                    "order by order_id") == [
        ("536365", datetime(2026, 11, 20, 8, 26), datetime(2026, 11, 20, 8, 26), "created_at, paid_at", 2),
        ("536366", datetime(2026, 11, 20, 8, 28), datetime(2026, 11, 20, 8, 28), None, 4),
    ]
    assert wh.query("select order_id, line_number, sku from raw.order_lines order by 1, 2") == [
        ("536365", 1, "85123A"), ("536365", 2, "71053"), ("536366", 1, "22633")]
    assert quarantine(wh, path) == {5: ("duplicate_conflict", "created_at"), 6: ("duplicate_conflict", "created_at")}


def test_inventory_not_stocked_duplicate_skus_and_rows_without_sku_all_load(wh, landing):
    path = landing.add("shop_us", "stock", "2026-11-20", "inventory_export_1.csv",
                       REAL_EXPORTS / "stock_shop" / "stock" / "2026-11-20" / "inventory_export_1.csv")
    summary = run(wh, landing)
    assert (summary.rows_in, summary.rows_loaded, summary.rows_quarantined) == (8, 8, 0)
    assert quarantine(wh, path) == {}
    assert wh.query("select sku, location, on_hand, _row_number from raw.stock order by _row_number") == [
        ("BEANIE-S", "Studio", 9, 2),
        ("BEANIE-S", "Market stall", None, 3),  # not stocked: adds nothing
        ("BEANIE-L", "Studio", 0, 4),
        ("BEANIE-L", "Market stall", None, 5),
        ("BEANIE-XL", "Studio", None, 6),
        ("SCARF", "Studio", 5, 7),  # the same SKU and location twice: both load, the marts add them up
        ("SCARF", "Studio", 2, 8),
        (None, "Studio", 3, 9),  # no SKU: loads, stays out of SKU marts
    ]


def test_a_stock_level_that_is_neither_a_number_nor_not_stocked_is_still_unparseable(wh, landing):
    path = landing.add("erp_shop", "stock", "2026-11-20", "stock.csv",
                       "sku,on_hand\nA,3\nA,4\nB,lots\nC,not stocked\n")
    run(wh, landing)
    assert quarantine(wh, path) == {4: ("unparseable", "on_hand")}
    assert wh.query("select sku, on_hand from raw.stock order by _row_number") == [("A", 3), ("A", 4), ("C", None)]

"""Ingest of real export quirks (sources.md "Real exports"): fixtures in the shape of the real files, expected
rows worked out by hand."""

import gzip
import json
from datetime import datetime

import pytest
from ingest_support import FIXTURES, quarantine, run

from storekpi.quality import export_warnings

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


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gzip"])  # DuckDB's reader, then Arrow's
def test_inventory_with_one_column_per_location_reads_one_row_per_location(wh, landing, compressed):
    # the older export's shape: `…,SKU,HS Code,COO,<location>,<location>`, a location named by a quoted address
    content = (REAL / "inventory_export_by_location.csv").read_bytes()
    path = landing.add("shop_us", "stock", "2026-11-20", "inventory_export_1.csv",
                       gzip.compress(content) if compressed else content)
    summary = run(wh, landing)
    # six rows in: five load (two locations each), KEYRING's 'lots' quarantines its row whole
    assert (summary.rows_in, summary.rows_loaded, summary.rows_quarantined) == (6, 5, 1)
    assert wh.query("select rows_in, rows_loaded, rows_quarantined from audit.files where path = ?",
                    [path]) == [(6, 5, 1)]
    harbour = "12 Harbour Road, Unit 4,"
    assert wh.query("select _row_number, sku, location, on_hand, product_name from raw.stock "
                    "order by _row_number, location") == [
        (2, "WALLET-BRN", harbour, 7, "Leather Wallet"),
        (2, "WALLET-BRN", "Italy Warehouse", None, "Leather Wallet"),  # not stocked: adds nothing
        (3, "WALLET-BLK", harbour, 0, None),  # a later variant row leaves Title empty
        (3, "WALLET-BLK", "Italy Warehouse", 3, None),
        (4, "BELT-TAN", harbour, None, "Leather Belt"),
        (4, "BELT-TAN", "Italy Warehouse", None, "Leather Belt"),
        (5, "BELT-TAN", harbour, 2, "Leather Belt"),  # the same SKU twice: both load, the marts add them up
        (5, "BELT-TAN", "Italy Warehouse", 1, "Leather Belt"),
        (6, None, harbour, 5, "Gift Card"),  # no SKU: loads, stays out of SKU marts
        (6, None, "Italy Warehouse", 0, "Gift Card"),
    ]
    assert quarantine(wh, path) == {7: ("unparseable", harbour)}
    message, raw_values = wh.query("select message, raw_values from quarantine.rows where _source_file = ?",
                                   [path])[0]
    assert message == f"{path} row 7, column {harbour}: cannot parse 'lots' as a stock level"
    assert json.loads(raw_values) == {"SKU": "KEYRING", "Title": "Key Ring", harbour: "lots",
                                      "Italy Warehouse": "4"}  # every location's cell is kept
    # the warning counts the file's row without SKU once, not once per location
    unnamed, checked = export_warnings.rows_without_sku(wh, "b1")
    assert checked == 5 and unnamed[["source_file", "rows_without_sku"]].values.tolist() == [[path, 1]]


def test_inventory_with_a_single_location_column_and_an_empty_cell(wh, landing):
    path = landing.add("shop_us", "stock", "2026-11-20", "inventory.csv",
                       "Handle,Title,Option1 Name,Option1 Value,Option2 Name,Option2 Value,Option3 Name,"
                       "Option3 Value,SKU,HS Code,COO,Mittelhof\n"
                       "mug,Mug,Title,Default Title,,,,,MUG-1,,,12\n"
                       "cap,Cap,Title,Default Title,,,,,CAP-1,,,\n")
    summary = run(wh, landing)
    assert (summary.rows_in, summary.rows_loaded, summary.rows_quarantined) == (2, 1, 1)
    assert wh.query("select sku, location, on_hand from raw.stock") == [("MUG-1", "Mittelhof", 12)]
    assert quarantine(wh, path) == {3: ("missing_required", "Mittelhof")}  # a blank is not 'not stocked'


def test_inventory_with_location_column_is_never_read_as_one_column_per_location(wh, landing):
    # the current layout also has COO; what follows it (Location, Bin name, …) are not locations
    landing.add("shop_us", "stock", "2026-11-20", "inventory_export_1.csv",
                REAL_EXPORTS / "stock_shop" / "stock" / "2026-11-20" / "inventory_export_1.csv")
    run(wh, landing)
    assert wh.query("select distinct location from raw.stock order by 1") == [("Market stall",), ("Studio",)]

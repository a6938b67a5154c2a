"""Generic adapter, and formats sniffed by content: Parquet, xlsx, gzip — whatever the file is called."""

import gzip
import io
from datetime import date, datetime
from decimal import Decimal as D

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
from ingest_support import FIXTURES, hashed, quarantine, run

GENERIC = FIXTURES / "generic"


def test_orders_count_order_level_amounts_once(wh, landing):
    path = landing.add("erp_shop", "orders", "2026-11-20", "orders.csv", GENERIC / "orders.csv")
    run(wh, landing)
    assert wh.query("""select order_id, customer_key, currency, created_at, paid_at, order_discount, shipping,
                       refunded_amount, _row_number from raw.orders order by order_id""") == [
        # repeated on both lines: counted once
        ("A-1", hashed("c-9"), "EUR", datetime(2026, 11, 20, 10), datetime(2026, 11, 20, 10, 5), D("5.00"),
         D("4.90"), D("0.00"), 2),
        # written on the first line only; paid 23:40 UTC = 00:40 next day in Berlin
        ("A-2", None, "EUR", datetime(2026, 11, 20, 23, 30), datetime(2026, 11, 21, 0, 40), D("2.00"), None, None,
         4),
    ]
    assert wh.query("""select order_id, line_number, sku, product_name, quantity, unit_price, list_price
                       from raw.order_lines order by order_id, line_number""") == [
        ("A-1", 1, "SKU-1", "Widget", 2, D("10.00"), D("12.00")),
        ("A-1", 2, "SKU-2", "Gadget", 1, D("20.00"), None),
        ("A-2", 1, "SKU-1", "Widget", 1, D("10.00"), D("12.00")),
        ("A-2", 2, "SKU-3", "Thing", 3, D("1.50"), None),
    ]
    assert quarantine(wh, path) == {
        6: ("duplicate_conflict", "order_discount"),  # A-3 says 5.00 then 6.00
        7: ("duplicate_conflict", "order_discount"),
        8: ("missing_required", "quantity"),
    }


def test_parquet_named_csv_is_read_as_parquet(wh, landing):
    buffer = io.BytesIO()
    pq.write_table(pa.table({"date": [date(2026, 11, 19), date(2026, 11, 20)], "visitors": [100, 120],
                             "sessions": [150, 170], "pageviews": [None, 400]}), buffer)
    landing.add("erp_shop", "traffic", "2026-11-20", "traffic.csv", buffer.getvalue())
    run(wh, landing)
    assert wh.query("select date, visitors, sessions, pageviews, _row_number from raw.traffic order by 1") == [
        (date(2026, 11, 19), 100, 150, None, 2),  # Parquet rows are numbered as if exported with a header line
        (date(2026, 11, 20), 120, 170, 400, 3),
    ]
    assert wh.query("select format from audit.files") == [("parquet",)]


def test_parquet_timestamps_with_zone(wh, landing):
    paid = pa.array([datetime(2026, 11, 20, 23, 30)], pa.timestamp("us", "UTC"))
    buffer = io.BytesIO()
    pq.write_table(pa.table({
        "order_id": ["P-1"], "customer_id": [None], "created_at": paid, "paid_at": paid,
        "cancelled_at": pa.array([None], pa.timestamp("us", "UTC")), "currency": ["EUR"], "sku": ["SKU-1"],
        "product_name": ["Widget"], "quantity": [1], "unit_price": pa.array([D("9.99")], pa.decimal128(10, 2)),
        "order_discount": [0.0], "shipping": [0.0], "refunded_amount": [0.0]}), buffer)
    landing.add("erp_shop", "orders", "2026-11-20", "orders.parquet", buffer.getvalue())
    run(wh, landing)
    assert wh.query("select order_id, paid_at from raw.orders") == [("P-1", datetime(2026, 11, 21, 0, 30))]
    assert wh.query("select unit_price from raw.order_lines") == [(D("9.99"),)]


def test_xlsx_with_title_row_and_blank_row(wh, landing):
    book = openpyxl.Workbook()
    sheet = book.active
    for row in (["Stock report 2026-11-20"], ["sku", "on_hand", "product_name"], ["SKU-1", 7, "Widget"],
                ["SKU-2", -1, "Gadget"], [], ["SKU-3", 2.5, "Thing"]):
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    path = landing.add("erp_shop", "stock", "2026-11-20", "stock.dat", buffer.getvalue())
    run(wh, landing)
    assert wh.query("select sku, on_hand, product_name, _row_number from raw.stock order by sku") == [
        ("SKU-1", 7, "Widget", 3),  # worksheet row numbers
        ("SKU-2", -1, "Gadget", 4),  # oversold stock is a stock level, not a bad row
    ]
    assert quarantine(wh, path) == {6: ("non_integer_quantity", "on_hand")}
    assert wh.query("select format, rows_in, rows_loaded, rows_quarantined from audit.files") == [("xlsx", 3, 2, 1)]


def test_gzipped_tsv_reviews(wh, landing):
    text = "review_id\treviewed_at\trating\tsku\torder_id\tbody\nR-1\t2026-11-20 08:00\t5\tSKU-1\tA-1\tGreat\n"
    landing.add("erp_shop", "reviews", "2026-11-20", "reviews.txt", gzip.compress(text.encode()))
    run(wh, landing)
    assert wh.query("select review_id, reviewed_at, rating, product, order_id from raw.reviews") == [
        ("R-1", datetime(2026, 11, 20, 8, 0), 5, "SKU-1", "A-1")]
    assert wh.query("select format from audit.files") == [("tsv.gz",)]


def test_products(wh, landing):
    path = landing.add("erp_shop", "products", "2026-11-20", "products.csv", GENERIC / "products.csv")
    run(wh, landing)
    assert wh.query("select valid_from, sku, product_name, list_price, cost, launched_on from raw.products "
                    "order by sku") == [
        (date(2026, 11, 20), "SKU-1", "Widget", D("12.00"), D("4.00"), date(2026, 1, 15)),
        (date(2026, 11, 20), "SKU-2", "Gadget", D("1020.00"), None, None),
    ]
    assert quarantine(wh, path) == {4: ("missing_required", "sku")}


def test_products_lead_time_days(wh, landing):
    path = landing.add("erp_shop", "products", "2026-11-20", "products_lead.csv",
                       "sku,product_name,list_price,cost,lead_time_days\n"
                       "SKU-1,Widget,12.00,4.00,14\nSKU-2,Gadget,20.00,,\nSKU-3,Gizmo,5.00,1.00,two weeks\n")
    run(wh, landing)
    assert wh.query("select sku, cost, lead_time_days from raw.products order by sku") == [
        ("SKU-1", D("4.00"), 14), ("SKU-2", None, None)]
    assert quarantine(wh, path) == {4: ("unparseable", "lead_time_days")}

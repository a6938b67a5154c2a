"""Shopify adapter: hand-written exports in, canonical rows (worked out by hand) out."""

from datetime import date, datetime
from decimal import Decimal as D

from ingest_support import FIXTURES, hashed, quarantine, run

SHOP = FIXTURES / "shopify"
ORDERS = "shop_us/orders/2026-11-20/orders_export_1.csv"


def test_orders_first_row_fields_timezones_and_quarantine(wh, landing):
    landing.add("shop_us", "orders", "2026-11-20", "orders_export_1.csv", SHOP / "orders_export_1.csv")
    summary = run(wh, landing)
    assert (summary.rows_in, summary.rows_loaded, summary.rows_quarantined) == (12, 4, 8)

    orders = wh.query("""select order_id, customer_key, currency, status, created_at, paid_at, subtotal,
                         order_discount, shipping, taxes, total, refunded_amount, _row_number, _export_date
                         from raw.orders order by order_id""")
    assert orders == [
        # +0800 offsets converted to the store's zone (America/Los_Angeles, UTC-8 in November)
        ("#1001", hashed("alice@example.com"), "USD", "paid", datetime(2026, 11, 19, 21, 59),
         datetime(2026, 11, 19, 22, 3, 11), D("40.00"), D("0.00"), D("5.00"), D("3.20"), D("48.20"), D("0.00"),
         2, date(2026, 11, 20)),
        ("#1002", None, "USD", "pending", datetime(2026, 11, 20, 9, 0), None, D("20.00"), D("0.00"), D("0.00"),
         D("0.00"), D("20.00"), D("0.00"), 4, date(2026, 11, 20)),
        # e-mail trimmed and lower-cased before hashing; "$1,234.50" read as an amount
        ("#1008", hashed("grace@example.com"), "USD", "paid", datetime(2026, 11, 20, 11, 59),
         datetime(2026, 11, 20, 12, 0), D("1234.50"), D("100.00"), D("0.00"), D("0.00"), D("1234.50"), D("0.00"),
         11, date(2026, 11, 20)),
    ]
    lines = wh.query("""select order_id, line_number, sku, product_name, quantity, unit_price, compare_at_price,
                        _row_number from raw.order_lines order by order_id, line_number""")
    assert lines == [
        ("#1001", 1, "MUG-BLU", "Mug, blue", 2, D("15.00"), D("18.00"), 2),
        ("#1001", 2, "TEE-1", "Tee", 1, D("10.00"), None, 3),
        ("#1002", 1, "TEE-1", "Tee", 1, D("20.00"), None, 4),
        ("#1008", 1, "GIFT-1", "Gift card\nwith a note", 1, D("1334.50"), None, 11),  # spans lines 11-12
    ]
    assert quarantine(wh, ORDERS) == {
        5: ("currency_mismatch", "Currency"),
        6: ("unparseable", "Total"),
        7: ("incomplete_order", None),  # second line of #1004, whose first row is bad
        8: ("negative_quantity", "Lineitem quantity"),
        9: ("non_integer_quantity", "Lineitem quantity"),
        10: ("future_date", "Paid at"),
        13: ("unparseable", "Lineitem price"),  # the physical line, after a value spanning two lines
        14: ("unparseable", "Paid at"),  # Shopify's "Invalid date"
    }
    messages = dict(wh.query("select _row_number, message from quarantine.rows"))
    assert messages[6] == f"{ORDERS} row 6, column Total: cannot parse '12x.5' as an amount"
    assert messages[5] == f"{ORDERS} row 5, column Currency: currency 'CAD' differs from the store currency USD"
    assert messages[7] == f"{ORDERS} row 7: order #1004 is incomplete: {ORDERS} row 6 was quarantined (unparseable)"
    assert messages[14].startswith(f"{ORDERS} row 14, column Paid at: cannot parse 'Invalid date'")


def test_quarantine_raw_values_hold_no_personal_columns(wh, landing):
    landing.add("shop_us", "orders", "2026-11-20", "orders_export_1.csv", SHOP / "orders_export_1.csv")
    run(wh, landing)
    raw_values = wh.query("select raw_values from quarantine.rows where _row_number = 6")[0][0]
    assert '"Total":"12x.5"' in raw_values and '"Name":"#1004"' in raw_values
    for personal in ("carol", "Carol King", "Email", "Billing"):
        assert personal not in raw_values


def test_traffic_with_bom_and_thousands_separators(wh, landing):
    path = landing.add("shop_us", "traffic", "2026-11-20", "sessions.csv", SHOP / "sessions_over_time.csv")
    run(wh, landing)
    assert wh.query("select date, visitors, sessions, _row_number from raw.traffic order by date") == [
        (date(2026, 11, 18), 980, 1204, 2),
        (date(2026, 11, 19), 10001, 12345, 3),
    ]
    assert quarantine(wh, path) == {4: ("unparseable", "Sessions")}
    assert wh.query("select encoding from audit.files") == [("utf-8-sig",)]


def test_reviews_both_layouts_hash_the_identity(wh, landing):
    judge = landing.add("shop_us", "reviews", "2026-11-20", "judgeme.csv", SHOP / "judgeme_reviews.csv")
    landing.add("shop_us", "reviews", "2026-11-20", "product_reviews.csv", SHOP / "product_reviews.csv")
    run(wh, landing)
    got = wh.query("""select review_id, reviewed_at, rating, product, _source_file, _row_number
                      from raw.reviews order by _source_file, _row_number""")
    # identity = product_handle + reviewer e-mail (as its customer key) + review time + body, salted and hashed
    first = hashed("\x1f".join(["mug-blue", hashed("alice@example.com"), "2026-11-20 02:00:00",
                                "Great mug,\nkeeps coffee hot"]))
    second = hashed("\x1f".join(["mug-blue", hashed("bob@example.org"), "2026-11-20 03:00:00", "Too small"]))
    dan = hashed("\x1f".join(["tee", hashed("dan@example.com"), "2026-11-19 08:00:00", "Fits well"]))
    assert got == [
        (first, datetime(2026, 11, 20, 2, 0), 5, "mug-blue", judge, 2),  # 10:00 UTC = 02:00 in Los Angeles
        (second, datetime(2026, 11, 20, 3, 0), 2, "mug-blue", judge, 4),
        (dan, datetime(2026, 11, 19, 8, 0), 4, "tee", "shop_us/reviews/2026-11-20/product_reviews.csv", 2),
    ]
    assert quarantine(wh, judge) == {5: ("rating_out_of_range", "rating")}


def test_stock_prefers_on_hand_over_available(wh, landing):
    path = landing.add("shop_us", "stock", "2026-11-20", "inventory.csv", SHOP / "inventory_export.csv")
    run(wh, landing)
    assert wh.query("""select snapshot_date, sku, location, product_name, on_hand, _row_number
                       from raw.stock order by _row_number""") == [
        (date(2026, 11, 20), "MUG-BLU", "Main Warehouse", "Mug, blue", 12, 2),  # On hand 12, not Available 11
        (date(2026, 11, 20), "MUG-BLU", "Shop Floor", "Mug, blue", 3, 3),
        (date(2026, 11, 20), "TEE-1", "Main Warehouse", "Tee", 0, 4),  # On hand empty: Available
        (date(2026, 11, 20), None, "Main Warehouse", "Tee", 5, 5),  # no SKU: loaded, kept out of SKU marts
        (date(2026, 11, 20), "CAP-1", "Main Warehouse", "Cap", -2, 6),  # oversold: loaded, a stockout in the marts
    ]
    assert quarantine(wh, path) == {}


def test_products_export_image_rows_load_and_describe_no_product(wh, landing):
    """The admin "Export products" layout (header of a real export): variants become products, image rows
    count as loaded rows without a product, list price is the compare-at price when set."""
    path = landing.add("shop_us", "products", "2026-11-20", "products_export_1.csv", SHOP / "products_export_1.csv")
    summary = run(wh, landing)
    assert (summary.rows_in, summary.rows_loaded, summary.rows_quarantined) == (7, 5, 2)
    assert wh.query("""select sku, product_name, list_price, cost, valid_from, _row_number
                       from raw.products order by _row_number""") == [
        ("MUG-BLU", "Ceramic Mug", D("18.00"), D("6.20"), date(2026, 11, 20), 2),
        ("MUG-RED", "ceramic-mug", D("15.00"), None, date(2026, 11, 20), 3),  # second variant: no Title
        ("TBL-OAK", "Oak Table", D("1499.00"), D("1020.50"), date(2026, 11, 20), 5),
    ]
    assert quarantine(wh, path) == {
        6: ("missing_required", "Variant SKU"),  # a variant with a price but no SKU
        7: ("unparseable", "Cost per item"),
    }
    assert wh.query("select rows_in, rows_loaded, rows_quarantined from audit.files") == [(7, 5, 2)]

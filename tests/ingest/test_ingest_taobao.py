"""Taobao/Tmall adapter: real GB18030-encoded exports (see fixtures/ingest/taobao/build_fixtures.py)."""

from datetime import date, datetime
from decimal import Decimal as D

import pytest
from ingest_support import FIXTURES, hashed, quarantine, run

TAOBAO = FIXTURES / "taobao"
ORDER_REPORT = "ExportOrderList202611201200.csv"
LINE_REPORT = "ExportOrderDetailList202611201200.csv"
FOLDER = "tmall_flagship/orders/2026-11-20/"


def test_fixtures_are_really_gb18030():
    raw = (TAOBAO / ORDER_REPORT).read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert "订单编号" in raw.decode("gb18030")


def test_order_pair(wh, landing):
    landing.add("tmall_flagship", "orders", "2026-11-20", ORDER_REPORT, TAOBAO / ORDER_REPORT)
    landing.add("tmall_flagship", "orders", "2026-11-20", LINE_REPORT, TAOBAO / LINE_REPORT)
    summary = run(wh, landing)
    assert (summary.files_loaded, summary.rows_in, summary.rows_loaded, summary.rows_quarantined) == (2, 9, 5, 4)

    assert wh.query("""select order_id, customer_key, currency, status, created_at, paid_at, goods_amount, shipping,
                       total, refunded_amount, item_count, _row_number from raw.orders order by order_id""") == [
        # ="…" unwrapped; ￥ and thousands separators read; no offset: already Asia/Shanghai wall-clock time
        ("4123456789012345678", hashed("小明2026"), "CNY", "交易成功", datetime(2026, 11, 20, 9, 15),
         datetime(2026, 11, 20, 9, 16, 2), D("198.00"), D("10.00"), D("208.00"), D("0.00"), 3, 2),
        # trailing tab stripped; unpaid (订单付款时间 empty)
        ("4123456789012345679", hashed("tb_buyer_b"), "CNY", "等待买家付款", datetime(2026, 11, 20, 23, 50), None,
         D("1299.00"), D("0.00"), D("1299.00"), D("0.00"), 1, 3),
    ]
    assert wh.query("""select order_id, line_number, sku, product_name, quantity, unit_price, list_price,
                       _source_file, _row_number from raw.order_lines order by order_id, line_number""") == [
        ("4123456789012345678", 1, "CUP-01", "保温杯 500ml", 1, D("99.00"), D("99.00"), FOLDER + LINE_REPORT, 2),
        ("4123456789012345678", 2, "TEE-02", "纯棉T恤", 2, D("49.50"), D("49.50"), FOLDER + LINE_REPORT, 3),
        ("4123456789012345679", 1, "DOWN-01", "羽绒服,加厚", 1, D("1299.00"), D("1299.00"), FOLDER + LINE_REPORT, 4),
    ]
    assert quarantine(wh, FOLDER + ORDER_REPORT) == {
        4: ("order_without_lines", "订单编号"),
        5: ("unparseable", "买家实际支付金额"),
    }
    assert quarantine(wh, FOLDER + LINE_REPORT) == {
        5: ("incomplete_order", None),  # its order's row in the order report is bad
        6: ("orphan_line", "订单编号"),
    }
    message = wh.query("select message from quarantine.rows where reason = 'unparseable'")[0][0]
    assert message == (f"{FOLDER}{ORDER_REPORT} row 5, column 买家实际支付金额: cannot parse '12x.5' as an amount")
    assert wh.query("select distinct encoding from audit.files") == [("gb18030",)]


def test_traffic_with_title_lines(wh, landing):
    landing.add("tmall_flagship", "traffic", "2026-11-20", "overview.csv", TAOBAO / "shop_overview_20261120.csv")
    run(wh, landing)
    assert wh.query("""select date, visitors, pageviews, paying_buyers, _row_number from raw.traffic
                       order by date""") == [
        (date(2026, 11, 19), 12345, 45678, 321, 5),  # 20261119, after three title lines and the header
        (date(2026, 11, 20), 10001, 40000, 300, 6),
    ]


def test_reviews(wh, landing):
    path = landing.add("tmall_flagship", "reviews", "2026-11-20", "reviews.csv", TAOBAO / "reviews_20261120.csv")
    run(wh, landing)
    assert wh.query("select review_id, reviewed_at, rating, product, order_id from raw.reviews order by 2") == [
        ("4123456789012345678|保温杯 500ml|2026-11-20 10:00:00", datetime(2026, 11, 20, 10), 5, "保温杯 500ml",
         "4123456789012345678"),
        ("4123456789012345690|保温杯 500ml|2026-11-20 11:30:00", datetime(2026, 11, 20, 11, 30), 1, "保温杯 500ml",
         "4123456789012345690"),
    ]
    assert quarantine(wh, path) == {4: ("unparseable", "评价结果")}


def test_stock(wh, landing):
    landing.add("tmall_flagship", "stock", "2026-11-20", "stock.csv", TAOBAO / "stock_20261120.csv")
    run(wh, landing)
    assert wh.query("select snapshot_date, sku, product_name, on_hand from raw.stock order by sku") == [
        (date(2026, 11, 20), "CUP-01", "保温杯 500ml", 1200),
        (date(2026, 11, 20), "TEE-02", "纯棉T恤", 0),
    ]

"""Every messy case of sources.md is present in the generated files themselves (read back with csv, gzip,
openpyxl and pyarrow, not through the generator), and bad rows stay far below the 5 % quarantine share."""

from __future__ import annotations

import gzip
import re
from collections import defaultdict

import pyarrow.parquet as pq
from gen_helpers import LAST_DAY, files, folder_date, rows
from openpyxl import load_workbook

SHOPIFY, TMALL, ERP = "us_shopify", "tmall_flagship", "eu_erp"
ORDER_FIELDS = ("Financial Status", "Paid at", "Currency", "Subtotal", "Total", "Refunded Amount", "Id")


def _shopify_orders(landing, pattern="orders_export_1.csv*"):
    return {path: rows(path) for path in files(landing, SHOPIFY, "orders", pattern)}


def test_shopify_multi_line_orders_leave_order_fields_blank_after_the_first_row(landing):
    nightly = rows(files(landing, SHOPIFY, "orders", "orders_export_1.csv")[-1])
    by_order = defaultdict(list)
    for row in nightly:
        by_order[row["Name"]].append(row)
    multi = [lines for lines in by_order.values() if len(lines) > 1]
    assert multi
    for lines in multi:
        assert all(lines[0][f] for f in ("Financial Status", "Currency", "Total", "Id"))
        for later in lines[1:]:
            assert all(later[f] == "" for f in ORDER_FIELDS), later["Name"]
            assert later["Lineitem sku"] and later["Lineitem quantity"]
            assert later["Email"] == lines[0]["Email"] and later["Created at"] == lines[0]["Created at"]


def test_order_states_guests_and_timestamps(landing):
    statuses, guests, emails_by_month = set(), 0, defaultdict(set)
    before_midnight = after_midnight = 0
    for path, data in _shopify_orders(landing, "orders_export_1.csv").items():
        for row in data:
            if not row["Financial Status"]:
                continue
            statuses.add(row["Financial Status"])
            assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}", row["Created at"])
            guests += row["Email"] == ""
            if row["Email"]:
                emails_by_month[row["Email"]].add(row["Created at"][:7])
            paid = row["Paid at"]
            if paid and paid[11:16] == "23:59":
                before_midnight += 1
            if paid and paid[11:16] == "00:00" and paid[:10] != row["Created at"][:10]:
                after_midnight += 1
    assert {"pending", "voided", "paid"} <= statuses
    assert guests > 0
    assert any(len(months) > 1 for months in emails_by_month.values())  # the same customer in two months
    assert before_midnight and after_midnight
    taobao_states = {r["订单状态"] for p in files(landing, TMALL, "orders", "ExportOrderList*")
                     for r in rows(p, "gb18030")}
    assert {"等待买家付款", "交易关闭", "交易成功", "买家已付款，等待卖家发货"} <= taobao_states


def _by_order(data):
    out = defaultdict(list)
    for row in data:
        out[row["Name"]].append(row)
    return out


def test_weekly_reexports_change_status_and_repeat_unchanged_rows(landing):
    orders = _shopify_orders(landing)
    nightly = {}
    for path, data in orders.items():
        if not path.name.endswith(".gz"):
            nightly.update(_by_order(data))
    weeklies = [_by_order(data) for path, data in orders.items() if path.name.endswith(".gz")]
    latest = weeklies[-1]
    changed = [n for n in latest if latest[n][0]["Financial Status"] != nightly[n][0]["Financial Status"]]
    assert {latest[n][0]["Financial Status"] for n in changed} & {"refunded", "partially_refunded"}
    assert any(latest[n][0]["Financial Status"] == "refunded"
               and latest[n][0]["Refunded Amount"] == latest[n][0]["Total"] for n in changed)  # fully refunded
    assert any(latest[n][0]["Paid at"] and not nightly[n][0]["Paid at"] for n in latest)  # paid after its nightly
    # consecutive 14-day re-exports overlap by a week: settled orders appear twice, row for row identical
    previous = weeklies[-2]
    overlap = set(previous) & set(latest)
    identical = [n for n in overlap if previous[n] == latest[n]]
    assert overlap and len(identical) > len(overlap) / 2


def test_taobao_files_are_gb18030_with_excel_safe_numbers_and_yuan_signs(landing):
    order_list = files(landing, TMALL, "orders", "ExportOrderList*.csv")
    raw = order_list[-1].read_bytes()
    try:
        raw.decode("utf-8")
        raise AssertionError("a Taobao order report should not be valid UTF-8")
    except UnicodeDecodeError:
        pass
    text = raw.decode("gb18030")
    assert text.splitlines()[1].startswith('="') and "\r\n" in text
    assert re.search(r"￥\d{1,3},\d{3}\.\d\d", text)  # weekly report: yuan sign and thousands separator
    details = [rows(p, "gb18030") for p in files(landing, TMALL, "orders", "ExportOrderDetailList*.csv")]
    numbers = [r["订单编号"] for data in details for r in data]
    assert any(n.startswith('="') and n.endswith('"') for n in numbers)
    assert any(n.endswith("\t") for n in numbers)


def test_traffic_title_lines_and_thousands_separators(landing):
    taobao = files(landing, TMALL, "traffic")[-1].read_bytes().decode("gb18030").splitlines()
    assert "统计日期" not in taobao[0] and taobao[2].startswith("统计日期,访客数")
    data = rows(files(landing, TMALL, "traffic")[-1], "gb18030", skip=2)
    assert data[-1]["统计日期"] == "20261120" and re.fullmatch(r"\d{1,3}(,\d{3})+", data[0]["访客数"])
    shopify = rows(files(landing, SHOPIFY, "traffic")[-1])
    assert list(shopify[0]) == ["Day", "Sessions", "Online store visitors"]
    assert any("," in r["Sessions"] for r in shopify)


def test_containers_gz_xlsx_parquet_bom_and_empty_file(landing):
    gz = files(landing, SHOPIFY, "orders", "*.csv.gz")
    assert gz and gzip.decompress(gz[-1].read_bytes()).startswith(b"Name,Email,")
    xlsx = files(landing, TMALL, "stock", "*.xlsx")
    header = next(load_workbook(xlsx[-1], read_only=True).active.iter_rows(values_only=True))
    assert "商家编码" in header and ("库存" in header or "可售库存" in header)
    parquet = files(landing, ERP, "orders", "*.parquet")
    assert parquet and {"order_id", "quantity", "paid_at"} <= set(pq.read_schema(parquet[-1]).names)
    assert files(landing, ERP, "products", "*.parquet")
    assert files(landing, SHOPIFY, "stock")[-1].read_bytes().startswith(b"\xef\xbb\xbfHandle,")
    assert any(p.stat().st_size == 0 for p in files(landing, ERP, "reviews"))


def test_bad_cells_and_foreign_currency_for_every_platform(landing):
    shopify = [r for data in _shopify_orders(landing).values() for r in data]
    assert {"-1", "1.5"} <= {r["Lineitem quantity"] for r in shopify}
    assert "Invalid date" in {r["Paid at"] for r in shopify} and "#VALUE!" in {r["Lineitem price"] for r in shopify}
    assert "CAD" in {r["Currency"] for r in shopify}
    detail = [r for p in files(landing, TMALL, "orders", "ExportOrderDetailList*") for r in rows(p, "gb18030")]
    report = [r for p in files(landing, TMALL, "orders", "ExportOrderList*") for r in rows(p, "gb18030")]
    assert {"-1", "1.5"} <= {r["购买数量"] for r in detail}
    assert "0000-00-00 00:00:00" in {r["订单付款时间"] for r in report}
    assert "#VALUE!" in {r["买家实际支付金额"] for r in report}
    erp = [r for p in files(landing, ERP, "orders", "*.csv") for r in rows(p)]
    assert {"-1", "1.5"} <= {r["quantity"] for r in erp}
    assert "0000-00-00 00:00:00" in {r["paid_at"] for r in erp} and "#VALUE!" in {r["unit_price"] for r in erp}
    assert "USD" in {r["currency"] for r in erp}


def test_bad_rows_stay_far_below_the_quarantine_share(landing):
    """Worst case per file: every row with a bad cell or a foreign currency is quarantined."""
    checks = [(files(landing, SHOPIFY, "orders"), "utf-8", lambda r: r["Lineitem quantity"] in ("-1", "1.5")
               or r["Paid at"] == "Invalid date" or r["Lineitem price"] == "#VALUE!" or r["Currency"] == "CAD"),
              (files(landing, TMALL, "orders"), "gb18030", lambda r: r.get("购买数量") in ("-1", "1.5")
               or r.get("订单付款时间", "").startswith("0000") or r.get("买家实际支付金额") == "#VALUE!"),
              (files(landing, ERP, "orders", "*.csv"), "utf-8", lambda r: r["quantity"] in ("-1", "1.5")
               or r["paid_at"].startswith("0000") or r["unit_price"] == "#VALUE!" or r["currency"] == "USD")]
    for paths, encoding, bad in checks:
        for path in paths:
            data = rows(path, encoding)
            assert data, path
            assert sum(map(bad, data)) / len(data) < 0.025, path


def test_stock_and_sales_do_not_cover_the_same_skus(landing):
    stocked = {r["SKU"] for p in files(landing, SHOPIFY, "stock") for r in rows(p)}
    sold = {r["Lineitem sku"] for data in _shopify_orders(landing).values() for r in data}
    assert stocked - sold  # stock but no sales
    assert sold - stocked  # sales but no stock row
    erp_stocked = {r["sku"] for p in files(landing, ERP, "stock") for r in rows(p)}
    erp_sold = {r["sku"] for p in files(landing, ERP, "orders", "*.csv") for r in rows(p)}
    assert erp_stocked - erp_sold and erp_sold - erp_stocked


def test_personal_data_present_and_on_reserved_domains_only(landing):
    addresses = set()
    for path in [*landing.rglob("*.csv"), *landing.rglob("*.gz")]:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        try:
            text = raw.decode("utf-16") if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("gb18030")
        addresses |= set(re.findall(r"[\w.+-]+@[\w.-]+", text))
    assert len(addresses) > 100
    assert all(a.endswith("@example.com") for a in addresses)
    report = rows(files(landing, TMALL, "orders", "ExportOrderList*")[-1], "gb18030")
    assert all(r["买家会员名"] and r["收货人姓名"] for r in report)
    judgeme = rows(files(landing, SHOPIFY, "reviews", "judgeme*")[-1])
    assert judgeme and all(r["reviewer_name"] and r["reviewer_email"] for r in judgeme)


def test_exports_never_run_ahead_of_their_folder(landing):
    """future_date: nothing more than one day after the folder's date (nightly exports run the next morning)."""
    for path in files(landing, SHOPIFY, "orders"):
        limit = folder_date(path).toordinal() + 1
        for r in rows(path):
            for column in ("Created at", "Paid at", "Cancelled at", "Fulfilled at"):
                value = r[column]
                if value and value[0].isdigit():
                    assert _ordinal(value) <= limit, (path, column, value)
    assert folder_date(files(landing, SHOPIFY, "orders")[-1]) == LAST_DAY


def _ordinal(stamp: str) -> int:
    from datetime import date

    return date.fromisoformat(stamp[:10]).toordinal()

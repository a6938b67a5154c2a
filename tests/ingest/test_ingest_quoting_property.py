"""Property (issue 20): random orders in every platform's orders layout, written with random quoting and line
endings, with delimiters, quotes and newlines inside text cells, and now and then a broken quantity. Every order is
either loaded whole with exactly its values or quarantined whole; rows_in = loaded + quarantined = rows written."""

from __future__ import annotations

import csv
import io
import tempfile
from decimal import Decimal
from pathlib import Path

from hostile_support import GENERIC_COLUMNS, SHOPIFY_COLUMNS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ingest_support import SALT, Landing

from storekpi.ingest import ingest
from storekpi.warehouse import Target, Warehouse

TRIM = " \t\r\n"
# Text cells: delimiters, quotes, newlines (LF and CRLF), CJK, formula starts; short, as product names are.
text = st.lists(st.sampled_from(["a", "B", " ", ",", '"', "\n", "\r\n", ";", "中", "=", "'", "#"]),
               min_size=1, max_size=4).map("".join)
line = st.tuples(text, st.integers(1, 5), st.sampled_from(["0.99", "12.00", "1,299.50"]), st.booleans())
order = st.lists(line, min_size=1, max_size=3)
spec = st.tuples(st.sampled_from(["shopify", "generic", "taobao"]), st.lists(order, min_size=1, max_size=5),
                 st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC]),
                 st.sampled_from(["\n", "\r\n"]))


def write(columns: list[str], rows: list[dict], quoting: int, ending: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out, quoting=quoting, lineterminator=ending)
    writer.writerow(columns)
    writer.writerows([[row.get(c, "") for c in columns] for row in rows])
    return out.getvalue()


def files(platform: str, orders: list, quoting: int, ending: str) -> dict[str, str]:
    """File name -> text; a line's `broken` flag writes its quantity as 'x'."""
    lines, heads = [], []
    for n, order_lines in enumerate(orders, start=1):
        total = sum(q * Decimal(p.replace(",", "")) for _, q, p, _ in order_lines)
        oid = {"shopify": f"#{1000 + n}", "generic": f"G-{n}", "taobao": f"41234567890{n:04d}"}[platform]
        heads.append({"id": oid, "total": f"{total:.2f}"})
        for position, (name, quantity, price, broken) in enumerate(order_lines):
            lines.append({"id": oid, "first": position == 0, "name": name, "sku": f"S{position}",
                          "quantity": "x" if broken else str(quantity), "price": price, "total": f"{total:.2f}"})
    if platform == "shopify":
        rows = [{"Name": r["id"], "Email": "a@example.com", "Created at": "2026-11-20 10:00:00 -0800",
                 "Lineitem quantity": r["quantity"], "Lineitem name": r["name"], "Lineitem price": r["price"],
                 "Lineitem sku": r["sku"],
                 **({"Financial Status": "paid", "Paid at": "2026-11-20 10:01:00 -0800", "Currency": "USD",
                     "Subtotal": r["total"], "Shipping": "0", "Taxes": "0", "Total": r["total"],
                     "Discount Amount": "0"} if r["first"] else {})} for r in lines]
        return {"orders_export_1.csv": write(SHOPIFY_COLUMNS, rows, quoting, ending)}
    if platform == "generic":
        rows = [{"order_id": r["id"], "customer_id": "C", "created_at": "2026-11-20 10:00:00",
                 "paid_at": "2026-11-20 10:01:00", "currency": "EUR", "sku": r["sku"], "product_name": r["name"],
                 "quantity": r["quantity"], "unit_price": r["price"], "order_discount": "0", "shipping": "0",
                 "refunded_amount": "0"} for r in lines]
        return {"orders.csv": write(GENERIC_COLUMNS, rows, quoting, ending)}
    report = ["订单编号", "买家会员名", "买家应付货款", "买家应付邮费", "买家实际支付金额", "订单状态", "订单创建时间",
              "订单付款时间", "宝贝总数量", "退款金额"]
    detail = ["订单编号", "标题", "价格", "购买数量", "外部系统编号", "商品属性", "套餐信息", "备注", "订单状态", "商家编码"]
    orders_ = [{"订单编号": h["id"], "买家会员名": "tb", "买家应付货款": h["total"], "买家应付邮费": "0",
                "买家实际支付金额": h["total"], "订单状态": "交易成功", "订单创建时间": "2026-11-20 10:00:00",
                "订单付款时间": "2026-11-20 10:01:00", "退款金额": "0"} for h in heads]
    details = [{"订单编号": r["id"], "标题": r["name"], "价格": r["price"], "购买数量": r["quantity"],
                "订单状态": "交易成功", "商家编码": r["sku"]} for r in lines]
    return {"ExportOrderList202611201200.csv": write(report, orders_, quoting, ending),
            "ExportOrderDetailList202611201200.csv": write(detail, details, quoting, ending)}


STORE = {"shopify": "shop_us", "generic": "erp_shop", "taobao": "tmall_flagship"}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec)
def test_every_order_is_loaded_exactly_or_quarantined_whole(case):
    platform, orders, quoting, ending = case
    with tempfile.TemporaryDirectory() as tmp:
        landing = Landing(Path(tmp) / "landing")
        for name, content in files(platform, orders, quoting, ending).items():
            encoding = "gb18030" if platform == "taobao" else "utf-8"
            landing.add(STORE[platform], "orders", "2026-11-20", name, content.encode(encoding))
        with Warehouse(Target(":memory:"), path=Path(":memory:")) as wh:
            wh.ensure_schema()
            summary = ingest(wh, landing.config, landing.files(), batch_id="b", salt=SALT)
            assert summary.files_rejected == 0
            lines = sum(len(o) for o in orders)
            written = lines + (len(orders) if platform == "taobao" else 0)  # Taobao: one report row per order
            assert summary.rows_in == written == summary.rows_loaded + summary.rows_quarantined
            loaded = {}
            for oid, name, quantity, price in wh.query(
                    "select order_id, product_name, quantity, unit_price from raw.order_lines "
                    "order by order_id, line_number"):
                loaded.setdefault(oid, []).append((name, quantity, price))
            for n, order_lines in enumerate(orders, start=1):
                oid = {"shopify": f"#{1000 + n}", "generic": f"G-{n}", "taobao": f"41234567890{n:04d}"}[platform]
                if any(broken for *_, broken in order_lines):
                    assert oid not in loaded  # quarantined whole
                    continue
                want = [(name.strip(TRIM) or None, q, Decimal(p.replace(",", ""))) for name, q, p, _ in order_lines]
                assert loaded.get(oid) == want, (oid, loaded.get(oid), want)
            bad = sum(len(o) + (platform == "taobao") for o in orders if any(b for *_, b in o))
            assert summary.rows_quarantined == bad

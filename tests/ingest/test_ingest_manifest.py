"""Incremental ingest: the manifest (audit.files), corrections, re-exports and `forget`."""

from datetime import date
from decimal import Decimal as D

from ingest_support import FIXTURES, run

from storekpi.ingest import forget

HEADER = ("Name,Email,Financial Status,Paid at,Currency,Subtotal,Shipping,Taxes,Total,Discount Amount,"
          "Refunded Amount,Created at,Lineitem quantity,Lineitem name,Lineitem price,Lineitem sku\n")


def shopify_orders(*lines: str) -> str:
    return HEADER + "".join(line + "\n" for line in lines)


ORDER_1001 = ("#1001,a@example.com,paid,2026-11-20 10:00:00 -0800,USD,30.00,0,0,30.00,0,{refund},"
              "2026-11-20 09:00:00 -0800,1,Tee,30.00,TEE-1")
ORDER_1002 = ("#1002,b@example.com,paid,2026-11-20 11:00:00 -0800,USD,10.00,0,0,{total},0,0,"
              "2026-11-20 10:00:00 -0800,1,Cap,10.00,CAP-1")


def counts(wh) -> tuple[int, int, int]:
    return tuple(wh.query(f"select count(*) from {t}")[0][0]
                 for t in ("raw.orders", "raw.order_lines", "quarantine.rows"))


def test_rerun_of_the_same_files_adds_nothing(wh, landing):
    landing.add("shop_us", "orders", "2026-11-20", "o.csv", FIXTURES / "shopify" / "orders_export_1.csv")
    landing.add("tmall_flagship", "stock", "2026-11-20", "s.csv", FIXTURES / "taobao" / "stock_20261120.csv")
    run(wh, landing, "b1")
    before = counts(wh)
    summary = run(wh, landing, "b2")
    assert (summary.files_seen, summary.files_loaded, summary.files_unchanged, summary.rows_in) == (2, 0, 2, 0)
    assert counts(wh) == before == (3, 4, 8)
    assert wh.query("select distinct _batch_id from raw.orders") == [("b1",)]


def test_reexport_with_a_new_refund_keeps_both_versions(wh, landing):
    first = landing.add("shop_us", "orders", "2026-11-20", "export.csv",
                        shopify_orders(ORDER_1001.format(refund="0.00")))
    run(wh, landing, "b1")
    second = landing.add("shop_us", "orders", "2026-11-22", "export.csv",
                         shopify_orders(ORDER_1001.format(refund="12.50")))
    summary = run(wh, landing, "b2")
    assert (summary.files_loaded, summary.files_unchanged) == (1, 1)
    assert wh.query("""select order_id, refunded_amount, _source_file, _row_number, _export_date, _batch_id
                       from raw.orders order by _export_date""") == [
        ("#1001", D("0.00"), first, 2, date(2026, 11, 20), "b1"),
        ("#1001", D("12.50"), second, 2, date(2026, 11, 22), "b2"),
    ]


def test_corrected_file_replaces_its_rows(wh, landing):
    path = landing.add("shop_us", "orders", "2026-11-20", "export.csv",
                       shopify_orders(ORDER_1001.format(refund="0"), ORDER_1002.format(total="1O.00")))
    run(wh, landing, "b1")
    assert counts(wh) == (1, 1, 1)  # #1002 quarantined: 1O.00 (letter O)
    landing.add("shop_us", "orders", "2026-11-20", "export.csv",
                shopify_orders(ORDER_1001.format(refund="0"), ORDER_1002.format(total="10.00")))
    summary = run(wh, landing, "b2")
    assert (summary.files_loaded, summary.rows_loaded, summary.rows_quarantined) == (1, 2, 0)
    assert counts(wh) == (2, 2, 0)
    assert wh.query("select distinct _batch_id from raw.orders") == [("b2",)]
    assert wh.query("select rows_in, rows_loaded, rows_quarantined, batch_id from audit.files where path = ?",
                    [path]) == [(2, 2, 0, "b2")]


def test_forget_removes_the_rows_and_keeps_the_file_out(wh, landing):
    path = landing.add("shop_us", "orders", "2026-11-20", "export.csv",
                       shopify_orders(ORDER_1001.format(refund="0"), ORDER_1002.format(total="x")))
    run(wh, landing, "b1")
    assert forget(wh, path) == 3  # one order, one line, one quarantined row
    assert counts(wh) == (0, 0, 0)
    assert wh.query("select status from audit.files where path = ?", [path]) == [("forgotten",)]
    summary = run(wh, landing, "b2")  # same content: stays forgotten
    assert (summary.files_loaded, summary.files_unchanged) == (0, 1)
    assert counts(wh) == (0, 0, 0)
    landing.add("shop_us", "orders", "2026-11-20", "export.csv", shopify_orders(ORDER_1001.format(refund="0")))
    assert run(wh, landing, "b3").files_loaded == 1  # new content loads again
    assert counts(wh) == (1, 1, 0)
    assert forget(wh, "shop_us/orders/2026-11-20/never-loaded.csv") == 0


def test_taobao_line_report_arriving_later_completes_the_orders(wh, landing):
    taobao = FIXTURES / "taobao"
    orders = landing.add("tmall_flagship", "orders", "2026-11-20", "ExportOrderList.csv",
                         taobao / "ExportOrderList202611201200.csv")
    run(wh, landing, "b1")
    assert counts(wh) == (0, 0, 4)  # every order is without lines yet
    lines = landing.add("tmall_flagship", "orders", "2026-11-20", "ExportOrderDetailList.csv",
                        taobao / "ExportOrderDetailList202611201200.csv")
    summary = run(wh, landing, "b2")
    assert summary.files_loaded == 2  # the unchanged order report is read again with its new partner
    assert counts(wh) == (2, 3, 4)
    forget(wh, lines)
    assert run(wh, landing, "b3").files_loaded == 1  # the order report is re-read without its line report
    assert counts(wh) == (0, 0, 4)
    assert wh.query("select _row_number, reason from quarantine.rows where _source_file = ? order by 1",
                    [orders]) == [(2, "order_without_lines"), (3, "order_without_lines"), (4, "order_without_lines"),
                                  (5, "unparseable")]

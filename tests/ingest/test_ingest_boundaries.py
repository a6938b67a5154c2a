"""Boundaries no other test pinned (issue 12, "mutations that no test catches"): `future_date` allows exactly one
day after the export date, and Taobao's 中评 is rating 3 (好评 5, 差评 1)."""

from __future__ import annotations

from ingest_support import quarantine, run

GENERIC_HEADER = ("order_id,customer_id,created_at,paid_at,cancelled_at,currency,sku,product_name,quantity,"
                  "unit_price,list_price,order_discount,shipping,refunded_amount\n")


def test_future_date_allows_one_day_after_the_export_date_and_not_two(wh, landing):
    path = landing.add("erp_shop", "orders", "2026-11-20", "orders.csv", GENERIC_HEADER
                       + "A-1,C-1,2026-11-21T23:00:00+01:00,2026-11-21T23:05:00+01:00,,EUR,S-1,W,1,10.00,,0,0,0\n"
                       + "A-2,C-2,2026-11-22T00:10:00+01:00,2026-11-22T00:15:00+01:00,,EUR,S-1,W,1,10.00,,0,0,0\n")
    run(wh, landing)
    assert [r[0] for r in wh.query("select order_id from raw.orders")] == ["A-1"]  # export date + 1: loaded
    assert quarantine(wh, path)[3][0] == "future_date"  # export date + 2 (row 3, after the header): quarantined


def test_taobao_review_words_are_ratings_5_3_1(wh, landing):
    text = ("评价时间,评价结果,评价内容,宝贝标题,订单编号,评价人\n"
            "2026-11-20 10:00:00,好评,好,保温杯 500ml,4100000000000000001,买家甲\n"
            "2026-11-20 11:00:00,中评,一般,保温杯 500ml,4100000000000000002,买家乙\n"
            "2026-11-20 12:00:00,差评,漏水,保温杯 500ml,4100000000000000003,买家丙\n")
    landing.add("tmall_flagship", "reviews", "2026-11-20", "reviews.csv", text.encode("gb18030"))
    run(wh, landing)
    assert wh.query("select order_id, rating from raw.reviews order by order_id") == [
        ("4100000000000000001", 5), ("4100000000000000002", 3), ("4100000000000000003", 1)]

"""The demo looks like a real shop and makes several alert rules fire on the last day — read from the files, with
the spec's thresholds written out here."""

from __future__ import annotations

import gzip
from collections import Counter
from datetime import date, timedelta
from statistics import median

from gen_helpers import LAST_DAY, files, rows

from storekpi.generate import write_shopify_orders

SHOPIFY, TMALL, ERP = "us_shopify", "tmall_flagship", "eu_erp"
WEEK_BEFORE = LAST_DAY - timedelta(days=7)


def _latest_traffic(landing, store, encoding="utf-8", skip=0, day="Day", visitors="Online store visitors"):
    out = {}
    for path in files(landing, store, "traffic"):  # folders sort by date: later exports win
        for r in rows(path, encoding, skip):
            key = r[day] if "-" in r[day] else f"{r[day][:4]}-{r[day][4:6]}-{r[day][6:]}"
            out[date.fromisoformat(key)] = int(r[visitors].replace(",", ""))
    return out


def _shopify_paid_orders(landing):
    """Latest version of every order (first rows only): name -> row."""
    latest = {}
    for path in files(landing, SHOPIFY, "orders"):
        for r in rows(path):
            if r["Financial Status"]:
                latest[r["Name"]] = r
    return latest


def test_shopify_conversion_weekday_and_promo_spike(landing):
    visitors = _latest_traffic(landing, SHOPIFY)
    paid = Counter(date.fromisoformat(r["Paid at"][:10]) for r in _shopify_paid_orders(landing).values()
                   if r["Paid at"][:1].isdigit())
    days = [d for d in visitors if d != LAST_DAY]
    conversion = [paid[d] / visitors[d] for d in days]
    assert 0.01 <= median(conversion) <= 0.04
    ordinary = median(paid[d] for d in days)
    assert paid[date(2026, 11, 11)] > 3 * ordinary  # 11-11
    saturdays = [visitors[d] for d in days if d.weekday() == 5]
    wednesdays = [visitors[d] for d in days if d.weekday() == 2]
    assert median(saturdays) > median(wednesdays)


def test_tmall_traffic_drop_and_orders_below_target_on_the_last_day(landing):
    visitors = _latest_traffic(landing, TMALL, "gb18030", skip=2, day="统计日期", visitors="访客数")
    assert visitors[LAST_DAY] < 0.7 * visitors[WEEK_BEFORE]
    paid_last_day = {r["订单编号"] for p in files(landing, TMALL, "orders", "ExportOrderList*")
                     for r in rows(p, "gb18030") if r["订单付款时间"].startswith("2026-11-20")}
    target = 148  # stores.yml: daily_orders_min of tmall_flagship
    assert "daily_orders_min: 148" in (landing / "stores.yml").read_text(encoding="utf-8")
    assert 0 < len(paid_last_day) < target


def test_erp_conversion_below_two_percent_on_the_last_day(landing):
    visitors = _latest_traffic(landing, ERP, day="date", visitors="visitors")
    last = rows(files(landing, ERP, "orders", f"orders_{LAST_DAY}.csv")[0])
    paid = {r["order_id"] for r in last if r["paid_at"].startswith(str(LAST_DAY))}
    assert len(paid) / visitors[LAST_DAY] < 0.02


def test_review_rates_sit_around_the_threshold(landing):
    since = LAST_DAY - timedelta(days=29)
    tmall = {}
    for path in files(landing, TMALL, "reviews"):
        for r in rows(path):
            if date.fromisoformat(r["评价时间"][:10]) >= since:
                tmall[(r["订单编号"], r["宝贝标题"], r["评价时间"])] = r["评价结果"] == "好评"
    shopify = {}
    for path in files(landing, SHOPIFY, "reviews"):
        for r in rows(path):
            stamp = r.get("review_date") or r["created_at"]
            if date.fromisoformat(stamp[:10]) >= since:
                shopify[(r.get("reviewer_email") or r["email"], stamp[:19])] = int(r["rating"]) >= 4
    tmall_rate, shopify_rate = sum(tmall.values()) / len(tmall), sum(shopify.values()) / len(shopify)
    assert 0.95 < tmall_rate < 0.985  # positive_review_rate_low fires for Tmall
    assert 0.97 < shopify_rate <= 1.0


def test_stock_runs_out_and_low_while_a_discount_breaks_the_floor(landing):
    sold_28d = Counter()
    since = LAST_DAY - timedelta(days=27)
    for path in files(landing, SHOPIFY, "orders", "orders_export_1.csv"):
        for r in rows(path):
            if date.fromisoformat(path.parent.name) >= since:
                sold_28d[r["Lineitem sku"]] += int(r["Lineitem quantity"])
    on_hand = Counter()
    for r in rows(files(landing, SHOPIFY, "stock")[-1]):
        on_hand[r["SKU"]] += 0 if r["On hand (current)"] == "not stocked" else int(r["On hand (current)"])
    stockouts = [s for s in on_hand if on_hand[s] <= 0 and sold_28d[s] > 0]
    low = [s for s in on_hand if on_hand[s] > 0 and sold_28d[s] and on_hand[s] / (sold_28d[s] / 28) < 7]
    assert stockouts and low
    # the Shopify "Export products" CSV: list price = compare-at price when set; image rows have no variant
    catalogue = {r["Variant SKU"]: float(r["Variant Compare At Price"] or r["Variant Price"])
                 for r in rows(files(landing, SHOPIFY, "products")[-1]) if r["Variant SKU"]}
    breaches = []
    for r in rows(files(landing, SHOPIFY, "orders", "orders_export_1.csv")[-1]):
        if r["Paid at"].startswith(str(LAST_DAY)) and r["Financial Status"] == "paid":
            gross = int(r["Lineitem quantity"]) * float(r["Lineitem price"])
            effective = float(r["Lineitem price"]) * (gross - float(r["Discount Amount"])) / gross
            listed = float(r["Lineitem compare at price"] or catalogue[r["Lineitem sku"]])
            if r["Name"] and effective / listed < 0.70:
                breaches.append(r["Name"])
    assert breaches  # 2026-11-20 is no promo day


def test_benchmark_helper_writes_exact_lines_deterministically(tmp_path):
    plain, again, packed = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv.gz"
    assert write_shopify_orders(plain, 2_000, seed=5) == 2_000
    write_shopify_orders(again, 2_000, seed=5)
    write_shopify_orders(packed, 2_000, seed=5)
    assert plain.read_bytes() == again.read_bytes() == gzip.decompress(packed.read_bytes())
    data = rows(plain)
    assert len(data) == 2_000
    assert data[0]["Name"] == "#1001" and data[0]["Financial Status"]
    names = [r["Name"] for r in data]
    assert len(set(names)) < len(names)  # multi-line orders

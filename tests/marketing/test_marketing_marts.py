"""The marketing marts of the hand landing (marketing_landing.py), every column worked out by hand here."""

from __future__ import annotations

from datetime import date

import pytest

N18, N19 = date(2026, 11, 18), date(2026, 11, 19)


def frame(wh, sql: str, params=()):
    return wh.query_df(sql, list(params))


def _clean(value):
    if value is None or (isinstance(value, float) and value != value) or str(value) in ("<NA>", "NaT", "nan"):
        return None
    return value


def records(wh, sql: str, params=()) -> list[dict]:
    return [{k: _clean(v) for k, v in r.items()} for r in frame(wh, sql, params).to_dict("records")]


def test_traffic_sources_daily_shopify_two_days(marketing_duckdb):
    got = records(marketing_duckdb, """
        select date, channel, source, source_detail, visitors, sessions, orders, buyers, sales,
               buyer_conversion_rate, uv_value, visitor_share
        from marts.traffic_sources_daily where store_id = 'shop_us' order by date, source""")
    # store visitors (traffic export): 980 on 11-18, 10,001 on 11-19; Shopify exports no buyers or sales
    expected = [
        (N18, "direct", "Direct", None, 100, 120, 4, 100 / 980),
        (N18, "organic_search", "Search", "Google", 250, 300, 6, 250 / 980),
        (N18, "social", "Social", "Instagram", 70, 80, 1, 70 / 980),
        (N18, "other", "Unknown", None, 10, 10, 0, 10 / 980),  # mapped to other by the seed
        (N19, "direct", "Direct", None, 900, 1100, 20, 900 / 10001),
        (N19, "other", "Podcast", "Acme FM", 5, 5, 0, 5 / 10001),  # unmapped
        (N19, "organic_search", "Search", "Google", 260, 310, 7, 260 / 10001),
        (N19, "social", "Social", "Instagram", 0, 0, 0, 0.0),
    ]
    assert len(got) == len(expected)
    for r, (day, channel, source, detail, visitors, sessions, orders, share) in zip(got, expected):
        assert (r["date"].date(), r["channel"], r["source"], r["source_detail"]) == (day, channel, source, detail)
        assert (r["visitors"], r["sessions"], r["orders"]) == (visitors, sessions, orders)
        assert r["buyers"] is None and r["sales"] is None
        assert r["buyer_conversion_rate"] is None and r["uv_value"] is None  # NULL, never 0, without buyers/sales
        assert r["visitor_share"] == pytest.approx(share)


def test_traffic_sources_daily_sycm_channels_and_rates(marketing_duckdb):
    got = {r["source_detail"]: r for r in records(marketing_duckdb, """
        select * from marts.traffic_sources_daily where store_id = 'tmall_flagship'""")}
    # a source_detail rule beats the source rule: 手淘搜索 is organic_search although 淘内免费 is marketplace
    assert {k: r["channel"] for k, r in got.items()} == {
        "手淘搜索": "organic_search", "直通车": "paid_ads", "购物车": "direct", "手淘推荐": "marketplace",
        "新渠道X": "paid_ads"}
    assert all(r["date"].date() == N19 for r in got.values())  # the export has no date: its folder date
    search = got["手淘搜索"]
    assert (search["visitors"], search["orders"], search["buyers"], search["sales"]) == (1200, 60, 50, 5000)
    assert search["buyer_conversion_rate"] == pytest.approx(50 / 1200)
    assert search["uv_value"] == pytest.approx(5000 / 1200)
    assert search["visitor_share"] == pytest.approx(1200 / 3200)
    assert search["sessions"] is None  # 生意参谋 exports no sessions
    feed = got["手淘推荐"]  # '-' cells: NULL, and so are the rates
    assert (feed["orders"], feed["buyers"], feed["sales"], feed["buyer_conversion_rate"], feed["uv_value"]) == \
        (None, None, None, None, None)
    new = got["新渠道X"]  # 0 visitors: ratios NULL
    assert (new["visitors"], new["buyer_conversion_rate"], new["uv_value"], new["visitor_share"]) == (0, None, None, 0)


def test_stores_yml_channels_extend_the_map(marketing_duckdb):
    got = {r["source"]: r["channel"] for r in records(marketing_duckdb, """
        select source, channel from marts.traffic_sources_daily where store_id = 'erp_shop'""")}
    assert got == {"newsletter": "email",  # defaults.channels, a source rule
                   "google": "paid_ads"}  # the store's own rule on the detail 'cpc'


AD_EXPECTED = [
    # store, date, platform, campaign, spend, impressions, clicks, attributed_orders, attributed_sales
    ("shop_us", N18, "google_ads", "Search - Brand", "100.00", 10000, 500, "10.00", "400.00"),
    ("shop_us", N18, "google_ads", "Shopping - All", "1200.00", 30000, 900, "24.00", "2880.00"),
    ("shop_us", N18, "meta_ads", "BF Prospecting", "1234.56", 45012, 900, "12.00", "2469.12"),
    ("shop_us", N19, "google_ads", "PMax - Catalog", "200.00", None, None, "2.50", "300.00"),  # '--' cells
    ("shop_us", N19, "google_ads", "Search - Brand", "50.00", 5000, 0, "0.00", "0.00"),
    ("shop_us", N19, "meta_ads", "BF Prospecting", "200.00", 9000, 150, None, None),  # empty purchase cells
    ("tmall_flagship", date(2026, 11, 16), "alimama", "老客召回", "10.00", 0, 0, "1.00", "5.00"),
    ("tmall_flagship", N18, "alimama", "双11爆款计划", "1000.00", 50000, 1000, "30.00", "3000.00"),
    ("tmall_flagship", N19, "alimama", "双11爆款计划", "500.00", 20000, 400, "9.00", "900.00"),
    ("tmall_flagship", N19, "alimama", "新品测款", "40.00", 3000, 50, "1.00", "40.00"),
]


def _ratio(num, den):
    return None if num is None or den in (None, 0) else float(num) / float(den)


def test_ad_campaign_daily_every_column(marketing_duckdb):
    got = records(marketing_duckdb, """
        select * replace (cast(spend as varchar) as spend, cast(attributed_orders as varchar) as attributed_orders,
                          cast(attributed_sales as varchar) as attributed_sales)
        from marts.ad_campaign_daily order by store_id, date, ad_platform, campaign""")
    # the EUR Google row, the weekly Meta row and the negative Meta spend were quarantined at ingest
    assert len(got) == len(AD_EXPECTED)
    for r, (store, day, platform, campaign, spend, impr, clicks, orders, sales) in zip(got, AD_EXPECTED):
        assert (r["store_id"], r["date"].date(), r["ad_platform"], r["campaign"]) == (store, day, platform, campaign)
        assert (r["spend"], r["impressions"], r["clicks"]) == (spend, impr, clicks)  # money exact, as text
        assert (r["attributed_orders"], r["attributed_sales"]) == (orders, sales)
        s = float(spend)
        expected = {"ctr": _ratio(clicks, impr), "cpc": _ratio(s, clicks),
                    "cpm": None if _ratio(s, impr) is None else _ratio(s, impr) * 1000,
                    "cvr": _ratio(None if orders is None else float(orders), clicks),
                    "roas": _ratio(None if sales is None else float(sales), s)}
        for column, value in expected.items():
            assert r[column] == (None if value is None else pytest.approx(value)), (campaign, column)


def test_kpi_store_daily_marketing_columns(marketing_duckdb):
    got = {(r["store_id"], r["date"].date()): r for r in records(marketing_duckdb, """
        select store_id, date, net_sales, new_buyers, cast(ad_spend as varchar) as ad_spend,
               cast(attributed_sales as varchar) as attributed_sales, mer, ad_spend_share,
               new_buyer_cac from marts.kpi_store_daily""")}
    # shop_us: 11-18 one order of 100.00 by a new buyer; 11-19 50.00 (new buyer b) + 30.00 (a, returning)
    d18, d19 = got[("shop_us", N18)], got[("shop_us", N19)]
    assert (d18["net_sales"], d18["new_buyers"], d19["net_sales"], d19["new_buyers"]) == (100, 1, 80, 1)
    assert d18["ad_spend"] == "2534.56"  # 100.00 + 1200.00 + 1234.56
    assert d18["attributed_sales"] == "5749.12"  # 400.00 + 2880.00 + 2469.12
    assert d18["mer"] == pytest.approx(100 / 2534.56)
    assert d18["ad_spend_share"] == pytest.approx(2534.56 / 100)
    assert d18["new_buyer_cac"] == pytest.approx(2534.56)
    assert d19["ad_spend"] == "450.00"  # 200.00 + 50.00 + 200.00
    assert d19["attributed_sales"] == "300.00"  # Meta reported no purchase value that day
    assert d19["mer"] == pytest.approx(80 / 450) and d19["new_buyer_cac"] == pytest.approx(450.0)
    assert d19["ad_spend_share"] == pytest.approx(450 / 80)
    # tmall: ad rows on 11-16, 11-18, 11-19; no orders (net_sales 0, no new buyers)
    tmall = {day.day: got[("tmall_flagship", day)] for s, day in got if s == "tmall_flagship"}
    assert [tmall[d]["ad_spend"] for d in (16, 17, 18, 19)] == \
        ["10.00", "0.00", "1000.00", "540.00"]
    assert tmall[17]["attributed_sales"] == "0.00"  # inside the span without rows: 0
    assert tmall[17]["mer"] is None  # NULL denominator (ad_spend 0), not 0 and not an error
    assert tmall[18]["mer"] == 0.0  # 0 net sales on 1000.00 spend
    assert all(tmall[d]["ad_spend_share"] is None and tmall[d]["new_buyer_cac"] is None for d in tmall)
    # erp_shop has no ad export at all: NULL, not 0
    erp = got[("erp_shop", N19)]
    assert (erp["ad_spend"], erp["attributed_sales"], erp["mer"], erp["ad_spend_share"], erp["new_buyer_cac"]) == \
        (None, None, None, None, None)


def test_roas_below_target_alerts(marketing_duckdb):
    got = records(marketing_duckdb, """
        select store_id, date, campaign, owner_role, severity, value, threshold, alert_id, message
        from marts.kpi_alerts where rule = 'roas_below_target' order by store_id, date, campaign""")
    # roas_min 2.0; min_campaign_spend 50 (shop_us) and 20 (tmall_flagship). BF Prospecting 11-18 is exactly at
    # 2.0 (no alert); 老客召回 (0.5) spent 10.00 < 20; BF Prospecting 11-19 has no ROAS.
    assert [(r["store_id"], r["date"].date(), r["campaign"], r["value"]) for r in got] == [
        ("shop_us", N19, "PMax - Catalog", 1.5), ("shop_us", N19, "Search - Brand", 0.0),
        ("tmall_flagship", N19, "双11爆款计划", 1.8), ("tmall_flagship", N19, "新品测款", 1.0)]
    assert {(r["owner_role"], r["severity"], r["threshold"]) for r in got} == {("marketing", "warning", 2.0)}
    assert got[0]["alert_id"] == "shop_us|2026-11-19|roas_below_target||||PMax - Catalog"
    assert got[0]["message"] == ("US Shop (shop_us): google_ads campaign 'PMax - Catalog' returned a ROAS of 1.50 "
                                 "on 2026-11-19 (300.00 attributed sales on 200.00 spend), below the target of "
                                 "2.00.")
    others = frame(marketing_duckdb, "select count(*) as n from marts.kpi_alerts "
                                     "where rule <> 'roas_below_target' and campaign is not null")
    assert others["n"][0] == 0

"""Marketing datasets (marketing.md): traffic_sources and ad_spend, one hand fixture per real layout."""

from decimal import Decimal
from pathlib import Path

import pytest
from ingest_support import FIXTURES, rows, run

F = FIXTURES / "marketing"


def _audit(wh, relpath: str) -> dict:
    return rows(wh, "select * from audit.files where path = ?", [relpath])[0]


def _quarantine(wh, relpath: str) -> list[tuple]:
    return wh.query("select _row_number, reason, column_name, message from quarantine.rows "
                    "where _source_file = ? order by 1", [relpath])


def _accounted(wh) -> None:
    for path, rows_in, loaded, quarantined in wh.query(
            "select path, rows_in, rows_loaded, rows_quarantined from audit.files where status = 'loaded'"):
        assert rows_in == loaded + quarantined, path
        in_raw = wh.query("select (select count(*) from raw.traffic_sources where _source_file = ?) "
                          "+ (select count(*) from raw.ad_spend where _source_file = ?)", [path, path])[0][0]
        assert in_raw == loaded, path


def test_shopify_sessions_by_referrer(wh, landing):
    path = landing.add("shop_us", "traffic_sources", "2026-11-19", "sessions_by_referrer.csv",
                       F / "shopify_sessions_by_referrer.csv")
    run(wh, landing)
    got = rows(wh, "select date, source, source_detail, visitors, sessions, orders, buyers, sales, _row_number "
                   "from raw.traffic_sources order by _row_number")
    assert [(str(r["date"])[:10], r["source"], r["source_detail"], r["visitors"], r["sessions"], r["orders"])
            for r in got] == [
        ("2026-11-18", "Direct", None, 100, 120, 4), ("2026-11-18", "Search", "Google", 250, 300, 6),
        ("2026-11-18", "Social", "Instagram", 70, 80, 1), ("2026-11-18", "Unknown", None, 10, 10, 0),
        ("2026-11-19", "Direct", None, 900, 1100, 20), ("2026-11-19", "Search", "Google", 260, 310, 7),
        ("2026-11-19", "Social", "Instagram", 0, 0, 0), ("2026-11-19", "Podcast", "Acme FM", 5, 5, 0)]
    assert all(r["buyers"] is None and r["sales"] is None for r in got)
    assert [r["_row_number"] for r in got] == list(range(2, 10))
    assert _audit(wh, path)["rows_in"] == 8
    _accounted(wh)


@pytest.mark.parametrize("name", ["sycm_traffic_sources.csv", "sycm_traffic_sources.xlsx"])
def test_sycm_sources_without_date_cover_the_folder_date(wh, landing, name):
    """Title lines, GB18030 or xlsx, '-' for no value; 访客数变化 / 支付转化率 / UV价值 are not read."""
    path = landing.add("tmall_flagship", "traffic_sources", "2026-11-19", name, F / name)
    run(wh, landing)
    got = wh.query("select cast(date as varchar), source, source_detail, visitors, orders, buyers, sales, "
                   "_row_number from raw.traffic_sources order by _row_number")
    assert [(d, s, sd, v, o, b, None if sa is None else float(sa), n) for d, s, sd, v, o, b, sa, n in got] == [
        ("2026-11-19", "淘内免费", "手淘搜索", 1200, 60, 50, 5000.0, 5),
        ("2026-11-19", "付费流量", "直通车", 800, 30, 24, 2400.0, 6),
        ("2026-11-19", "自主访问", "购物车", 300, 20, 18, 1800.0, 7),
        ("2026-11-19", "淘内免费", "手淘推荐", 500, None, None, None, 8),
        ("2026-11-19", "付费流量", "新渠道X", 0, 0, 0, 0.0, 9)]
    audit = _audit(wh, path)
    assert (audit["format"], audit["rows_in"], audit["rows_quarantined"]) == \
        ("xlsx" if name.endswith("xlsx") else "csv", 5, 0)
    _accounted(wh)


@pytest.mark.parametrize("name", ["alimama_campaigns.csv", "alimama_campaigns.xlsx"])
def test_alimama_report(wh, landing, name):
    landing.add("tmall_flagship", "ad_spend", "2026-11-19", name, F / name)
    run(wh, landing)
    got = wh.query("select cast(date as varchar), ad_platform, campaign, spend, impressions, clicks, "
                   "attributed_orders, attributed_sales from raw.ad_spend order by _row_number")
    assert [(d, p, c, float(s), i, k, float(o), float(a)) for d, p, c, s, i, k, o, a in got] == [
        ("2026-11-18", "alimama", "双11爆款计划", 1000.0, 50000, 1000, 30.0, 3000.0),
        ("2026-11-19", "alimama", "双11爆款计划", 500.0, 20000, 400, 9.0, 900.0),
        ("2026-11-19", "alimama", "新品测款", 40.0, 3000, 50, 1.0, 40.0)]
    _accounted(wh)


def test_google_ads_utf16_tsv_with_title_lines_and_dashes(wh, landing):
    path = landing.add("shop_us", "ad_spend", "2026-11-19", "Campaign report.csv", F / "google_ads_campaigns.tsv")
    run(wh, landing)
    got = wh.query("select cast(date as varchar), ad_platform, campaign, currency, spend, impressions, clicks, "
                   "attributed_orders, attributed_sales from raw.ad_spend order by _row_number")
    assert [(d, p, c, cur, float(s), i, k, float(o), float(a)) for d, p, c, cur, s, i, k, o, a in got] == [
        ("2026-11-18", "google_ads", "Search - Brand", "USD", 100.0, 10000, 500, 10.0, 400.0),
        ("2026-11-19", "google_ads", "Search - Brand", "USD", 50.0, 5000, 0, 0.0, 0.0),
        ("2026-11-19", "google_ads", "PMax - Catalog", "USD", 200.0, None, None, 2.5, 300.0)]
    audit = _audit(wh, path)
    assert (audit["format"], audit["encoding"]) == ("tsv", "utf-16")
    # header on line 3: rows start on line 4; the EUR campaign is on line 7
    assert _quarantine(wh, path) == [(7, "currency_mismatch", "Currency code",
                                      f"{path} row 7, column Currency code: currency 'EUR' differs from the store "
                                      "currency USD")]
    assert (audit["rows_in"], audit["rows_loaded"], audit["rows_quarantined"]) == (4, 3, 1)
    _accounted(wh)


def test_google_ads_utf8_csv_strips_currency_signs(wh, landing):
    landing.add("shop_us", "ad_spend", "2026-11-19", "google.csv", F / "google_ads_campaigns.csv")
    run(wh, landing)
    assert [tuple(map(float, r)) for r in wh.query(
        "select spend, impressions, clicks, attributed_orders, attributed_sales from raw.ad_spend")] == \
        [(1200.0, 30000.0, 900.0, 24.0, 2880.0)]


def test_meta_not_daily_and_negative_spend(wh, landing):
    path = landing.add("shop_us", "ad_spend", "2026-11-19", "meta.csv", F / "meta_ads_daily.csv")
    run(wh, landing)
    got = wh.query("select cast(date as varchar), ad_platform, campaign, currency, spend, impressions, clicks, "
                   "attributed_orders, attributed_sales from raw.ad_spend order by _row_number")
    assert [(d, p, c, cur, float(s), i, k, o, a) for d, p, c, cur, s, i, k, o, a in got] == [
        ("2026-11-18", "meta_ads", "BF Prospecting", "USD", 1234.56, 45012, 900, 12, Decimal("2469.12")),
        ("2026-11-19", "meta_ads", "BF Prospecting", "USD", 200.0, 9000, 150, None, None)]
    q = _quarantine(wh, path)
    assert [(n, r, c) for n, r, c, _ in q] == [(4, "not_daily", "Reporting ends"),
                                               (5, "unparseable", "Amount spent (USD)")]
    assert "2026-11-12 to 2026-11-18" in q[0][3] and "row 4" in q[0][3]
    assert q[1][3].startswith(f"{path} row 5, column Amount spent (USD): ") and "negative" in q[1][3]
    assert (_audit(wh, path)["rows_in"], _audit(wh, path)["rows_quarantined"]) == (4, 2)
    _accounted(wh)


def test_meta_header_currency_other_than_the_store_is_quarantined(wh, landing):
    path = landing.add("shop_us", "ad_spend", "2026-11-19", "meta_eur.csv", F / "meta_ads_eur.csv")
    run(wh, landing)
    assert [(n, r, c) for n, r, c, _ in _quarantine(wh, path)] == [
        (2, "currency_mismatch", "Amount spent (EUR)"), (3, "currency_mismatch", "Amount spent (EUR)")]
    assert wh.query("select count(*) from raw.ad_spend")[0][0] == 0
    _accounted(wh)


def test_generic_layouts_and_negative_clicks(wh, landing):
    ads = landing.add("erp_shop", "ad_spend", "2026-11-19", "ads.csv", F / "generic_ad_spend.csv")
    landing.add("erp_shop", "traffic_sources", "2026-11-19", "sources.csv", F / "generic_traffic_sources.csv")
    run(wh, landing)
    assert wh.query("select ad_platform, campaign, currency, spend from raw.ad_spend")[0][:3] == \
        ("tiktok_ads", "Winter", "EUR")
    assert [(n, r, c) for n, r, c, _ in _quarantine(wh, ads)] == [(3, "unparseable", "clicks")]
    assert wh.query("select source, source_detail, visitors, sessions, orders, buyers, cast(sales as double) "
                    "from raw.traffic_sources order by _row_number") == [
        ("newsletter", "november", 40, 44, 2, 2, 90.0), ("google", "cpc", 60, 70, 1, 1, 45.0)]
    _accounted(wh)


def test_ad_layout_is_told_by_headers_whatever_the_platform(wh, landing):
    """A Taobao store may land a Google report, a Shopify store a 阿里妈妈 one."""
    landing.add("shop_us", "ad_spend", "2026-11-19", "alimama.xlsx", F / "alimama_campaigns.xlsx")
    run(wh, landing)
    assert wh.query("select distinct ad_platform from raw.ad_spend") == [("alimama",)]


def test_a_correction_replaces_the_rows_and_a_dated_row_in_a_dateless_layout_needs_its_date(wh, landing):
    path = landing.add("erp_shop", "traffic_sources", "2026-11-19", "s.csv",
                       "date,source,visitors\n2026-11-19,direct,10\n,email,5\n")
    run(wh, landing)
    assert [(n, r, c) for n, r, c, _ in _quarantine(wh, path)] == [(3, "missing_required", "date")]
    landing.add("erp_shop", "traffic_sources", "2026-11-19", "s.csv", "source,visitors\ndirect,12\nemail,5\n")
    run(wh, landing, batch="b2")
    assert wh.query("select cast(date as varchar), source, visitors from raw.traffic_sources order by 2") == [
        ("2026-11-19", "direct", 12), ("2026-11-19", "email", 5)]
    assert _quarantine(wh, path) == []
    _accounted(wh)


def test_duplicate_campaign_day_with_different_spend_is_a_conflict(wh, landing):
    path = landing.add("erp_shop", "ad_spend", "2026-11-19", "a.csv",
                       "date,ad_platform,campaign,spend,impressions,clicks,attributed_orders,attributed_sales\n"
                       "2026-11-19,x,A,1.00,10,1,0,0\n2026-11-19,x,A,2.00,10,1,0,0\n2026-11-19,y,A,2.00,10,1,0,0\n")
    run(wh, landing)
    assert [(n, r) for n, r, _, _ in _quarantine(wh, path)] == [(2, "duplicate_conflict"),
                                                                (3, "duplicate_conflict")]
    _accounted(wh)


def test_unknown_ad_headers_are_rejected(wh, landing):
    path = landing.add("shop_us", "ad_spend", "2026-11-19", "x.csv", "foo,bar\n1,2\n")
    run(wh, landing)
    audit = _audit(wh, path)
    assert (audit["status"], audit["reason"]) == ("rejected", "unknown_headers")
    assert "Amount spent (*)" in audit["message"] and "计划名字" in audit["message"]


def test_fixture_builder_is_in_sync():
    """The committed fixtures are what build_fixtures.py writes (xlsx aside: its zip carries timestamps)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_marketing", F / "build_fixtures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (F / "meta_ads_daily.csv").read_text(encoding="utf-8") == module.META
    assert (F / "google_ads_campaigns.tsv").read_bytes()[2:].decode("utf-16-le") == module.GOOGLE_TSV
    assert Path(F / "sycm_traffic_sources.csv").read_bytes() == module.SYCM_SOURCES.encode("gb18030")


# -- summary rows (real downloads carry them unless told not to) ------------------------------------------------
REAL = FIXTURES / "real"


def _spend(wh) -> list[tuple]:
    return [(str(d), c, float(s)) for d, c, s in wh.query(
        "select date, campaign, spend from raw.ad_spend order by _row_number")]


def test_google_ads_total_rows_are_skipped_and_counted(wh, landing):
    # 'Total: Account/Search/Shopping/Campaigns' in the Day column, '--' in Campaign and Campaign ID (a report
    # downloaded with totals); a campaign whose name starts with 'Total:' on a real day is a campaign
    path = landing.add("shop_us", "ad_spend", "2026-11-19", "Campaign report.csv",
                       REAL / "google_ads_campaigns_with_totals.csv")
    summary = run(wh, landing)
    assert _spend(wh) == [("2026-11-18", "Shopping - All", 1200.0), ("2026-11-19", "Shopping - All", 800.0),
                          ("2026-11-19", "Total: Brand Protection", 50.0)]
    assert (summary.rows_in, summary.rows_loaded, summary.rows_quarantined) == (3, 3, 0)
    audit = _audit(wh, path)
    assert (audit["status"], audit["rows_in"], audit["rows_loaded"]) == ("loaded", 3, 3)
    assert audit["message"] == (
        "4 summary rows skipped, not loaded: row 7 (Total: Account), row 8 (Total: Search), "
        "row 9 (Total: Shopping), row 10 (Total: Campaigns); they add up the campaign-day rows, which are loaded")
    assert _quarantine(wh, path) == []
    _accounted(wh)


def test_google_ads_utf16_totals_in_a_first_column_no_field_reads(wh, landing):
    # the "Excel CSV" download with Campaign status first: the label sits in a column storekpi does not load
    text = ("Campaign report\r\nNovember 18, 2026 - November 19, 2026\r\n"
            "Campaign status\tCampaign\tDay\tCurrency code\tCost\tImpr.\tClicks\tConversions\tConv. value\r\n"
            "Enabled\tSearch - Brand\tNov 18, 2026\tUSD\t100.00\t10,000\t500\t10.00\t400.00\r\n"
            "Enabled\tSearch - Brand\tNov 19, 2026\tUSD\t50.00\t5,000\t0\t0.00\t0.00\r\n"
            "Total: Account\t --\t --\tUSD\t150.00\t15,000\t500\t10.00\t400.00\r\n"
            "Total: Campaigns\t --\t --\tUSD\t150.00\t15,000\t500\t10.00\t400.00\r\n")
    path = landing.add("shop_us", "ad_spend", "2026-11-19", "Campaign report.csv", text.encode("utf-16"))
    run(wh, landing)
    assert _spend(wh) == [("2026-11-18", "Search - Brand", 100.0), ("2026-11-19", "Search - Brand", 50.0)]
    audit = _audit(wh, path)
    assert (audit["encoding"], audit["rows_in"], audit["rows_loaded"], audit["rows_quarantined"]) == \
        ("utf-16", 2, 2, 0)
    assert audit["message"].startswith("2 summary rows skipped, not loaded: row 6 (Total: Account), row 7 (Total: "
                                       "Campaigns)")
    _accounted(wh)


def test_meta_summary_row_is_skipped_when_it_adds_up_the_others(wh, landing):
    # Ads Manager's 'Include summary row': first, no campaign name, the whole range, the totals
    path = landing.add("shop_us", "ad_spend", "2026-11-19", "meta.csv", REAL / "meta_ads_with_summary_row.csv")
    run(wh, landing)
    assert _spend(wh) == [("2026-11-18", "BF Prospecting", 1234.56), ("2026-11-19", "BF Prospecting", 200.0)]
    audit = _audit(wh, path)
    assert (audit["rows_in"], audit["rows_loaded"], audit["rows_quarantined"]) == (2, 2, 0)
    assert audit["message"] == ("1 summary row skipped, not loaded: row 2; they add up the campaign-day rows, "
                                "which are loaded")
    _accounted(wh)


def test_a_row_without_campaign_that_does_not_add_up_is_quarantined_not_skipped(wh, landing):
    text = (REAL / "meta_ads_with_summary_row.csv").read_text().replace('"1,434.56"', '"1,400.00"')
    path = landing.add("shop_us", "ad_spend", "2026-11-19", "meta.csv", text)
    run(wh, landing)
    # quarantined like any damaged row (its first failed check: the two-day range, before the missing name)
    assert [r[:3] for r in _quarantine(wh, path)] == [(2, "not_daily", "Reporting ends")]
    assert _audit(wh, path)["message"] is None
    _accounted(wh)


def test_google_total_rows_only_when_they_have_no_day(wh, landing):
    # a damaged row labelled Total: but dated is not a summary: it stays a campaign-day and is checked as one
    path = landing.add("shop_us", "ad_spend", "2026-11-19", "g.csv",
                       "Day,Campaign,Currency code,Cost,Impr.,Clicks,Conversions,Conv. value\n"
                       "2026-11-19,A,USD,10.00,100,5,1,20.00\n"
                       "Total: Account,,USD,10.00,100,5,1,20.00\n"
                       "2026-11-19,,USD,10.00,100,5,1,20.00\n")
    run(wh, landing)
    assert _spend(wh) == [("2026-11-19", "A", 10.0)]
    assert [r[:3] for r in _quarantine(wh, path)] == [(4, "missing_required", "Campaign")]
    assert _audit(wh, path)["rows_in"] == 2
    _accounted(wh)


# -- Meta's Day breakdown: a `Day` column besides or instead of the report period ----------------------------
def test_meta_day_breakdown_rows_are_daily_whatever_the_report_period(wh, landing):
    # Reporting starts/ends span the whole report (3 days) on every row; `Day` is the row's day
    path = landing.add("shop_us", "ad_spend", "2026-11-19", "meta.csv", REAL / "meta_ads_by_day.csv")
    run(wh, landing)
    assert _spend(wh) == [("2026-11-17", "BF Prospecting", 1234.56), ("2026-11-18", "BF Prospecting", 200.0),
                          ("2026-11-18", "BF Retargeting", 50.0)]
    assert wh.query("select distinct ad_platform, currency from raw.ad_spend") == [("meta_ads", "USD")]
    assert [r[:3] for r in _quarantine(wh, path)] == [(5, "missing_required", "Day")]
    _accounted(wh)


def test_meta_export_with_day_instead_of_the_report_period(wh, landing):
    text = ("Day,Campaign name,Amount spent (USD),Impressions,Link clicks,Purchases,Purchases conversion value\n"
            "2026-11-18,BF Prospecting,\"1,234.56\",45012,900,12,\"2,469.12\"\n")
    landing.add("shop_us", "ad_spend", "2026-11-19", "meta.csv", text)
    run(wh, landing)
    assert _spend(wh) == [("2026-11-18", "BF Prospecting", 1234.56)]
    _accounted(wh)


def test_meta_multi_day_row_without_day_stays_not_daily(wh, landing):
    text = (REAL / "meta_ads_by_day.csv").read_text().replace('"Day",', '"Day_",')  # no Day column any more
    path = landing.add("shop_us", "ad_spend", "2026-11-19", "meta.csv", text)
    run(wh, landing)
    assert {r[1] for r in _quarantine(wh, path)} == {"not_daily"}
    assert wh.query("select count(*) from raw.ad_spend")[0][0] == 0

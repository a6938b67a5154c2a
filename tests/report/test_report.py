"""The nightly report on a hand-filled warehouse (tests/alerts/marts_fixture.py), checked as text and in Chromium."""

from __future__ import annotations

import csv
import importlib.util
import os
import re
import sys
from pathlib import Path

import pytest

import chromium_cdp
from storekpi import report

_FIXTURE = Path(__file__).parents[1] / "alerts" / "marts_fixture.py"
if "marts_fixture" not in sys.modules:  # shared with tests/alerts, which has it on its import path
    _spec = importlib.util.spec_from_file_location("marts_fixture", _FIXTURE)
    sys.modules["marts_fixture"] = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(sys.modules["marts_fixture"])
mf = sys.modules["marts_fixture"]

ARTIFACTS = Path(os.environ.get("STOREKPI_TEST_ARTIFACTS", Path(__file__).parents[1] / "artifacts"))


@pytest.fixture
def written(tmp_path):
    wh, config = mf.build(tmp_path)
    summary = {"status": "published", "stores": 3, "files_loaded": 3, "alerts": 9, "run_id": "run1"}
    path = report.write_report(wh, mf.D, config, tmp_path / "reports", summary)
    wh.close()
    return path


def _section(page: str, anchor: str) -> str:
    """The HTML from the element with id=anchor up to the next h3/section boundary."""
    start = page.index(f'id="{anchor}"')
    end = min(i for i in (page.find("<h3", start + 1), page.find("</section>", start), len(page)) if i != -1)
    return page[start:end]


def test_writes_the_html_and_one_csv_extract_per_mart_for_the_day(written, tmp_path):
    day_dir = tmp_path / "reports" / "2026-11-20"
    assert written == day_dir / "report.html"
    rows = {}
    for mart in ("kpi_store_daily", "stock_cover", "repurchase_cohorts", "discount_violations", "revenue_bridge",
                 "kpi_alerts"):
        with open(day_dir / f"{mart}.csv", encoding="utf-8-sig", newline="") as fh:
            rows[mart] = list(csv.DictReader(fh))
    # by hand: 3 stores with a row on D; 5 + 2 SKUs in D's snapshots; 11 + 1 cohorts up to D; 1 violation on D
    # (3 more on D-3); 1 bridge row; 9 alerts dated D (2 more on D-1)
    assert {m: len(r) for m, r in rows.items()} == {
        "kpi_store_daily": 3, "stock_cover": 7, "repurchase_cohorts": 12, "discount_violations": 1,
        "revenue_bridge": 1, "kpi_alerts": 9}
    assert {r["date"] for r in rows["kpi_alerts"]} == {"2026-11-20"}
    assert "羊毛围巾" in {r["product_name"] for r in rows["stock_cover"]}


def test_report_is_self_contained_and_escaped(written):
    page = written.read_text(encoding="utf-8")
    for forbidden in ("<script", "<link", "src=", "url(", "@import", "<iframe"):
        assert forbidden not in page.lower(), forbidden
    assert set(re.findall(r"https?://[^\s\"'<>]+", page)) == {"http://www.w3.org/2000/svg"}  # a namespace only
    assert "<b>Scarf" not in page and "&lt;b&gt;Scarf &amp; Co&lt;/b&gt;" in page
    assert "EU <Shop>" not in page and "EU &lt;Shop&gt; &amp; Co" in page
    assert "天猫旗舰店" in page
    assert "@example.com" not in page  # recipients are personal data


def test_roles_see_what_they_own(written):
    page = written.read_text(encoding="utf-8")
    counts = dict(re.findall(r'id="role-(\w+)">\w+ <span class="pill \w+">(\d+) alerts', page))
    # by hand from the fixture's alerts dated D: ops 3 tmall + 1 EU, merchandiser 2 + 1, marketing 1, data 1
    assert counts == {"ops": "4", "merchandiser": "3", "marketing": "1", "customer_service": "0", "data": "1"}
    merch = _section(page, "role-merchandiser")
    assert 'href="#store-tmall_flagship-stock"' in merch and 'href="#store-shopify_eu-stock"' in merch
    assert "discount_floor" not in merch and "TM-002" in page
    assert 'href="#store-shopify_eu-quality"' in _section(page, "role-data")


def test_store_sections_show_kpis_stock_discounts_cohorts_and_quality(written):
    page = written.read_text(encoding="utf-8")
    kpis = _section(page, "store-tmall_flagship-kpis")
    assert re.search(r'class="card bad"><div class="label">Orders</div><div class="value">150</div>'
                     r'<div class="target">target ≥ 200</div>', kpis)
    # conversion 150 / 9500 = 1.58 % < 2 %; the quiet store sits exactly on 2.0 %: met, not breached
    assert '<div class="card bad"><div class="label">Conversion rate</div><div class="value">1.6 %' in kpis
    quiet = _section(page, "store-generic_quiet-kpis")
    assert '<div class="card ok"><div class="label">Conversion rate</div><div class="value">2.0 %' in quiet
    stock = _section(page, "store-tmall_flagship-stock")
    assert "5 SKUs" in stock and "2 stocked out" in stock and "1 low cover" in stock
    assert re.findall(r"<td>(TM-\d+)</td>", stock) == ["TM-002", "TM-005", "TM-003"]
    assert "TB-9001" in _section(page, "store-tmall_flagship-discounts")
    cohorts = _section(page, "store-tmall_flagship-cohorts")
    assert "<td>2026-11</td>" in cohorts and "22.5 %" in cohorts  # 115 / 510
    quality = _section(page, "store-shopify_eu-quality")
    assert "2026-11-18 (stale)" in quality and "broken.csv" in quality and "unknown_headers" in quality
    assert "net sales −17 % vs last Friday" in page
    assert page.count("<svg") == 12  # 4 trend charts x 3 stores
    assert "1 failed" in page and "expect_exports_to_cover_run_date" in page


def test_line_chart_breaks_at_missing_values_and_draws_the_target():
    days = [mf.D] * 3
    svg = report.line_chart(days, [1.0, None, 3.0], unit="count", target=2.0)
    assert svg.count("<polyline") == 2 and svg.count("<circle") == 2
    assert svg.count('class="target"') == 1
    assert "no data" in report.line_chart(days, [None, None, None], unit="count")


# -- in a real browser ----------------------------------------------------------------------------------------------
needs_chromium = pytest.mark.skipif(chromium_cdp.chromium_binary() is None,
                                    reason="chromium is not installed (apt-get install -y chromium; the Makefile's "
                                           "test setup target does it)")


@needs_chromium
def test_report_opens_in_headless_chromium_without_errors(written, tmp_path):
    shot = ARTIFACTS / "report-2026-11-20.png"
    loaded = chromium_cdp.load_page(
        written.as_uri(), profile_dir=tmp_path / "chromium-profile", screenshot=shot,
        evaluate="[document.title, document.querySelectorAll('svg polyline').length, "
                 "performance.getEntriesByType('resource').length]")
    print(f"report screenshot: {shot}")
    assert loaded.errors == []
    assert loaded.requests == [written.as_uri()]  # the page itself, nothing else
    title, polylines, resources = loaded.evaluated
    assert title == "storekpi — nightly report 2026-11-20"
    assert polylines >= 12 and resources == 0
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert int.from_bytes(png[20:24], "big") > 2000  # the full page, not a viewport


@needs_chromium
def test_the_browser_check_does_catch_errors_and_network_requests(tmp_path):
    """Control: the harness must see what the report test asserts is absent."""
    page = tmp_path / "broken.html"
    page.write_text('<!DOCTYPE html><script>console.error("boom"); missing_function();</script>'
                    '<img src="http://example.invalid/pixel.png">', encoding="utf-8")
    loaded = chromium_cdp.load_page(page.as_uri(), profile_dir=tmp_path / "profile")
    assert any("console.error: boom" in e for e in loaded.errors)
    assert any("missing_function" in e for e in loaded.errors)
    assert "http://example.invalid/pixel.png" in loaded.requests

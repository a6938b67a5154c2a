"""The report's marketing section, rendered from the hand landing's marts."""

from __future__ import annotations

import re

import pandas as pd
from marketing_landing import D, STORES_YML

from storekpi import config as store_config
from storekpi import report


def _store_html(page: str, store_id: str) -> str:
    start = page.index(f'id="store-{store_id}"')
    end = page.find('<section class="store"', start + 1)
    return page[start:end if end > 0 else len(page)]


def test_marketing_section_per_store(marketing_duckdb, tmp_path):
    (tmp_path / "stores.yml").write_text(STORES_YML, encoding="utf-8")
    config = store_config.load(tmp_path / "stores.yml")
    page = report.write_report(marketing_duckdb, D, config, tmp_path / "reports").read_text(encoding="utf-8")
    shop = _store_html(page, "shop_us")
    assert 'id="store-shop_us-marketing"' in shop
    # visitors by channel on 11-19: direct 900, organic_search 260, other 5 (Podcast), social 0
    table = shop[shop.index("Visitors by channel on 2026-11-19"):shop.index("Campaigns on")]
    assert [c for c in re.findall(r"<td>([a-z_]+)</td>", table)] == ["direct", "organic_search", "other", "social"]
    assert "<td class=\"num\">900</td>" in table and "9.0 %" in table  # 900 / 10,001
    # the stacked chart has one bar segment per channel and day with visitors: 4 on 11-18 and 3 on 11-19
    chart = shop[shop.index('class="stacked"'):]
    chart = chart[:chart.index("</svg>")]
    assert len(re.findall(r"<rect [^>]*><title>2026-11-1[89] ", chart)) == 7
    # campaigns by spend: PMax 200.00, then Meta 200.00 (ties by platform), then Search - Brand 50.00
    campaigns = shop[shop.index("Campaigns on 2026-11-19"):]
    order = [c for c in ("PMax - Catalog", "BF Prospecting", "Search - Brand") if c in campaigns]
    assert sorted(order, key=campaigns.index) == ["PMax - Catalog", "BF Prospecting", "Search - Brand"]
    assert "MER (net sales / ad spend)" in shop and "Ad-spend share of net sales" in shop
    erp = _store_html(page, "erp_shop")
    assert "No ad-spend export for this store." in erp and "MER (net sales" not in erp
    extracts = pd.read_csv(tmp_path / "reports" / D.isoformat() / "ad_campaign_daily.csv", encoding="utf-8-sig")
    assert len(extracts) == 5  # the campaign-days of 11-19

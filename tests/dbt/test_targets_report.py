"""The report's targets parts on the session's built marts: a scorecard section per role, a pacing section per store."""

from __future__ import annotations

import re
from datetime import date

from storekpi import config as store_config
from storekpi import report

from dbt_rawdata import RUN_DATE

STORES_YML = """
stores:
  - {id: shop, name: "Shop", platform: shopify, currency: USD}
  - {id: tmall, name: "Tmall", platform: taobao, currency: CNY}
  - {id: gen, name: "Gen", platform: generic, currency: EUR}
"""


def _between(page: str, start: str, end: str) -> str:
    i = page.index(start)
    return page[i:page.index(end, i + len(start))]


def test_scorecards_per_role_and_pacing_per_store(duckdb_build, tmp_path):
    wh, _, _ = duckdb_build
    path = tmp_path / "stores.yml"
    path.write_text(STORES_YML, encoding="utf-8")
    config = store_config.load(path)
    page = report.write_report(wh, RUN_DATE, config, tmp_path / "reports", {"status": "published"}).read_text(
        encoding="utf-8")
    for role in ("ops", "marketing", "merchandiser", "customer_service", "data"):
        assert f'id="scorecard-{role}"' in page
    ops = _between(page, 'id="scorecard-ops"', 'id="scorecard-merchandiser"')
    # shop's weekly and monthly orders per day, as the mart has them, side by side
    week = wh.query("select actual from marts.role_scorecards where store_id = 'shop' and kpi = 'orders_per_day' "
                    "and period_type = 'week' and period_start = ?", [date(2026, 11, 16)])[0][0]
    month = wh.query("select actual from marts.role_scorecards where store_id = 'shop' and kpi = 'orders_per_day' "
                     "and period_type = 'month' and period_start = ?", [date(2026, 11, 1)])[0][0]
    row = re.search(r"<tr><td>Shop</td><td>Orders per day</td>.*?</tr>", ops).group(0)
    assert f"{week:,.2f}" in row and f"{month:,.2f}" in row
    assert "Week 2026-W47 (2026-11-16 to 2026-11-22)" in page
    # pacing: shop has five targets for November (one chart each), tmall one, gen none
    shop = _between(page, 'id="store-shop-pacing"', 'id="store-shop-quality"')
    assert shop.count("cumulative share of target") == 4  # no ad data: ad_spend gets no chart (not a line at 0)
    assert "ad_spend" in shop  # ... but its row in the table, with – for the missing numbers
    tmall = _between(page, 'id="store-tmall-pacing"', 'id="store-tmall-quality"')
    assert tmall.count("<svg") == 1 and "orders" in tmall
    gen = _between(page, 'id="store-gen-pacing"', 'id="store-gen-quality"')
    assert "No monthly targets for 2026-11" in gen
    # the CSV extracts: every targeted month up to D, and the scorecards of the week and month holding D
    day_dir = tmp_path / "reports" / RUN_DATE.isoformat()
    pacing = (day_dir / "target_pacing.csv").read_text(encoding="utf-8-sig").splitlines()
    assert len(pacing) - 1 == wh.query("select count(*) from marts.target_pacing")[0][0] == 11
    cards = (day_dir / "role_scorecards.csv").read_text(encoding="utf-8-sig").splitlines()
    assert len(cards) - 1 == 3 * 2 * 16  # 3 stores with KPI days x (week, month) x 16 KPIs

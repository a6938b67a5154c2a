"""The marketing gates on the built hand landing, and on frames that break them."""

from __future__ import annotations

import pandas as pd

from storekpi.quality import marketing
from storekpi.quality.gx_runner import evaluate


def _by_name(results):
    return {(r.suite, r.expectation, r.column_name): r for r in results}


def test_the_hand_landing_passes_every_blocking_marketing_gate(marketing_duckdb):
    results = evaluate(marketing.batches(marketing_duckdb))
    assert results and all(r.success for r in results if r.blocking)
    unmapped = [r for r in results if r.expectation == "expect_traffic_sources_to_map_to_a_channel"]
    assert len(unmapped) == 1 and not unmapped[0].success and not unmapped[0].blocking
    assert unmapped[0].unexpected_count == 1  # only shop_us 'Podcast / Acme FM'
    assert "Podcast" in str(unmapped[0].details)
    clicks = [r for r in results if r.column_name == "impressions, clicks"]
    assert clicks and clicks[0].success  # PMax's '--' impressions and clicks are skipped, not compared


def test_duplicates_negative_spend_block_and_clicks_above_impressions_only_warn(marketing_duckdb):
    batches = marketing.batches(marketing_duckdb)
    campaigns = next(b for b in batches if b.name == "ad_campaign_daily")
    campaigns.frame = pd.DataFrame({
        "store_id": ["s", "s", "s"], "date": ["2026-11-19"] * 3, "ad_platform": ["x", "x", "y"],
        "campaign": ["A", "A", "B"], "spend": [1.0, 2.0, -0.01], "impressions": [10.0, 10.0, 5.0],
        "clicks": [1.0, 1.0, 6.0]})
    got = {(r.column_name, r.blocking, r.success) for r in evaluate([campaigns])}
    assert ("store_id, date, ad_platform, campaign", True, False) in got
    assert ("spend", True, False) in got
    assert ("impressions, clicks", False, False) in got  # a warning, never blocking
    assert ("clicks", True, True) in got and ("impressions", True, True) in got

"""The marketing gates on the built hand landing, and on frames that break them."""

from __future__ import annotations

import shutil

from storekpi.quality import marketing
from storekpi.quality.gx_runner import evaluate
from storekpi.quality.sql_checks import expand
from storekpi.warehouse import Target, Warehouse


def _by_name(results):
    return {(r.suite, r.expectation, r.column_name): r for r in results}


def test_the_hand_landing_passes_every_blocking_marketing_gate(marketing_duckdb):
    results = evaluate(expand(marketing_duckdb, marketing.batches(marketing_duckdb)))
    assert results and all(r.success for r in results if r.blocking)
    unmapped = [r for r in results if r.expectation == "expect_traffic_sources_to_map_to_a_channel"]
    assert len(unmapped) == 1 and not unmapped[0].success and not unmapped[0].blocking
    assert unmapped[0].unexpected_count == 1  # only shop_us 'Podcast / Acme FM'
    assert "Podcast" in str(unmapped[0].details)
    clicks = [r for r in results if r.column_name == "impressions, clicks"]
    assert clicks and clicks[0].success  # PMax's '--' impressions and clicks are skipped, not compared


def test_duplicates_negative_spend_block_and_clicks_above_impressions_only_warn(marketing_duckdb, tmp_path):
    path = tmp_path / "warehouse.duckdb"  # the shared fixture is read-only: break a copy
    shutil.copy(marketing_duckdb.path, path)
    with Warehouse(Target(str(path)), path=path) as wh:
        _break_campaigns_and_check(wh)


def _break_campaigns_and_check(wh):
    wh.execute(f"delete from {wh.marts_schema}.ad_campaign_daily")
    wh.execute(f"""insert into {wh.marts_schema}.ad_campaign_daily
        (store_id, "date", ad_platform, campaign, spend, impressions, clicks) values
        ('s', date '2026-11-19', 'x', 'A', 1.0, 10, 1), ('s', date '2026-11-19', 'x', 'A', 2.0, 10, 1),
        ('s', date '2026-11-19', 'y', 'B', -0.01, 5, 6)""")
    campaigns = [b for b in marketing.batches(wh) if b.name == "ad_campaign_daily"]
    got = {(r.column_name, r.blocking, r.success, r.unexpected_count) for r in evaluate(expand(wh, campaigns))}
    assert ("store_id, date, ad_platform, campaign", True, False, 2) in got
    assert ("spend", True, False, 1) in got
    assert ("impressions, clicks", False, False, 1) in got  # a warning, never blocking
    assert ("clicks", True, True, 0) in got and ("impressions", True, True, 0) in got

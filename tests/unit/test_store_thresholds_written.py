"""targets.md: what the pipeline writes from stores.yml for dbt (raw.stores, raw.store_thresholds, raw.monthly_targets).

Without any of the new keys every store gets one open phase holding exactly its raw.stores thresholds, which is what
keeps every mart as it was (each mart joins the phase holding its row's date)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from storekpi import config, pipeline, schema
from storekpi.warehouse import Target, Warehouse

PLAIN = """
defaults: {thresholds: {daily_orders_min: 25}}
stores:
  - {id: a, platform: generic, currency: EUR, thresholds: {daily_orders_min: 9, cover_days_min: 3}}
  - {id: b, platform: shopify, currency: USD}
"""
PLANNED = """
defaults:
  targets: [{from: 2026-11-10, daily_orders_min: 40}]
  monthly_targets: {"2026-11": {orders: 900, ad_budget: 3000}}
  goals: {daily_orders: 200}
stores:
  - id: a
    platform: generic
    currency: EUR
    thresholds: {daily_orders_min: 9}
    targets: [{from: 2026-11-15, conversion_rate_min: 0.03}]
    monthly_targets: {"2026-11": {orders: 100}}
  - {id: b, platform: shopify, currency: USD}
"""


def _written(tmp_path, text):
    path = tmp_path / "stores.yml"
    path.write_text(text, encoding="utf-8")
    target = Target(str(tmp_path / "w.duckdb"))
    with Warehouse(target, path=target.path) as wh:
        wh.ensure_schema()
        pipeline._write_store_config(wh, config.load(path), 2026, 2027)
        return {t: wh.query_df(f"select * from raw.{t}") for t in ("stores", "store_thresholds", "monthly_targets")}


def test_without_new_keys_one_open_phase_equal_to_raw_stores(tmp_path):
    raw = _written(tmp_path, PLAIN)
    phases = raw["store_thresholds"].sort_values("store_id").reset_index(drop=True)
    stores = raw["stores"].sort_values("store_id").reset_index(drop=True)
    assert list(phases["store_id"]) == ["a", "b"]
    assert all(str(v)[:10] == schema.PHASE_START for v in phases["valid_from"]) and phases["valid_to"].isna().all()
    for column in schema.THRESHOLD_COLUMNS:
        assert phases[column].astype(float).tolist() == stores[column].astype(float).tolist(), column
    assert stores["goal_daily_orders"].isna().all() and raw["monthly_targets"].empty


def test_phases_goals_and_monthly_targets_as_written(tmp_path):
    raw = _written(tmp_path, PLANNED)
    phases = raw["store_thresholds"]
    a = phases[phases.store_id == "a"].sort_values("valid_from")
    # a: its own thresholds beat the defaults' 11-10 phase; its own phase from 11-15 changes conversion only
    assert [str(v)[:10] for v in a["valid_from"]] == [schema.PHASE_START, "2026-11-15"]
    assert str(a["valid_to"].iloc[0])[:10] == "2026-11-15" and a["valid_to"].isna().iloc[1]
    assert a["daily_orders_min"].tolist() == [9, 9] and a["conversion_rate_min"].tolist() == [0.02, 0.03]
    b = phases[phases.store_id == "b"].sort_values("valid_from")
    assert b["daily_orders_min"].tolist() == [30, 40]
    assert [str(v)[:10] for v in b["valid_from"]] == [schema.PHASE_START, "2026-11-10"]
    targets = {(r.store_id, r.metric): r.target for r in raw["monthly_targets"].itertuples()}
    assert targets == {("a", "orders"): 100, ("a", "ad_budget"): 3000, ("b", "orders"): 900, ("b", "ad_budget"): 3000}
    assert set(str(m)[:10] for m in raw["monthly_targets"]["month"]) == {date(2026, 11, 1).isoformat()}
    assert raw["stores"].set_index("store_id")["goal_daily_orders"].tolist() == [200, 200]


def test_dbt_staging_lists_every_threshold_column():
    """stg_stores and stg_store_thresholds take their threshold columns from one macro: it must name each one."""
    import re

    macro = (Path(__file__).resolve().parents[2] / "dbt" / "macros" / "threshold_columns.sql").read_text()
    listed = re.findall(r"'([a-z_]+)'", macro.split("return(", 1)[1])
    assert listed == schema.THRESHOLD_COLUMNS

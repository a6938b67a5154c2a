"""targets.md: dated threshold phases, goals and monthly targets in stores.yml; errors name the key and store."""

from __future__ import annotations

from datetime import date

import pytest

from storekpi import config
from storekpi.errors import ConfigError

SPEC_EXAMPLE = """
defaults:
  thresholds: {pacing_min: 0.9, budget_tolerance: 0.10, refund_rate_max: 0.05}
  targets:
    - {from: 2026-02-01, daily_orders_min: 30}
    - {from: 2026-12-13, daily_orders_min: 50}
  goals: {daily_orders: 200}
  monthly_targets:
    "2026-11": {net_sales: 60000, orders: 900, visitors: 40000, ad_budget: 3000}
stores:
  - id: tmall_cn
    platform: taobao
    currency: CNY
    targets: [{from: 2026-11-01, daily_orders_min: 40, conversion_rate_min: 0.025}]
    monthly_targets: {"2026-11": {orders: 1000}, "2026-12": {net_sales: 5}}
  - id: own_threshold
    platform: generic
    currency: EUR
    thresholds: {daily_orders_min: 12}
  - id: plain
    platform: generic
    currency: EUR
"""


def _load(tmp_path, text):
    path = tmp_path / "stores.yml"
    path.write_text(text, encoding="utf-8")
    return config.load(path)


def test_precedence_of_phases_and_thresholds(tmp_path):
    cfg = _load(tmp_path, SPEC_EXAMPLE)
    plain, tmall, own = cfg.get("plain"), cfg.get("tmall_cn"), cfg.get("own_threshold")
    # defaults' targets over the built-in 30 (the same value until 12-13, then 50)
    assert plain.thresholds_on(date(2026, 1, 31))["daily_orders_min"] == 30
    assert plain.thresholds_on(date(2026, 12, 12))["daily_orders_min"] == 30
    assert plain.thresholds_on(date(2026, 12, 13))["daily_orders_min"] == 50
    # the store's own targets beat the defaults' later phase too
    assert tmall.thresholds_on(date(2026, 10, 31))["daily_orders_min"] == 30
    assert tmall.thresholds_on(date(2026, 10, 31))["conversion_rate_min"] == 0.02
    assert tmall.thresholds_on(date(2026, 11, 1))["daily_orders_min"] == 40
    assert tmall.thresholds_on(date(2026, 12, 20))["daily_orders_min"] == 40
    assert tmall.thresholds_on(date(2026, 12, 20))["conversion_rate_min"] == 0.025
    # the store's thresholds beat the defaults' targets
    assert own.thresholds_on(date(2026, 12, 20))["daily_orders_min"] == 12
    assert plain.goals == {"daily_orders": 200}
    assert plain.thresholds["pacing_min"] == 0.9 and plain.thresholds["refund_rate_max"] == 0.05


def test_monthly_targets_merge_key_by_key(tmp_path):
    cfg = _load(tmp_path, SPEC_EXAMPLE)
    assert cfg.get("tmall_cn").monthly_targets == {
        "2026-11": {"net_sales": 60000, "orders": 1000, "visitors": 40000, "ad_budget": 3000},
        "2026-12": {"net_sales": 5}}
    assert cfg.get("plain").monthly_targets["2026-11"]["orders"] == 900


def test_without_new_keys_one_phase_equal_to_thresholds(tmp_path):
    cfg = _load(tmp_path, "stores:\n  - {id: s, platform: generic, currency: EUR, thresholds: {daily_orders_min: 9}}\n")
    store = cfg.get("s")
    assert store.phases == ((None, store.thresholds),)
    assert store.goals == {} and store.monthly_targets == {}


@pytest.mark.parametrize("store_keys, expected", [
    ("targets: [{from: not-a-date, daily_orders_min: 3}]", "store 's'.targets[0].from must be a date"),
    ("targets: [{from: 2026-03-01, daily_orders_min: 3}, {from: 2026-02-01, daily_orders_min: 4}]",
     "store 's'.targets[1].from 2026-02-01 is not after the previous phase's 2026-03-01"),
    ("targets: [{from: 2026-03-01, daily_order_min: 3}]", "store 's'.targets[0]: unknown threshold 'daily_order_min'"),
    ("targets: [{from: 2026-03-01}]", "store 's'.targets[0] sets no threshold"),
    ("monthly_targets: {'2026-11': {sales: 3}}", "store 's'.monthly_targets.2026-11: unknown metric 'sales'"),
    ("monthly_targets: {'2026-13': {orders: 3}}", "month '2026-13' is not YYYY-MM"),
    ("monthly_targets: {'2026-11': {orders: -1}}", "store 's'.monthly_targets.2026-11.orders must be a number"),
    ("goals: {daily_orders: 0}", "store 's'.goals.daily_orders must be a number above 0"),
    ("thresholds: {refund_rate_max: 2}", "store 's'.thresholds.refund_rate_max must be at least 0"),
])
def test_errors_name_key_and_store(tmp_path, store_keys, expected):
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, f"stores:\n  - id: s\n    platform: generic\n    currency: EUR\n    {store_keys}\n")
    assert expected in str(err.value)


def test_defaults_phase_error_names_defaults(tmp_path):
    with pytest.raises(ConfigError, match=r"defaults.targets\[0\].from must be a date"):
        _load(tmp_path, "defaults: {targets: [{from: '01.02.2026', daily_orders_min: 3}]}\n"
                        "stores: [{id: s, platform: generic, currency: EUR}]\n")

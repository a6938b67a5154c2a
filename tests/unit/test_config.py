"""stores.yml: defaults merge key by key, promo days add up, errors name the file and key."""

from __future__ import annotations

from datetime import date

import pytest

from storekpi import config
from storekpi.errors import ConfigError

SPEC_EXAMPLE = """
defaults:
  timezone: UTC
  thresholds:
    conversion_rate_min: 0.02
    positive_review_rate_min: 0.985
    daily_orders_min: 30
    cover_days_min: 7
    discount_floor: 0.70
    max_quarantine_share: 0.05
  promo_days: ["06-18", "11-11", "12-12"]
  recipients:
    ops: [ops@example.com]
    merchandiser: []
    marketing: []
    customer_service: []
    data: [data@example.com]
stores:
  - id: tmall_flagship
    name: "Tmall flagship"
    platform: taobao
    timezone: Asia/Shanghai
    currency: CNY
    thresholds: {daily_orders_min: 200}
    promo_days: ["2026-11-13"]
    recipients: {ops: [boss@example.com]}
  - id: us_store
    platform: shopify
    currency: USD
"""


def _load(tmp_path, text):
    path = tmp_path / "stores.yml"
    path.write_text(text, encoding="utf-8")
    return config.load(path)


def test_spec_example_merges_defaults(tmp_path):
    cfg = _load(tmp_path, SPEC_EXAMPLE)
    tmall = cfg.get("tmall_flagship")
    assert tmall.thresholds["daily_orders_min"] == 200
    assert tmall.thresholds["discount_floor"] == 0.70
    assert tmall.timezone == "Asia/Shanghai"
    tmall_days = tmall.promo_dates(2025, 2026)
    assert date(2026, 11, 13) in tmall_days and date(2025, 11, 11) in tmall_days
    assert date(2026, 11, 12) not in tmall_days
    us = cfg.get("us_store")
    assert us.timezone == "UTC" and us.name == "us_store" and us.thresholds["daily_orders_min"] == 30
    assert date(2026, 11, 13) not in us.promo_dates(2026, 2026)
    assert cfg.recipients("ops") == {"boss@example.com": {"tmall_flagship"}, "ops@example.com": {"us_store"}}
    assert cfg.recipients("data") == {"data@example.com": {"tmall_flagship", "us_store"}}


def test_promo_dates_expand_per_year(tmp_path):
    store = _load(tmp_path, SPEC_EXAMPLE).get("tmall_flagship")
    days = store.promo_dates(2025, 2026)
    assert date(2025, 6, 18) in days and date(2026, 12, 12) in days and date(2026, 11, 13) in days
    assert len(days) == 7


@pytest.mark.parametrize("text, needle", [
    ("stores: []", "non-empty"),
    ("stores:\n  - {id: Bad-Id, platform: shopify, currency: USD}", "[a-z0-9_]+"),
    ("stores:\n  - {id: a, platform: amazon, currency: USD}", "platform"),
    ("stores:\n  - {id: a, platform: shopify, currency: USD, timezone: Mars/Base}", "Mars/Base"),
    ("stores:\n  - {id: a, platform: shopify}", "currency"),
    ("stores:\n  - {id: a, platform: shopify, currency: USD, thresholds: {daily_orders: 3}}", "daily_orders"),
    ("stores:\n  - {id: a, platform: shopify, currency: USD, thresholds: {cover_days_min: x}}", "cover_days_min"),
    ("stores:\n  - {id: a, platform: shopify, currency: USD, promo_days: ['13-45']}", "13-45"),
    ("stores:\n  - {id: a, platform: shopify, currency: USD}\n  - {id: a, platform: shopify, currency: USD}",
     "twice"),
    ("stores: [", "YAML"),
])
def test_errors_name_the_key(tmp_path, text, needle):
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, text)
    assert needle in str(err.value) and "stores.yml" in str(err.value)


@pytest.mark.parametrize("now_utc, open_ids", [
    ("2026-11-20T15:59:59", ["tmall_flagship", "us_store"]),  # Shanghai's 11-20 ends at 16:00 UTC
    ("2026-11-20T16:00:00", ["us_store"]),
    ("2026-11-20T23:59:59", ["us_store"]),  # UTC's ends at midnight UTC
    ("2026-11-21T00:00:00", []),
])
def test_open_days_are_the_stores_whose_local_day_has_not_ended(tmp_path, now_utc, open_ids):
    from datetime import datetime, timezone

    from storekpi.pipeline import open_days

    now = datetime.fromisoformat(now_utc).replace(tzinfo=timezone.utc)
    assert [s.id for s in open_days(_load(tmp_path, SPEC_EXAMPLE), date(2026, 11, 20), now)] == open_ids


MERCH = """
defaults:
  hero_skus: [MUG-BLU, TEE-1]
  thresholds: {service_level: 0.9, lead_time_days: 5}
stores:
  - {id: a, platform: shopify, currency: USD}
  - {id: b, platform: shopify, currency: USD, hero_skus: ["X-1"], thresholds: {service_level: 0.975}}
  - {id: c, platform: shopify, currency: USD, hero_skus: []}
"""


def test_merchandising_keys_merge_and_the_normal_quantile_is_computed_not_looked_up(tmp_path):
    from scipy.stats import norm

    cfg = _load(tmp_path, MERCH)
    a, b, c = cfg.get("a"), cfg.get("b"), cfg.get("c")
    assert a.hero_skus == ("MUG-BLU", "TEE-1") and b.hero_skus == ("X-1",) and c.hero_skus == ()
    assert a.thresholds["lead_time_days"] == 5 and a.thresholds["hero_min_on_hand"] == 30
    assert a.thresholds["promo_horizon_days"] == 14 and a.thresholds["dead_stock_days"] == 60
    assert a.service_level_z == pytest.approx(norm.ppf(0.9), abs=1e-9)
    assert b.service_level_z == pytest.approx(norm.ppf(0.975), abs=1e-9)
    plain = _load(tmp_path, "stores:\n  - {id: d, platform: shopify, currency: USD}").get("d")
    assert plain.service_level_z == pytest.approx(1.6449, abs=1e-4) and plain.hero_skus == ()  # the defaults


@pytest.mark.parametrize("thresholds, needle", [
    ("{service_level: 0.5}", "service_level"),
    ("{service_level: 1.0}", "service_level"),
    ("{lead_time_days: 0}", "lead_time_days"),
    ("{dead_stock_days: 7.5}", "dead_stock_days"),
    ("{hero_min_on_hand: -1}", "hero_min_on_hand"),
    ("{promo_horizon_day: 14}", "promo_horizon_day"),
])
def test_merchandising_thresholds_out_of_range_name_the_key(tmp_path, thresholds, needle):
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, f"stores:\n  - {{id: a, platform: shopify, currency: USD, thresholds: {thresholds}}}")
    assert needle in str(err.value) and "'a'" in str(err.value)


def test_hero_skus_must_be_a_list(tmp_path):
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, "stores:\n  - {id: a, platform: shopify, currency: USD, hero_skus: MUG-BLU}")
    assert "hero_skus" in str(err.value) and "'a'" in str(err.value)
def test_date_order_and_history_start(tmp_path):
    cfg = _load(tmp_path, """
defaults: {date_order: dmy}
stores:
  - {id: a, platform: shopify, currency: USD, history_start: 2021-03-01}
  - {id: b, platform: shopify, currency: USD, date_order: mdy, history_start: "2019-07-15"}
  - {id: c, platform: generic, currency: EUR}
""")
    a, b, c = cfg.stores
    assert (a.date_order, a.history_start, a.earliest_date) == ("dmy", date(2021, 3, 1), date(2021, 3, 1))
    assert (b.date_order, b.earliest_date) == ("mdy", date(2019, 7, 15))
    assert (c.history_start, c.earliest_date) == (None, date(2000, 1, 1))  # the floor for every store


def test_history_start_before_2000_keeps_the_2000_floor(tmp_path):
    cfg = _load(tmp_path, "stores:\n  - {id: a, platform: shopify, currency: USD, history_start: 1990-01-01}\n")
    assert cfg.stores[0].earliest_date == date(2000, 1, 1)


@pytest.mark.parametrize(("entry", "needle"), [
    ("date_order: ymd", "store 'a': date_order must be one of dmy, mdy, got 'ymd'"),
    ("history_start: soon", "store 'a': history_start must be a date like 2021-01-01, got 'soon'"),
    ("history_start: '2021-02-30'", "store 'a': history_start must be a date"),
    ("history_start: 2021-02-30", "not valid YAML: day is out of range for month"),
])
def test_bad_date_keys_name_the_store_and_key(tmp_path, entry, needle):
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, f"stores:\n  - id: a\n    platform: shopify\n    currency: USD\n    {entry}\n")
    assert needle in str(caught.value) and "stores.yml" in str(caught.value)

"""stores.yml keys of kpis.md "Order facts": prices_include_tax and cash_on_delivery."""

from __future__ import annotations

from datetime import date

import pytest

from storekpi import config
from storekpi.errors import ConfigError

YAML = """
defaults:
  cash_on_delivery: true
stores:
  - {id: eu_shop, platform: shopify, currency: EUR, prices_include_tax: true}
  - {id: us_shop, platform: shopify, currency: USD, prices_include_tax: false, cash_on_delivery: false}
  - {id: any_shop, platform: generic, currency: INR}
"""


def load(tmp_path, text):
    path = tmp_path / "stores.yml"
    path.write_text(text)
    return config.load(path)


def test_flags_merge_over_the_defaults_and_stay_unset_when_absent(tmp_path):
    stores = load(tmp_path, YAML)
    assert [(s.id, s.prices_include_tax, s.cash_on_delivery) for s in stores.stores] == [
        ("eu_shop", True, True), ("us_shop", False, False), ("any_shop", None, True)]


def test_without_the_keys_orders_decide_and_nothing_is_cash_on_delivery(tmp_path):
    store = load(tmp_path, "stores:\n  - {id: s, platform: shopify, currency: USD}\n").get("s")
    assert (store.prices_include_tax, store.cash_on_delivery) == (None, False)


@pytest.mark.parametrize("key", ["prices_include_tax", "cash_on_delivery"])
def test_a_flag_that_is_not_true_or_false_names_store_and_key(tmp_path, key):
    with pytest.raises(ConfigError, match=f"store 's': {key} must be true or false, got 'yes please'"):
        load(tmp_path, f"stores:\n  - {{id: s, platform: shopify, currency: USD, {key}: yes please}}\n")


def test_mm_dd_promo_days_expand_over_every_year_data_can_cover():
    store = config.Store("s", "s", "shopify", "UTC", "USD", {}, ("11-11",))
    days = store.promo_dates(config.EARLIEST_DATE.year, 2027)
    assert days[0] == date(2000, 11, 11) and days[-1] == date(2027, 11, 11) and len(days) == 28

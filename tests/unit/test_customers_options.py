"""customers.md's small contracts: the loyal_min_orders threshold in stores.yml and the --segment option."""

from __future__ import annotations

import pytest

from storekpi import config, customers
from storekpi.errors import ConfigError

STORES = """
defaults:
  thresholds: {{loyal_min_orders: {default}}}
stores:
  - {{id: shop, platform: shopify, currency: USD, thresholds: {{loyal_min_orders: {store}}}}}
  - {{id: other, platform: generic, currency: EUR}}
"""


def _load(tmp_path, default, store):
    path = tmp_path / "stores.yml"
    path.write_text(STORES.format(default=default, store=store), encoding="utf-8")
    return config.load(path)


def test_loyal_min_orders_defaults_to_3_and_merges_per_store(tmp_path):
    assert config.DEFAULT_THRESHOLDS["loyal_min_orders"] == 3
    loaded = _load(tmp_path, 4, 2)
    assert loaded.get("shop").thresholds["loyal_min_orders"] == 2
    assert loaded.get("other").thresholds["loyal_min_orders"] == 4


@pytest.mark.parametrize("value", ["0", "2.5", "'three'", "true"])
def test_loyal_min_orders_must_be_a_whole_number_of_at_least_1(tmp_path, value):
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, 3, value)
    assert "store 'shop'.thresholds.loyal_min_orders" in str(err.value)


def test_segments_are_parsed_in_order_and_unknown_ones_name_the_option():
    assert customers.parse_segments("at_risk, loyal,at_risk") == ["at_risk", "loyal"]
    with pytest.raises(ConfigError) as err:
        customers.parse_segments("loyal,vip")
    assert str(err.value).startswith("--segment: unknown segment 'vip'") and "one_off" in str(err.value)
    with pytest.raises(ConfigError):
        customers.parse_segments(" , ")

"""stores.yml keys of marketing.md: channels and the two ROAS thresholds."""

from __future__ import annotations

import pytest

from storekpi import config
from storekpi.errors import ConfigError

BASE = """\
defaults:
  channels: {Newsletter: email, " 手淘直播 ": marketplace}
  thresholds: {roas_min: 3}
stores:
  - id: a
    platform: taobao
    currency: CNY
    channels: {newsletter: referral}
    thresholds: {min_campaign_spend: 20}
  - {id: b, platform: shopify, currency: USD}
"""


def _load(tmp_path, text):
    (tmp_path / "stores.yml").write_text(text, encoding="utf-8")
    return config.load(tmp_path / "stores.yml")


def test_channels_merge_over_defaults_and_thresholds_have_defaults(tmp_path):
    cfg = _load(tmp_path, BASE)
    a, b = cfg.get("a"), cfg.get("b")
    assert a.channels == {"newsletter": "referral", "手淘直播": "marketplace"}  # trimmed, lower-case, store wins
    assert b.channels == {"newsletter": "email", "手淘直播": "marketplace"}
    assert (a.thresholds["roas_min"], a.thresholds["min_campaign_spend"]) == (3, 20)
    assert (b.thresholds["roas_min"], b.thresholds["min_campaign_spend"]) == (3, 50)


def test_unknown_channel_names_the_store_and_the_source(tmp_path):
    with pytest.raises(ConfigError, match=r"store 'a'\.channels\.newsletter: unknown channel 'newsletters'"):
        _load(tmp_path, BASE.replace("newsletter: referral", "newsletter: newsletters"))


def test_roas_threshold_must_be_a_number(tmp_path):
    with pytest.raises(ConfigError, match=r"defaults.thresholds.roas_min must be a number"):
        _load(tmp_path, BASE.replace("roas_min: 3", "roas_min: high"))

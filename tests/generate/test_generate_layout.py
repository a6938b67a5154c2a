"""stores.yml, the folder layout, determinism and the summary."""

from __future__ import annotations

import hashlib
import json
from datetime import date

import pytest

from storekpi import config, landing as landing_mod
from storekpi.errors import ConfigError
from storekpi.generate import DEFAULT_END_DATE, generate
from storekpi.landing import DATASETS


def _digests(root) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_stores_yml_loads_with_config(landing):
    cfg = config.load(landing / "stores.yml")
    assert [(s.id, s.platform) for s in cfg.stores] == [
        ("us_shopify", "shopify"), ("tmall_flagship", "taobao"), ("eu_erp", "generic")]
    tmall = cfg.get("tmall_flagship")
    assert (tmall.timezone, tmall.currency) == ("Asia/Shanghai", "CNY")
    assert "天猫旗舰店" in tmall.name
    assert {date(2026, 11, 11), date(2026, 11, 1)} <= set(tmall.promo_dates(2026, 2026))
    for store in cfg.stores:
        assert set(store.recipients) == set(config.ROLES), store.id
        addresses = [a for role in config.ROLES for a in store.recipients[role]]
        assert addresses and all(a.endswith("@example.com") for a in addresses)
    assert cfg.recipients("ops") == {"us-ops@example.com": {"us_shopify"}, "tmall-ops@example.com": {"tmall_flagship"},
                                     "eu-ops@example.com": {"eu_erp"}}


def test_layout_matches_discover(landing, summary):
    cfg = config.load(landing / "stores.yml")
    found = landing_mod.discover(landing, cfg, DEFAULT_END_DATE)
    on_disk = [p for p in landing.rglob("*") if p.is_file() and p.parent != landing]
    assert len(found) == len(on_disk) == summary["files"]
    for store in cfg.ids:
        assert {f.dataset for f in found if f.store_id == store} == set(DATASETS), store
    # a run for an earlier date sees only folders dated up to it
    early = landing_mod.discover(landing, cfg, date(2026, 11, 1))
    assert early and max(f.export_date for f in early) == date(2026, 11, 1)
    assert not landing_mod.missing_store_folders(landing, cfg)


def test_summary_is_json_and_counts_rows(summary):
    assert json.loads(json.dumps(summary)) == summary
    assert summary["stores"] == 3 and summary["end_date"] == "2026-11-20" and summary["start_date"] == "2026-10-07"
    assert summary["lines"] > 10_000
    placed = sorted(case for cases in summary["bad_cells"].values() for case in cases)
    assert placed == sorted(["negative_quantity", "non_integer_quantity", "unparseable_date",
                             "unparseable_amount"] * 3)


def test_same_arguments_give_the_same_bytes(tmp_path):
    args = dict(stores=4, days=16, seed=3, orders_per_day=6)  # four stores: the platform cycle restarts
    first, second = tmp_path / "a", tmp_path / "b"
    generate(first, **args)
    generate(second, **args)
    a, b = _digests(first), _digests(second)
    assert a == b
    assert any(p.endswith(".xlsx") for p in a) and any(p.endswith(".parquet") for p in a)
    assert any(p.endswith(".gz") for p in a)
    assert "us_shopify_2/orders/2026-11-20/orders_export_1.csv" in a
    generate(second, **{**args, "seed": 4})  # replaces its own earlier output, and a new seed changes it
    assert _digests(second) != a


def test_refuses_a_folder_it_did_not_write(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="--out"):
        generate(tmp_path, days=2)
    assert (tmp_path / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize("option", ["stores", "days", "orders_per_day"])
def test_bad_arguments_name_the_option(tmp_path, option):
    with pytest.raises(ConfigError, match=f"--{option.replace('_', '-')}"):
        generate(tmp_path / "x", **{option: 0})

"""The demo data (storekpi generate) built on PostgreSQL gives the marketing marts DuckDB gives, row for row."""

from __future__ import annotations

from datetime import date

import pytest

from storekpi import config as store_config
from storekpi import dbt_runner, landing as landing_mod, pipeline
from storekpi.generate import generate
from storekpi.ingest import ingest
from storekpi.warehouse import Target, Warehouse
from tests.dbt.table_frames import assert_same_rows, fetch, normalised
from tests.pg import temp_database

pytestmark = pytest.mark.postgres
D = date(2026, 11, 20)
MARTS = {"traffic_sources_daily": ["store_id", "date", "source", "source_detail"],
         "ad_campaign_daily": ["store_id", "date", "ad_platform", "campaign"],
         "kpi_store_daily": ["store_id", "date"], "kpi_alerts": ["alert_id"]}


def _build(target: Target, landing, work_dir, **kwargs) -> Warehouse:
    config = store_config.load(landing / "stores.yml")
    with Warehouse(target, **kwargs) as wh:
        wh.ensure_schema()
        pipeline._write_store_config(wh, config, 2025, 2027)
        ingest(wh, config, landing_mod.discover(landing, config, D), batch_id="b1", salt="test-salt")
    build = Warehouse(target, marts_schema="marts__build_parity") if target.kind == "postgres" \
        else Warehouse(target, **kwargs)
    dbt_runner.build(build, D, work_dir=work_dir)
    return build


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    root = tmp_path_factory.mktemp("marketing_parity")
    generate(root / "landing", stores=3, days=10, seed=7, end_date=D)
    duck_target = Target(str(root / "warehouse.duckdb"))
    duck = _build(duck_target, root / "landing", root / "work_duck", path=duck_target.path)
    duck.close()
    duck = Warehouse(duck_target, path=duck_target.path, read_only=True)
    with temp_database("storekpi_mkt_parity") as url:
        pg = _build(Target(url), root / "landing", root / "work_pg")
        yield duck, pg
        pg.close()
    duck.close()


@pytest.mark.parametrize("mart", MARTS)
def test_marketing_marts_equal_on_both_backends(builds, mart):
    duck, pg = builds
    keys = MARTS[mart]
    left = normalised(fetch(duck, "marts", mart).fillna({"source_detail": ""} if "source_detail" in keys else {}),
                      keys)
    right = normalised(fetch(pg, pg.marts_schema, mart).fillna({"source_detail": ""} if "source_detail" in keys
                                                                else {}), keys)
    assert len(left) > 0
    assert_same_rows(left, right, mart)
    if mart == "kpi_alerts":
        assert (left["rule"] == "roas_below_target").any()

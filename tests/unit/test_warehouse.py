"""The Warehouse object behaves the same on DuckDB and PostgreSQL, and publish is all-or-nothing."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest

from storekpi import warehouse
from storekpi.errors import ConfigError
from storekpi.warehouse import Target
from tests.pg import temp_database


@pytest.fixture(params=["duckdb", "postgres"])
def target(request, tmp_path):
    if request.param == "duckdb":
        yield Target(str(tmp_path / "w.duckdb"))
    else:
        with temp_database() as url:
            yield Target(url)


def _marts(wh, rows: int) -> None:
    wh.execute(f"CREATE SCHEMA IF NOT EXISTS {wh.marts_schema}")
    wh.execute(f"CREATE TABLE {wh.marts_schema}.kpi_store_daily (store_id VARCHAR, net_sales DECIMAL(18, 2))")
    wh.append(f"{wh.marts_schema}.kpi_store_daily",
              pd.DataFrame({"store_id": [f"s{i}" for i in range(rows)], "net_sales": [Decimal("1.10")] * rows}))


def test_append_query_and_placeholders(target):
    with warehouse.open_build(target, fresh=True) as wh:
        wh.ensure_schema()
        wh.ensure_schema()  # idempotent
        frame = pd.DataFrame({"store_id": ["a", "b"], "date": pd.to_datetime(["2026-11-19", "2026-11-20"]).date})
        assert wh.append("raw.promo_days", frame) == 2
        assert wh.query("select store_id from raw.promo_days where date > ? order by 1", ["2026-11-19"]) == [("b",)]
        assert list(wh.query_df("select count(*) as n from raw.promo_days")["n"]) == [2]
        assert wh.table_exists("raw", "orders") and not wh.table_exists("raw", "nope")


def test_transaction_rolls_back(target):
    with warehouse.open_build(target, fresh=True) as wh:
        wh.ensure_schema()
        with pytest.raises(RuntimeError), wh.transaction():
            wh.execute("INSERT INTO raw.promo_days VALUES ('a', DATE '2026-11-11')")
            raise RuntimeError("boom")
        assert wh.query("select count(*) from raw.promo_days") == [(0,)]


def test_publish_swaps_in_build_and_discard_keeps_published(target):
    with warehouse.open_build(target, fresh=True) as wh:
        wh.ensure_schema()
        _marts(wh, 2)
    warehouse.publish(target)
    with warehouse.open_published(target) as wh:
        assert wh.query("select count(*) from marts.kpi_store_daily") == [(2,)]

    with warehouse.open_build(target, fresh=True) as wh:
        if target.kind == "postgres":
            wh.execute(f"DROP SCHEMA IF EXISTS {wh.marts_schema} CASCADE")
        else:
            wh.execute("DROP TABLE marts.kpi_store_daily")
        _marts(wh, 5)
    warehouse.discard(target)
    with warehouse.open_published(target) as wh:
        assert wh.query("select count(*) from marts.kpi_store_daily") == [(2,)]

    with warehouse.open_build(target, fresh=True) as wh:
        if target.kind == "duckdb":
            wh.execute("DROP TABLE marts.kpi_store_daily")
        _marts(wh, 7)
    warehouse.publish(target)
    with warehouse.open_published(target) as wh:
        assert wh.query("select count(*) from marts.kpi_store_daily") == [(7,)]
        if target.kind == "postgres":  # no build or old schema is left behind
            schemas = {r[0] for r in wh.query("select schema_name from information_schema.schemata")}
            assert not [s for s in schemas if s.startswith("marts__")]


def test_discarded_duckdb_build_is_kept_for_inspection(tmp_path):
    target = Target(str(tmp_path / "w.duckdb"))
    with warehouse.open_build(target, fresh=True) as wh:
        wh.ensure_schema()
    kept = warehouse.discard(target)
    assert kept == tmp_path / "w.failed.duckdb" and kept.exists()
    assert not (tmp_path / "w.duckdb").exists()


def test_target_display_hides_password():
    assert Target("postgresql://u:secret@h:5433/db").display == "postgresql://u@h:5433/db"


def test_target_validation(tmp_path):
    with pytest.raises(ConfigError, match="--warehouse"):
        Target(str(tmp_path)).validate()
    with pytest.raises(ConfigError, match="--warehouse"):
        Target("postgresql://h:5432/").validate()



def _record_run(wh):
    wh.execute("insert into audit.runs (run_id, date, status, started_at) "
               "values ('run1', date '2026-11-20', 'published', timestamp '2026-11-20 23:00:00')")


def _failing_record(wh):
    _record_run(wh)
    raise RuntimeError("disk full")


def _published(target):
    with warehouse.open_published(target) as wh:
        return (wh.query("select count(*) from marts.kpi_store_daily")[0][0],
                wh.query("select run_id, status from audit.runs"))


def test_publish_records_the_run_with_the_marts_or_not_at_all(target):
    with warehouse.open_build(target, fresh=True) as wh:
        wh.ensure_schema()
        _marts(wh, 1)
    warehouse.publish(target)
    with warehouse.open_build(target, fresh=True) as wh:
        if target.kind == "duckdb":
            wh.execute("DROP TABLE marts.kpi_store_daily")
        _marts(wh, 2)
    with pytest.raises(RuntimeError, match="disk full"):
        warehouse.publish(target, record=_failing_record)
    assert _published(target) == (1, [])
    warehouse.publish(target, record=_record_run)
    assert _published(target) == (2, [("run1", "published")])


def test_duckdb_connections_and_dbt_get_the_memory_limit(tmp_path, monkeypatch):
    """DuckDB's default (80 % of RAM, and operators beyond it) let a build over years of history be killed for
    memory instead of spilling; storekpi's connections and dbt's profile get the same limit."""
    from storekpi import dbt_runner

    monkeypatch.setenv(warehouse.MEMORY_LIMIT_ENV, "300MB")
    wh = warehouse.Warehouse(Target(str(tmp_path / "w.duckdb")), path=tmp_path / "w.duckdb")
    with wh:
        (limit,) = wh.query("select current_setting('memory_limit')")[0]
    assert limit in ("286.1 MiB", "300.0 MB"), limit  # DuckDB shows 300 MB in binary units
    assert dbt_runner.profile(wh)["storekpi"]["outputs"]["duckdb"]["settings"] == {"memory_limit": "300MB"}
    monkeypatch.setenv(warehouse.MEMORY_LIMIT_ENV, "plenty")
    with pytest.raises(ConfigError, match=r"STOREKPI_DUCKDB_MEMORY_LIMIT.*'plenty'"):
        warehouse.Warehouse(Target(str(tmp_path / "w.duckdb")), path=tmp_path / "w.duckdb").con


def test_postgres_runs_build_in_one_schema_and_a_new_run_drops_what_a_killed_one_left():
    """One build-schema name for every run (dbt's `marts_schema` var stays the same, so its parse is reused); a
    killed run's build, and the per-run schemas older versions named, are dropped by the next run's discover."""
    with temp_database() as url:
        target = Target(url)
        with warehouse.open_build(target, fresh=True) as wh:  # run1 is killed after building
            wh.ensure_schema()
            _marts(wh, 2)
            name = wh.marts_schema
            wh.execute("CREATE SCHEMA marts__build_2026_11_19_oldstyle")
        assert name == warehouse.BUILD_SCHEMA
        assert warehouse.drop_stale_builds(target) == ["marts__build_2026_11_19_oldstyle", name]
        with warehouse.open_build(target, fresh=True) as wh:
            assert wh.query(f"select count(*) from information_schema.tables where table_schema = '{name}'") == [(0,)]
            _marts(wh, 5)
        warehouse.publish(target)
        with warehouse.open_published(target) as wh:
            assert wh.query("select count(*) from marts.kpi_store_daily") == [(5,)]
        assert warehouse.drop_stale_builds(target) == []

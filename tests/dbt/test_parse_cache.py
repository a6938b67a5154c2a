"""dbt reuses its parse between builds of one warehouse (dbt_runner: the run date is data, not a var).

The session build (conftest) parses from scratch; the builds here start from the parse a build for another date
left behind, and must give the same tables, and see a changed model file.
"""

from __future__ import annotations

import math
import shutil
from datetime import timedelta

from storekpi import dbt_runner
from storekpi.warehouse import Target, Warehouse

from dbt_rawdata import RUN_DATE, build_frames

FULL_PARSE = "Unable to do partial parsing"  # what dbt logs (info) when it parses the whole project


def _warehouse_with_raw(path) -> Target:
    target = Target(str(path))
    with Warehouse(target, path=target.path) as wh:
        wh.ensure_schema()
        for table, frame in build_frames().items():
            wh.append(f"raw.{table}", frame)
    return target


def _dbt_log(work_dir) -> str:
    return (work_dir / "logs" / "dbt.log").read_text(encoding="utf-8")


def _same(a, b) -> bool:
    """Equal, floats to the last bits DuckDB's parallel sums leave to chance (two cold builds differ there too)."""
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-12) or (math.isnan(a) and math.isnan(b))
    return a == b


PLANNING = ("int_order_chain_night", "int_order_changes")  # what the night did (incremental after a build), not data


def _tables(wh: Warehouse) -> dict[str, list[tuple]]:
    names = wh.query("select table_schema, table_name from information_schema.tables "
                     "where table_schema in ('intermediate', 'marts') order by 1, 2")
    return {f"{s}.{t}": wh.query(f"select * from {s}.{t} order by all") for s, t in names if t not in PLANNING}


def test_a_build_reusing_the_parse_of_another_night_gives_the_same_tables(duckdb_build, tmp_path, monkeypatch):
    monkeypatch.setenv("STOREKPI_HOME", str(tmp_path / "state"))
    target = _warehouse_with_raw(tmp_path / "warehouse.duckdb")
    build = Warehouse(target, path=target.path)
    cache = dbt_runner.parse_cache_file(build)
    assert not cache.exists()

    dbt_runner.build(build, RUN_DATE - timedelta(days=1), work_dir=tmp_path / "night1")
    assert FULL_PARSE in _dbt_log(tmp_path / "night1") and cache.exists()
    with Warehouse(target, path=target.path, read_only=True) as wh:
        assert wh.query("select max(date) from marts.kpi_store_daily")[0][0] == RUN_DATE - timedelta(days=1)

    dbt_runner.build(build, RUN_DATE, work_dir=tmp_path / "night2", unit_tests=True)
    assert FULL_PARSE not in _dbt_log(tmp_path / "night2")  # the parse was reused …
    with Warehouse(target, path=target.path, read_only=True) as wh:
        reused = _tables(wh)
    cold = _tables(duckdb_build[0])  # … and gives what a parse from scratch gave
    assert reused.keys() == cold.keys() and "marts.kpi_store_daily" in cold
    for name in cold:
        assert len(reused[name]) == len(cold[name]), name
        for mine, theirs in zip(reused[name], cold[name]):
            assert all(_same(a, b) for a, b in zip(mine, theirs)), (name, mine, theirs)


def test_a_changed_model_file_is_parsed_on_the_next_build(tmp_path, monkeypatch):
    project = tmp_path / "dbt"
    shutil.copytree(dbt_runner.project_dir(), project, ignore=shutil.ignore_patterns("target", "logs"))
    monkeypatch.setenv("STOREKPI_DBT_PROJECT", str(project))
    monkeypatch.setenv("STOREKPI_HOME", str(tmp_path / "state"))
    target = _warehouse_with_raw(tmp_path / "warehouse.duckdb")
    build = Warehouse(target, path=target.path)
    select = ["--select", "stg_stores", "--resource-type", "model"]  # the view alone: its tests read other models

    first = dbt_runner._invoke("build", build, RUN_DATE, tmp_path / "night1", extra=select)
    assert first.success, first.exception
    model = project / "models" / "staging" / "stg_stores.sql"
    model.write_text(f"select *, 1 as parse_probe from (\n{model.read_text(encoding='utf-8')}\n) as original\n",
                     encoding="utf-8")
    second = dbt_runner._invoke("build", build, RUN_DATE, tmp_path / "night2", extra=select)
    assert second.success, second.exception
    assert FULL_PARSE not in _dbt_log(tmp_path / "night2")  # partial: only the changed file was parsed again
    with Warehouse(target, path=target.path, read_only=True) as wh:
        columns = [r[0] for r in wh.query("select column_name from information_schema.columns "
                                          "where table_schema = 'staging' and table_name = 'stg_stores'")]
    assert "parse_probe" in columns


def test_each_warehouse_has_its_own_parse_cache_and_a_build_schema_does_not_make_a_new_one(tmp_path, monkeypatch):
    monkeypatch.setenv("STOREKPI_HOME", str(tmp_path / "state"))
    one, other = (Target(str(tmp_path / name / "warehouse.duckdb")) for name in ("a", "b"))
    files = {dbt_runner.parse_cache_file(Warehouse(t, path=t.build_path)) for t in (one, other)}
    assert len(files) == 2 and all(f.parent == tmp_path / "state" / "dbt-parse" for f in files)
    pg = Target("postgresql://postgres@127.0.0.1:5432/kpis")
    tonight, tomorrow = (dbt_runner.parse_cache_file(Warehouse(pg, marts_schema=f"marts__build_{key}"))
                         for key in ("run1", "run2"))
    assert tonight == tomorrow  # dbt sees the changed `marts_schema` var itself and parses in full
    assert tonight != dbt_runner.parse_cache_file(Warehouse(Target("postgresql://postgres@127.0.0.1:5432/other")))


def test_postgres_builds_of_different_runs_reuse_the_parse(tmp_path, monkeypatch):
    """The build schema is dbt's `marts_schema` var: one name for every run keeps the parse valid from night to
    night on PostgreSQL too."""
    from storekpi import warehouse
    from tests.pg import temp_database

    monkeypatch.setenv("STOREKPI_HOME", str(tmp_path / "state"))
    select = ["--select", "stg_stores", "--resource-type", "model"]
    with temp_database("storekpi_parse") as url:
        target = Target(url)
        for night in ("night1", "night2"):
            with warehouse.open_build(target, fresh=True) as build:
                build.ensure_schema()
                result = dbt_runner._invoke("build", build, RUN_DATE, tmp_path / night, extra=select)
            assert result.success, result.exception
        assert FULL_PARSE in _dbt_log(tmp_path / "night1")
        assert FULL_PARSE not in _dbt_log(tmp_path / "night2")

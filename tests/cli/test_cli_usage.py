"""Bad invocations exit 2 with a message naming the option or path (spec README, exit codes)."""

from __future__ import annotations

import shutil

import pytest

from tests.conftest import FIXTURES

LANDING = FIXTURES / "e2e_landing"


def _run_args(landing, warehouse, day="2026-11-20", *extra):
    return ("run", "--landing", str(landing), "--warehouse", str(warehouse), "--date", day, *extra)


def test_missing_landing_folder(cli, tmp_path):
    result = cli(*_run_args(tmp_path / "nope", tmp_path / "w.duckdb"))
    assert result.code == 2
    assert "--landing" in result.stderr and "nope" in result.stderr


def test_missing_stores_yml(cli, tmp_path):
    landing = tmp_path / "landing"
    shutil.copytree(LANDING, landing)
    (landing / "stores.yml").unlink()
    result = cli(*_run_args(landing, tmp_path / "w.duckdb"))
    assert result.code == 2
    assert "stores.yml" in result.stderr


def test_missing_explicit_stores_file(cli, tmp_path):
    result = cli(*_run_args(LANDING, tmp_path / "w.duckdb", "2026-11-20", "--stores", str(tmp_path / "s.yml")))
    assert result.code == 2
    assert "--stores" in result.stderr and "s.yml" in result.stderr


@pytest.mark.parametrize("bad", ["2026-13-01", "20261120", "yesterday", "2026-02-30"])
def test_malformed_date(cli, tmp_path, bad):
    result = cli(*_run_args(LANDING, tmp_path / "w.duckdb", bad))
    assert result.code == 2
    assert "--date" in result.stderr and bad in result.stderr


def test_store_folder_not_in_stores_yml(cli, tmp_path):
    landing = tmp_path / "landing"
    shutil.copytree(LANDING, landing)
    (landing / "rogue_store" / "orders" / "2026-11-20").mkdir(parents=True)
    result = cli(*_run_args(landing, tmp_path / "w.duckdb"))
    assert result.code == 2
    assert "rogue_store" in result.stderr and "stores.yml" in result.stderr


def test_missing_required_option(cli, tmp_path):
    result = cli("run", "--landing", str(LANDING), "--date", "2026-11-20")
    assert result.code == 2
    assert "--warehouse" in result.stderr


def test_warehouse_in_missing_folder(cli, tmp_path):
    result = cli(*_run_args(LANDING, tmp_path / "no" / "such" / "w.duckdb"))
    assert result.code == 2
    assert "--warehouse" in result.stderr


def test_warehouse_file_named_like_a_duckdb_catalog(cli, tmp_path):
    result = cli(*_run_args(LANDING, tmp_path / "main.duckdb"))  # dbt's build failed on every model before
    assert result.code == 2
    assert "--warehouse" in result.stderr and "main.duckdb" in result.stderr
    assert not (tmp_path / "main.duckdb").exists()


def test_no_airflow_state_outside_the_state_folder(cli, tmp_path):
    """Usage errors are caught before Airflow starts: nothing is written anywhere."""
    cli(*_run_args(tmp_path / "nope", tmp_path / "w.duckdb"))
    assert not (tmp_path / "state" / "airflow").exists()


def test_forget_without_a_warehouse_file(cli, tmp_path):
    result = cli("forget", "shop/orders/2026-11-20/x.csv", "--warehouse", str(tmp_path / "none.duckdb"))
    assert result.code == 2
    assert "--warehouse" in result.stderr and "none.duckdb" in result.stderr


def test_forget_a_file_that_was_never_loaded(cli, tmp_path):
    from storekpi import warehouse

    target = warehouse.Target(str(tmp_path / "w.duckdb"))
    with warehouse.Warehouse(target, path=target.path) as wh:
        wh.ensure_schema()
    before = target.path.read_bytes()
    result = cli("forget", "/srv/landing/shop/orders/2026-11-20/typo.csv", "--warehouse", str(target.path))
    assert result.code == 2
    assert "shop/orders/2026-11-20/typo.csv" in result.stderr and "was ever loaded" in result.stderr
    assert target.path.read_bytes() == before


@pytest.mark.parametrize("backend", ["duckdb", "postgres"])
def test_a_second_run_on_a_busy_warehouse_touches_nothing(cli, tmp_path, backend):
    import json
    from contextlib import ExitStack

    from storekpi import warehouse
    from tests.pg import temp_database

    with ExitStack() as stack:
        url = str(tmp_path / "w.duckdb") if backend == "duckdb" else stack.enter_context(temp_database())
        stack.enter_context(warehouse.exclusive(warehouse.Target(url)))  # a run in progress elsewhere
        result = cli(*_run_args(LANDING, url))
    assert result.code == 1, result.stderr[-2000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["status"] == "failed" and "another storekpi run" in summary["message"]
    assert "airflow" not in result.stderr.lower()  # it stopped before starting the DAG
    if backend == "duckdb":
        assert not (tmp_path / "w.duckdb").exists() and not (tmp_path / ".w.duckdb.build").exists()


def test_a_date_before_2000_is_refused_naming_the_earliest_date(cli, tmp_path):
    result = cli(*_run_args(LANDING, tmp_path / "w.duckdb", "1999-12-31"))
    assert result.code == 2
    assert "--date" in result.stderr and "1999-12-31" in result.stderr and "2000-01-01" in result.stderr

"""Fixtures: one DuckDB warehouse (and, when the server is there, one PostgreSQL database) built once per session.

A dbt parse + build costs seconds, so every test module reads the same built marts.
"""

from __future__ import annotations

import pytest

from storekpi import dbt_runner
from storekpi.warehouse import Target, Warehouse

from dbt_rawdata import RUN_DATE, build_frames
from tests.pg import temp_database


def load_raw(wh: Warehouse) -> None:
    wh.ensure_schema()
    for table, frame in build_frames().items():
        wh.append(f"raw.{table}", frame)


@pytest.fixture(scope="session")
def raw_frames():
    return build_frames()


@pytest.fixture(scope="session")
def duckdb_build(tmp_path_factory):
    """(read-only Warehouse on the built file, build summary, dbt work dir); unit tests included."""
    root = tmp_path_factory.mktemp("dbt_duckdb")
    target = Target(str(root / "warehouse.duckdb"))
    with Warehouse(target, path=target.path) as wh:
        load_raw(wh)
    summary = dbt_runner.build(Warehouse(target, path=target.path), RUN_DATE, work_dir=root / "work",
                               unit_tests=True)
    wh = Warehouse(target, path=target.path, read_only=True)
    yield wh, summary, root / "work"
    wh.close()


@pytest.fixture(scope="session")
def postgres_build(tmp_path_factory):
    """The same raw data built on PostgreSQL into a build schema, in a database created for this session."""
    with temp_database("storekpi_dbt_test") as url:
        target = Target(url)
        with Warehouse(target) as wh:
            load_raw(wh)
        build_wh = Warehouse(target, marts_schema="marts__build_test")
        summary = dbt_runner.build(build_wh, RUN_DATE, work_dir=tmp_path_factory.mktemp("dbt_pg"),
                                   unit_tests=True)
        yield build_wh, summary
        build_wh.close()

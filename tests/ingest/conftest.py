"""Fixtures for ingest tests: a landing folder in tmp_path and a DuckDB warehouse."""

from pathlib import Path

import pytest
from ingest_support import Landing

from storekpi.warehouse import Target, Warehouse


@pytest.fixture
def landing(tmp_path: Path) -> Landing:
    return Landing(tmp_path / "landing")


@pytest.fixture
def wh(tmp_path: Path):
    path = tmp_path / "warehouse.duckdb"
    warehouse = Warehouse(Target(str(path)), path=path)
    warehouse.ensure_schema()
    yield warehouse
    warehouse.close()

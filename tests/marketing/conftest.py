"""One DuckDB warehouse built from the marketing landing for the whole module (a dbt build costs a minute)."""

from __future__ import annotations

import pytest
from marketing_landing import build_warehouse

from storekpi.warehouse import Target, Warehouse


@pytest.fixture(scope="session")
def marketing_duckdb(tmp_path_factory):
    root = tmp_path_factory.mktemp("marketing_duckdb")
    target = Target(str(root / "warehouse.duckdb"))
    build_warehouse(target, root / "landing", root / "work", path=target.path)
    wh = Warehouse(target, path=target.path, read_only=True)
    yield wh
    wh.close()

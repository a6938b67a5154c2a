"""The same raw rows built on PostgreSQL give marts equal to DuckDB's, row for row and column for column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.postgres

MARTS = {  # mart -> key columns
    "kpi_store_daily": ["store_id", "date"],
    "stock_cover": ["store_id", "sku", "date"],
    "repurchase_cohorts": ["store_id", "cohort_month"],
    "discount_violations": ["store_id", "order_id", "line_number"],
    "revenue_bridge": ["store_id", "date"],
    "kpi_alerts": ["alert_id"],
    "product_daily": ["store_id", "sku", "date"],
    "product_classes": ["store_id", "sku"],
    "replenishment": ["store_id", "sku", "date"],
    "promo_readiness": ["store_id", "promo_date", "sku"],
    # targets.md
    "target_pacing": ["store_id", "month", "metric"],
    "role_scorecards": ["store_id", "role", "period_type", "period_start", "kpi"],
}


def normalised(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Same shape whatever the backend: text for dates, money and strings; float64 for numbers."""
    frame = frame.sort_values(keys).reset_index(drop=True)
    out = {}
    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_bool_dtype(values) or pd.api.types.is_datetime64_any_dtype(values):
            out[column] = values.astype(str)
        elif pd.api.types.is_numeric_dtype(values):
            out[column] = values.astype("float64")
        else:
            out[column] = values.map(lambda v: None if v is None or v is pd.NA else str(v)).astype(object)
    return pd.DataFrame(out)


def fetch(wh, schema: str, mart: str) -> pd.DataFrame:
    columns = [r[0] for r in wh.query(
        "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
        "order by ordinal_position", [schema, mart])]
    # dates, booleans and decimals as text so both drivers hand back the same Python values
    select = []
    types = dict(wh.query("select column_name, data_type from information_schema.columns "
                          "where table_schema = ? and table_name = ?", [schema, mart]))
    for column in columns:
        kind = types[column].lower()
        if kind.startswith(("date", "numeric", "decimal", "boolean")):
            select.append(f'cast("{column}" as varchar) as "{column}"')
        else:
            select.append(f'"{column}"')
    return wh.query_df(f"select {', '.join(select)} from {schema}.{mart}")


@pytest.mark.parametrize("mart", MARTS)
def test_postgres_marts_equal_duckdb(duckdb_build, postgres_build, mart):
    duck, pg = duckdb_build[0], postgres_build[0]
    keys = MARTS[mart]
    left = normalised(fetch(duck, "marts", mart), keys)
    right = normalised(fetch(pg, pg.marts_schema, mart), keys)
    assert list(left.columns) == list(right.columns)
    assert len(left) == len(right) > 0
    for column in left.columns:
        a, b = left[column], right[column]
        if a.dtype == "float64":
            assert np.allclose(a.to_numpy(), b.astype("float64").to_numpy(), rtol=1e-12, atol=1e-12,
                               equal_nan=True), (mart, column)
        else:
            assert a.tolist() == b.tolist(), (mart, column)


def test_postgres_build_ran_every_test(postgres_build, duckdb_build):
    assert postgres_build[1]["models"] == duckdb_build[1]["models"]
    assert postgres_build[1]["tests"] == duckdb_build[1]["tests"]
    assert postgres_build[1]["warnings"] == 0


def test_postgres_tables_have_planner_statistics_when_dbt_reads_them(postgres_build):
    """dbt's sources are analysed before the build and every table model right after it is built (a table made by
    CREATE TABLE AS has no statistics, reltuples -1, until autovacuum comes by)."""
    pg = postgres_build[0]
    tables = pg.query("select n.nspname, c.relname, c.reltuples from pg_class as c "
                      "join pg_namespace as n on n.oid = c.relnamespace "
                      "where c.relkind = 'r' and n.nspname in ('raw', 'intermediate', ?)", [pg.marts_schema])
    assert {s for s, _, _ in tables} == {"raw", "intermediate", pg.marts_schema}
    assert [(s, t) for s, t, tuples in tables if tuples < 0] == []

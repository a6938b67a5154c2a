"""The same raw rows built on PostgreSQL give marts equal to DuckDB's, row for row and column for column."""

from __future__ import annotations

import pytest

from table_frames import assert_same_rows, fetch, normalised

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


@pytest.mark.parametrize("mart", MARTS)
def test_postgres_marts_equal_duckdb(duckdb_build, postgres_build, mart):
    duck, pg = duckdb_build[0], postgres_build[0]
    keys = MARTS[mart]
    left = normalised(fetch(duck, "marts", mart), keys)
    assert len(left) > 0
    assert_same_rows(left, normalised(fetch(pg, pg.marts_schema, mart), keys), mart)


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

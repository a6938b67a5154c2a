"""customer_segments and customer_ltv against an independent pandas computation (tests/customer_reference.py), and
the same marts built on PostgreSQL equal to DuckDB's, row for row."""

from __future__ import annotations

import pandas as pd
import pytest

from dbt_rawdata import RUN_DATE as D
from table_frames import fetch, normalised
from tests.customer_reference import LTV_KEYS, SEGMENT_KEYS, expected_customer_ltv, expected_customer_segments
from tests.kpi_reference import assert_frames_equal, order_facts

SEGMENT_MONEY = ["net_sales", "net_sales_365d"]


def _dates(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    for column in columns:
        frame[column] = pd.to_datetime(frame[column]).dt.date
    return frame


def test_customer_segments_equal_pandas_row_for_row(duckdb_build, raw_frames):
    actual = _dates(duckdb_build[0].query_df(
        "select * exclude (net_sales, net_sales_365d), cast(net_sales as varchar) as net_sales, "
        "cast(net_sales_365d as varchar) as net_sales_365d from marts.customer_segments"),
        "first_paid_date", "last_paid_date")
    wanted = expected_customer_segments(order_facts(raw_frames, D), raw_frames["stores"], D)
    assert_frames_equal(actual, wanted[list(actual.columns)], SEGMENT_KEYS, SEGMENT_MONEY)
    assert {"new", "loyal", "regular"} <= set(actual["segment"])  # the month of test data has no older segments


def test_customer_ltv_equals_pandas_row_for_row(duckdb_build, raw_frames):
    actual = _dates(duckdb_build[0].query_df("select * from marts.customer_ltv"), "cohort_month")
    wanted = expected_customer_ltv(order_facts(raw_frames, D), D)
    assert_frames_equal(actual, wanted[list(actual.columns)], LTV_KEYS, [])
    assert actual["months_since_first"].max() >= 1 and not actual["is_complete"].all()


@pytest.mark.postgres
@pytest.mark.parametrize("mart,keys", [("customer_segments", SEGMENT_KEYS), ("customer_ltv", LTV_KEYS)])
def test_customer_marts_on_postgres_equal_duckdb(duckdb_build, postgres_build, mart, keys):
    duck, pg = duckdb_build[0], postgres_build[0]
    left = normalised(fetch(duck, "marts", mart), keys)
    right = normalised(fetch(pg, pg.marts_schema, mart), keys)
    assert list(left.columns) == list(right.columns) and len(left) == len(right) > 0
    pd.testing.assert_frame_equal(left, right, check_dtype=False, rtol=1e-12)

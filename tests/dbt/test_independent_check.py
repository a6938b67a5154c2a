"""kpi_store_daily and stock_cover recomputed from the raw rows with plain pandas, straight from kpis.md.

Nothing here reuses the dbt SQL: the raw frames the fixture loaded are deduplicated, filtered and aggregated again
in pandas, then compared with the marts row for row (money exactly, in cents; ratios to 1e-12).
"""

from __future__ import annotations

import pytest

from dbt_rawdata import RUN_DATE as D
from tests.kpi_reference import MONEY_DAILY, assert_frames_equal, expected_marts


@pytest.fixture(scope="module")
def expected(raw_frames):
    return expected_marts(raw_frames, D)


def test_kpi_store_daily_equals_pandas_row_for_row(duckdb_build, expected):
    wh = duckdb_build[0]
    actual = wh.query_df("select * exclude (gross_sales, discounts, net_sales, refunds), "
                         "cast(gross_sales as varchar) as gross_sales, cast(discounts as varchar) as discounts, "
                         "cast(net_sales as varchar) as net_sales, cast(refunds as varchar) as refunds "
                         "from marts.kpi_store_daily")
    actual["date"] = actual["date"].dt.date if hasattr(actual["date"], "dt") else actual["date"]
    wanted = expected["kpi_store_daily"][list(actual.columns)]
    assert_frames_equal(actual, wanted, ["store_id", "date"], MONEY_DAILY)
    assert set(actual["store_id"]) == {"shop", "tmall", "gen"}


def test_stock_cover_equals_pandas_row_for_row(duckdb_build, expected):
    wh = duckdb_build[0]
    actual = wh.query_df("select * from marts.stock_cover")
    actual["date"] = actual["date"].dt.date if hasattr(actual["date"], "dt") else actual["date"]
    wanted = expected["stock_cover"][list(actual.columns)]
    assert_frames_equal(actual, wanted, ["store_id", "sku", "date"], [])
    # the data exercise every branch: stocked-out sellers, low cover, no demand
    assert actual["stockout"].any() and actual["low_cover"].any() and actual["days_of_cover"].isna().any()
    assert (actual["window_days"] < 28).any() and (actual["window_days"] == 28).any()

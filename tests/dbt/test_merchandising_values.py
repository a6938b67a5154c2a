"""product_daily, product_classes and replenishment on the dbt test data, against pandas (tests/merch_reference.py).

The raw data give S1 a cost only from D-10 (8.00), raised to 9.00 from D-5, and S3 a cost from the start: S1's
sales before D-10 have no cogs, so its 90-day gross profit is NULL.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pandas as pd
import pytest

from dbt_rawdata import RUN_DATE as D
from tests.kpi_reference import assert_frames_equal, order_facts
from tests.merch_reference import expected_product_classes, expected_replenishment, product_days


@pytest.fixture(scope="module")
def raw(raw_frames):
    frames = dict(raw_frames)
    frames["hero_skus"] = pd.DataFrame(columns=["store_id", "sku"])  # none configured: the top 2 sellers
    return frames


def test_cost_change_mid_window_and_no_cogs_before_the_first_cost(duckdb_build, raw):
    wh = duckdb_build[0]
    daily = wh.query_df("select store_id, sku, date, units, cast(unit_cost as varchar) as unit_cost, "
                        "cast(cogs as varchar) as cogs, gross_profit, net_sales from marts.product_daily "
                        "where sku = 'S1'")
    daily["date"] = pd.to_datetime(daily["date"]).dt.date
    before = daily[daily["date"] < D - timedelta(days=10)]
    first = daily[(daily["date"] >= D - timedelta(days=10)) & (daily["date"] < D - timedelta(days=5))]
    second = daily[daily["date"] >= D - timedelta(days=5)]
    assert len(before) and len(first) and len(second)
    assert before["unit_cost"].isna().all() and before["cogs"].isna().all() and before["gross_profit"].isna().all()
    for part, cost in ((first, Decimal("8.00")), (second, Decimal("9.00"))):
        assert (part["unit_cost"].map(Decimal) == cost).all()
        assert [Decimal(c) for c in part["cogs"]] == [u * cost for u in part["units"]]  # exact, on each side
    classes = wh.query_df("select store_id, sku, gross_profit_90d, profit_class, margin_90d "
                          "from marts.product_classes").set_index(["store_id", "sku"])
    sold_s1 = set(daily["store_id"])
    assert all(pd.isna(classes.loc[(s, "S1"), "gross_profit_90d"]) for s in sold_s1)
    assert all(pd.isna(classes.loc[(s, "S1"), "profit_class"]) for s in sold_s1)
    assert classes.xs("S3", level="sku")["gross_profit_90d"].notna().all()


def test_product_daily_units_and_net_sales_equal_pandas(duckdb_build, raw):
    wh = duckdb_build[0]
    actual = wh.query_df("select store_id, sku, date as paid_date, units, net_sales, gross_profit "
                         "from marts.product_daily")
    actual["paid_date"] = pd.to_datetime(actual["paid_date"]).dt.date
    wanted = product_days(raw, order_facts(raw, D), D)
    assert_frames_equal(actual, wanted[list(actual.columns)], ["store_id", "sku", "paid_date"], [], rtol=1e-9)


def test_product_classes_and_replenishment_equal_pandas(duckdb_build, raw):
    wh = duckdb_build[0]
    classes = wh.query_df("select * from marts.product_classes")
    classes["last_sold_date"] = pd.to_datetime(classes["last_sold_date"]).dt.date
    assert_frames_equal(classes, expected_product_classes(raw, D)[list(classes.columns)], ["store_id", "sku"], [],
                        rtol=1e-9)
    reorder = wh.query_df("select store_id, sku, date, demand_std, lead_time_days, safety_stock, reorder_point, "
                          "order_up_to, is_hero, needs_reorder, suggested_order_qty from marts.replenishment "
                          "where date = ?", [D])
    reorder["date"] = pd.to_datetime(reorder["date"]).dt.date
    assert_frames_equal(reorder, expected_replenishment(raw, D)[list(reorder.columns)], ["store_id", "sku"], [],
                        rtol=1e-9)

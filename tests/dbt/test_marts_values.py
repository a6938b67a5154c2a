"""Values of the built DuckDB marts for the hand-written rows of dbt_rawdata, worked out by hand."""

from __future__ import annotations

from datetime import date

import pytest

D = date(2026, 11, 20)


@pytest.fixture(scope="module")
def wh(duckdb_build):
    return duckdb_build[0]


def row(wh, sql: str, params=()) -> dict:
    frame = wh.query_df(sql, list(params))
    assert len(frame) == 1, frame
    return frame.iloc[0].to_dict()


def test_midnight_order_counts_on_its_local_day_with_its_latest_refund(wh):
    # #H1 paid 23:59:59 on 11-19: 2 x 20.00 + 35.50 = 75.50 gross, 5.50 discount, 70.00 net; the 11-20 re-export
    # adds a 10.00 refund. It is the only order of 'shop' on 11-19. Traffic: the later export (130) wins.
    r = row(wh, "select orders, buyers, units, cast(gross_sales as varchar) g, cast(net_sales as varchar) n, "
                "cast(refunds as varchar) r, visitors, aov, conversion_rate, new_buyers, refund_rate "
                "from marts.kpi_store_daily where store_id = 'shop' and date = ?", [date(2026, 11, 19)])
    assert (r["orders"], r["buyers"], r["units"]) == (1, 1, 3)
    assert (r["g"], r["n"], r["r"]) == ("75.50", "70.00", "10.00")
    assert r["visitors"] == 130 and r["aov"] == 70.0 and r["conversion_rate"] == 1 / 130
    assert r["refund_rate"] == 10 / 70


def test_guest_new_and_returning_buyers_on_d(wh):
    # 11-20: guest #H3 (3 x 9.90 = 29.70, one second after midnight) and k_hand1's #H4 (120.00 - 40.00 = 80.00);
    # #H2 is unpaid. k_hand1 first bought on 11-19 (#H1): returning; the guest is a new one-off buyer.
    r = row(wh, "select orders, buyers, new_buyers, returning_buyers, returning_buyer_rate, "
                "cast(net_sales as varchar) n, visitors, buyer_conversion_rate "
                "from marts.kpi_store_daily where store_id = 'shop' and date = ?", [D])
    assert (r["orders"], r["buyers"], r["new_buyers"], r["returning_buyers"]) == (2, 2, 1, 1)
    assert r["returning_buyer_rate"] == 0.5 and r["n"] == "109.70"
    assert r["visitors"] == 90 and r["buyer_conversion_rate"] == 2 / 90


def test_nothing_after_d_and_no_gaps(wh):
    assert wh.query("select max(date) from marts.kpi_store_daily")[0][0] == D
    gaps = wh.query("select store_id, count(*), max(date) - min(date) + 1 from marts.kpi_store_daily "
                    "group by store_id having count(*) <> max(date) - min(date) + 1")
    assert gaps == []
    assert wh.query("select count(*) from marts.kpi_store_daily where store_id = 'idle'")[0][0] == 0


def test_idle_store_gets_a_missing_data_alert_on_d(wh):
    alerts = wh.query("select rule, owner_role, message from marts.kpi_alerts where store_id = 'idle'")
    assert alerts == [("missing_data", "data", f"Idle (idle) has no orders export and no traffic covering {D}.")]


def test_discount_below_floor_without_list_price_is_not_checked(wh):
    # #H4 sold at 66.7 % of its unit price, but 'shop' lines carry no compare-at price and 'shop' has no
    # catalogue row for S4: no list price, not checked.
    assert wh.query("select count(*) from marts.discount_violations where order_id = '#H4'")[0][0] == 0


def test_promo_day_has_no_discount_violations_but_other_days_do(wh):
    by_day = dict(wh.query("select date = date '2026-11-11', count(*) from marts.discount_violations group by 1"))
    assert by_day.get(True, 0) == 0 and by_day[False] > 0
    assert wh.query("select count(*) from marts.kpi_alerts where rule = 'discount_floor'")[0][0] == by_day[False]


def test_sales_identity_on_every_row_where_all_factors_exist(wh):
    frame = wh.query_df("select visitors, conversion_rate, aov, cast(net_sales as double) as net_sales "
                        "from marts.kpi_store_daily "
                        "where visitors is not null and conversion_rate is not null and aov is not null")
    assert len(frame) > 40
    product = frame["visitors"] * frame["conversion_rate"] * frame["aov"]
    assert ((product - frame["net_sales"]).abs() <= 1e-9 * frame["net_sales"].abs().clip(lower=1)).all()


def test_revenue_bridge_effects_sum_to_log_change(wh):
    frame = wh.query_df("select * from marts.revenue_bridge")
    assert len(frame) > 10
    total = frame["visitors_effect"] + frame["conversion_effect"] + frame["aov_effect"]
    assert ((total - frame["log_change"]).abs() < 1e-12).all()


def test_repurchase_cohorts_are_consistent(wh):
    frame = wh.query_df("select * from marts.repurchase_cohorts")
    assert set(frame["cohort_month"].astype(str)) >= {"2026-10-01", "2026-11-01"}
    assert (frame["customers"] >= frame["repurchased_90d"]).all()
    # October's last day + 90 days is after D: nothing is mature yet
    assert not frame["is_mature"].any()


def test_repurchase_counts_a_return_on_day_90_and_not_on_day_91(wh):
    # boundary_rows: k_h90 first paid 08-20 and again 11-18 (+90), k_h91 again 11-19 (+91); nobody else in August
    r = row(wh, "select customers, repurchased_90d, is_mature from marts.repurchase_cohorts "
                "where store_id = 'tmall' and cohort_month = date '2026-08-01'")
    assert (r["customers"], r["repurchased_90d"], r["is_mature"]) == (2, 1, False)


def test_a_line_at_exactly_the_discount_floor_is_allowed_and_one_cent_below_is_not(wh):
    # boundary_rows: S4 (list 120.00) sold at 84.00 (70 %, the floor) in #F70 and at 83.99 in #F69, no order discount
    flagged = wh.query("select order_id, cast(price_ratio as double) from marts.discount_violations "
                       "where order_id in ('#F70', '#F69')")
    assert flagged == [("#F69", pytest.approx(83.99 / 120))]
    alerts = wh.query("select order_id from marts.kpi_alerts where rule = 'discount_floor' "
                      "and order_id in ('#F70', '#F69')")
    assert alerts == [("#F69",)]

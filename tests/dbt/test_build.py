"""The dbt project builds on DuckDB with every data and unit test passing, and reports failures by node."""

from __future__ import annotations

import json
from datetime import date

import pytest

from storekpi import dbt_runner
from storekpi.warehouse import Target, Warehouse

MARTS = ["kpi_store_daily", "stock_cover", "repurchase_cohorts", "discount_violations", "revenue_bridge",
         "kpi_alerts", "product_daily", "product_classes", "replenishment", "promo_readiness"]
MARTS += ["customer_segments", "customer_ltv"]  # customers.md
MARTS += ["target_pacing", "role_scorecards"]  # targets.md
# every formula kpis.md defines has a dbt unit test whose name says which
FORMULA_UNIT_TESTS = {
    "paid-only counting": "int_order_facts_paid_only_platform_formulas_and_local_midnight",
    "local dates around midnight": "int_order_facts_paid_only_platform_formulas_and_local_midnight",
    "latest export wins": "int_orders_latest_latest_export_wins",
    "anonymous buyers, new vs returning, NULL ratios":
        "kpi_store_daily_buyers_anonymous_new_returning_and_null_ratios",
    "30-day review window": "kpi_store_daily_positive_review_rate_30d_window",
    "window_days for a young store": "stock_cover_young_store_window_and_cover_flags",
    "cohort maturity": "repurchase_cohorts_maturity_and_rate",
    "90-day repurchase": "int_customer_first_orders_repurchase_within_90_days_inclusive",
    "promo-day exemption": "discount_violations_floor_promo_days_and_list_price_precedence",
    "revenue-bridge identity": "revenue_bridge_identity_and_comparable_days",
    "alert rules": "kpi_alerts_every_rule_fires_only_past_its_threshold",
    "alerts at exactly the threshold": "kpi_alerts_nothing_fires_exactly_at_a_threshold",
    "no date gaps": "int_store_days_run_without_gaps_from_first_activity_to_d",
    # customers.md
    "segment boundaries (recency 90/91, new 29/30, the 365-day window)": "customer_segments_boundaries",
    "loyal_min_orders at the boundary": "customer_segments_loyal_min_orders_per_store",
    "RFM ntile ties": "customer_segments_ntile_ties_break_on_customer_key",
    "LTV month without activity": "customer_ltv_cohort_with_a_month_without_activity",
    "30-day repurchase window edges": "int_customer_daily_repurchase_window_edges",
    "loyal customers per date": "int_customer_daily_loyal_spells",
    # merchandising.md boundaries
    "dated costs, NULL before the first": "int_product_costs_later_cost_wins_from_its_date",
    "net sales allocation and cogs": "product_daily_allocates_net_sales_and_takes_the_cost_in_force",
    "ABC at exactly 0.80 / 0.95, margin equal to the store's, dead stock at dead_stock_days":
        "product_classes_abc_boundaries_roles_and_dead_stock",
    "on_hand equal to the reorder point, a hero with no demand": "replenishment_reorder_boundary_and_hero_floor",
    "population standard deviation": "replenishment_population_std_with_zero_days",
    "observed promo lift vs the default": "promo_readiness_observed_lift_vs_default_and_shortfall",
    "promo day in 7 (critical) vs 8 days (warning)": "alert_promo_stock_risk_critical_within_7_days",
    "hero minimum, a hero absent from the snapshot": "alert_hero_stock_low_minimum_and_absent_heroes",
    # targets.md
    "a threshold phase changes alerts from its date only": "kpi_alerts_threshold_phase_applies_from_its_date_only",
    "ISO week spanning two months, prorated per day's month": "int_scorecard_periods_iso_week_across_two_months",
    "run_rate_7d in a month's first days": "target_pacing_run_rate_7d_in_a_months_first_days",
    "a past month's projected equals its actual": "target_pacing_past_month_projected_equals_actual",
    "on_track for ad spend at exactly the tolerance": "target_pacing_ad_spend_on_track_at_exactly_the_tolerance",
}


def test_build_runs_every_model_and_test(duckdb_build):
    wh, summary, _ = duckdb_build
    assert summary["models"] == 63  # 26 + alert_rules and 3 alert models + 9 marketing + 10 merchandising + 3 customers
    # + 6 targets + 2 target alert models + 3 that plan the incremental order chain
    assert summary["tests"] >= 130
    assert summary["warnings"] == 0
    for mart in MARTS:
        assert wh.table_exists("marts", mart), mart
    assert wh.table_exists("staging", "stg_orders") and wh.table_exists("intermediate", "int_order_facts")


def test_every_formula_has_a_passing_unit_test_and_every_mart_data_tests(duckdb_build):
    _, _, work_dir = duckdb_build
    manifest = json.loads((work_dir / "target" / "manifest.json").read_text())
    run_results = json.loads((work_dir / "target" / "run_results.json").read_text())
    status = {r["unique_id"]: r["status"] for r in run_results["results"]}
    unit_tests = {u["name"]: uid for uid, u in manifest["unit_tests"].items()}
    for formula, name in FORMULA_UNIT_TESTS.items():
        assert name in unit_tests, f"no unit test for {formula}"
        assert status[unit_tests[name]] == "pass", formula
    tested = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] == "test":
            for parent in node["depends_on"]["nodes"]:
                tested.setdefault(parent.split(".")[-1], set()).add(node["test_metadata"]["name"]
                                                                      if node.get("test_metadata") else "")
    for mart in MARTS:
        kinds = tested.get(mart, set())
        assert {"not_null", "relationships"} <= kinds, (mart, kinds)
        assert {"unique", "unique_combination_of_columns"} & kinds, (mart, kinds)
        assert {"accepted_range", "accepted_values"} & kinds, (mart, kinds)


def test_every_model_and_column_is_documented(duckdb_build):
    _, _, work_dir = duckdb_build
    manifest = json.loads((work_dir / "target" / "manifest.json").read_text())
    catalog_columns = {"kpi_store_daily": 40, "stock_cover": 11}
    for node in manifest["nodes"].values():
        if node["resource_type"] != "model":
            continue
        assert node["description"].strip(), node["name"]
        for column in node["columns"].values():
            assert column["description"].strip(), (node["name"], column["name"])
        if node["name"] in catalog_columns:
            assert len(node["columns"]) == catalog_columns[node["name"]], node["name"]
    exposures = {e["name"] for e in manifest["exposures"].values()}
    assert exposures == {"daily_kpi_report", "kpi_alert_emails"}


def test_documented_columns_are_the_built_columns(duckdb_build):
    wh, _, work_dir = duckdb_build
    manifest = json.loads((work_dir / "target" / "manifest.json").read_text())
    for node in manifest["nodes"].values():
        if node["resource_type"] == "model":
            built = [r[0] for r in wh.query(
                "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
                [node["schema"], node["name"]])]
            assert sorted(built) == sorted(node["columns"]), node["name"]


def test_failing_build_names_the_failing_nodes(tmp_path):
    target = Target(str(tmp_path / "empty.duckdb"))  # no raw tables at all
    with pytest.raises(dbt_runner.DbtBuildError) as excinfo:
        dbt_runner.build(Warehouse(target, path=target.path), date(2026, 11, 20), work_dir=tmp_path / "work")
    message = str(excinfo.value)
    assert "dbt build for 2026-11-20 failed" in message
    assert "model.storekpi.stg_" in message and "does not exist" in message


def test_profile_for_postgres_comes_from_the_url_and_never_holds_the_password():
    wh = Warehouse(Target("postgresql://analyst:s%40cret@db.example:6543/kpis"), marts_schema="marts__build_x")
    output = dbt_runner.profile(wh)["storekpi"]["outputs"]["postgres"]
    assert output == {"type": "postgres", "host": "db.example", "port": 6543, "user": "analyst",
                      "password": "{{ env_var('DBT_ENV_SECRET_STOREKPI_WAREHOUSE_PASSWORD', '') }}",
                      "dbname": "kpis", "schema": "marts__build_x", "threads": 2}
    assert wh.target.password == "s@cret"  # what the run puts into that environment variable for dbt

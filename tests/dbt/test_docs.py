"""`make docs`: dbt docs generate into a folder, without a built warehouse."""

from __future__ import annotations

import json
from datetime import date

from storekpi import dbt_runner


def test_docs_writes_a_static_site_with_every_mart_and_exposure(tmp_path):
    page = dbt_runner.docs(tmp_path / "docs", run_date=date(2026, 11, 20))
    assert page == tmp_path / "docs" / "storekpi_dbt_docs.html" and page.stat().st_size > 100_000
    manifest = json.loads((tmp_path / "docs" / "manifest.json").read_text())
    models = {n["name"] for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    assert {"kpi_store_daily", "stock_cover", "repurchase_cohorts", "discount_violations", "revenue_bridge",
            "kpi_alerts"} <= models
    assert {e["name"] for e in manifest["exposures"].values()} == {"daily_kpi_report", "kpi_alert_emails"}
    assert (tmp_path / "docs" / "catalog.json").exists()

"""The same gates on PostgreSQL, with the marts in a build schema as write-audit-publish has them."""

from __future__ import annotations

import pytest

from storekpi.quality import run_gates
from storekpi.warehouse import BUILD_SCHEMA, Target, Warehouse
from tests.pg import temp_database
from tests.quality import scenario as sc

pytestmark = pytest.mark.postgres


def test_gates_on_postgres_pass_good_data_and_block_a_reconciliation_mismatch(tmp_path):
    config = sc.stores_config(tmp_path)
    with temp_database("storekpi_quality") as url, \
            Warehouse(Target(url), marts_schema=BUILD_SCHEMA) as wh:
        sc.build(wh)

        good = run_gates(wh, run_id="good", run_date=sc.D, config=config, batch_id=sc.BATCH)
        assert good.passed and good.warnings == [] and len(good.results) == 26

        wh.execute(f"update {wh.marts_schema}.kpi_store_daily set net_sales = 95.51 "
                   "where store_id = 'tmall' and date = '2026-11-20'")
        bad = run_gates(wh, run_id="bad", run_date=sc.D, config=config, batch_id=sc.BATCH)

        assert not bad.passed
        assert [(r.suite, r.column_name) for r in bad.failures] == [("reconciliation", "net_sales")]
        assert bad.failures[0].examples == [{"store_id": "tmall", "mart_net_sales": 143.51, "raw_net_sales": 143.5}]
        rows = wh.query("select run_id, count(*), sum(case when success then 0 else 1 end) from audit.dq_results "
                        "group by run_id order by run_id")
        assert rows == [("bad", 26, 1), ("good", 26, 0)]

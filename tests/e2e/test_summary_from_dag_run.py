"""The run's state is its DAG run (issue 12, "one run state"): `storekpi run` prints the summary the `finish` task
decided and returned as its XCom, read back from Airflow's metadata after `dag.test()`; no task writes a summary
file, so a state folder where none can be written changes nothing."""

from __future__ import annotations

import json
import sqlite3

import pytest

from tests.conftest import dag_runs, run_cli

pytestmark = pytest.mark.e2e
NEXT = "2026-11-21"


def _finish_xcom(home, run_key: str) -> dict:
    with sqlite3.connect(home / "airflow" / "airflow.db") as con:
        rows = con.execute("select r.conf, x.value from xcom x join dag_run r on r.id = x.dag_run_id "
                           "where x.task_id = 'finish' and x.key = 'return_value'").fetchall()
    (value,) = [value for conf, value in rows if json.loads(conf)["run_key"] == run_key]
    return json.loads(value)


def test_a_blocked_run_prints_finishs_verdict_read_from_the_dag_run(published_e2e):
    root = published_e2e.root
    home = published_e2e.home
    (home / "runs").write_text("a file where the summaries folder used to be: nothing can be written under it\n")
    (root / "landing" / "maple_shop" / "orders" / NEXT).mkdir(parents=True)
    (root / "landing" / "maple_shop" / "orders" / NEXT / "orders_export_2.csv").write_text("Order,Amount\nX,1\n")

    result = run_cli("run", "--landing", str(published_e2e.landing), "--warehouse", str(published_e2e.warehouse),
                     "--date", NEXT, "--outbox", str(root / "outbox"), home=home)

    assert result.code == 3, result.stderr[-3000:]
    summary = result.summary
    kept = root / "warehouse.failed.duckdb"
    assert summary["status"] == "blocked" and "orders_export_2.csv" in summary["message"]
    assert summary["message"].endswith(f"(the blocked build is kept for inspection at {kept})")
    assert f"storekpi: run for {NEXT} blocked: {summary['message']}" in result.stderr
    (run_key,) = [key for key in dag_runs(home) if key.startswith(NEXT)]
    assert dag_runs(home)[run_key]["state"] == "failed"  # the gate's task failed: so did the DAG run
    decided = _finish_xcom(home, run_key)
    assert {k: v for k, v in decided.items() if k != "task_seconds"} == summary
    assert set(decided["task_seconds"]) == {"discover", "ingest", "dbt_build"}  # the steps that succeeded
    assert (home / "runs").is_file()

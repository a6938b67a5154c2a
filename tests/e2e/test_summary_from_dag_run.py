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


SCHEDULED_RUN = """
import sys
from datetime import datetime, timezone
from storekpi.airflow_runner import configure_environment, dags_folder, migrate
home = configure_environment()
from airflow import settings
settings.configure_orm()
migrate(home)
from airflow.dag_processing.dagbag import DagBag
dag = DagBag(dag_folder=str(dags_folder()), safe_mode=False).dags["storekpi_nightly"]
dag.test(logical_date=datetime(2026, 11, 21, tzinfo=timezone.utc),
         run_conf={"landing": sys.argv[1], "warehouse": sys.argv[2], "date": "2026-11-20", "run_key": "no-landing"})
"""


def test_a_run_whose_params_are_invalid_still_ends_with_finishs_summary(tmp_path):
    """A scheduled run has no CLI to validate its params first: `finish` cannot resolve the spec either, and
    still returns a failed summary that says why (nothing is recorded: there is no warehouse to record it in)."""
    import os
    import subprocess
    import sys

    home = tmp_path / "home"
    missing = tmp_path / "no-such-landing"
    env = {**os.environ, "STOREKPI_HOME": str(home)}
    subprocess.run([sys.executable, "-c", SCHEDULED_RUN, str(missing), str(tmp_path / "w.duckdb")], env=env,
                   capture_output=True, text=True, timeout=600)

    summary = _finish_xcom(home, "no-landing")
    assert summary["status"] == "failed"
    assert summary["message"] == f"--landing: folder not found: {missing}"
    assert dag_runs(home)["no-landing"]["state"] == "failed"
    assert not (tmp_path / "w.duckdb").exists()

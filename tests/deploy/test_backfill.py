"""An Airflow backfill over three dates, created with the Airflow CLI (`airflow backfill create`), gives the marts
of a single run of the last date (issue 13, point 1): the DAG's own dates never decide what a run covers.

Runs on the distributed cluster of test_distributed.py (scheduler, Celery worker, api-server). The backfill's
logical dates 2026-11-19 … 11-21 (03:00 UTC, the schedule) are the nights after D = 11-18 … 11-20. The reference
is `storekpi run --date 2026-11-20` on a fresh warehouse.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import FIXTURES, run_cli
from tests.deploy.airflow_cluster import Cluster, ClusterError, _admin_sql, copy_landing, postgres_unavailable, \
    redis_unavailable

pytestmark = [pytest.mark.distributed, pytest.mark.postgres, pytest.mark.timeout(600)]
DAG_ID = "storekpi_nightly"
MARTS = ("kpi_store_daily", "stock_cover", "repurchase_cohorts", "discount_violations", "revenue_bridge",
         "kpi_alerts")


def _marts(url: str) -> dict:
    import psycopg2

    with psycopg2.connect(url) as pg, pg.cursor() as cur:
        out = {}
        for mart in MARTS:
            cur.execute(f"select * from marts.{mart}")
            out[mart] = sorted(map(repr, cur.fetchall()))
        return out


def test_backfill_of_three_dates_equals_a_single_run_of_the_last(tmp_path):
    reason = postgres_unavailable() or redis_unavailable()
    if reason:
        pytest.skip(reason)
    landing = copy_landing(FIXTURES / "e2e_landing", tmp_path / "landing")
    with Cluster(tmp_path / "cluster") as cluster:
        cluster.wait_healthy(timeout=150)
        cluster.wait_worker_ready(timeout=90)
        cluster.login()
        cluster.wait_dag(DAG_ID, timeout=120)
        conf = {"landing": str(landing), "warehouse": cluster.warehouse_url, "outbox": str(tmp_path / "outbox"),
                "reports": str(tmp_path / "reports")}
        # runs at 03:00 UTC on 11-19, 11-20 and 11-21 (D = the day before each): --to-date is a midnight, so the
        # 11-21 run needs --to-date 11-22 (with 11-21 the backfill creates only two runs); a backfill has its own
        # max_active_runs (default 10), not the DAG's: runs of one warehouse must not overlap (docs/operations.md)
        created = subprocess.run(
            [sys.executable, "-m", "airflow", "backfill", "create", "--dag-id", DAG_ID,
             "--from-date", "2026-11-19", "--to-date", "2026-11-22", "--max-active-runs", "1",
             "--dag-run-conf", json.dumps(conf)],
            env=cluster.env(), cwd=cluster.workdir, capture_output=True, text=True, timeout=180)
        assert created.returncode == 0, created.stdout[-2000:] + created.stderr[-3000:]
        cluster.unpause(DAG_ID)  # a backfill runs like the scheduler's own runs: only for an unpaused DAG

        def backfill_runs():
            runs = cluster.request("GET", f"/api/v2/dags/{DAG_ID}/dagRuns",
                                   params={"run_type": "backfill", "limit": 10}).json()["dag_runs"]
            done = [r for r in runs if r["state"] in ("success", "failed")]
            return runs if len(runs) == 3 and len(done) == 3 else None

        try:
            runs = cluster.wait_until("three backfill runs finished", backfill_runs, timeout=420, interval=3)
        except ClusterError as exc:
            pytest.fail(str(exc))
        by_date = {r["logical_date"][:10]: r for r in runs}
        assert sorted(by_date) == ["2026-11-19", "2026-11-20", "2026-11-21"]
        for day, run in by_date.items():
            assert run["state"] == "success", f"{day}: {cluster.failure_report(DAG_ID, run['dag_run_id'])}"
        backfilled = _marts(cluster.warehouse_url)
        statuses = sorted(f"{summary['date']} {summary['status']}" for summary in
                          (cluster.xcom(DAG_ID, run["dag_run_id"], "finish") for run in runs))

    single_db = f"storekpi_single_{cluster.cluster_id}"
    _admin_sql(f'CREATE DATABASE "{single_db}"')
    try:
        single_url = cluster.warehouse_url.rsplit("/", 1)[0] + f"/{single_db}"
        (tmp_path / "single-state").mkdir()
        single = run_cli("run", "--landing", str(landing), "--warehouse", single_url, "--date", "2026-11-20",
                         "--outbox", str(tmp_path / "single-outbox"), "--reports", str(tmp_path / "single-reports"),
                         home=tmp_path / "single-state")
        assert single.code == 0, single.stderr[-3000:]
        assert backfilled == _marts(single_url)
    finally:
        _admin_sql(f'DROP DATABASE IF EXISTS "{single_db}" WITH (FORCE)')
    assert statuses == ["2026-11-18 published", "2026-11-19 published", "2026-11-20 published"]

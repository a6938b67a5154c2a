"""The nightly DAG on a real distributed Airflow: five services as separate processes, CeleryExecutor, Postgres.

What it proves beyond the in-process e2e test: the DAG parses in the dag-processor, the scheduler queues tasks
through Redis to a Celery worker, tasks reach the api-server's execution API, the REST API triggers a run with
conf and the simple auth manager's JWT, and the pipeline publishes into a PostgreSQL warehouse.

Expected marts are the hand-worked values of tests/e2e/test_nightly_e2e.py (same fixture landing folder):
maple_shop 11-19: 100 visitors, 2 orders, net 22.50 + 10.00 = 32.50; 11-20: 80 visitors, 2 orders, 9.00 + 10.00 =
19.00. tea_house 11-19: 50 visitors, 1 order, 190 − 10 shipping = 180.00; 11-20: 40 visitors, 1 order, 1000.00.
tea_house misses its target of 2 orders on 11-20: one alert, to the ops role.

Run alone: `make test-distributed` (about 2–4 minutes on two cores; the timings are printed).
"""

from __future__ import annotations

import re
import time
from datetime import date
from decimal import Decimal

import pytest

from tests.conftest import FIXTURES
from tests.deploy.airflow_cluster import Cluster, ClusterError, copy_landing, postgres_unavailable, \
    redis_unavailable

pytestmark = [pytest.mark.distributed, pytest.mark.postgres, pytest.mark.timeout(420)]

DAG_ID = "storekpi_nightly"
RUN_DATE = "2026-11-20"
EXPECTED_KPIS = [  # store_id, date, visitors, orders, net_sales
    ("maple_shop", date(2026, 11, 19), 100, 2, Decimal("32.50")),
    ("maple_shop", date(2026, 11, 20), 80, 2, Decimal("19.00")),
    ("tea_house", date(2026, 11, 19), 50, 1, Decimal("180.00")),
    ("tea_house", date(2026, 11, 20), 40, 1, Decimal("1000.00")),
]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    reason = postgres_unavailable() or redis_unavailable()
    if reason:
        pytest.skip(reason)
    workdir = tmp_path_factory.mktemp("distributed")
    with Cluster(workdir) as running:
        yield running
    assert not running.stray_pids(), "processes of the cluster survived teardown"
    assert not running.leftover_databases(), "the cluster's databases were not dropped"


def _warehouse_rows(url: str, sql: str) -> list[tuple]:
    import psycopg2

    con = psycopg2.connect(url, connect_timeout=5)
    try:
        with con.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall()
    finally:
        con.close()


def test_nightly_run_through_celery_publishes_postgres_marts(cluster, tmp_path):
    started = time.monotonic()
    landing = copy_landing(FIXTURES / "e2e_landing", tmp_path / "landing")
    outbox = tmp_path / "outbox"

    cluster.wait_healthy(timeout=150)
    cluster.wait_worker_ready(timeout=90)
    cluster.login()
    dag = cluster.wait_dag(DAG_ID, timeout=120)
    assert dag["is_paused"], "DAGs must start paused in production (AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION)"

    run_id = f"distributed_{cluster.cluster_id}"
    # Trigger before unpausing: the manual run is queued first, so max_active_runs=1 runs it before any
    # scheduled run the scheduler might create on unpause (that one would fail fast: no STOREKPI_LANDING here).
    cluster.trigger(DAG_ID, run_id=run_id, logical_date="2026-11-21T00:00:00+00:00", conf={
        "landing": str(landing), "warehouse": cluster.warehouse_url, "date": RUN_DATE,
        "outbox": str(outbox), "reports": str(cluster.reports),
    })
    cluster.unpause(DAG_ID)
    try:
        state = cluster.wait_run(DAG_ID, run_id, timeout=240)
    except ClusterError as exc:
        pytest.fail(f"{exc}\n{cluster.failure_report(DAG_ID, run_id)}")
    print(f"\ndistributed run {state} in {time.monotonic() - started:.0f}s; cluster timings {cluster.timings}")
    assert state == "success", f"run {run_id} ended {state}\n{cluster.failure_report(DAG_ID, run_id)}"

    states = {ti["task_id"]: ti["state"] for ti in cluster.task_instances(DAG_ID, run_id)}
    assert states == dict.fromkeys(
        ("discover", "ingest", "dbt_build", "quality_gate", "publish", "report", "alerts", "finish"), "success")
    # The steps handed their counts on by XCom across worker processes; finish's verdict is the run's summary.
    summary = cluster.xcom(DAG_ID, run_id, "finish")
    assert {k: summary[k] for k in ("status", "date", "stores", "files_loaded", "rows_loaded", "alerts")} == {
        "status": "published", "date": RUN_DATE, "stores": 2, "files_loaded": 5, "rows_loaded": 17, "alerts": 1}
    assert set(summary["task_seconds"]) == {"discover", "ingest", "dbt_build", "quality_gate", "publish", "report",
                                            "alerts"}

    kpis = _warehouse_rows(cluster.warehouse_url,
                           "select store_id, date, visitors, orders, net_sales from marts.kpi_store_daily "
                           "order by store_id, date")
    assert kpis == EXPECTED_KPIS
    alerts = _warehouse_rows(cluster.warehouse_url,
                             f"select store_id, rule, owner_role from marts.kpi_alerts where date = '{RUN_DATE}'")
    assert alerts == [("tea_house", "orders_below_target", "ops")]
    audit = _warehouse_rows(cluster.warehouse_url, "select status, stores, files_loaded, rows_loaded from audit.runs")
    assert audit == [("published", 2, 5, 17)]  # written by publish from discover's and ingest's XComs
    leftovers = _warehouse_rows(cluster.warehouse_url,
                                "select schema_name from information_schema.schemata "
                                "where schema_name like 'marts\\_\\_build%'")
    assert leftovers == [], "the build schema must be swapped in, not left behind"
    assert len(list(outbox.glob("*.eml"))) >= 1, "the ops alert e-mail was not written to the outbox"

    # The storekpi page, from the real api-server process: signed in only, with the night's numbers.
    assert cluster.request("GET", "/storekpi/", headers={"Authorization": ""}).status_code == 401
    page = cluster.request("GET", "/storekpi/")
    assert page.status_code == 200, page.text[:2000]
    assert f"KPIs of {RUN_DATE}" in page.text
    for store_id, day, visitors, orders, net_sales in EXPECTED_KPIS:
        if day.isoformat() == RUN_DATE:
            assert re.search(rf"<tr><td>{store_id}</td><td class=n>{visitors}</td><td class=n>{orders}</td>"
                             rf"<td class=n>{net_sales:,.2f}</td>", page.text), store_id
    assert '<h3 id="owner-ops">' in page.text and "orders_below_target" in page.text
    report = cluster.request("GET", f"/storekpi/report/{RUN_DATE}")
    assert report.status_code == 200 and "storekpi — nightly report" in report.text

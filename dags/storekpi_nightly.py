"""
### storekpi_nightly

Every night: pick up the exports stores dropped into the landing folder, load them into `raw` (bad rows to
`quarantine`), build the KPI marts with dbt, validate them, publish only validated data, then write the report and
e-mail each breached KPI's owner role.

Run for one date by hand: `storekpi run --landing DIR --warehouse TARGET --date YYYY-MM-DD`.
Scheduled runs read their defaults from the environment: `STOREKPI_LANDING`, `STOREKPI_STORES`, `STOREKPI_OUTBOX`,
`STOREKPI_REPORTS`; the warehouse is the Airflow connection `storekpi_warehouse` (or `STOREKPI_WAREHOUSE`, read
when the task runs, never stored with the DAG); the run's date D is the day before the run's logical date
in `STOREKPI_SCHEDULE_TZ` (see docs/operations.md).

This file only wires tasks: the work lives in `storekpi.pipeline` (imported inside each task, so parsing this file
stays fast and imports neither pandas, dbt nor Great Expectations).
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import Asset, Param, dag, task

SCHEDULE_TZ = os.environ.get("STOREKPI_SCHEDULE_TZ", "UTC")
# The earliest date D a run may cover (runspec.EARLIEST_DATE). Airflow skips every task of a run whose logical date
# (D + 1) is before start_date, so start_date must never decide which dates can be run or backfilled; catchup=False
# keeps the scheduler from creating the old runs itself.
START_DATE = pendulum.datetime(2000, 1, 1, tz=SCHEDULE_TZ)
MARTS = ("kpi_store_daily", "stock_cover", "repurchase_cohorts", "discount_violations", "revenue_bridge",
         "kpi_alerts")


def _failure_notifier():
    """E-mail Airflow failures through the SMTP provider when STOREKPI_FAILURE_EMAIL names addresses."""
    addresses = [a.strip() for a in os.environ.get("STOREKPI_FAILURE_EMAIL", "").split(",") if a.strip()]
    if not addresses:
        return []
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    return [SmtpNotifier(
        to=addresses,
        subject="[storekpi] {{ dag.dag_id }} failed for {{ params.date or ds }}",
        html_content="Task {{ ti.task_id }} failed in run {{ run_id }}. See the task log in Airflow.",
    )]


def _spec(context=None):
    """The run's inputs from its params (CLI conf or scheduled defaults)."""
    from airflow.sdk import get_current_context

    from storekpi.runspec import RunSpec

    context = context or get_current_context()
    params = context["params"]
    run_date = params.get("date")
    if not run_date:
        local = pendulum.instance(context["logical_date"]).in_timezone(SCHEDULE_TZ)
        run_date = local.subtract(days=1).to_date_string()
    return RunSpec.resolve(
        landing=params.get("landing"), warehouse=_warehouse(params.get("warehouse")), date=run_date,
        stores=params.get("stores"), outbox=params.get("outbox"), reports=params.get("reports"),
        run_key=params.get("run_key") or context["run_id"],
    )


def _warehouse(param: str | None) -> str:
    """The run's warehouse: its param, else $STOREKPI_WAREHOUSE as a connection, else the storekpi_warehouse one."""
    from storekpi.warehouse import CONNECTION_ID, as_connection

    return param or as_connection(os.environ.get("STOREKPI_WAREHOUSE")) or CONNECTION_ID


def _run(step: str) -> dict:
    from airflow.sdk.exceptions import AirflowFailException

    from storekpi import pipeline
    from storekpi.errors import BlockedError, ConfigError

    spec = _spec()
    try:
        return getattr(pipeline, step)(spec)
    except (BlockedError, ConfigError) as exc:  # retrying cannot help: fail now
        raise AirflowFailException(str(exc)) from exc
    except Exception as exc:
        pipeline.record_error(spec, step, exc)
        raise


def _abandon(context) -> None:
    """DAG failure callback: drop the build and record the failure in the run summary."""
    from storekpi import pipeline

    try:
        spec = _spec(context)
    except Exception:  # noqa: BLE001 - config errors are already recorded by the failing task
        return
    pipeline.abandon(spec)


@dag(
    dag_id="storekpi_nightly",
    schedule=os.environ.get("STOREKPI_SCHEDULE", "0 3 * * *"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,  # runs of one warehouse share its build file
    doc_md=__doc__,
    tags=["storekpi", "kpi", "nightly"],
    default_args={
        "owner": "storekpi",
        "retries": int(os.environ.get("STOREKPI_RETRIES", "2")),
        "retry_delay": timedelta(minutes=2),
        "retry_exponential_backoff": 2.0,  # 2, 4, 8 … minutes
        "max_retry_delay": timedelta(minutes=30),
        "on_failure_callback": _failure_notifier(),
    },
    on_failure_callback=_abandon,
    params={
        "landing": Param(os.environ.get("STOREKPI_LANDING"), type=["null", "string"]),
        # A DuckDB path or an Airflow connection id, never a URL: params are serialised with the DAG and shown in
        # the UI. Unset, the task reads $STOREKPI_WAREHOUSE at run time, else the storekpi_warehouse connection.
        "warehouse": Param(None, type=["null", "string"],
                           description="DuckDB file path or Airflow connection id (default storekpi_warehouse)"),
        "date": Param(None, type=["null", "string"], description="YYYY-MM-DD; default: the day before the run"),
        "stores": Param(os.environ.get("STOREKPI_STORES"), type=["null", "string"]),
        "outbox": Param(os.environ.get("STOREKPI_OUTBOX"), type=["null", "string"]),
        "reports": Param(os.environ.get("STOREKPI_REPORTS"), type=["null", "string"]),
        "run_key": Param(None, type=["null", "string"]),
    },
)
def storekpi_nightly():
    @task
    def discover() -> dict:
        return _run("discover")

    @task
    def ingest() -> dict:
        return _run("ingest")

    @task
    def dbt_build() -> dict:
        return _run("dbt_build")

    @task  # a blocked verdict fails at once (AirflowFailException); only errors are retried
    def quality_gate() -> dict:
        return _run("quality_gate")

    @task(outlets=[Asset(f"storekpi://marts/{name}") for name in MARTS])
    def publish() -> dict:
        return _run("publish")

    @task
    def report() -> dict:
        return _run("report")

    @task
    def alerts() -> dict:
        return _run("alerts")

    discover() >> ingest() >> dbt_build() >> quality_gate() >> publish() >> report() >> alerts()


storekpi_nightly()

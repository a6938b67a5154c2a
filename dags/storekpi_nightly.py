"""
### storekpi_nightly

Every night: pick up the exports stores dropped into the landing folder, load them into `raw` (bad rows to
`quarantine`), build the KPI marts with dbt, validate them, publish only validated data, then write the report and
e-mail each breached KPI's owner role. A last task, `finish` (a teardown: it runs whatever the steps did), decides
the run's status (published, blocked or failed), records and abandons a run that did not publish, and returns the
run's JSON summary as its XCom. Steps hand their results to later steps by XCom; nothing is shared on disk.

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


def _run(step: str, **upstream) -> dict:
    """Run one pipeline step with the results (XComs) of the steps it reads; a failing step leaves its error as
    its `error` XCom for `finish`."""
    from airflow.sdk import get_current_context
    from airflow.sdk.exceptions import AirflowFailException

    from storekpi import pipeline
    from storekpi.errors import BlockedError, ConfigError

    context = get_current_context()
    try:
        return pipeline.run_step(_spec(context), step, upstream)
    except Exception as exc:
        context["ti"].xcom_push(key="error", value=pipeline.step_error(step, exc))
        if isinstance(exc, (BlockedError, ConfigError)):  # retrying cannot help: fail now
            raise AirflowFailException(str(exc)) from exc
        raise


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
    def publish(discover: dict, ingest: dict, dbt_build: dict, quality_gate: dict) -> dict:
        return _run("publish", discover=discover, ingest=ingest, dbt_build=dbt_build, quality_gate=quality_gate)

    @task
    def report(discover: dict, ingest: dict, publish: dict) -> dict:
        return _run("report", discover=discover, ingest=ingest, publish=publish)

    @task
    def alerts(report: dict) -> dict:
        return _run("alerts", report=report)

    @task
    def finish() -> dict:
        """Decide the run's status once every step has ended (published, blocked or failed), record and abandon
        a run that did not publish, and return the run's JSON summary."""
        from airflow.sdk import get_current_context

        from storekpi import pipeline
        from storekpi.errors import ConfigError

        context = get_current_context()
        ti = context["ti"]
        names = [step.__name__ for step in pipeline.STEPS]
        results = {name: ti.xcom_pull(task_ids=name) for name in names}
        errors = {name: ti.xcom_pull(task_ids=name, key="error") for name in names}
        try:
            spec = _spec(context)
        except ConfigError as exc:  # no warehouse to record it in: the summary still says why
            return pipeline.unresolved(str(exc))
        return pipeline.finish(spec, results, errors)

    found, loaded, built, gated = discover(), ingest(), dbt_build(), quality_gate()
    found >> loaded >> built >> gated
    published = publish(found, loaded, built, gated)
    sent = alerts(report(found, loaded, published))
    # A teardown: it runs whatever the steps did (all done), and the DAG run's state stays theirs (failed when a
    # step failed or was blocked), not finish's.
    sent >> finish().as_teardown()


storekpi_nightly()

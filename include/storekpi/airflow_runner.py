"""Run the nightly DAG in-process through Airflow, exactly the DAG the scheduler runs.

Airflow's home (SQLite metadata, logs, config) lives in storekpi's state folder, never in ~/airflow, and only
storekpi's DAG folder is loaded (no example DAGs). The environment must be set before Airflow is first imported,
so this module imports Airflow inside its functions only.

The run's state is its DAG run: after `dag.test()`, `read_run` reads the task states' verdict (`finish`'s summary)
and the steps' XComs from the metadata database; nothing is kept on the side.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from pathlib import Path

from storekpi.runspec import RunSpec, state_dir

log = logging.getLogger(__name__)
DAG_ID = "storekpi_nightly"


def dags_folder() -> Path:
    """The project's dags/ folder (beside include/, where the editable package lives)."""
    override = os.environ.get("STOREKPI_DAGS_FOLDER")
    if override:
        return Path(override).resolve()
    return Path(__file__).resolve().parents[2] / "dags"


def configure_environment(home: Path | None = None) -> Path:
    """Point Airflow at a private home with SQLite metadata; returns AIRFLOW_HOME."""
    home = home or state_dir() / "airflow"
    home.mkdir(parents=True, exist_ok=True)
    env = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder()),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST":
            f'[{{"name": "dags-folder", "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle", '
            f'"kwargs": {{"path": "{dags_folder()}"}}}}]',
        "GX_ANALYTICS_ENABLED": "false",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    os.environ.update(env)
    os.environ.setdefault("STOREKPI_RETRIES", "0")  # a person is watching; the scheduler keeps its retries
    return home


def migrate(home: Path) -> None:
    """Create or upgrade the metadata database (a few seconds the first time, then a no-op check)."""
    from airflow.utils import db

    marker = home / ".migrated"
    import airflow

    if marker.exists() and marker.read_text() == airflow.__version__:
        return
    db.upgradedb()
    marker.write_text(airflow.__version__)


@dataclass(frozen=True)
class RunOutcome:
    """What Airflow's metadata knows of one DAG run: its state, and finish's summary (None if finish did not
    return one) with the steps' results and errors (their XComs), from which the summary can be decided again."""

    state: str
    summary: dict | None
    results: dict
    errors: dict


def run_dag(spec: RunSpec, make_listener: Callable[[], object] | None = None) -> RunOutcome:
    """Run the DAG for `spec` and return what its DAG run ended with.

    `make_listener` builds an Airflow task-instance listener (e.g. the console's) once Airflow is configured; it
    hears this run's tasks start, succeed and fail. Before the run, DAG runs of the same warehouse that a killed
    `storekpi run` left `running` are marked failed (the caller holds the warehouse's lock).
    """
    home = configure_environment()
    from airflow import settings
    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk.listener import get_listener_manager

    settings.configure_orm()
    migrate(home)
    bag = DagBag(dag_folder=str(dags_folder()), safe_mode=False)
    if bag.import_errors:
        raise RuntimeError(f"DAG import errors: {bag.import_errors}")
    dag = bag.dags[DAG_ID]
    fail_killed_runs(spec)
    listener = make_listener() if make_listener else None
    if listener is not None:
        get_listener_manager().add_listener(listener)
    try:
        dag.test(logical_date=logical_date(spec), run_conf={**spec.to_conf(), TARGET_KEY: spec.target.display})
    finally:
        if listener is not None:
            get_listener_manager().pm.unregister(listener)
    return read_run(spec)


TARGET_KEY = "target"  # the DAG run's warehouse without a password, to find a killed run of the same warehouse


def logical_date(spec: RunSpec) -> datetime:
    """The DAG run's logical date: the run happens after day D has closed, as a scheduled run would."""
    return datetime.combine(spec.date + timedelta(days=1), time(0), tzinfo=timezone.utc)


def read_run(spec: RunSpec) -> RunOutcome:
    """The outcome of the DAG run for `spec` (found by its run key among the runs of its logical date), read from
    Airflow's metadata database."""
    from airflow.utils.session import create_session

    with create_session() as session:
        runs = [run for run in _runs_of(session, logical_date=logical_date(spec))
                if run.conf.get("run_key") == spec.run_key]
        return _outcome(session, runs[-1]) if runs else RunOutcome("not started", None, {}, {})


def _outcome(session, run) -> RunOutcome:
    from airflow.models.xcom import XComModel

    from storekpi.pipeline import STEPS

    values = {(row.task_id, row.key): XComModel.deserialize_value(row)
              for row in session.scalars(XComModel.get_many(run_id=run.run_id, dag_ids=DAG_ID))}
    names = [step.__name__ for step in STEPS]
    return RunOutcome(state=str(getattr(run.state, "value", run.state)),
                      summary=values.get(("finish", "return_value")),
                      results={name: values.get((name, "return_value")) for name in names},
                      errors={name: values.get((name, "error")) for name in names})


def _runs_of(session, **where) -> list:
    from sqlalchemy import select

    from airflow.models.dagrun import DagRun

    query = select(DagRun).where(DagRun.dag_id == DAG_ID, *(getattr(DagRun, k) == v for k, v in where.items()))
    return [run for run in session.scalars(query.order_by(DagRun.id)) if isinstance(run.conf, dict)]


def fail_killed_runs(spec: RunSpec) -> list[dict]:
    """Finish the DAG runs of this warehouse a killed `storekpi run` left `running` in this Airflow home (runs of
    one warehouse never overlap: the caller holds its lock): each is decided by `pipeline.finish` from the XComs it
    left, like any run (recorded in audit.runs, its build abandoned), and marked failed. Returns their summaries."""
    from sqlalchemy import select

    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState, State, TaskInstanceState

    from storekpi import pipeline

    finished = []
    with create_session() as session:
        for run in _runs_of(session, state=DagRunState.RUNNING):
            key = run.conf.get("run_key")
            if run.conf.get(TARGET_KEY) != spec.target.display or key == spec.run_key:
                continue
            why = f"the run stopped before it finished (killed?); found by run {spec.run_key}"
            log.warning("run %s of %s was left running: marked failed", key, spec.target.display)
            outcome = _outcome(session, run)
            try:
                killed = RunSpec.from_conf(run.conf)
                finished.append(pipeline.finish(killed, outcome.results, outcome.errors, ended=why))
            except Exception as exc:  # noqa: BLE001 - e.g. its landing folder is gone: still mark it failed
                log.warning("could not record the killed run %s: %s", key, exc)
            for ti in session.scalars(select(TaskInstance).where(TaskInstance.dag_id == run.dag_id,
                                                                 TaskInstance.run_id == run.run_id)):
                if ti.state not in State.finished:
                    ti.state = TaskInstanceState.FAILED
            run.set_state(DagRunState.FAILED)
            run.note = why
    return finished


if __name__ == "__main__":  # pragma: no cover - debugging aid
    print(run_dag(RunSpec.resolve(landing=sys.argv[1], warehouse=sys.argv[2], date=sys.argv[3],
                                  run_key="manual")))

"""Run the nightly DAG in-process through Airflow, exactly the DAG the scheduler runs.

Airflow's home (SQLite metadata, logs, config) lives in storekpi's state folder, never in ~/airflow, and only
storekpi's DAG folder is loaded (no example DAGs). The environment must be set before Airflow is first imported,
so this module imports Airflow inside `run_dag` only.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
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


def run_dag(spec: RunSpec, make_listener: Callable[[], object] | None = None) -> str:
    """Run the DAG for `spec` and return the final DAG run state ('success' or 'failed').

    `make_listener` builds an Airflow task-instance listener (e.g. the console's) once Airflow is configured; it
    hears this run's tasks start, succeed and fail.
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
    # Logical date: the run happens after day D has closed, as a scheduled run would.
    logical = datetime.combine(spec.date + timedelta(days=1), time(0), tzinfo=timezone.utc)
    listener = make_listener() if make_listener else None
    if listener is not None:
        get_listener_manager().add_listener(listener)
    try:
        dag_run = dag.test(logical_date=logical, run_conf=spec.to_conf())
    finally:
        if listener is not None:
            get_listener_manager().pm.unregister(listener)
    return str(getattr(dag_run.state, "value", dag_run.state))


if __name__ == "__main__":  # pragma: no cover - debugging aid
    print(run_dag(RunSpec.resolve(landing=sys.argv[1], warehouse=sys.argv[2], date=sys.argv[3],
                                  run_key="manual")))

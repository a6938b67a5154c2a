"""The DAG folder imports cleanly, every DAG is well-formed, and parsing stays light.

Runs in subprocesses with a private AIRFLOW_HOME, because Airflow reads its configuration once, at import.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import ROOT

DAGS = ROOT / "dags"


def _python(code: str, tmp_path) -> dict:
    env = {**os.environ, "STOREKPI_HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


# A fresh interpreter's preamble: storekpi's Airflow environment, then the DagBag of dags/ as `bag`.
LOAD_DAGBAG = (
    "import json\n"
    "from storekpi.airflow_runner import configure_environment\n"
    "configure_environment()\n"
    "from airflow.dag_processing.dagbag import DagBag\n"
    f"bag = DagBag(dag_folder={str(DAGS)!r})\n"
)


def test_dagbag_imports_without_errors(tmp_path):
    info = _python(
        LOAD_DAGBAG +
        "print(json.dumps({'errors': {k: str(v) for k, v in bag.import_errors.items()},\n"
        "  'dags': {d.dag_id: {'tags': sorted(d.tags), 'tasks': {t.task_id: {'owner': t.owner,\n"
        "   'retries': t.retries} for t in d.tasks}, 'max_active_runs': d.max_active_runs}\n"
        "   for d in bag.dags.values()}}))\n",
        tmp_path,
    )
    assert info["errors"] == {}
    assert "storekpi_nightly" in info["dags"]
    for dag_id, dag in info["dags"].items():
        assert dag["tags"], f"{dag_id} has no tags"
        for task_id, task in dag["tasks"].items():
            assert task["owner"] and task["owner"] != "airflow", f"{dag_id}.{task_id} has no owner"
    nightly = info["dags"]["storekpi_nightly"]["tasks"]
    assert list(nightly) == ["discover", "ingest", "dbt_build", "quality_gate", "publish", "report", "alerts",
                            "finish"]
    assert info["dags"]["storekpi_nightly"]["max_active_runs"] == 1


def test_scheduled_dag_has_retries(tmp_path):
    """The scheduler's DAG retries every task (a blocked gate fails at once, without retries)."""
    env_code = (
        "import json, os\n"
        "os.environ.pop('STOREKPI_RETRIES', None)\n"
        "from storekpi.airflow_runner import configure_environment\n"
        "configure_environment(); os.environ.pop('STOREKPI_RETRIES')\n"
        "from airflow.dag_processing.dagbag import DagBag\n"
        f"bag = DagBag(dag_folder={str(DAGS)!r})\n"
        "d = bag.dags['storekpi_nightly']\n"
        "print(json.dumps({t.task_id: t.retries for t in d.tasks}))\n"
    )
    retries = _python(env_code, tmp_path)
    assert all(r >= 1 for r in retries.values()), retries


def test_dag_files_do_not_import_heavy_libraries(tmp_path):
    for path in sorted(DAGS.glob("*.py")):
        loaded = _python(
            "import json, runpy, sys\n"
            "from storekpi.airflow_runner import configure_environment\n"
            "configure_environment()\n"
            f"runpy.run_path({str(path)!r})\n"
            "heavy = ('pandas', 'great_expectations', 'dbt', 'duckdb', 'pyarrow')\n"
            "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in heavy)))\n",
            tmp_path,
        )
        assert loaded == [], f"{path.name} imports {loaded[:5]}"


def test_finish_is_a_teardown_and_steps_read_their_inputs_by_xcom(tmp_path):
    """Issue 12: the last task decides the run's status whatever the steps did, without deciding the DAG run's state
    (a teardown), and publish/report/alerts take what they need from upstream XComs (TaskFlow arguments)."""
    info = _python(
        LOAD_DAGBAG +
        "d = bag.dags['storekpi_nightly']\n"
        "print(json.dumps({t.task_id: {'upstream': sorted(t.upstream_task_ids), 'teardown': t.is_teardown,\n"
        "  'rule': getattr(t.trigger_rule, 'value', t.trigger_rule)} for t in d.tasks}))\n",
        tmp_path,
    )
    finish = info.pop("finish")
    assert finish["teardown"] and finish["rule"] == "all_done_setup_success" and finish["upstream"] == ["alerts"]
    assert not any(task["teardown"] for task in info.values())
    assert info["publish"]["upstream"] == ["dbt_build", "discover", "ingest", "quality_gate"]
    assert info["report"]["upstream"] == ["discover", "ingest", "publish"]
    assert info["alerts"]["upstream"] == ["report"]

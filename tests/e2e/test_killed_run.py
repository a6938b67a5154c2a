"""A run killed during dbt on PostgreSQL: the published marts are untouched, and the next run drops the
`marts__build_*` schema it left, records it failed in audit.runs, and publishes as usual (issue 20, "Messages").
Issue 12: the killed run's state is its DAG run in Airflow's metadata (left `running`), not a side file; the next
run finishes it the way any run is finished."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import FIXTURES, dag_runs, run_cli, run_progress

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]
DAY = "2026-11-20"


def _schemas(url: str) -> list[str]:
    import psycopg2

    with psycopg2.connect(url) as pg, pg.cursor() as cur:
        cur.execute("select schema_name from information_schema.schemata where schema_name like 'marts%' order by 1")
        return [r[0] for r in cur.fetchall()]


def _kill_during_dbt(landing, url: str, state) -> str:
    """Start a run, SIGKILL its whole process group while dbt builds; returns the killed run's key."""
    env = {**os.environ, "STOREKPI_HOME": str(state), "STOREKPI_PII_SALT": "test-salt"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "storekpi.cli", "run", "--landing", str(landing), "--warehouse", url, "--date", DAY],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        key, done = run_progress(state, DAY)
        if "ingest" in done and "dbt_build" not in done and any("__build_" in s for s in _schemas(url)):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
            return key
        time.sleep(0.05)
    proc.kill()
    pytest.fail("the run finished before it could be killed during dbt")


def test_killed_postgres_run_is_cleaned_up_by_the_next_run(tmp_path):
    from tests.pg import temp_database

    landing = tmp_path / "landing"
    shutil.copytree(FIXTURES / "e2e_landing", landing)
    state = tmp_path / "state"
    state.mkdir()
    with temp_database("storekpi_kill") as url:
        killed = _kill_during_dbt(landing, url, state)
        assert any(s.startswith("marts__build_") for s in _schemas(url))  # what the killed run left
        assert dag_runs(state)[killed]["state"] == "running"

        result = run_cli("run", "--landing", str(landing), "--warehouse", url, "--date", DAY,
                         "--outbox", str(tmp_path / "outbox"), "--reports", str(tmp_path / "reports"), home=state)
        assert result.code == 0, result.stderr[-3000:]
        assert result.summary["status"] == "published"
        assert _schemas(url) == ["marts"]  # no marts__build_* left
        import psycopg2

        with psycopg2.connect(url) as pg, pg.cursor() as cur:
            cur.execute("select status, message, files_loaded from audit.runs where run_id = %s", [killed])
            status, message, files_loaded = cur.fetchone()
        assert status == "failed" and "stopped before it finished" in message
        assert files_loaded == 5  # from the XCom its ingest step left

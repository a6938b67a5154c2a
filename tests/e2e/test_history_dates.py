"""Any date from 2000-01-01 runs: the DAG's own dates (start_date, the logical date D + 1) never decide what a run
covers, and a run never ends with status `running` (issue 13, point 1).
"""

from __future__ import annotations

import shutil

import duckdb
import pytest

from tests.conftest import FIXTURES, ROOT, run_cli

pytestmark = pytest.mark.e2e
HISTORY_DATE = "2021-05-13"  # years before any date the DAG's schedule knows


def test_a_run_for_a_date_long_before_the_dags_start_publishes(tmp_path):
    landing = tmp_path / "landing"
    made = run_cli("generate", "--out", str(landing), "--stores", "3", "--days", "12", "--end-date", HISTORY_DATE,
                   home=tmp_path / "gen-state")
    assert made.code == 0, made.stderr[-3000:]
    (tmp_path / "state").mkdir()
    warehouse = tmp_path / "warehouse.duckdb"
    result = run_cli("run", "--landing", str(landing), "--warehouse", str(warehouse), "--date", HISTORY_DATE,
                     "--outbox", str(tmp_path / "outbox"), home=tmp_path / "state")
    assert result.code == 0, result.stderr[-4000:]
    summary = result.summary
    assert summary["status"] == "published" and summary["date"] == HISTORY_DATE
    assert summary["stores"] == 3 and summary["files_loaded"] > 0 and summary["rows_loaded"] > 0
    with duckdb.connect(str(warehouse), read_only=True) as con:
        days = con.execute("select store_id, max(date)::varchar, sum(orders) from marts.kpi_store_daily "
                           "group by store_id order by 1").fetchall()
        on_d = dict(con.execute("select store_id, orders from marts.kpi_store_daily where date = ?",
                                [HISTORY_DATE]).fetchall())
        runs = con.execute("select status, date::varchar from audit.runs").fetchall()
    assert len(days) == 3 and all(last == HISTORY_DATE and orders > 0 for _, last, orders in days)
    assert len(on_d) == 3  # every store has its row for D
    assert runs == [("published", HISTORY_DATE)]


def test_a_dag_run_that_runs_no_step_ends_failed_with_a_message_never_running(tmp_path):
    """A DAG whose start_date lies after the run's logical date makes Airflow skip every task and call the run a
    success: the CLI must report it failed, with a message, and exit 1."""
    dags = tmp_path / "dags"
    shutil.copytree(ROOT / "dags", dags, ignore=shutil.ignore_patterns("__pycache__"))
    dag_file = dags / "storekpi_nightly.py"
    source = dag_file.read_text(encoding="utf-8")
    assert "pendulum.datetime(2000, 1, 1" in source
    dag_file.write_text(source.replace("pendulum.datetime(2000, 1, 1", "pendulum.datetime(2030, 1, 1"),
                        encoding="utf-8")
    (tmp_path / "state").mkdir()
    result = run_cli("run", "--landing", str(FIXTURES / "e2e_landing"), "--warehouse",
                     str(tmp_path / "warehouse.duckdb"), "--date", "2026-11-20", home=tmp_path / "state",
                     env={"STOREKPI_DAGS_FOLDER": str(dags)})
    assert result.code == 1, result.stderr[-3000:]
    assert result.summary["status"] == "failed"
    assert "before the pipeline finished" in result.summary["message"]
    assert not (tmp_path / "warehouse.duckdb").exists()  # nothing was published

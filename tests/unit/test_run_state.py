"""`pipeline.finish` decides a run's status from its steps' results and errors, the one way the DAG's `finish`
task, the CLI and the benchmark decide it (issue 12, "one run state"); no Airflow here, a DuckDB build only."""

from __future__ import annotations

from datetime import date

import duckdb

from storekpi import pipeline, warehouse
from storekpi.errors import BlockedError
from storekpi.runspec import SUMMARY_KEYS, RunSpec

STEPS = [step.__name__ for step in pipeline.STEPS]
RESULTS = {
    "discover": {"stores": 2, "files": 5, "started_at": "2026-11-21T03:00:00", "seconds": 0.5},
    "ingest": {"files_loaded": 5, "rows_loaded": 17, "rows_quarantined": 1, "files_rejected": 0, "seconds": 1.5},
    "dbt_build": {"models": 60, "tests": 249, "warnings": 0, "seconds": 20.0},
    "quality_gate": {"checks": 34, "warnings": 0, "seconds": 3.0},
    "publish": {"alerts": 4, "seconds": 0.2},
    "report": {"report": "/r/2026-11-20/report.html", "seconds": 0.7},
    "alerts": {"emails": 1, "scorecard_emails": 0, "seconds": 0.1},
}


def _spec(tmp_path, run_key: str = "r1") -> RunSpec:
    return RunSpec(landing=tmp_path, warehouse=str(tmp_path / "w.duckdb"), date=date(2026, 11, 20),
                   stores=tmp_path / "stores.yml", outbox=None, reports=tmp_path / "reports", run_key=run_key)


def _until(step: str) -> dict:
    return {name: RESULTS[name] for name in STEPS[:STEPS.index(step)]}


def _build(spec: RunSpec) -> None:
    with warehouse.open_build(spec.target, fresh=True) as wh:
        wh.ensure_schema()


def _audit(path) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute("select run_id, status, message, stores, files_loaded, rows_loaded, task_seconds "
                           "from audit.runs").fetchall()


def test_every_step_done_is_published_with_the_steps_counts(tmp_path):
    summary = pipeline.finish(_spec(tmp_path), RESULTS, {})
    assert list(summary)[:len(SUMMARY_KEYS)] == list(SUMMARY_KEYS) and "message" not in summary
    assert (summary["status"], summary["stores"], summary["files_loaded"], summary["rows_loaded"],
            summary["rows_quarantined"], summary["alerts"], summary["report"]) == (
        "published", 2, 5, 17, 1, 4, "/r/2026-11-20/report.html")
    assert summary["task_seconds"] == {name: result["seconds"] for name, result in RESULTS.items()}


def test_a_blocked_gate_is_recorded_in_the_kept_build_and_the_build_abandoned(tmp_path):
    spec = _spec(tmp_path)
    _build(spec)
    error = pipeline.step_error("quality_gate", BlockedError("blocked by 1 failed checks: x"))
    summary = pipeline.finish(spec, _until("quality_gate"), {"quality_gate": error})
    kept = spec.target.failed_path
    assert summary["status"] == "blocked"
    assert summary["message"] == f"blocked by 1 failed checks: x (the blocked build is kept for inspection at {kept})"
    assert not spec.target.build_path.exists() and not spec.target.path.exists()  # nothing published
    ((run_id, status, message, stores, files, rows, seconds),) = _audit(kept)
    assert (run_id, status, message, stores, files, rows) == ("r1", "blocked", "blocked by 1 failed checks: x", 2, 5,
                                                             17)
    assert seconds == '{"discover": 0.5, "ingest": 1.5, "dbt_build": 20.0}'


def test_a_failed_step_names_itself_and_its_error(tmp_path):
    spec = _spec(tmp_path)
    _build(spec)
    error = pipeline.step_error("dbt_build", RuntimeError("model kpi_store_daily failed"))
    summary = pipeline.finish(spec, _until("dbt_build"), {"dbt_build": error})
    assert summary["status"] == "failed"
    assert summary["message"].startswith("dbt_build failed: RuntimeError: model kpi_store_daily failed (the failed")
    assert _audit(spec.target.failed_path)[0][1:3] == ("failed", "dbt_build failed: RuntimeError: model "
                                                                 "kpi_store_daily failed")


def test_a_failure_after_publish_keeps_the_marts_and_still_fails(tmp_path):
    spec = _spec(tmp_path)
    error = pipeline.step_error("report", OSError("disk full"))
    summary = pipeline.finish(spec, _until("report"), {"report": error})
    assert summary["status"] == "failed" and summary["alerts"] == 4
    assert summary["message"] == "marts were published, then report failed: OSError: disk full"


def test_a_step_that_ended_without_an_error_is_a_failure_that_says_so(tmp_path):
    spec = _spec(tmp_path)
    assert pipeline.finish(spec, _until("ingest"), {})["message"] == "ingest did not finish; see its task log"
    summary = pipeline.finish(spec, {}, {}, ended="the DAG run ended failed before the pipeline finished")
    assert (summary["status"], summary["stores"], summary["message"]) == (
        "failed", 0, "the DAG run ended failed before the pipeline finished")


def test_the_first_failed_step_decides_and_finish_is_idempotent(tmp_path):
    spec = _spec(tmp_path)
    _build(spec)
    errors = {"ingest": pipeline.step_error("ingest", ValueError("bad")), "alerts": None}
    first = pipeline.finish(spec, _until("ingest"), errors)
    again = pipeline.finish(spec, _until("ingest"), errors)  # the build is gone: nothing more to record
    assert first["message"].startswith("ingest failed: ValueError: bad")
    assert again == {**first, "message": "ingest failed: ValueError: bad"}
    assert len(_audit(spec.target.failed_path)) == 1


def test_run_step_adds_the_steps_own_seconds(tmp_path, monkeypatch):
    monkeypatch.setitem(pipeline.STEPS_BY_NAME, "report", lambda spec, upstream: {"got": sorted(upstream)})
    result = pipeline.run_step(_spec(tmp_path), "report", {"publish": RESULTS["publish"]})
    assert result["got"] == ["publish"] and isinstance(result["seconds"], float)

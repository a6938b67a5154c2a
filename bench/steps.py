"""The nightly pipeline's steps run in-process, without Airflow: per-step timings from the steps' results.

Used in-process by the history benchmark, and as a child process (`python -m bench.steps ...`) where a run's own
peak RSS is wanted without Airflow's start-up (the smoke sizes).
"""

from __future__ import annotations

import argparse
import json
import resource
import time
import uuid
from pathlib import Path

SETUP_STEPS = ("discover", "ingest", "dbt_build", "quality_gate", "publish")  # what D+1 builds on


def run_steps(landing: Path, warehouse: Path | str, day: str, work: Path, *, steps: tuple[str, ...] | None = None,
              label: str = "bench") -> dict:
    """Run the pipeline for `day`; returns {"seconds": wall, "task_seconds": {...}, "dbt_models": {...}, ...}.

    Each step gets the earlier steps' results, as the DAG's tasks get their XComs. Raises the step's error (BlockedError
    when a quality gate blocks) after `pipeline.finish` has recorded the run and abandoned its build, as the DAG does.
    """
    from storekpi import pipeline
    from storekpi.runspec import RunSpec

    spec = RunSpec.resolve(landing=str(landing), warehouse=str(warehouse), date=day,
                           outbox=str(work / "outbox"), reports=str(work / "reports"),
                           run_key=f"{label}_{day}_{uuid.uuid4().hex[:6]}")
    (work / "outbox").mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    names = steps or tuple(step.__name__ for step in pipeline.STEPS)
    peak_after: dict[str, float] = {}
    results: dict[str, dict] = {}
    for name in names:
        try:
            results[name] = pipeline.run_step(spec, name, results)
        except Exception as exc:
            pipeline.finish(spec, results, {name: pipeline.step_error(name, exc)})
            raise
        peak_after[name] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    seconds = time.perf_counter() - started
    complete = len(names) == len(pipeline.STEPS)  # a subset (the smoke sizes) stops early, e.g. before publish
    summary = pipeline.finish(spec, results) if complete else {**pipeline.facts(spec, results),
                                                                 "status": f"stopped after {names[-1]}"}
    return {"seconds": seconds, "task_seconds": summary["task_seconds"],
            "rows_loaded": summary["rows_loaded"], "files_loaded": summary["files_loaded"],
            "status": summary["status"], "peak_rss_mib_after": peak_after,
            "dbt_models": dbt_model_seconds(spec.work_dir / "dbt")}


def dbt_model_seconds(dbt_work: Path) -> dict[str, float]:
    """Execution time of each dbt node from the build's run_results.json (empty when dbt did not run)."""
    path = dbt_work / "target" / "run_results.json"
    if not path.exists():
        return {}
    results = json.loads(path.read_text()).get("results", [])
    return {r["unique_id"]: round(r.get("execution_time") or 0.0, 3) for r in results}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the nightly pipeline steps in-process for one date.")
    parser.add_argument("--landing", type=Path, required=True)
    parser.add_argument("--warehouse", required=True, help="a DuckDB file or a postgresql:// URL")
    parser.add_argument("--date", required=True)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--steps", nargs="+", help="only these steps, in pipeline order (default: all)")
    args = parser.parse_args(argv)
    result = run_steps(args.landing, args.warehouse, args.date, args.work,
                       steps=tuple(args.steps) if args.steps else None)
    print(json.dumps({k: v for k, v in result.items() if k != "dbt_models"}))


if __name__ == "__main__":
    main()

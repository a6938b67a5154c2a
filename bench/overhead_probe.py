"""A `storekpi run` with clocks on its fixed costs: `python -m bench.overhead_probe OUT.json -- <storekpi args>`.

The real CLI runs the real DAG through Airflow; the probe only wraps functions with timers before it starts (the
work done is unchanged): Airflow set-up (`configure_environment`, imports, `configure_orm`, `migrate`, `DagBag`),
`dag.test`, each task's start request to the Execution API and each pipeline step, and inside the steps dbt's import and manifest parse and Great Expectations'
import. `--startup-only` stops after the DagBag (the smoke sizes: no dbt, no DAG run). The parent passes the wall
time it spawned the child at (`STOREKPI_BENCH_SPAWNED_AT`), so interpreter start counts too; it measures the exit,
which the probe ends as `storekpi` does (`cli.exit_now`).
"""

from __future__ import annotations

import functools
import json
import os
import sys
import time

SPAWNED_AT = float(os.environ.get("STOREKPI_BENCH_SPAWNED_AT") or time.time())
PROBE_STARTED = time.time()
SPANS: list[tuple[str, float, float]] = []  # (name, start, end) as seconds since spawn


def _now() -> float:
    return time.time() - SPAWNED_AT


def _timed(name: str, func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        start = _now()
        try:
            return func(*args, **kwargs)
        finally:
            SPANS.append((name, start, _now()))
    return wrapper


def _span(name: str, action) -> None:
    start = _now()
    action()
    SPANS.append((name, start, _now()))


def _instrument(startup_only: bool) -> None:
    from storekpi import airflow_runner, pipeline

    configure = airflow_runner.configure_environment

    def configure_then_wrap(*args, **kwargs):
        home = _timed("configure_environment", configure)(*args, **kwargs)
        _span("import airflow", _import_airflow)
        from airflow import settings
        from airflow.dag_processing import dagbag
        from airflow.sdk.api.client import TaskInstanceOperations
        from airflow.sdk.definitions.dag import DAG

        settings.configure_orm = _timed("configure_orm", settings.configure_orm)
        if startup_only:
            dagbag.DagBag = _stop_after(_timed("DagBag", dagbag.DagBag))
        else:
            dagbag.DagBag = _timed("DagBag", dagbag.DagBag)
        DAG.test = _timed("dag.test", DAG.test)
        # a task's start request to the in-process Execution API (the first one builds the API's routers)
        TaskInstanceOperations.start = _timed("task start request", TaskInstanceOperations.start)
        return home

    airflow_runner.configure_environment = configure_then_wrap
    airflow_runner.migrate = _timed("migrate", airflow_runner.migrate)
    airflow_runner.run_dag = _timed("run_dag", airflow_runner.run_dag)
    for step in pipeline.STEPS:  # run_step calls a step through STEPS_BY_NAME
        pipeline.STEPS_BY_NAME[step.__name__] = _timed(f"step:{step.__name__}", _before(step))


class _StartupDone(Exception):
    """Raised after the DagBag in --startup-only mode (the CLI records the run as failed; nothing was built)."""


def _stop_after(func):
    def wrapper(*args, **kwargs):
        func(*args, **kwargs)
        raise _StartupDone()
    return wrapper


def _import_airflow() -> None:
    from airflow import settings  # noqa: F401 - what run_dag imports first
    from airflow.dag_processing.dagbag import DagBag  # noqa: F401
    from airflow.sdk.listener import get_listener_manager  # noqa: F401


def _before(step):
    """Import what the step imports first, timed on its own (dbt and GX are imported lazily inside the steps)."""
    name = step.__name__

    def wrapper(*args, **kwargs):
        if name == "dbt_build":
            _span("import dbt", _import_dbt)
        elif name == "quality_gate":
            _span("import great_expectations", _import_gx)
        return step(*args, **kwargs)
    functools.update_wrapper(wrapper, step)
    return wrapper


def _import_dbt() -> None:
    import dbt.cli.main  # noqa: F401
    from dbt.cli import requires

    requires.parse_manifest = _timed("dbt parse", requires.parse_manifest)


def _import_gx() -> None:
    import great_expectations  # noqa: F401


def main(argv: list[str]) -> int:
    out = argv[0]
    startup_only = "--startup-only" in argv
    cli_args = argv[argv.index("--") + 1:]
    SPANS.append(("interpreter start", 0.0, PROBE_STARTED - SPAWNED_AT))
    _instrument(startup_only)
    from storekpi import cli

    code = cli.main(cli_args)
    with open(out, "w", encoding="utf-8") as handle:
        json.dump({"code": code, "ended": _now(), "spans": SPANS}, handle)
    return code


if __name__ == "__main__":
    from storekpi.cli import exit_now

    exit_now(main(sys.argv[1:]))  # ends as `storekpi` does

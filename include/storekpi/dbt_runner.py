"""Run the dbt project (`dbt/`) in-process against a Warehouse.

Why in-process and one `dbt build`: DuckDB allows a single writer, so one dbtRunner invocation builds every model
and runs every data and unit test in DAG order. Each call gets its own profiles.yml, target and log folders inside
`work_dir`, so parallel runs never share `dbt/target`. dbt is imported inside the functions only: importing this
module (from a DAG file, say) stays cheap.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import yaml

from storekpi.errors import StorekpiError
from storekpi.warehouse import MARTS, Target, Warehouse

log = logging.getLogger(__name__)

PROFILE = "storekpi"
POSTGRES_THREADS = 2  # the machines running this have two cores
PASSWORD_ENV = "DBT_ENV_SECRET_STOREKPI_WAREHOUSE_PASSWORD"


class DbtBuildError(StorekpiError):
    """`dbt build` failed; the message lists every failing node with its error."""


def project_dir() -> Path:
    """The dbt project: `$STOREKPI_DBT_PROJECT`, else `dbt/` at the root of the source tree."""
    override = os.environ.get("STOREKPI_DBT_PROJECT")
    return Path(override) if override else Path(__file__).resolve().parents[2] / "dbt"


def alert_rules() -> list[dict]:
    """The alert rules table (the `alert_rules` var of dbt_project.yml): one dict per rule, as dbt renders them."""
    project = yaml.safe_load((project_dir() / "dbt_project.yml").read_text(encoding="utf-8"))
    return list(project["vars"]["alert_rules"])


def build(wh: Warehouse, run_date: date, *, work_dir: Path, unit_tests: bool = False) -> dict:
    """`dbt build` for `run_date` into `wh` (marts into `wh.marts_schema`).

    The caller must have closed its own DuckDB connection (single writer). Data tests always run; dbt unit tests
    (formula checks on fixed fixtures, independent of the data) only with `unit_tests=True`, as CI does: they
    cannot change from one night to the next. Returns {"models": n, "tests": n, "seconds": s, "warnings": n};
    raises DbtBuildError listing the failing nodes.
    """
    started = time.monotonic()
    extra = [] if unit_tests else ["--exclude-resource-type", "unit_test"]
    result = _invoke("build", wh, run_date, Path(work_dir), extra=extra)
    nodes = result.result.results if result.result is not None else []
    failures = [r for r in nodes if _status(r) in ("error", "fail", "runtime error")]
    if not result.success or failures:
        raise DbtBuildError(_failure_message(run_date, failures, result.exception))
    warnings = [r for r in nodes if _status(r) == "warn"]
    for r in warnings:
        log.warning("dbt build %s: %s warned: %s", run_date, r.node.unique_id, r.message)
    summary = {
        "models": sum(1 for r in nodes if r.node.resource_type == "model"),
        "tests": sum(1 for r in nodes if r.node.resource_type in ("test", "unit_test")),
        "seconds": round(time.monotonic() - started, 2),
        "warnings": len(warnings),
    }
    log.info("dbt build %s into %s: %s", run_date, wh.marts_schema, summary)
    return summary


def docs(out_dir: Path, *, wh: Warehouse | None = None, run_date: date | None = None,
         work_dir: Path | None = None) -> Path:
    """Generate dbt docs (static single-page site plus manifest and catalog) into `out_dir`; returns index.html.

    Without a warehouse, a throw-away DuckDB file holding only storekpi's own tables is used: model and column
    descriptions come from the project, so docs need no built warehouse (`make docs`).
    """
    out_dir = Path(out_dir)
    run_date = run_date or date.today()
    with tempfile.TemporaryDirectory(prefix="storekpi-docs-") as scratch:
        if wh is None:
            target = Target(str(Path(scratch) / "docs.duckdb"))
            with Warehouse(target, path=target.path) as scratch_wh:
                scratch_wh.ensure_schema()
            wh = Warehouse(target, path=target.path)
        work = Path(work_dir) if work_dir else Path(scratch) / "work"
        result = _invoke("docs", wh, run_date, work, extra=["generate", "--static"])
        if not result.success:
            raise DbtBuildError(f"dbt docs generate failed: {result.exception}")
        out_dir.mkdir(parents=True, exist_ok=True)
        target_path = work / "target"
        for name in ("index.html", "manifest.json", "catalog.json"):
            shutil.copy2(target_path / name, out_dir / name)
        shutil.copy2(target_path / "static_index.html", out_dir / "storekpi_dbt_docs.html")
    log.info("dbt docs written to %s", out_dir)
    return out_dir / "storekpi_dbt_docs.html"


# -- internals --------------------------------------------------------------------------------------------------
def _invoke(command: str, wh: Warehouse, run_date: date, work_dir: Path, extra: list[str] | None = None) -> Any:
    from dbt.cli.main import dbtRunner

    work_dir.mkdir(parents=True, exist_ok=True)
    profiles = work_dir / "profiles"
    profiles.mkdir(exist_ok=True)
    profiles_file = profiles / "profiles.yml"
    profiles_file.write_text(yaml.safe_dump(profile(wh)), encoding="utf-8")  # no password: see profile()
    os.environ[PASSWORD_ENV] = wh.target.password  # "" for DuckDB
    dbt_vars = {"run_date": run_date.isoformat(), "marts_schema": wh.marts_schema}
    args = [
        command, *(extra or []),
        "--project-dir", str(project_dir()),
        "--profiles-dir", str(profiles),
        "--target-path", str(work_dir / "target"),
        "--log-path", str(work_dir / "logs"),
        "--vars", json.dumps(dbt_vars),
        "--log-level", "none",  # console: nothing (our stdout ends with the run summary); the file log keeps all
        "--log-level-file", "info",
        "--no-use-colors",
        "--no-send-anonymous-usage-stats",
    ]
    log.info("dbt %s for %s into %s (work dir %s)", command, run_date, wh.marts_schema, work_dir)
    try:
        return dbtRunner().invoke(args)
    finally:
        _release_duckdb()  # a no-op when no DuckDB file was opened


def _release_duckdb() -> None:
    """Close the DuckDB file dbt-duckdb keeps open for the life of the process.

    Without this the build file stays open after `dbt build`: reopening it read-only in the same process fails
    ("different configuration") and publishing would rename a file that is still being written through.
    """
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with DuckDBConnectionManager._LOCK:
        environment = DuckDBConnectionManager._ENV
        DuckDBConnectionManager._ENV = None
        if environment is not None:
            environment.close()


def profile(wh: Warehouse) -> dict:
    """profiles.yml content for this warehouse (DuckDB: its file, one thread; Postgres: from its connection).

    The password is never written: dbt reads it with `env_var()` from this process's environment, under a
    `DBT_ENV_SECRET_` name, which dbt keeps out of its logs and artifacts."""
    if wh.kind == "duckdb":
        path = wh.path or wh.target.path
        output = {"type": "duckdb", "path": str(path), "schema": MARTS, "threads": 1}
    else:
        url = urlparse(wh.target.url)
        output = {
            "type": "postgres",
            "host": url.hostname or "localhost",
            "port": url.port or 5432,
            "user": unquote(url.username or "postgres"),
            "password": "{{ env_var('" + PASSWORD_ENV + "', '') }}",
            "dbname": unquote(url.path.lstrip("/")),
            "schema": wh.marts_schema,
            "threads": POSTGRES_THREADS,
        }
    return {PROFILE: {"target": wh.kind, "outputs": {wh.kind: output}}}


def _status(node_result: Any) -> str:
    return str(getattr(node_result.status, "value", node_result.status)).lower()


def _failure_message(run_date: date, failures: list, exception: BaseException | None) -> str:
    lines = [f"dbt build for {run_date} failed"]
    for r in failures:
        message = (r.message or "").strip().replace("\n", " ")
        lines.append(f"- {r.node.unique_id} ({_status(r)}): {message[:500]}")
    if exception is not None:
        lines.append(f"- {type(exception).__name__}: {exception}")
    return "\n".join(lines)

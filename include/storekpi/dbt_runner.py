"""Run the dbt project (`dbt/`) in-process against a Warehouse.

Why in-process and one `dbt build`: DuckDB allows a single writer, so one dbtRunner invocation builds every model
and runs every data and unit test in DAG order. Each call gets its own profiles.yml, target and log folders inside
`work_dir`, so parallel runs never share `dbt/target`. dbt is imported inside the functions only: importing this
module (from a DAG file, say) stays cheap.

Why the run date is a table, not a var: dbt re-parses the whole project (seconds) whenever `--vars` change, so a
build writes D into `RUN_DATE_TABLE` and the `run_date()` macro reads it back as a scalar subquery; the parsed
project is then the same every night and dbt's partial parse (`partial_parse.msgpack`, kept per warehouse under
storekpi's state folder) is reused, re-parsing only the files whose content changed.
"""

from __future__ import annotations

import hashlib
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
from storekpi.runspec import state_dir
from storekpi.warehouse import MARTS, Target, Warehouse, duckdb_settings

log = logging.getLogger(__name__)

PROFILE = "storekpi"
POSTGRES_THREADS = 2  # the machines running this have two cores
# Session settings of dbt's PostgreSQL connections (through libpq's PGOPTIONS, so data tests get them too): the
# server's default work_mem (4 MB) spills every sort and hash of a million order lines to disk; JIT compilation
# costs more than it saves on queries that run once; and with no indexes to use a nested loop only wins on tiny
# inputs, while a misestimated join (an anti join against promo days taken to leave one row) turned
# discount_violations into a 700 k x 500 nested loop (83 s instead of 4). Disabled, it is still used where no
# other join applies.
POSTGRES_SESSION = {"work_mem": "64MB", "jit": "off", "enable_nestloop": "off"}
SOURCE_SCHEMAS = ("raw", "audit", "quarantine")  # what ingest writes in place and dbt's sources read
PASSWORD_ENV = "DBT_ENV_SECRET_STOREKPI_WAREHOUSE_PASSWORD"
RUN_DATE_TABLE = "audit.dbt_run_date"  # one row: the D a build is for (macros/run_date.sql reads it)
PARSE_FILE = "partial_parse.msgpack"
PARSE_CACHES_KEPT = 16  # warehouses whose parse is kept (about 2 MB each); the least recently built go first


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


def build(wh: Warehouse, run_date: date, *, work_dir: Path, unit_tests: bool = False,
          data_tests: bool = True, select: list[str] | None = None) -> dict:
    """`dbt build` for `run_date` into `wh` (marts into `wh.marts_schema`).

    The caller must have closed its own DuckDB connection (single writer). Data tests run unless
    `data_tests=False` (tests that compare whole builds with each other, which need the models only); dbt unit
    tests (formula checks on fixed fixtures, independent of the data) only with `unit_tests=True`, as CI does: they
    cannot change from one night to the next. `select` builds only the named nodes (tests of one model's SQL).
    Returns {"models": n, "tests": n, "seconds": s, "warnings": n}; raises DbtBuildError listing the failing nodes.
    """
    started = time.monotonic()
    excluded = [kind for kind, run in (("unit_test", unit_tests), ("test", data_tests)) if not run]
    extra = [arg for kind in excluded for arg in ("--exclude-resource-type", kind)]
    if select:
        extra += ["--select", *select, "--indirect-selection", "cautious"]  # no tests of unbuilt models
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
    """Run one dbt command. `build` reads D from the warehouse and reuses the warehouse's parse cache; other
    commands (docs, compile) get D as a var, so their compiled SQL shows the date, and parse afresh."""
    from dbt.cli.main import dbtRunner

    work_dir.mkdir(parents=True, exist_ok=True)
    profiles = work_dir / "profiles"
    profiles.mkdir(exist_ok=True)
    profiles_file = profiles / "profiles.yml"
    profiles_file.write_text(yaml.safe_dump(profile(wh)), encoding="utf-8")  # no password: see profile()
    os.environ[PASSWORD_ENV] = wh.target.password  # "" for DuckDB
    dbt_vars: dict[str, str] = {"marts_schema": wh.marts_schema}
    cache = None
    if command == "build":
        write_run_date(wh, run_date)
        refresh_statistics(wh)
        cache = parse_cache_file(wh)
    else:
        dbt_vars["run_date"] = run_date.isoformat()
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
    if cache is not None and cache.exists():
        args += ["--partial-parse", "--partial-parse-file-path", str(cache)]  # dbt only reads it
    log.info("dbt %s for %s into %s (work dir %s)", command, run_date, wh.marts_schema, work_dir)
    pgoptions = os.environ.get("PGOPTIONS")
    if wh.kind == "postgres":
        settings = [f"-c {name}={value}" for name, value in POSTGRES_SESSION.items()]
        os.environ["PGOPTIONS"] = " ".join([pgoptions, *settings] if pgoptions else settings)
    try:
        return dbtRunner().invoke(args)
    finally:
        _release_duckdb()  # a no-op when no DuckDB file was opened
        if pgoptions is None:
            os.environ.pop("PGOPTIONS", None)
        else:
            os.environ["PGOPTIONS"] = pgoptions
        if cache is not None:
            _keep_parse(work_dir / "target" / PARSE_FILE, cache)


def write_run_date(wh: Warehouse, run_date: date) -> None:
    """Make `run_date` the D that `run_date()` gives models (replaces the one row of RUN_DATE_TABLE)."""
    schema_name = RUN_DATE_TABLE.split(".")[0]
    with wh.reopened() as con, con.transaction():  # the database dbt builds in: see profile()
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema_name}")
        con.execute(f"DROP TABLE IF EXISTS {RUN_DATE_TABLE}")  # older warehouses have no fingerprint column
        con.execute(f"CREATE TABLE {RUN_DATE_TABLE} (run_date date not null, project_fingerprint varchar not null)")
        con.execute(f"INSERT INTO {RUN_DATE_TABLE} (run_date, project_fingerprint) VALUES (?, ?)",
                    [run_date, project_fingerprint()])


def project_fingerprint() -> str:
    """A digest of every file of the dbt project and of dbt's version (macros/run_date.sql project_fingerprint):
    incremental models rebuild in full when it changes, since changed SQL may give rows already built other
    values. dbt's own checksum covers a model's file only, not the macros and seeds it uses."""
    from importlib.metadata import version

    digest = hashlib.sha256(f"dbt-core {version('dbt-core')}".encode())
    root = project_dir()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not _outside_project(p.relative_to(root))):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _outside_project(relative: Path) -> bool:
    """dbt's own output folders and logs inside the project folder, which change without changing the project."""
    return relative.parts[0] in ("target", "logs", "dbt_packages") or relative.name.startswith(".")


def refresh_statistics(wh: Warehouse) -> None:
    """On PostgreSQL, gather planner statistics of the tables ingest wrote (dbt's sources) before dbt plans its
    models: autovacuum may not have analysed a million freshly copied rows yet, and a planner that believes a
    quarter of them picks plans that spill. Sampling keeps this well under a second; DuckDB needs nothing."""
    if wh.kind != "postgres":
        return
    with wh.reopened() as con:
        tables = [f"{s}.{t}" for s, t in con.query(
            "select table_schema, table_name from information_schema.tables where table_type = 'BASE TABLE' "
            f"and table_schema in ({', '.join('?' for _ in SOURCE_SCHEMAS)}) order by 1, 2", list(SOURCE_SCHEMAS))]
        if tables:
            con.execute(f"ANALYZE {', '.join(tables)}")


def parse_cache_file(wh: Warehouse) -> Path:
    """Where the last parse of the project against this warehouse is kept (`$STOREKPI_HOME/dbt-parse/`).

    One file per warehouse and project folder: dbt checks files by content hash, `--vars` (so the PostgreSQL
    build schema, which is the `marts_schema` var, forces a full parse), env vars and the dbt version itself, but
    not the profile's values (the DuckDB file's name becomes the database every node is parsed with), so those
    pick the file. The profile's `schema` is left out of the key: it always equals the `marts_schema` var."""
    output = dict(profile(wh)[PROFILE]["outputs"][wh.kind])
    output.pop("schema", None)
    key = json.dumps({"project": str(project_dir().resolve()), "output": output}, sort_keys=True)
    return state_dir() / "dbt-parse" / f"{hashlib.sha256(key.encode()).hexdigest()[:16]}.msgpack"


def _keep_parse(written: Path, cache: Path) -> None:
    """Publish the parse dbt just wrote as the warehouse's cache, atomically (dbt writes none when nothing changed).

    A reader holds the old file or the new one, never a half-written one: two runs may share a cache only if they
    share a warehouse, which `warehouse.exclusive` forbids, and different warehouses use different files."""
    if written.exists():
        cache.parent.mkdir(parents=True, exist_ok=True)
        partial = cache.with_name(f"{cache.name}.{os.getpid()}.partial")
        shutil.copyfile(written, partial)
        os.replace(partial, cache)
    elif cache.exists():
        os.utime(cache)  # reused as it was: still recently built
    else:
        return
    kept = sorted(cache.parent.glob("*.msgpack"), key=_mtime, reverse=True)
    for stale in kept[PARSE_CACHES_KEPT:]:  # tests build many throw-away warehouses
        stale.unlink(missing_ok=True)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:  # pruned by another run meanwhile
        return 0.0


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
    """profiles.yml content for this warehouse (DuckDB: its file, one thread, the run's DuckDB settings; Postgres: from
    its connection).

    The password is never written: dbt reads it with `env_var()` from this process's environment, under a
    `DBT_ENV_SECRET_` name, which dbt keeps out of its logs and artifacts."""
    if wh.kind == "duckdb":
        path = wh.path or wh.target.path
        output = {"type": "duckdb", "path": str(path), "schema": MARTS, "threads": 1,
                  "settings": duckdb_settings()}
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

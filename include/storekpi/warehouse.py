"""The warehouse: one object built from `--warehouse`, used by every stage.

`TARGET` is a DuckDB file path (embedded default) or a `postgresql://` URL. Business code talks to a `Warehouse`
and never asks which one it is; the few differences (placeholders, bulk append, write-audit-publish) live here.

Write-audit-publish
- DuckDB: a run copies the published file to a build file beside it, loads and builds there, validates, then
  atomically renames the build file over the published one. Readers keep the old file until they reopen it.
- PostgreSQL: raw, quarantine and audit are written in place (they are not what analysts read); dbt builds the
  marts into a build schema, and publish swaps it with `marts` in one transaction.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import re
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlparse

from storekpi import schema
from storekpi.errors import BusyError, ConfigError

MARTS = "marts"
# DuckDB settings of every connection a run opens on its warehouse, ours and dbt-duckdb's (dbt_runner.profile): a
# ceiling on DuckDB's buffer manager, so a large night spills to a temporary folder next to the file instead of
# growing the process (issue 19; docs/decisions.md, "The quality gate's memory"). DuckDB's own default, 80 % of RAM
# with some operators allocating beyond it, got the 10 M-line benchmark killed by the kernel at 20.6 GB. Set with SET
# after connecting: a connection opened with a different `config` could not share the database with dbt's.
MEMORY_LIMIT_ENV = "STOREKPI_DUCKDB_MEMORY_LIMIT"
DUCKDB_MEMORY_LIMIT = "512MB"


def duckdb_settings() -> dict[str, str]:
    """The settings every DuckDB connection of storekpi and dbt gets; $STOREKPI_DUCKDB_MEMORY_LIMIT ("2GB",
    "30%") overrides the limit."""
    limit = (os.environ.get(MEMORY_LIMIT_ENV) or DUCKDB_MEMORY_LIMIT).strip()
    if not re.fullmatch(r"\d+(\.\d+)?\s*(%|[KMGT]i?B)", limit, flags=re.IGNORECASE):
        raise ConfigError(f"${MEMORY_LIMIT_ENV}: expected a size such as 2GB or a share of memory such as 30%, "
                          f"got {limit!r}")
    return {"memory_limit": limit}


# A commit whose WAL would pass this checkpoints instead (`Warehouse.transaction(checkpoint=True)`)
CHECKPOINT_AT_COMMIT = "1MB"

CONNECTION_ID = "storekpi_warehouse"  # the Airflow connection a PostgreSQL warehouse is defined by
_CONNECTION_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # a DuckDB path has a "/" or a "." in it


def is_connection_id(value: str) -> bool:
    return bool(_CONNECTION_ID.fullmatch(value))


def connection_url(conn_id: str) -> str:
    """The URL of Airflow connection `conn_id`: from `AIRFLOW_CONN_<ID>` (URI or JSON) or, inside a task, from any
    of Airflow's ways of defining one (secrets backend, UI). Never logged: it holds the password."""
    value = os.environ.get(f"AIRFLOW_CONN_{conn_id.upper()}", "").strip()
    if value.startswith("{"):
        conn = json.loads(value)
        auth = quote(conn.get("login") or "", safe="")
        if conn.get("password"):
            auth += ":" + quote(conn["password"], safe="")
        host = (conn.get("host") or "localhost") + (f":{conn['port']}" if conn.get("port") else "")
        return f"postgresql://{auth + '@' if auth else ''}{host}/{conn.get('schema') or ''}"
    if value:
        return value
    try:
        from airflow.sdk import Connection

        return Connection.get(conn_id).get_uri()
    except Exception as exc:  # noqa: BLE001 - no Airflow here, or no such connection: say what to define
        raise ConfigError(f"--warehouse: no Airflow connection {conn_id!r} (define AIRFLOW_CONN_{conn_id.upper()} "
                          "or add it in Airflow)") from exc


def as_connection(warehouse: str | None) -> str | None:
    """A `postgresql://` URL given on the command line becomes the `storekpi_warehouse` connection of this process
    (`AIRFLOW_CONN_STOREKPI_WAREHOUSE`, which the in-process DAG run's tasks read), so the DAG run's conf, the
    serialised DAG and every log name the connection, never the password. Anything else is returned as it is."""
    if not warehouse or not warehouse.startswith(("postgresql://", "postgres://")):
        return warehouse
    os.environ[f"AIRFLOW_CONN_{CONNECTION_ID.upper()}"] = warehouse
    return CONNECTION_ID


RESERVED_CATALOGS = frozenset({"main", "memory", "system", "temp"})  # a file named so cannot be attached


@dataclass(frozen=True)
class Target:
    """Where the published warehouse lives: `--warehouse` as given, a DuckDB file path or the id of the Airflow
    connection that defines a PostgreSQL warehouse (`storekpi run` turns a `postgresql://` URL into one)."""

    raw: str

    @functools.cached_property
    def url(self) -> str:
        """The DuckDB path, or the PostgreSQL URL with its password (for connecting only)."""
        return connection_url(self.raw) if is_connection_id(self.raw) else self.raw

    @property
    def kind(self) -> str:
        return "postgres" if self.url.startswith(("postgresql://", "postgres://")) else "duckdb"

    @property
    def path(self) -> Path:
        """The published DuckDB file."""
        return Path(self.url).expanduser().resolve()

    @property
    def password(self) -> str:
        return unquote(urlparse(self.url).password or "")

    @property
    def build_path(self) -> Path:
        """Where a run builds before publishing: same folder, so the final rename is atomic."""
        return self.path.with_name(f".{self.path.name}.build")

    @property
    def failed_path(self) -> Path:
        """The last blocked or failed build, kept for operators to inspect (quarantine, dq_results)."""
        return self.path.with_name(f"{self.path.stem}.failed{self.path.suffix or '.duckdb'}")

    @property
    def display(self) -> str:
        """The target without a password, fit for logs and the run summary."""
        if self.kind == "duckdb":
            return str(self.path)
        url = urlparse(self.url)
        netloc = url.hostname or ""
        if url.username:
            netloc = f"{url.username}@{netloc}"
        if url.port:
            netloc += f":{url.port}"
        return url._replace(netloc=netloc).geturl()

    def validate(self) -> None:
        if self.kind == "duckdb":
            if self.path.is_dir():
                raise ConfigError(f"--warehouse: {self.path} is a folder, expected a DuckDB file path")
            if not self.path.parent.is_dir():
                raise ConfigError(f"--warehouse: folder does not exist: {self.path.parent}")
            if self.path.name.split(".")[0].lower() in RESERVED_CATALOGS:
                raise ConfigError(f"--warehouse: {self.path.name}: DuckDB names a file's database after it, and "
                                  f"{self.path.name.split('.')[0]!r} is one of its own names "
                                  f"({', '.join(sorted(RESERVED_CATALOGS))}); choose another file name, "
                                  "e.g. warehouse.duckdb")
        elif not urlparse(self.url).path.strip("/"):
            raise ConfigError(f"--warehouse: {self.display} names no database")


class Warehouse:
    """A connection to one warehouse database, with the handful of operations storekpi needs.

    `marts_schema` is where dbt writes marts for this handle: `marts` on DuckDB (the build file is private to the
    run), a build schema on PostgreSQL until publish swaps it in.
    """

    def __init__(self, target: Target, *, path: Path | None = None, read_only: bool = False,
                 marts_schema: str = MARTS):
        self.target = target
        self.kind = target.kind
        self.path = path  # DuckDB file this handle opens (build or published)
        self.read_only = read_only
        self.marts_schema = marts_schema
        self._con: Any = None

    # -- connection ---------------------------------------------------------------------------------------------
    @property
    def con(self) -> Any:
        if self._con is None:
            if self.kind == "duckdb":
                import duckdb

                self._con = duckdb.connect(str(self.path), read_only=self.read_only)
                for name, value in duckdb_settings().items():
                    self._con.execute(f"SET {name} = '{value}'")
            else:
                import psycopg2

                self._con = psycopg2.connect(self.target.url)
                self._con.autocommit = True
        return self._con

    def reopened(self) -> Warehouse:
        """A second handle on the same database, opened and closed on its own (e.g. to write before dbt opens the
        file this handle may hold)."""
        path = self.path or (self.target.path if self.kind == "duckdb" else None)
        return Warehouse(self.target, path=path, read_only=self.read_only, marts_schema=self.marts_schema)

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- SQL ------------------------------------------------------------------------------------------------------
    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.kind == "postgres" else sql

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        if self.kind == "duckdb":
            self.con.execute(sql, params or [])
        else:
            with self.con.cursor() as cur:
                cur.execute(self._sql(sql), params or None)

    def query(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple]:
        if self.kind == "duckdb":
            return self.con.execute(sql, params or []).fetchall()
        with self.con.cursor() as cur:
            cur.execute(self._sql(sql), params or None)
            return cur.fetchall()

    def query_df(self, sql: str, params: Sequence[Any] | None = None):
        """Result as a pandas DataFrame."""
        if self.kind == "duckdb":
            return self.con.execute(sql, params or []).df()
        import pandas as pd

        with self.con.cursor() as cur:
            cur.execute(self._sql(sql), params or None)
            columns = [d[0] for d in cur.description]
            return pd.DataFrame(cur.fetchall(), columns=columns)

    @contextlib.contextmanager
    def transaction(self, *, checkpoint: bool = False) -> Iterator[None]:
        """With `checkpoint` (a large write), DuckDB checkpoints at the commit instead of writing the rows to the
        WAL: they are written once, to the file, not to the WAL and again at the next checkpoint (or close)."""
        if self.kind == "duckdb":
            self.con.execute("BEGIN TRANSACTION")
            try:
                yield
            except BaseException:
                self.con.execute("ROLLBACK")
                raise
            if not checkpoint:
                self.con.execute("COMMIT")
                return
            before = self.con.execute("select current_setting('checkpoint_threshold')").fetchall()[0][0]
            self.con.execute(f"SET checkpoint_threshold = '{CHECKPOINT_AT_COMMIT}'")
            try:
                self.con.execute("COMMIT")
            finally:
                self.con.execute(f"SET checkpoint_threshold = '{before}'")
        else:
            self.con.autocommit = False
            try:
                yield
                self.con.commit()
            except BaseException:
                self.con.rollback()
                raise
            finally:
                self.con.autocommit = True

    def append(self, table: str, frame: Any) -> int:
        """Append a pandas DataFrame or Arrow table to `schema.table`, matching columns by name."""
        if hasattr(frame, "num_rows"):  # Arrow
            rows = frame.num_rows
            columns = frame.column_names
        else:
            rows = len(frame)
            columns = list(frame.columns)
        if rows == 0:
            return 0
        if self.kind == "duckdb":
            self.con.register("_storekpi_append", frame)
            try:
                self.con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _storekpi_append")
            finally:
                self.con.unregister("_storekpi_append")
            return rows
        import pyarrow as pa
        import pyarrow.csv as pacsv

        table_arrow = frame if hasattr(frame, "num_rows") else pa.Table.from_pandas(frame, preserve_index=False)
        buffer = io.BytesIO()
        pacsv.write_csv(table_arrow, buffer, pacsv.WriteOptions(include_header=False, quoting_style="needed"))
        buffer.seek(0)
        cols = ", ".join(f'"{c}"' for c in columns)
        with self.con.cursor() as cur:
            cur.copy_expert(f"COPY {table} ({cols}) FROM STDIN WITH (FORMAT csv)", buffer)
        return rows

    def table_exists(self, schema_name: str, table: str) -> bool:
        rows = self.query(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
            [schema_name, table],
        )
        return rows[0][0] > 0

    def duckdb_workspace(self) -> tuple[Any, bool]:
        """A DuckDB connection for columnar work (ingest): this warehouse's own on DuckDB, so rows go in with
        INSERT … SELECT; a private in-memory one on PostgreSQL. Returns (connection, private)."""
        if self.kind == "duckdb":
            return self.con, False
        import duckdb

        return duckdb.connect(), True

    def ensure_schema(self) -> None:
        """Create storekpi's own schemas and tables (raw, quarantine, audit) when missing."""
        for statement in schema.ddl():
            self.execute(statement)


# -- write-audit-publish ----------------------------------------------------------------------------------------
# The PostgreSQL schema a run builds its marts in: one name for every run, because it is dbt's `marts_schema` var
# and a var that changes nightly makes dbt parse the whole project again (seconds). What it holds is always the
# running run's build: runs of one warehouse never overlap (`exclusive`, max_active_runs=1), a killed run is marked
# failed before the next starts (`airflow_runner.fail_killed_runs`), and every run's `discover` drops whatever an
# earlier one left (`drop_stale_builds`) before dbt creates it again.
BUILD_SCHEMA = f"{MARTS}__build_next"


def open_published(target: Target, *, read_only: bool = True) -> Warehouse:
    if target.kind == "duckdb":
        return Warehouse(target, path=target.path, read_only=read_only)
    return Warehouse(target)


def open_build(target: Target, *, fresh: bool = False) -> Warehouse:
    """The handle a run loads and builds through. `fresh=True` starts the build from the published state."""
    if target.kind == "duckdb":
        build = target.build_path
        if fresh:
            build.unlink(missing_ok=True)
            Path(f"{build}.wal").unlink(missing_ok=True)
            if target.path.exists():
                shutil.copy2(target.path, build)
        return Warehouse(target, path=build)
    wh = Warehouse(target, marts_schema=BUILD_SCHEMA)
    if fresh:  # an earlier attempt of this run, or a killed run, may have left the build schema
        wh.execute(f"DROP SCHEMA IF EXISTS {wh.marts_schema} CASCADE")
    return wh


def has_build(target: Target) -> bool:
    """Whether a run's build exists to write into (on PostgreSQL raw and audit are always in place)."""
    return target.build_path.exists() if target.kind == "duckdb" else True


def exists(target: Target) -> bool:
    """Whether the published warehouse exists (a PostgreSQL database is taken to)."""
    return target.path.exists() if target.kind == "duckdb" else True


def publish_in_place_change(target: Target) -> None:
    """Make a change to raw/audit only (`storekpi forget`) the published state: DuckDB publishes the build file;
    PostgreSQL wrote in place."""
    if target.kind == "duckdb":
        publish(target)


def stored_salt(target: Target, *, create: bool = True) -> str | None:
    """The warehouse's personal-data salt (pii.py), created on first use: in `<file>.salt` beside a DuckDB file
    (mode 0600), in `audit.settings` on PostgreSQL (the one place every worker of a deployment shares). With
    `create=False`, None when there is none yet (a reader must not invent one)."""
    import logging
    import secrets

    if not create:
        if target.kind == "postgres":
            with Warehouse(target) as wh:
                if not wh.table_exists("audit", "settings"):
                    return None
                rows = wh.query("select value from audit.settings where key = 'pii_salt'")
            return rows[0][0] if rows else None
        path = target.path.with_name(target.path.name + ".salt")
        return (path.read_text().strip() or None) if path.is_file() else None
    if target.kind == "postgres":
        with Warehouse(target) as wh:
            wh.ensure_schema()
            wh.execute("insert into audit.settings (key, value) values ('pii_salt', ?) on conflict (key) do nothing",
                       [secrets.token_hex(32)])
            return wh.query("select value from audit.settings where key = 'pii_salt'")[0][0]
    path = target.path.with_name(target.path.name + ".salt")
    if not path.exists():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # created by a concurrent first run
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
            logging.getLogger(__name__).info("created the personal-data salt %s (keep it with the warehouse)", path)
    salt = path.read_text().strip()
    if not salt:
        raise RuntimeError(f"{path}: the personal-data salt file is empty")
    return salt


def reports_beside(target: Target) -> Path | None:
    """The reports/ folder beside a DuckDB warehouse file; None for PostgreSQL."""
    return target.path.parent / "reports" if target.kind == "duckdb" else None


def default_reports_dir(target: Target) -> Path:
    """Reports go beside a DuckDB file, else into ./reports."""
    return reports_beside(target) or Path.cwd() / "reports"


@contextlib.contextmanager
def exclusive(target: Target) -> Iterator[None]:
    """Hold the warehouse for one run or `forget` at a time, across processes; raise `BusyError` if taken.

    Two runs on one DuckDB file would share its single build file, and on PostgreSQL write raw in place together.
    The lock dies with its holder (a file lock on DuckDB, a session advisory lock on PostgreSQL), so a killed run
    never leaves it behind. The scheduled DAG also has max_active_runs=1.
    """
    if target.kind == "duckdb":
        import fcntl

        lock_path = target.path.with_name(f".{target.path.name}.lock")
        with open(lock_path, "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise BusyError(f"another storekpi run or forget is using {target.path} (lock {lock_path}); "
                                "try again when it has finished") from None
            yield
        return
    with Warehouse(target) as wh:
        if not wh.query("select pg_try_advisory_lock(?)", [_PG_LOCK_KEY])[0][0]:
            raise BusyError(f"another storekpi run or forget is using {target.display}; "
                            "try again when it has finished")
        yield


_PG_LOCK_KEY = 0x53544F52454B5049  # "STOREKPI": one advisory lock per database


def publish(target: Target, record: Callable[[Warehouse], None] | None = None) -> None:
    """Make the validated build the published state, atomically.

    `record` writes the run's audit rows in the same step: into the build file before it replaces the published
    one (DuckDB), or in the transaction that swaps the schemas (PostgreSQL, where audit is not in the build schema),
    so audit.runs never says "published" for marts that were not.
    """
    if target.kind == "duckdb":
        build = target.build_path
        if not build.exists():
            raise FileNotFoundError(f"no build to publish at {build}")
        if record is not None:
            with Warehouse(target, path=build) as wh, wh.transaction():
                record(wh)
        # A clean close has checkpointed the WAL; the published file must be self-contained.
        if Path(f"{build}.wal").exists():
            import duckdb

            duckdb.connect(str(build)).execute("CHECKPOINT").close()
        with open(build, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(build, target.path)
        return
    with Warehouse(target) as wh, wh.transaction():
        if record is not None:
            record(wh)
        old = f"{MARTS}__old"
        wh.execute(f"DROP SCHEMA IF EXISTS {old} CASCADE")
        if wh.query("select count(*) from information_schema.schemata where schema_name = ?", [MARTS])[0][0]:
            wh.execute(f"ALTER SCHEMA {MARTS} RENAME TO {old}")
        wh.execute(f"ALTER SCHEMA {BUILD_SCHEMA} RENAME TO {MARTS}")
        wh.execute(f"DROP SCHEMA IF EXISTS {old} CASCADE")


def discard(target: Target) -> Path | None:
    """Drop a blocked or failed build; on DuckDB keep it as `<name>.failed.duckdb` for inspection."""
    if target.kind == "duckdb":
        build = target.build_path
        Path(f"{build}.wal").unlink(missing_ok=True)
        if build.exists():
            os.replace(build, target.failed_path)
            return target.failed_path
        return None
    with Warehouse(target) as wh:
        wh.execute(f"DROP SCHEMA IF EXISTS {BUILD_SCHEMA} CASCADE")
    return None


def drop_stale_builds(target: Target) -> list[str]:
    """Drop what killed runs left behind: every PostgreSQL `marts__build_*` schema (the build schema, and the
    per-run ones older versions named; this run's build has not started yet). On DuckDB the build file is replaced
    by the next run's fresh build. Call it holding `exclusive(target)`, before the run's build starts."""
    if target.kind == "duckdb":
        return []
    with Warehouse(target) as wh:
        stale = [name for (name,) in wh.query(
            "select schema_name from information_schema.schemata where schema_name like ? order by 1",
            [f"{MARTS}\\_\\_build\\_%"])]
        for name in stale:
            wh.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
    return stale


# -- read-only access (storekpi status, the Airflow page) -----------------------------------------------------
@contextlib.contextmanager
def open_read_only(target: Target, path: Path | None = None) -> Iterator[Warehouse]:
    """A handle that cannot write and never makes a run wait: a DuckDB file opened read-only (a run works in its
    own build file), a read-only PostgreSQL session with short lock and statement timeouts."""
    if target.kind == "duckdb":
        with Warehouse(target, path=path or target.path, read_only=True) as wh:
            yield wh
        return
    with Warehouse(target) as wh:
        for setting in ("default_transaction_read_only = on", "lock_timeout = '2s'", "statement_timeout = '20s'"):
            wh.execute(f"SET {setting}")
        yield wh


def run_records(target: Target) -> list[tuple[str, Path | None]]:
    """(label, DuckDB path) of every database holding audit.runs: the published one, then a kept failed build (on
    PostgreSQL audit is in place: one database, path None)."""
    if target.kind == "postgres":
        return [("published", None)]
    return [(label, path) for label, path in (("published", target.path), ("failed build", target.failed_path))
            if path.exists()]


def is_locked(target: Target) -> bool | None:
    """Whether a run or `forget` holds `exclusive(target)` right now, asked without touching the lock (None when
    the platform cannot tell): taking it, even briefly, could make a starting run fail as busy."""
    if target.kind == "postgres":
        with open_read_only(target) as wh:
            key = _PG_LOCK_KEY
            return bool(wh.query(
                "select count(*) from pg_locks where locktype = 'advisory' and granted "
                "and database = (select oid from pg_database where datname = current_database()) "
                "and classid = ? and objid = ? and objsubid = 1", [key >> 32, key & 0xFFFFFFFF])[0][0])
    lock = target.path.with_name(f".{target.path.name}.lock")
    if not lock.exists():
        return False
    try:
        with open("/proc/locks") as fh:
            table = fh.read().splitlines()
    except OSError:
        return None
    stat = os.stat(lock)
    inode = f"{os.major(stat.st_dev):02x}:{os.minor(stat.st_dev):02x}:{stat.st_ino}"
    return any(len(f := line.split()) > 5 and f[1] == "FLOCK" and f[5] == inode for line in table)


"""A throw-away Airflow 3 cluster of real processes (CeleryExecutor), for the distributed test.

Why real processes: the compose deployment runs api-server, scheduler, dag-processor, triggerer and a Celery worker
as separate programs that only share the metadata database, the Redis broker and the execution API. `dag.test()`
proves none of that wiring; this harness starts exactly those programs from the project venv, against the machine's
PostgreSQL (a fresh metadata database and a fresh warehouse database) and Redis (a dedicated db number and a
queue of its own), and removes everything again.

Teardown is bounded and complete: every service runs in its own process group (SIGTERM, then SIGKILL), and because
Airflow's task supervisor moves each task into a process group of its own, a final sweep kills any process that
still carries this cluster's marker in its environment. Databases are dropped with `WITH (FORCE)`.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
REDIS_DB = int(os.environ.get("STOREKPI_TEST_REDIS_DB", "11"))  # a db number nothing else here uses
MARKER = "STOREKPI_CLUSTER_ID"  # environment variable every process of one cluster carries
SERVICES = {  # name -> airflow sub-command (the compose file runs the same ones)
    "api-server": ["api-server", "--workers", "1"],  # 2 shared cores: one API worker is plenty
    "scheduler": ["scheduler"],
    "dag-processor": ["dag-processor"],
    "triggerer": ["triggerer"],
    "celery-worker": ["celery", "worker", "--concurrency", "1", "--without-gossip", "--without-mingle"],
}


class ClusterError(RuntimeError):
    """The cluster could not be brought up or driven; the message carries the relevant logs."""


def postgres_unavailable() -> str | None:
    """Why the local PostgreSQL cannot be used, or None when it can."""
    import psycopg2

    try:
        psycopg2.connect(dbname="postgres", connect_timeout=3, **PG).close()
    except psycopg2.Error as exc:
        return f"PostgreSQL not reachable on {PG['host']}:{PG['port']} as {PG['user']}: {exc}".strip()
    return None


def redis_unavailable() -> str | None:
    """Why the local Redis cannot be used, or None when it can."""
    import redis

    try:
        redis.Redis(host=REDIS_HOST, port=REDIS_PORT, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        return f"Redis not reachable on {REDIS_HOST}:{REDIS_PORT}: {exc}"
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _admin_sql(*statements: str) -> None:
    import psycopg2

    con = psycopg2.connect(dbname="postgres", connect_timeout=5, **PG)
    con.autocommit = True  # CREATE/DROP DATABASE cannot run inside a transaction
    try:
        with con.cursor() as cur:
            for statement in statements:
                cur.execute(statement)
    finally:
        con.close()


@dataclass
class Cluster:
    """One cluster: its names, ports, folders and processes. Use `with Cluster(workdir) as c:`."""

    workdir: Path
    cluster_id: str = field(default_factory=lambda: uuid.uuid4().hex[:10])
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    token: str | None = None

    def __post_init__(self) -> None:
        self.metadata_db = f"storekpi_meta_{self.cluster_id}"
        self.warehouse_db = f"storekpi_wh_{self.cluster_id}"
        self.queue = f"storekpi_{self.cluster_id}"
        self.api_port = free_port()
        self.home = self.workdir / "airflow"
        self.state = self.workdir / "state"
        self.logs = self.workdir / "service-logs"
        self.reports = self.workdir / "reports"
        self.password = secrets.token_urlsafe(16)
        # Every service must share these secrets (tokens signed by one are checked by another).
        self.secrets = {name: base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()  # valid Fernet keys
                        for name in ("api", "jwt", "fernet")}
        self.log_server_ports = {"worker": free_port(), "triggerer": free_port()}
        self._databases_created = False
        self._started = time.monotonic()

    # -- names other code needs -----------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def warehouse_url(self) -> str:
        return f"postgresql://{PG['user']}@{PG['host']}:{PG['port']}/{self.warehouse_db}"

    def env(self) -> dict[str, str]:
        """The environment of every service: the same settings the compose file gives its containers."""
        metadata = f"{PG['user']}@{PG['host']}:{PG['port']}/{self.metadata_db}"
        return {
            **{k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "STOREKPI_"))},
            MARKER: self.cluster_id,
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"postgresql+psycopg2://{metadata}",
            "AIRFLOW__CELERY__RESULT_BACKEND": f"db+postgresql+psycopg2://{metadata}",
            "AIRFLOW__CELERY__BROKER_URL": f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}",
            "AIRFLOW__OPERATORS__DEFAULT_QUEUE": self.queue,  # no other worker on this Redis steals our tasks
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base_url}/execution/",
            "AIRFLOW__API__BASE_URL": self.base_url,
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.api_port),
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API__SECRET_KEY": self.secrets["api"],
            "AIRFLOW__API_AUTH__JWT_SECRET": self.secrets["jwt"],
            "AIRFLOW__CORE__FERNET_KEY": self.secrets["fernet"],
            "AIRFLOW__CORE__AUTH_MANAGER":
                "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.home / "passwords.json"),
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.home / "logs"),
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(self.log_server_ports["worker"]),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(self.log_server_ports["triggerer"]),
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "10",
            "STOREKPI_HOME": str(self.state),
            "STOREKPI_PII_SALT": "distributed-test-salt",
            "STOREKPI_RETRIES": "0",  # a failure should show at once, not after backoff
            "STOREKPI_DBT_PROJECT": str(ROOT / "dbt"),
            "GX_ANALYTICS_ENABLED": "false",
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "PYTHONUNBUFFERED": "1",
        }

    # -- lifecycle --------------------------------------------------------------------------------------------
    def __enter__(self) -> Cluster:
        for folder in (self.home, self.state, self.logs):
            folder.mkdir(parents=True, exist_ok=True)
        try:
            self._preflight()
            self._create_databases()
            self._migrate()
            (self.home / "passwords.json").write_text(json.dumps({"admin": self.password}))
            self._start_services()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _mark(self, step: str) -> None:
        self.timings[step] = round(time.monotonic() - self._started, 1)
        log.info("cluster %s: %s after %.1fs", self.cluster_id, step, self.timings[step])

    def _preflight(self) -> None:
        """Fail in seconds, with the reason, when the installed packages cannot run a Celery worker or a Postgres
        metadata database (rather than after a minute of waiting for a worker that died at import)."""
        code = ("import asyncpg, psycopg2\n"  # Airflow 3 opens its metadata database both sync and async
                "import airflow.providers.celery.executors.celery_executor_utils")
        proc = subprocess.run([sys.executable, "-c", code], env=self.env(), cwd=self.workdir, capture_output=True,
                              text=True, timeout=120)
        if proc.returncode:
            raise ClusterError("the installed packages cannot run this deployment (check constraints.txt: celery "
                               "must suit apache-airflow-providers-celery, asyncpg is required):\n"
                               + proc.stderr[-1500:])

    def _create_databases(self) -> None:
        self._databases_created = True  # before creating: a half-done creation is dropped too
        _admin_sql(f'CREATE DATABASE "{self.metadata_db}"', f'CREATE DATABASE "{self.warehouse_db}"')

    def _migrate(self) -> None:
        proc = subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], env=self.env(),
                              cwd=self.workdir, capture_output=True, text=True, timeout=240)
        if proc.returncode:
            raise ClusterError(f"airflow db migrate failed:\n{proc.stderr[-4000:]}")
        self._mark("db migrated")

    def _start_services(self) -> None:
        for name, args in SERVICES.items():
            env = self.env()
            if name == "celery-worker":
                args = [*args, "--queues", self.queue]
            if name == "api-server":  # the storekpi page reads these (the scheduler must not default to them)
                env.update(STOREKPI_WAREHOUSE=self.warehouse_url, STOREKPI_REPORTS=str(self.reports))
            out = open(self.logs / f"{name}.log", "wb")  # noqa: SIM115 - the child keeps its own copy
            self.processes[name] = subprocess.Popen(
                [sys.executable, "-m", "airflow", *args], env=env, cwd=self.workdir, stdout=out,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
            out.close()
        self._mark("services started")

    def close(self) -> None:
        """Stop every process, sweep stragglers, drop both databases and the Redis queue. Never raises."""
        for name, proc in self.processes.items():
            _signal_group(proc, signal.SIGTERM, name)
        deadline = time.monotonic() + 25
        for name, proc in self.processes.items():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            _signal_group(proc, signal.SIGKILL, name)  # anything left in the group (the service's children)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
        for pid in self.stray_pids():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
                log.warning("cluster %s: killed stray process %d", self.cluster_id, pid)
        if self._databases_created:
            for db in (self.metadata_db, self.warehouse_db):
                try:
                    _admin_sql(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
                except Exception:  # noqa: BLE001 - teardown must go on
                    log.exception("cluster %s: could not drop database %s", self.cluster_id, db)
        with contextlib.suppress(Exception):
            import redis

            client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB, socket_connect_timeout=3)
            ours = set(client.scan_iter(match=f"*{self.queue}*"))
            others = set(client.scan_iter(match="*storekpi_*")) - ours
            if not others:  # then Celery's shared bookkeeping (pidbox bindings, unacked) is ours alone
                ours |= set(client.scan_iter(match="_kombu.*")) | set(client.scan_iter(match="unacked*"))
            if ours:
                client.delete(*ours)
        self._mark("torn down")

    def leftover_databases(self) -> list[str]:
        import psycopg2

        con = psycopg2.connect(dbname="postgres", connect_timeout=5, **PG)
        try:
            with con.cursor() as cur:
                cur.execute("select datname from pg_database where datname in (%s, %s)",
                            (self.metadata_db, self.warehouse_db))
                return [row[0] for row in cur.fetchall()]
        finally:
            con.close()

    def stray_pids(self) -> list[int]:
        """Processes (other than this one) whose environment carries this cluster's marker."""
        needle = f"{MARKER}={self.cluster_id}".encode()
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                if needle in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:
                continue
        return found

    # -- waiting and the REST API -----------------------------------------------------------------------------
    def dead_services(self) -> list[str]:
        return [name for name, proc in self.processes.items() if proc.poll() is not None]

    def _check_alive(self) -> None:
        dead = self.dead_services()
        if dead:
            raise ClusterError(f"service(s) exited early: {', '.join(dead)}\n" + self.service_logs(dead))

    def service_logs(self, names=None, tail: int = 3000) -> str:
        parts = []
        for name in names or self.processes:
            path = self.logs / f"{name}.log"
            text = path.read_text(errors="replace") if path.exists() else ""
            parts.append(f"----- {name} (last {tail} chars) -----\n{text[-tail:]}")
        return "\n".join(parts)

    def wait_until(self, what: str, check, timeout: float, interval: float = 1.0):
        """Poll `check()` until it returns something truthy; fail with the services' logs after `timeout`."""
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                result = check()
            except ClusterError:
                raise
            except Exception as exc:  # noqa: BLE001 - services still starting; retried until the deadline
                last_error, result = exc, None
            if result:
                self._mark(what)
                return result
            time.sleep(interval)
        raise ClusterError(f"timed out after {timeout:.0f}s waiting for {what} (last error: {last_error!r})\n"
                           + self.service_logs())

    def request(self, method: str, path: str, **kwargs):
        import httpx

        headers = {**({"Authorization": f"Bearer {self.token}"} if self.token else {}), **kwargs.pop("headers", {})}
        return httpx.request(method, f"{self.base_url}{path}", headers=headers, timeout=30, **kwargs)

    def wait_healthy(self, timeout: float = 150) -> dict:
        """The api-server answers and reports metadatabase, scheduler, triggerer and dag-processor healthy."""

        def healthy():
            body = self.request("GET", "/api/v2/monitor/health").json()
            parts = ("metadatabase", "scheduler", "triggerer", "dag_processor")
            return body if all((body.get(p) or {}).get("status") == "healthy" for p in parts) else None

        return self.wait_until("all services healthy", healthy, timeout)

    def wait_worker_ready(self, timeout: float = 120) -> None:
        path = self.logs / "celery-worker.log"
        self.wait_until("celery worker ready", lambda: path.exists() and " ready." in path.read_text(errors="replace"),
                        timeout)

    def login(self) -> None:
        """A JWT from the simple auth manager, with the admin password this cluster wrote."""
        response = self.request("POST", "/auth/token", json={"username": "admin", "password": self.password})
        if response.status_code != 201:
            raise ClusterError(f"login failed: {response.status_code} {response.text[:500]}")
        self.token = response.json()["access_token"]

    def wait_dag(self, dag_id: str, timeout: float = 120) -> dict:
        def visible():
            response = self.request("GET", f"/api/v2/dags/{dag_id}")
            if response.status_code == 200:
                return response.json()
            errors = self.request("GET", "/api/v2/importErrors").json().get("import_errors", [])
            if errors:
                raise ClusterError(f"DAG import errors: {json.dumps(errors, indent=1)[:4000]}")
            return None

        return self.wait_until(f"DAG {dag_id} parsed", visible, timeout)

    def trigger(self, dag_id: str, *, run_id: str, logical_date: str, conf: dict) -> dict:
        response = self.request("POST", f"/api/v2/dags/{dag_id}/dagRuns",
                                json={"dag_run_id": run_id, "logical_date": logical_date, "conf": conf})
        if response.status_code not in (200, 201):
            raise ClusterError(f"trigger failed: {response.status_code} {response.text[:1000]}")
        self._mark("run triggered")
        return response.json()

    def unpause(self, dag_id: str) -> None:
        response = self.request("PATCH", f"/api/v2/dags/{dag_id}", json={"is_paused": False})
        if response.status_code != 200:
            raise ClusterError(f"unpause failed: {response.status_code} {response.text[:1000]}")

    def wait_run(self, dag_id: str, run_id: str, timeout: float) -> str:
        """Wait for the run to finish; returns its final state ('success' or 'failed')."""

        def finished():
            state = self.request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}").json()["state"]
            return state if state in ("success", "failed") else None

        return self.wait_until(f"run {run_id} finished", finished, timeout, interval=2)

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        body = self.request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances").json()
        return body.get("task_instances", [])

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value"):
        """A task's XCom, from the api-server (the worker that pushed it is another process)."""
        response = self.request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/"
                                       f"xcomEntries/{key}", params={"deserialize": "true"})
        response.raise_for_status()
        value = response.json()["value"]
        return json.loads(value) if isinstance(value, str) else value

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int) -> str:
        """A task's log through the REST API (served by the worker), else straight from the log folder."""
        with contextlib.suppress(Exception):  # fall back to the files below
            response = self.request(
                "GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}",
                params={"full_content": "true"}, headers={"Accept": "application/json"})
            if response.status_code == 200:
                content = response.json().get("content", [])
                lines = [_log_line(c) for c in content]
                if any(lines):
                    return "\n".join(lines)
        files = sorted((self.home / "logs").glob(f"dag_id={dag_id}/run_id={run_id}/task_id={task_id}/*.log"))
        return "\n".join(f.read_text(errors="replace") for f in files) or f"(no log found for {task_id})"

    def failure_report(self, dag_id: str, run_id: str, tail: int = 6000) -> str:
        """Which tasks failed and the end of each failed task's log: what a person needs to see first."""
        lines = []
        try:
            instances = self.task_instances(dag_id, run_id)
        except Exception as exc:  # noqa: BLE001
            return f"(could not list task instances: {exc})\n" + self.service_logs()
        lines.append("task states: " + ", ".join(f"{ti['task_id']}={ti['state']}" for ti in instances))
        for ti in instances:
            if ti["state"] == "failed":
                text = self.task_log(dag_id, run_id, ti["task_id"], max(1, ti.get("try_number") or 1))
                lines.append(f"----- log of failed task {ti['task_id']} -----\n{text[-tail:]}")
        return "\n".join(lines)


def _log_line(entry) -> str:
    """One structured log record from the API as a readable line (event, then level, logger and error)."""
    if not isinstance(entry, dict):
        return str(entry)
    head = " ".join(str(entry[k]) for k in ("timestamp", "level", "logger") if entry.get(k))
    tail = "".join(f"\n{entry[k]}" for k in ("error_detail", "exception") if entry.get(k))
    return f"{head} {entry.get('event', '')}{tail}".strip()


def _signal_group(proc: subprocess.Popen, sig: int, name: str) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)  # start_new_session=True: the group id is the service's pid
        log.debug("sent %s to %s (pgid %d)", signal.Signals(sig).name, name, proc.pid)


def copy_landing(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target

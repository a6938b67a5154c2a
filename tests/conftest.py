"""Shared test helpers: run the real `storekpi` command in a subprocess with a private state folder."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str

    @property
    def summary(self) -> dict:
        """The JSON object the spec promises as the last stdout line."""
        return json.loads(self.stdout.strip().splitlines()[-1])


def run_cli(*args: str, home: Path, env: dict | None = None, timeout: float = 600) -> CliResult:
    full_env = {**os.environ, "STOREKPI_HOME": str(home), "STOREKPI_PII_SALT": "test-salt", **(env or {})}
    proc = subprocess.run([sys.executable, "-m", "storekpi.cli", *args], capture_output=True, text=True,
                          env=full_env, timeout=timeout, cwd=home.parent)
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def cli(tmp_path):
    home = tmp_path / "state"
    home.mkdir()

    def _run(*args: str, **kwargs) -> CliResult:
        return run_cli(*args, home=home, **kwargs)

    return _run


E2E_DAY = "2026-11-20"


@dataclass
class Published:
    """A copy of the hand-written fixture landing published for E2E_DAY: root/{landing,state,warehouse.duckdb,outbox}."""
    root: Path
    result: CliResult

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def home(self) -> Path:
        return self.root / "state"


@pytest.fixture(scope="session")
def published_e2e_template(tmp_path_factory) -> Published:
    """One full night of tests/fixtures/e2e_landing, run once per session; tests take copies (`published_e2e`)."""
    root = tmp_path_factory.mktemp("published_e2e")
    shutil.copytree(FIXTURES / "e2e_landing", root / "landing")
    (root / "state").mkdir()
    result = run_cli("run", "--landing", str(root / "landing"), "--warehouse", str(root / "warehouse.duckdb"),
                     "--date", E2E_DAY, "--outbox", str(root / "outbox"), home=root / "state", timeout=1500)
    assert result.code == 0, result.stderr[-4000:]
    return Published(root, result)


def copy_published(template: Published, dest: Path) -> Published:
    """The template's folder copied to `dest`: the warehouse holds landing-relative paths only, so the copy
    behaves as if it had been published there (its next run sees the same files as unchanged)."""
    shutil.copytree(template.root, dest, dirs_exist_ok=True)
    return Published(dest, template.result)


@pytest.fixture
def published_e2e(published_e2e_template, tmp_path) -> Published:
    """A private copy of the session's published night, for a test that changes it."""
    return copy_published(published_e2e_template, tmp_path)


def run_progress(home: Path, day: str) -> tuple[str | None, set[str]]:
    """(run key, steps done) of the newest `storekpi run` for `day` under `home`, from the run's log, where every
    step logs `step=<name> status=done` when it ends."""
    logs = sorted((home / "logs").glob(f"{day}_*.log"), key=lambda p: p.stat().st_mtime)
    if not logs:
        return None, set()
    text = logs[-1].read_text(errors="replace")
    return logs[-1].stem, set(re.findall(r"step=(\w+) status=done", text))


def dag_runs(home: Path) -> dict[str, dict]:
    """The DAG runs `storekpi run` left in its Airflow metadata (SQLite under `home`): run key → state and note."""
    import sqlite3

    with sqlite3.connect(home / "airflow" / "airflow.db") as con:
        rows = con.execute("select r.conf, r.state, n.content from dag_run r "
                           "left join dag_run_note n on n.dag_run_id = r.id").fetchall()
    return {json.loads(conf)["run_key"]: {"state": state, "note": note} for conf, state, note in rows}

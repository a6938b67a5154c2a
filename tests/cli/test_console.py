"""The console of `storekpi demo` / `storekpi run`: a few lines for a person, the full log in a file.

`storekpi demo` runs with stdout a pipe (as under `make run | tee` or CI): the output must be short, plain, free of
Airflow task-runner lines, and name the log file that holds them. Under a pseudo-terminal the live display is drawn
(with control codes) and the JSON summary is still the last line.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from tests.conftest import FIXTURES, CliResult

pytestmark = pytest.mark.e2e
STEPS = ("discover", "ingest", "dbt_build", "quality_gate", "publish", "report", "alerts")
TASK_RUNNER = ("::group::", "::endgroup::", "Pushing xcom", "RuntimeTaskInstance(", "[DAG TEST]")
LOG_LINE = re.compile(r"^storekpi: full log of this run: (\S+\.log)$", re.M)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """`storekpi demo` as `make run` starts it: no STOREKPI_HOME, stdout and stderr pipes."""
    root = tmp_path_factory.mktemp("console")
    env = {k: v for k, v in os.environ.items() if k != "STOREKPI_HOME"}
    proc = subprocess.run([sys.executable, "-m", "storekpi.cli", "demo", "--dir", str(root / "demo")], env=env,
                          cwd=root, capture_output=True, text=True, timeout=1200)
    return root, CliResult(proc.returncode, proc.stdout, proc.stderr)


def test_demo_output_is_short_plain_and_ends_with_the_json_summary(demo):
    root, result = demo
    assert result.code == 0, result.stderr[-3000:]
    lines = (result.stdout + result.stderr).splitlines()
    assert len(lines) <= 40, "\n".join(lines)  # what `make run` shows after the install
    for marker in TASK_RUNNER:
        assert marker not in result.stdout and marker not in result.stderr, marker
    assert "\x1b" not in result.stdout  # no control codes when stdout is not a terminal
    step_lines = [line.split() for line in result.stdout.splitlines() if line.split()[:1] and
                  line.split()[0] in STEPS]
    assert [s[:2] for s in step_lines] == [[step, "done"] for step in STEPS]
    assert all(re.fullmatch(r"\d+\.\ds", s[2]) for s in step_lines)
    summary = result.summary
    ingest = " ".join(next(s for s in step_lines if s[0] == "ingest"))
    assert f"{summary['files_loaded']:,} files, {summary['rows_loaded']:,} rows, " \
           f"{summary['rows_quarantined']:,} quarantined" in ingest
    assert json.loads(result.stdout.splitlines()[-1]) == summary and summary["status"] == "published"


def test_the_named_log_file_holds_airflows_and_storekpis_full_logs(demo):
    root, result = demo
    (path,) = LOG_LINE.findall(result.stdout)
    log = Path(path)
    assert log.parent == root / "demo" / ".storekpi" / "logs"  # $STOREKPI_HOME/logs, the demo's state folder
    text = log.read_text(encoding="utf-8", errors="replace")
    for marker in TASK_RUNNER:
        assert marker in text, marker
    for step in STEPS:
        assert f"step={step} status=done" in text
    assert text.count("rows in,") == result.summary["files_loaded"]  # one line per ingested file


def _run_in_pty(args: list[str], env: dict, timeout: float = 900) -> tuple[int, str]:
    """Run a command with stdout and stderr on a pseudo-terminal; (exit code, everything it wrote)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, env=env, close_fds=True)
    os.close(slave)
    chunks, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 1)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    os.close(master)
    code = proc.wait(timeout=60)
    return code, b"".join(chunks).decode("utf-8", errors="replace")


def test_under_a_terminal_the_live_display_renders_and_the_json_line_stays_last(tmp_path):
    landing = tmp_path / "landing"
    shutil.copytree(FIXTURES / "e2e_landing", landing)
    env = {**os.environ, "STOREKPI_HOME": str(tmp_path / "state"), "STOREKPI_PII_SALT": "test-salt",
           "COLUMNS": "120", "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    code, screen = _run_in_pty([sys.executable, "-m", "storekpi.cli", "run", "--landing", str(landing),
                                "--warehouse", str(tmp_path / "warehouse.duckdb"), "--date", "2026-11-20",
                                "--outbox", str(tmp_path / "outbox")], env)
    assert code == 0, screen[-3000:]
    assert "\x1b[" in screen  # drawn live: cursor movement and erasing
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen).replace("\r", "")
    for step in STEPS:
        assert re.search(rf"^\s*{step}\s+done\s+\d+\.\ds", plain, re.M), step
    for marker in TASK_RUNNER:
        assert marker not in plain, marker
    summary = json.loads(plain.strip().splitlines()[-1])
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        files, rows = con.execute("select count(*), sum(rows_loaded) from audit.files where status = 'loaded'"
                                  ).fetchone()
    assert (summary["status"], summary["files_loaded"], summary["rows_loaded"]) == ("published", files, rows)

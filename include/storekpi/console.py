"""What a person sees while `storekpi run` / `storekpi demo` works: one live line per DAG step, not Airflow's logs.

For the length of a run, `RunConsole` points file descriptors 1 and 2 into a pipe that a thread copies into the
run's log file, `$STOREKPI_HOME/logs/<run_key>.log` (with `--verbose` also onto stderr, as before), so Airflow's
task-runner output, dbt and every logger land there whatever they write to. The person's terminal gets, on the
original stdout:

- one line per pipeline step (step, status, seconds, the step's counts), fed by an Airflow task-instance listener —
  the counts are the step's return value (its XCom) — and, for ingest, a progress bar over the landing files, fed
  by the per-file log records of `storekpi.ingest` (those carrying `landing_file`); `finish` has no line, its
  verdict is the summary printed after the run;
- warnings meant for a person: every `storekpi` log record at WARNING or above.

On a terminal the lines are drawn live with `rich`; otherwise they are printed once, plain, without control codes.
The caller prints the JSON summary after the console has closed, so it stays the last stdout line.
"""

from __future__ import annotations

import logging
import os
import select
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from storekpi.runspec import state_dir

_LABELS = {"files_loaded": "files", "rows_loaded": "rows", "rows_quarantined": "quarantined",
           "files_rejected": "rejected", "emails": "e-mails"}
_HIDDEN = {"files_rejected": 0}  # shown only when not this value


def log_path(run_key: str) -> Path:
    return state_dir() / "logs" / f"{run_key}.log"


def describe(counts: Any) -> str:
    """A step's return value as a short phrase: `818 files, 87,361 rows, 27 quarantined`."""
    if not isinstance(counts, dict):
        return ""
    parts = []
    for key, value in counts.items():
        if isinstance(value, bool) or not isinstance(value, int) or _HIDDEN.get(key) == value:
            continue
        label = _LABELS.get(key, key.replace("_", " "))
        parts.append(f"{value:,} {label[:-1] if value == 1 and label.endswith('s') else label}")
    return ", ".join(parts)


@dataclass
class Step:
    name: str
    status: str = "running"
    started: float = field(default_factory=time.monotonic)
    seconds: float | None = None
    detail: str = ""
    files_done: int = 0
    files_total: int | None = None

    def line(self, width: int = 13) -> str:
        seconds = self.seconds if self.seconds is not None else time.monotonic() - self.started
        text = f"  {self.name:<{width}} {self.status:<8} {seconds:6.1f}s"
        return f"{text}  {self.detail}" if self.detail else text


class RunConsole:
    """Context manager around one run: capture its output into the log file and show the steps."""

    def __init__(self, run_key: str, *, verbose: bool = False):
        self.path = log_path(run_key)
        self.verbose = verbose
        self.steps: dict[str, Step] = {}
        self.files_total: int | None = None
        self._lock = threading.RLock()
        self._warnings: set[str] = set()

    def airflow_listener(self):
        """The listener `airflow_runner.run_dag` registers for the run (called after Airflow is configured)."""
        return _step_listener(self)

    # -- lifecycle --------------------------------------------------------------------------------------------
    def __enter__(self) -> RunConsole:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        sys.stdout.flush()
        sys.stderr.flush()
        self._saved = (os.dup(1), os.dup(2))
        self.out = os.fdopen(os.dup(self._saved[0]), "w", buffering=1, encoding="utf-8", errors="replace")
        self.tty = self.out.isatty() and not self.verbose
        self._log_file = open(self.path, "ab")
        read_end, write_end = os.pipe()
        self._closing = threading.Event()
        self._wake = os.pipe()  # written once at exit, so the pump stops without waiting out its poll
        self._pump = threading.Thread(target=self._copy, args=(read_end,), name="storekpi-log", daemon=True)
        self._pump.start()
        os.dup2(write_end, 1)
        os.dup2(write_end, 2)
        os.close(write_end)
        self._handler = _PersonHandler(self)
        root = logging.getLogger("storekpi")
        self._level = root.level
        if not root.isEnabledFor(logging.INFO):  # progress comes from INFO records; the log is the full log
            root.setLevel(logging.INFO)
        root.addHandler(self._handler)
        self._live = None
        self.say(f"storekpi: full log of this run: {self.path}")
        if self.tty:
            from rich.console import Console
            from rich.live import Live

            self._live = Live(console=Console(file=self.out), get_renderable=self._render, refresh_per_second=8,
                              transient=False, redirect_stdout=False, redirect_stderr=False)
            self._live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        logging.getLogger("storekpi").removeHandler(self._handler)
        with self._lock:
            for step in self.steps.values():
                if step.status == "running":  # the run ended under it (killed, Airflow error)
                    self._finish(step, "stopped", "")
        if self._live is not None:
            self._live.stop()
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(self._saved[0], 1)
        os.dup2(self._saved[1], 2)
        self._closing.set()  # the pump drains what was written, then stops
        os.write(self._wake[1], b"x")
        self._pump.join(timeout=10)
        for fd in (*self._saved, *self._wake):
            os.close(fd)
        self._log_file.close()
        self.out.close()
        logging.getLogger("storekpi").setLevel(self._level)

    def _copy(self, read_end: int) -> None:
        """Copy the pipe into the log until the run is over and the pipe is empty.

        Not until EOF: a child started during the run (multiprocessing's resource tracker, say) inherits the
        pipe as its stdout and keeps it open until storekpi exits.
        """
        with os.fdopen(read_end, "rb", buffering=0) as pipe:
            while True:
                closing = self._closing.is_set()
                readable, _, _ = select.select([pipe, self._wake[0]], [], [], 0.1)
                if pipe not in readable:
                    if closing:
                        return
                    continue
                chunk = pipe.read(65536)
                if not chunk:
                    return
                self._log_file.write(chunk)
                self._log_file.flush()
                if self.verbose:
                    os.write(self._saved[1], chunk)

    # -- events -----------------------------------------------------------------------------------------------
    def say(self, text: str) -> None:
        """A line for the person (above the live display on a terminal)."""
        with self._lock:
            if self._live is not None:
                self._live.console.print(text, markup=False, highlight=False)
            else:
                self.out.write(text + "\n")

    def warn(self, message: str) -> None:
        if message not in self._warnings:
            self._warnings.add(message)
            self.say(f"  ! {message}")

    def step_started(self, name: str) -> None:
        with self._lock:
            self.steps[name] = Step(name, files_total=self.files_total if name == "ingest" else None)

    def step_ended(self, name: str, status: str, counts: Any = None, error: str = "") -> None:
        with self._lock:
            step = self.steps.get(name) or Step(name)
            self.steps[name] = step
            if name == "discover" and isinstance(counts, dict) and isinstance(counts.get("files"), int):
                self.files_total = counts["files"]
            self._finish(step, status, describe(counts) or error)

    def file_done(self) -> None:
        with self._lock:
            step = self.steps.get("ingest")
            if step is not None:
                step.files_done += 1

    def _finish(self, step: Step, status: str, detail: str) -> None:
        step.status, step.detail = status, detail
        step.seconds = time.monotonic() - step.started
        if self._live is None:
            self.out.write(step.line() + "\n")

    def _render(self):
        from rich.progress_bar import ProgressBar
        from rich.table import Table

        grid = Table.grid(padding=(0, 1))
        with self._lock:
            for step in self.steps.values():
                if step.status == "running" and step.name == "ingest" and step.files_total:
                    total = step.files_total
                    grid.add_row(step.line(), ProgressBar(total=total, completed=min(step.files_done, total),
                                                          width=30),
                                 f"{step.files_done:,}/{total:,} files")
                else:
                    grid.add_row(step.line(), "", "")
        return grid


class _PersonHandler(logging.Handler):
    """Turns storekpi's log records into console events: per-file ingest progress and warnings."""

    def __init__(self, console: RunConsole):
        super().__init__(level=logging.INFO)
        self.console = console

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if getattr(record, "landing_file", None):
                self.console.file_done()
            if record.levelno >= logging.WARNING:
                self.console.warn(record.getMessage())
        except Exception:  # noqa: BLE001 - the display must never break the run
            self.handleError(record)


def _step_listener(console: RunConsole):
    """An Airflow task-instance listener feeding `console` (built only once Airflow is configured: its hook marker
    imports Airflow)."""
    from airflow.listeners import hookimpl

    from storekpi.errors import BlockedError
    from storekpi.pipeline import STEPS

    steps = {step.__name__ for step in STEPS}  # not `finish`: its verdict is the summary printed after the run

    class StepListener:
        @hookimpl
        def on_task_instance_running(self, previous_state, task_instance) -> None:
            if task_instance.task_id in steps:
                console.step_started(task_instance.task_id)

        @hookimpl
        def on_task_instance_success(self, previous_state, task_instance) -> None:
            if task_instance.task_id not in steps:
                return
            try:
                counts = task_instance.xcom_pull(task_ids=task_instance.task_id)
            except Exception:  # noqa: BLE001 - counts are a nicety; the step still succeeded
                counts = None
            console.step_ended(task_instance.task_id, "done", counts)

        @hookimpl
        def on_task_instance_failed(self, previous_state, task_instance, error) -> None:
            if task_instance.task_id not in steps:
                return
            cause, blocked = error, False
            while isinstance(cause, BaseException):
                blocked = blocked or isinstance(cause, BlockedError)
                cause = cause.__cause__
            first = str(error).splitlines()[0] if error else ""
            console.step_ended(task_instance.task_id, "blocked" if blocked else "failed",
                               error=first[:160] + ("…" if len(first) > 160 else ""))

    return StepListener()

"""Timing and memory measurement: child processes with their own peak RSS, medians, and the machine's description.

Peak RSS comes from `os.wait4`, which reports the child's own `ru_maxrss` (and that of its reaped children): no
sampling, no psutil, exact even for short peaks.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
SAMPLE_SECONDS = 0.25


@dataclass
class ChildResult:
    argv: list[str]
    code: int
    seconds: float  # wall clock, start to exit
    max_rss_mib: float
    stdout: str
    stderr: str

    def json_line(self) -> dict:
        """The child's last stdout line, parsed (workers and `storekpi run` end with one JSON object)."""
        lines = self.stdout.strip().splitlines()
        if self.code != 0 or not lines:
            raise RuntimeError(f"{' '.join(self.argv)} exited {self.code}: {self.stderr.strip()[-2000:]}")
        return json.loads(lines[-1])


def run_child(argv: list[str], *, work: Path, env: dict | None = None, timeout: float = 900,
              sample: Callable[[int], None] | None = None) -> ChildResult:
    """Run `argv` to completion; output goes to files (no pipe can fill up and stall the child).

    `sample(pid)` is called about every SAMPLE_SECONDS while the child runs (see `tree_rss_mib`).
    """
    work.mkdir(parents=True, exist_ok=True)
    out_path, err_path = work / "child.stdout", work / "child.stderr"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, env={**os.environ, **(env or {})}, cwd=ROOT)
        deadline, next_sample = started + timeout, started
        while True:
            if sample and time.perf_counter() >= next_sample:
                sample(proc.pid)
                next_sample = time.perf_counter() + SAMPLE_SECONDS
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                _, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.02)
        seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return ChildResult(argv, proc.returncode, seconds, usage.ru_maxrss / 1024,  # Linux: KiB
                       out_path.read_text(errors="replace"), err_path.read_text(errors="replace"))


def tree_rss_mib(pid: int) -> float:
    """Current resident memory of `pid` and its descendants (Linux /proc; 0 once the process is gone)."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        proc = Path("/proc") / str(current)
        try:
            status = (proc / "status").read_text()
            total += next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
            for task in (proc / "task").iterdir():
                pending += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, StopIteration, ValueError):
            continue
    return total / 1024


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def machine() -> dict:
    """Cores, memory and load: the context every figure needs (the machine may be shared)."""
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        model = next((line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                      if line.startswith("model name")), "")
    import duckdb
    import pandas

    return {
        "cores": os.cpu_count() or 1,
        "memory_gib": round(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30, 1),
        "cpu": model,
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "pandas": pandas.__version__,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }

"""Shared test helpers: run the real `storekpi` command in a subprocess with a private state folder."""

from __future__ import annotations

import json
import os
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

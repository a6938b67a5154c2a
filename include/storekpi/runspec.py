"""What one nightly run is about: the inputs every task needs, resolved from DAG params and the environment.

The same `RunSpec` is built by the CLI (to validate before starting Airflow) and by each DAG task (from the run's
params), so a scheduled run and `storekpi run` resolve paths identically.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

from storekpi.errors import ConfigError
from storekpi.warehouse import Target, default_reports_dir


def state_dir() -> Path:
    """storekpi's own state (Airflow home, run summaries): $STOREKPI_HOME or ./.storekpi."""
    return Path(os.environ.get("STOREKPI_HOME") or ".storekpi").expanduser().resolve()


EARLIEST_DATE = date(2000, 1, 1)  # the DAG's start_date is the day before: any later D runs


def parse_date(value: str, option: str = "--date") -> date:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ConfigError(f"{option}: expected YYYY-MM-DD, got {value!r}")
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"{option}: {value!r} is not a calendar date") from None
    if parsed < EARLIEST_DATE:
        raise ConfigError(f"{option}: {value} is before {EARLIEST_DATE}, the earliest date storekpi runs for")
    return parsed


@dataclass(frozen=True)
class RunSpec:
    landing: Path
    warehouse: str
    date: date
    stores: Path
    outbox: Path | None
    reports: Path
    run_key: str  # names this run's batch, build schema and summary file

    @classmethod
    def resolve(cls, *, landing: str | None, warehouse: str | None, date: str | None, stores: str | None = None,
                outbox: str | None = None, reports: str | None = None, run_key: str) -> RunSpec:
        """Validate the options the way the spec's exit code 2 promises: the message names the option or path."""
        if not landing:
            raise ConfigError("--landing is required (or set STOREKPI_LANDING)")
        if not warehouse:
            raise ConfigError("--warehouse is required (or set STOREKPI_WAREHOUSE)")
        if not date:
            raise ConfigError("--date is required")
        landing_path = Path(landing).expanduser().resolve()
        if not landing_path.is_dir():
            raise ConfigError(f"--landing: folder not found: {landing_path}")
        stores_path = Path(stores).expanduser().resolve() if stores else landing_path / "stores.yml"
        if not stores_path.is_file():
            option = "--stores" if stores else "--landing"
            raise ConfigError(f"{option}: stores file not found: {stores_path}")
        target = Target(warehouse)
        target.validate()
        reports_path = Path(reports).expanduser().resolve() if reports else default_reports_dir(target)
        return cls(
            landing=landing_path,
            warehouse=warehouse,
            date=parse_date(date),
            stores=stores_path,
            outbox=Path(outbox).expanduser().resolve() if outbox else None,
            reports=reports_path,
            run_key=re.sub(r"[^A-Za-z0-9_.-]+", "_", run_key),
        )

    @property
    def target(self) -> Target:
        return Target(self.warehouse)

    @property
    def work_dir(self) -> Path:
        """Scratch space of this run (dbt target and logs)."""
        return state_dir() / "runs" / self.run_key

    def to_conf(self) -> dict:
        conf = {k: (str(v) if v is not None else None) for k, v in asdict(self).items()}
        conf["date"] = self.date.isoformat()
        return conf


class RunSummary:
    """The run's summary, kept as JSON in the state folder and updated by each task.

    The CLI prints it as its last stdout line; keys beyond the spec's (timings, messages) help operators.
    """

    def __init__(self, spec: RunSpec):
        self.path = self.folder() / f"{spec.run_key}.json"
        self.spec = spec

    @staticmethod
    def folder() -> Path:
        return state_dir() / "runs"

    @staticmethod
    def load(path: Path) -> dict:
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):  # a summary being replaced, or a stray file: not a run to clean up
            return {}

    @staticmethod
    def save(path: Path, data: dict) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2, default=str))
        tmp.replace(path)

    def read(self) -> dict:
        if self.path.exists():
            return json.loads(self.path.read_text())
        return {
            "status": "running", "date": self.spec.date.isoformat(), "stores": 0, "files_loaded": 0,
            "rows_loaded": 0, "rows_quarantined": 0, "alerts": 0, "warehouse": self.spec.target.display,
            "report": None,
        }

    def update(self, **fields) -> dict:
        data = self.read()
        timings = fields.pop("task_seconds", None)
        data.update(fields)
        if timings:
            data.setdefault("task_seconds", {}).update(timings)
        self.save(self.path, data)
        return data

    def public(self) -> dict:
        """The spec's JSON summary line, keys in the spec's order."""
        data = self.read()
        keys = ("status", "date", "stores", "files_loaded", "rows_loaded", "rows_quarantined", "alerts",
                "warehouse", "report")
        out = {k: data.get(k) for k in keys}
        if data.get("message"):
            out["message"] = data["message"]
        return out

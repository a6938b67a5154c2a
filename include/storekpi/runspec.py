"""What one nightly run is about: the inputs every task needs, resolved from DAG params and the environment.

The same `RunSpec` is built by the CLI (to validate before starting Airflow) and by each DAG task (from the run's
params), so a scheduled run and `storekpi run` resolve paths identically.
"""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass, fields
from datetime import date
from pathlib import Path

from storekpi.errors import ConfigError
from storekpi.warehouse import Target, default_reports_dir


def state_dir() -> Path:
    """storekpi's own state for `storekpi run` (Airflow home and metadata, logs, scratch): $STOREKPI_HOME or
    ./.storekpi. A task never needs another process's copy of it."""
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
    run_key: str  # names this run's batch, build schema, log and audit.runs row

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
        """Scratch space of this run's tasks (dbt target and logs), private to the process using it."""
        return state_dir() / "work" / self.run_key

    def to_conf(self) -> dict:
        conf = {k: (str(v) if v is not None else None) for k, v in asdict(self).items()}
        conf["date"] = self.date.isoformat()
        return conf

    @classmethod
    def from_conf(cls, conf: dict) -> RunSpec:
        """The spec a DAG run's conf (`to_conf`) was made from, validated again."""
        return cls.resolve(**{f.name: conf.get(f.name) for f in fields(cls)})


SUMMARY_KEYS = ("status", "date", "stores", "files_loaded", "rows_loaded", "rows_quarantined", "alerts",
                "warehouse", "report")


def public_summary(run: dict) -> dict:
    """The spec's JSON summary line (the last stdout line of `storekpi run`), keys in the spec's order, then the
    message of a run that did not publish."""
    out = {key: run.get(key) for key in SUMMARY_KEYS}
    if run.get("message"):
        out["message"] = run["message"]
    return out

"""What a quality gate hands back, and how it is recorded in `audit.dq_results`.

Kept free of Great Expectations so the pipeline, the mailer and tests can use results without the slow GX import.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from storekpi.warehouse import Warehouse

# Columns of example rows that say where a problem is: the store, and for files the landing path.
STORE_COLUMNS = ("store_id",)
FILE_COLUMNS = ("path", "source_file")


@dataclass
class CheckResult:
    """One evaluated expectation. `details` holds the observed values and up to 5 example rows."""

    suite: str
    expectation: str
    table_name: str | None
    column_name: str | None
    blocking: bool
    success: bool
    unexpected_count: int | None
    element_count: int | None
    details: dict = field(default_factory=dict)

    @property
    def stores(self) -> list[str]:
        return _distinct(self.examples, STORE_COLUMNS)

    @property
    def files(self) -> list[str]:
        return _distinct(self.examples, FILE_COLUMNS)

    @property
    def examples(self) -> list[dict]:
        return list(self.details.get("examples") or [])

    @property
    def where(self) -> str:
        return ".".join(p for p in (self.table_name, self.column_name) if p) or self.suite

    def message(self) -> str:
        """One sentence: which expectation, on which table and column, how many rows, which stores and files."""
        if self.success:
            verdict = "passed"
        else:
            verdict = "failed (blocking)" if self.blocking else "failed (warning)"
        sentence = f"{self.expectation} on {self.where} {verdict}"
        if not self.success and self.unexpected_count is not None:
            of = f" of {self.element_count}" if self.element_count is not None else ""
            sentence += f": {self.unexpected_count}{of} unexpected"
        if self.details.get("description"):
            sentence += f" ({self.details['description']})"
        if self.details.get("error"):
            sentence += f"; error: {self.details['error']}"
        if not self.success:
            if self.stores:
                sentence += f"; store {', '.join(self.stores)}"
            if self.files:
                sentence += f"; file {', '.join(self.files)}"
        return sentence + "."


@dataclass
class GateResult:
    results: list[CheckResult]

    @property
    def passed(self) -> bool:
        """True when no blocking expectation failed: the build may be published."""
        return not self.failures

    @property
    def failures(self) -> list[CheckResult]:
        return [r for r in self.results if r.blocking and not r.success]

    @property
    def warnings(self) -> list[CheckResult]:
        return [r for r in self.results if not r.blocking and not r.success]


def store_results(wh: Warehouse, run_id: str, results: list[CheckResult]) -> int:
    """Replace this run's rows in audit.dq_results (an Airflow retry must not duplicate them)."""
    import pyarrow as pa

    evaluated_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    table = pa.table(
        {
            "run_id": pa.array([run_id] * len(results), pa.string()),
            "suite": pa.array([r.suite for r in results], pa.string()),
            "expectation": pa.array([r.expectation for r in results], pa.string()),
            "table_name": pa.array([r.table_name for r in results], pa.string()),
            "column_name": pa.array([r.column_name for r in results], pa.string()),
            "blocking": pa.array([r.blocking for r in results], pa.bool_()),
            "success": pa.array([r.success for r in results], pa.bool_()),
            "unexpected_count": pa.array([r.unexpected_count for r in results], pa.int64()),
            "element_count": pa.array([r.element_count for r in results], pa.int64()),
            "details": pa.array([json.dumps(r.details, default=str, ensure_ascii=False) for r in results],
                                pa.string()),
            "evaluated_at": pa.array([evaluated_at] * len(results), pa.timestamp("us")),
        }
    )
    with wh.transaction():
        wh.execute("DELETE FROM audit.dq_results WHERE run_id = ?", [run_id])
        return wh.append("audit.dq_results", table)


def jsonable(value: Any) -> Any:
    """A value as JSON shows it: dates as ISO days, decimals and numpy scalars as numbers, NaN/NaT as null."""
    import pandas as pd

    if value is None or (not isinstance(value, (str, bytes, list, dict)) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    elif hasattr(value, "item"):  # numpy scalar
        value = value.item()
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def _distinct(rows: list[dict], columns: tuple[str, ...]) -> list[str]:
    seen: dict[str, None] = {}
    for row in rows:
        for column in columns:
            if row.get(column):
                seen[str(row[column])] = None
    return list(seen)

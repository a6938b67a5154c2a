"""Readers that parse generated files independently of the generator's code."""

from __future__ import annotations

import csv
import gzip
import io
from datetime import date
from pathlib import Path

from storekpi.generate import DEFAULT_END_DATE

def files(landing: Path, store: str, dataset: str, pattern: str = "*") -> list[Path]:
    return sorted((landing / store / dataset).glob(f"*/{pattern}"))


def rows(path: Path, encoding: str = "utf-8-sig", skip: int = 0) -> list[dict[str, str]]:
    """CSV rows as dicts; `skip` title lines before the header."""
    raw = path.read_bytes()
    if path.name.endswith(".gz"):
        raw = gzip.decompress(raw)
    lines = io.StringIO(raw.decode(encoding), newline="")
    for _ in range(skip):
        lines.readline()
    return list(csv.DictReader(lines))


def folder_date(path: Path) -> date:
    return date.fromisoformat(path.parent.name)


LAST_DAY = DEFAULT_END_DATE

"""One ingest of one Shopify orders export, in a fresh process, timed after a warm-up on its first lines
(interpreter start-up, lazy imports and engine initialisation are not what is compared).

    python -m bench.ingest_worker {storekpi,duckdb,pandas} EXPORT.csv WORK_DIR [--profile OUT.txt]

Prints one JSON line: {"method", "seconds", "rows"}. Each method writes to its own fresh database file in WORK_DIR:
- storekpi: `storekpi.ingest.ingest` into a fresh DuckDB warehouse (hashing, header sniffing, typing, PII
  hashing, quarantine checks, lineage columns: the real work of the ingest task);
- duckdb: `create table ... as select * from read_csv(...)`, the floor (no validation, no lineage);
- pandas: `pd.read_csv` + `DataFrame.to_sql` into a SQLite file through the stdlib `sqlite3` connection: what a
  tutorial pipeline does (there is no SQLAlchemy DuckDB dialect installed, and SQLite is the tutorials' default).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from pathlib import Path

SALT = "bench-salt"  # a fixed salt: no salt file is written beside the bench warehouses
STORE_ID = "bench_shopify"
STORES_YML = f"""\
stores:
  - id: {STORE_ID}
    name: Bench Shopify
    platform: shopify
    timezone: America/New_York
    currency: USD
"""


def landing_for(export: Path, work: Path, export_date: str) -> Path:
    """A one-file landing folder around `export` (hard-linked: no copy of a 300 MB file)."""
    landing = work / "landing"
    shutil.rmtree(landing, ignore_errors=True)
    target = landing / STORE_ID / "orders" / export_date / export.name
    target.parent.mkdir(parents=True)
    try:
        os.link(export, target)
    except OSError:
        shutil.copy2(export, target)
    (landing / "stores.yml").write_text(STORES_YML)
    return landing


def storekpi_ingest(export: Path, work: Path, export_date: str = "2026-11-20",
                    statements: list | None = None) -> tuple[float, int]:
    """`statements`, when given, receives (seconds, SQL) of every statement run on the warehouse connection."""
    from datetime import date

    import duckdb

    from storekpi import config, ingest, landing
    from storekpi.warehouse import Target, Warehouse

    root = landing_for(export, work, export_date)
    stores = config.load(root / "stores.yml")
    files = landing.discover(root, stores, date.fromisoformat(export_date))
    target = Target(str(_fresh(work / "storekpi.duckdb")))
    with Warehouse(target, path=target.path) as wh:
        wh.ensure_schema()
    started = time.perf_counter()
    with Warehouse(target, path=target.path) as wh:
        if statements is not None:
            wh._con = _TimedConnection(duckdb.connect(str(target.path)), statements)
        summary = ingest.ingest(wh, stores, files, batch_id="bench", salt=SALT)
    seconds = time.perf_counter() - started
    return seconds, summary.rows_in


class _TimedConnection:
    """A DuckDB connection that records what each statement costs: ingest spends its time inside SQL, where
    cProfile sees one call per statement."""

    def __init__(self, con, log: list):
        self._con, self._log = con, log

    def execute(self, sql: str, *args):
        started = time.perf_counter()
        result = self._con.execute(sql, *args)
        self._log.append((time.perf_counter() - started, " ".join(sql.split())))
        return result

    def __getattr__(self, name: str):
        return getattr(self._con, name)


def duckdb_floor(export: Path, work: Path) -> tuple[float, int]:
    import duckdb

    path = _fresh(work / "floor.duckdb")
    started = time.perf_counter()
    con = duckdb.connect(str(path))
    con.execute("create table orders as select * from read_csv(?)", [str(export)])
    rows = con.execute("select count(*) from orders").fetchone()[0]
    con.close()
    return time.perf_counter() - started, rows


def pandas_to_sql(export: Path, work: Path) -> tuple[float, int]:
    import sqlite3

    import pandas as pd

    path = _fresh(work / "pandas.sqlite")
    started = time.perf_counter()
    frame = pd.read_csv(export)
    con = sqlite3.connect(path)
    frame.to_sql("orders", con, index=False)
    con.commit()
    con.close()
    return time.perf_counter() - started, len(frame)


METHODS = {"storekpi": storekpi_ingest, "duckdb": duckdb_floor, "pandas": pandas_to_sql}
WARM_UP_LINES = 200


def head_file(export: Path, target: Path, lines: int) -> Path:
    """The header and first `lines` line rows of `export` (the generator writes no newlines inside values)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with export.open("rb") as src, target.open("wb") as dst:
        for _, line in zip(range(lines + 1), src):
            dst.write(line)
    return target


def warm_up(method: str, export: Path, work: Path) -> None:
    """The same method once on the export's first lines: lazy imports and engine start-up stay out of the timing."""
    head = head_file(export, work / "warm-up" / export.name, WARM_UP_LINES)
    METHODS[method](head, head.parent)


def _fresh(path: Path) -> Path:
    for stale in (path, Path(f"{path}.wal")):
        stale.unlink(missing_ok=True)
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("method", choices=sorted(METHODS))
    parser.add_argument("export", type=Path)
    parser.add_argument("work", type=Path)
    parser.add_argument("--profile", type=Path, help="write a cProfile summary (cumulative time) here, and the SQL "
                        "statements' timings beside it (.sql.json; storekpi only)")
    args = parser.parse_args(argv)
    work = args.work / args.method
    work.mkdir(parents=True, exist_ok=True)
    warm_up(args.method, args.export, work)
    if args.profile:
        import cProfile
        import io
        import pstats

        profiler = cProfile.Profile()
        statements: list = []
        extra = {"statements": statements} if args.method == "storekpi" else {}
        seconds, rows = profiler.runcall(METHODS[args.method], args.export, work, **extra)
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).strip_dirs().sort_stats("cumulative").print_stats(20)
        args.profile.write_text(text.getvalue())
        args.profile.with_suffix(".sql.json").write_text(json.dumps(statements))
    else:
        seconds, rows = METHODS[args.method](args.export, work)
    print(json.dumps({"method": args.method, "seconds": round(seconds, 4), "rows": rows}))


if __name__ == "__main__":
    main()

"""Batched ingest gives the same warehouse as file-by-file ingest (issue 19, docs/decisions.md "Batched ingest").

Each landing folder is ingested twice into fresh DuckDB warehouses, once with batching off (every file read on its
own, as before) and once as shipped; raw.*, quarantine.rows and audit.files must hold the same rows, ignoring the
run's timestamps (`_loaded_at`, `loaded_at`) and the stat cache's columns (`IGNORED`). Run:

    python -m bench.ingest_parity [LANDING ...]          # default: the landing folders under tests/fixtures and a
                                                          # `storekpi generate` demo (3 stores, 60 days)
    python -m bench.ingest_parity --pytest tests/ingest   # the same check around every ingest() the tests call

With --pytest this module is a pytest plugin: each `storekpi.ingest.ingest` call on a DuckDB warehouse is also run
unbatched on a copy of the warehouse as it was, and the two results are compared. Tests that count reads or time
the stat cache fail under it, since it runs every ingest twice (5 in tests/ingest); the comparisons are the result.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
import tempfile
from datetime import date
from pathlib import Path

from storekpi import schema

ROOT = Path(__file__).resolve().parents[1]
TABLES = (*(f"raw.{t}" for t in schema.RAW), "quarantine.rows", "audit.files")
# the run's timestamps, and the stat cache's columns: a file changed within RACY_NS of a run's start records none,
# so two runs a few seconds apart differ there whatever the batching (the plugin runs ingest twice)
IGNORED = {"_loaded_at", "loaded_at", "file_size", "file_mtime_ns", "file_ctime_ns"}


@contextlib.contextmanager
def unbatched():
    """Every file read on its own (the path before batching)."""
    from storekpi.adapters import batched

    candidate = batched.candidate
    batched.candidate = lambda *args, **kwargs: False
    try:
        yield
    finally:
        batched.candidate = candidate


def differences(con, left: str, right: str) -> dict[str, tuple[int, int, int]]:
    """table -> (rows in left, rows only in left, rows only in right), comparing as multisets."""
    out = {}
    for table in TABLES:
        columns = [c for (c,) in con.execute(
            "select column_name from information_schema.columns where table_catalog = ? and table_schema = ? "
            "and table_name = ? order by ordinal_position", [left, *table.split(".")]).fetchall()
            if c not in IGNORED]
        cols = ", ".join(f'"{c}"' for c in columns)
        a, b = f"select {cols} from {left}.{table}", f"select {cols} from {right}.{table}"
        count = con.execute(f"select count(*) from {left}.{table}").fetchall()[0][0]
        only_a = con.execute(f"select count(*) from ({a} except all {b})").fetchall()[0][0]
        only_b = con.execute(f"select count(*) from ({b} except all {a})").fetchall()[0][0]
        out[table] = (count, only_a, only_b)
    return out


def compare_files(batched_db: Path, plain_db: Path) -> dict[str, tuple[int, int, int]]:
    import duckdb

    con = duckdb.connect()
    con.execute(f"attach '{batched_db}' as b (read_only); attach '{plain_db}' as p (read_only)")
    try:
        return differences(con, "b", "p")
    finally:
        con.close()


def ingest_into(landing: Path, db: Path, run_date: date):
    from storekpi import config, ingest, landing as landing_mod
    from storekpi.warehouse import Target, Warehouse

    conf = config.load(landing / "stores.yml")
    wh = Warehouse(Target(str(db)), path=db)
    wh.ensure_schema()
    try:
        return ingest.ingest(wh, conf, landing_mod.discover(landing, conf, run_date), batch_id="parity",
                             salt="parity-salt")
    finally:
        wh.close()


def check_landing(landing: Path, work: Path, run_date: date = date(2026, 12, 31)) -> bool:
    work.mkdir(parents=True, exist_ok=True)
    batched_db, plain_db = work / "batched.duckdb", work / "plain.duckdb"
    for db in (batched_db, plain_db):
        db.unlink(missing_ok=True)
    with unbatched():
        ingest_into(landing, plain_db, run_date)
    summary = ingest_into(landing, batched_db, run_date)
    return report(str(landing), compare_files(batched_db, plain_db), summary.files_seen)


def report(label: str, diff: dict[str, tuple[int, int, int]], files: int | None = None) -> bool:
    same = all(a == b == 0 for _, a, b in diff.values())
    rows = ", ".join(f"{t} {n}" for t, (n, _, _) in diff.items() if n)
    bad = "; ".join(f"{t}: {a} rows only batched, {b} only file-by-file" for t, (_, a, b) in diff.items() if a or b)
    print(f"{'same' if same else 'DIFFERENT'}: {label}" + (f" ({files} files)" if files is not None else "")
          + f": {rows}" + (f" -- {bad}" if bad else ""), flush=True)
    return same


# -- pytest plugin --------------------------------------------------------------------------------------------
CALLS = {"same": 0, "different": 0, "skipped": 0}


def pytest_configure(config):
    from storekpi import ingest as ingest_mod

    real = ingest_mod.ingest

    def both(wh, conf, files, **kwargs):
        if wh.kind != "duckdb" or wh.path is None or not Path(wh.path).is_file():
            CALLS["skipped"] += 1
            return real(wh, conf, files, **kwargs)
        from storekpi.warehouse import Warehouse

        work = Path(tempfile.mkdtemp(prefix="parity-"))
        wh.execute("checkpoint")
        copy = work / "before.duckdb"
        shutil.copy(wh.path, copy)
        other = Warehouse(wh.target, path=copy)
        with unbatched():
            real(other, conf, files, **kwargs)
        other.close()
        result = real(wh, conf, files, **kwargs)
        wh.execute("checkpoint")
        shutil.copy(wh.path, work / "after.duckdb")
        same = report(f"ingest of {len(files)} files", compare_files(work / "after.duckdb", copy))
        CALLS["same" if same else "different"] += 1
        shutil.rmtree(work, ignore_errors=True)
        return result

    ingest_mod.ingest = both
    for module in list(sys.modules.values()):  # test helpers that imported the function itself
        if getattr(module, "ingest", None) is real and module is not ingest_mod:
            module.ingest = both


def pytest_unconfigure(config):
    print(f"\ningest parity: {CALLS['same']} ingest calls same, {CALLS['different']} different, "
          f"{CALLS['skipped']} not DuckDB (not compared)")


def main(argv: list[str]) -> int:
    if argv[:1] == ["--pytest"]:
        import pytest

        return pytest.main(["-q", "-p", "bench.ingest_parity", "-p", "no:cacheprovider", "-s", *argv[1:]])
    work = Path(tempfile.mkdtemp(prefix="ingest-parity-"))
    landings = [Path(a) for a in argv]
    if not landings:
        from storekpi import generate

        landings = [ROOT / "tests/fixtures/e2e_landing", ROOT / "tests/fixtures/real_exports"]
        demo = work / "demo"
        generate.generate(demo, stores=3, days=60, seed=7, end_date=date(2026, 11, 20))
        landings.append(demo)
    ok = [check_landing(landing, work / str(i)) for i, landing in enumerate(landings)]
    shutil.rmtree(work, ignore_errors=True)
    print(f"{sum(ok)} of {len(ok)} landing folders give the same warehouse")
    return 0 if all(ok) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

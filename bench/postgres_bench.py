"""The PostgreSQL path end to end on the e2e section's 2N input (1 M order lines, 10 stores x 7 days), against DuckDB.

Each round runs the same landing folder into a fresh DuckDB file and into a fresh PostgreSQL database (created and
dropped here, as tests/pg.py does), interleaved, through the same entry point as the e2e section (`storekpi run` at
full size; the pipeline steps in a child at smoke size). The figure is the median ratio of the rounds' wall times.
Without a reachable server the section is skipped and says why.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path

from bench import e2e_bench
from bench.measure import median
from bench.report import Figure, Section, table
from bench.sizes import Sizes
from bench.steps import dbt_model_seconds

log = logging.getLogger(__name__)

RATIO_MAX = 2.5  # issue 19
SERVER = os.environ.get("STOREKPI_BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
DATABASE = "storekpi_bench_e2e"
FULL_PARSE = "Unable to do partial parsing"  # what dbt logs when it parses the whole project
SLOWEST_NODES = 12
BACKENDS = ("duckdb", "postgres")


def server_unavailable() -> str | None:
    """None when the server answers, else why not (the section is then skipped with this reason)."""
    try:
        import psycopg2

        psycopg2.connect(f"{SERVER}/postgres", connect_timeout=3).close()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means: nothing to measure against
        return f"PostgreSQL at {SERVER} is not reachable ({type(exc).__name__}: {str(exc).strip()[:200]})"


@contextlib.contextmanager
def fresh_database(name: str = DATABASE) -> Iterator[str]:
    """A new, empty database on SERVER for one run; dropped afterwards, even when the run failed.

    Always the same name: dbt's parse is kept per warehouse (dbt_runner.parse_cache_file), so a nightly run reuses
    it, and so does the DuckDB run here (same file path every round); a new name per run would make PostgreSQL
    pay a full parse that no night pays."""
    import psycopg2

    admin = psycopg2.connect(f"{SERVER}/postgres")
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # a killed bench's
            cur.execute(f'CREATE DATABASE "{name}"')
        yield f"{SERVER}/{name}"
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def _one(backend: str, landing: Path, root: Path, home: Path, sizes: Sizes) -> dict:
    """One run into a fresh warehouse of `backend`: wall seconds, peak RSS, per-step seconds, dbt node seconds."""
    if sizes.e2e_via_airflow:  # the run below starts from an empty warehouse again
        with fresh_database() if backend == "postgres" else contextlib.nullcontext() as url:
            prime_parse(url or str(e2e_bench.duckdb_file(root)), home, root / "prime")
    with contextlib.ExitStack() as stack:
        warehouse = stack.enter_context(fresh_database()) if backend == "postgres" else None
        before = set((home / "work").glob("*"))
        child, summary = e2e_bench.run_night(landing, root, home, sizes, warehouse=warehouse)
        runs = sorted(set((home / "work").glob("*")) - before, key=lambda p: p.stat().st_mtime)
        dbt_nodes = dbt_model_seconds(runs[-1] / "dbt") if runs else {}
        dbt_log = runs[-1] / "dbt" / "logs" / "dbt.log" if runs else None
        parse = ("full" if FULL_PARSE in dbt_log.read_text(errors="replace") else "partial") \
            if dbt_log and dbt_log.exists() else "–"
    return {"seconds": round(child.seconds, 2), "max_rss_mib": round(child.max_rss_mib),
            "task_seconds": summary.get("task_seconds", {}), "order_lines": summary["order_lines"],
            "rows_loaded": summary.get("rows_loaded"), "dbt_parse": parse, "dbt_nodes": dbt_nodes}


def run(sizes: Sizes, work: Path, command: str) -> Section:
    section = Section("postgres", f"PostgreSQL vs DuckDB end to end: {sizes.e2e_lines:,} order lines across "
                                  f"{sizes.e2e_stores} stores")
    reason = server_unavailable()
    if reason:
        section.details.append(f"Skipped: {reason}. Set STOREKPI_BENCH_PG to a server URL (trust or password in "
                               "the URL) to measure it.")
        section.data = {"skipped": reason}
        return section
    base = work / "e2e"  # the e2e section's 2N landing folder, generated once for both sections
    per_day = e2e_bench.orders_per_day(sizes)
    landing = e2e_bench.landing_folder(base / f"opd{per_day}", sizes, per_day)
    home = work / "postgres" / "state"
    e2e_bench.warm_up(home, sizes, work / "postgres" / "logs")
    rounds: list[dict[str, dict]] = []
    for number in range(sizes.postgres_rounds):
        order = BACKENDS if number % 2 == 0 else BACKENDS[::-1]
        result = {}
        for backend in order:
            result[backend] = _one(backend, landing, work / "postgres" / backend, home, sizes)
            log.info("postgres round %d %s: %.1f s", number + 1, backend, result[backend]["seconds"])
        if result["duckdb"]["order_lines"] != result["postgres"]["order_lines"]:
            raise RuntimeError(f"the backends loaded different order lines: "
                               f"{ {b: r['order_lines'] for b, r in result.items()} }")
        rounds.append(result)
    ratios = [r["postgres"]["seconds"] / r["duckdb"]["seconds"] for r in rounds]
    ratio = round(median(ratios), 2)
    last = rounds[-1]
    how = "`storekpi run` (Airflow dag.test)" if sizes.e2e_via_airflow else \
        f"pipeline steps {', '.join(sizes.pipeline_steps or ('all',))} in one child process"
    section.figures = [
        Figure("postgres_vs_duckdb_e2e_ratio_1m", "PostgreSQL / DuckDB wall time, same input, same entry point",
               ratio, "×", f"≤ {RATIO_MAX}", ratio <= RATIO_MAX, command),
        Figure("postgres_e2e_seconds_1m_lines", f"PostgreSQL end to end, {last['postgres']['order_lines']:,} "
               "order lines", round(median([r["postgres"]["seconds"] for r in rounds]), 1), "s", command=command),
    ]
    section.details.append(
        f"The e2e section's 2N landing folder ({sizes.e2e_stores} stores, {sizes.e2e_days} days, {per_day} orders "
        f"per ordinary day and store: {last['postgres']['order_lines']:,} order-line rows loaded on both backends), "
        f"run via {how} into a fresh DuckDB file and a fresh PostgreSQL database ({SERVER}/{DATABASE}, "
        f"created and dropped per run), {len(rounds)} interleaved round(s); the figure is the median of the rounds' ratios "
        f"({', '.join(f'{r:.2f}' for r in ratios)}).")
    steps = list(dict.fromkeys([*last["duckdb"]["task_seconds"], *last["postgres"]["task_seconds"]]))
    rows = [[s, f"{last['duckdb']['task_seconds'].get(s, 0):.1f}", f"{last['postgres']['task_seconds'].get(s, 0):.1f}",
             _times(last['postgres']['task_seconds'].get(s), last['duckdb']['task_seconds'].get(s))] for s in steps]
    rows.append(["dbt parse", last["duckdb"]["dbt_parse"], last["postgres"]["dbt_parse"], ""])
    for label, key in (("**total (wall)**", "seconds"), ("peak RSS MiB", "max_rss_mib")):
        rows.append([label, f"{last['duckdb'][key]:,.1f}", f"{last['postgres'][key]:,.1f}",
                     _times(last["postgres"][key], last["duckdb"][key])])
    section.details.append("Per step, last round (seconds; the rest of the wall time is process start, Airflow "
                           "and dag.test bookkeeping):\n\n" + table(["step", "DuckDB", "PostgreSQL", "PG / DuckDB"],
                                                                   rows))
    nodes = last["postgres"]["dbt_nodes"]
    if nodes:
        slowest = sorted(nodes, key=nodes.get, reverse=True)[:SLOWEST_NODES]
        section.details.append(
            f"Slowest dbt nodes on PostgreSQL, last round (of {len(nodes)}; execution_time from run_results.json, "
            f"threads as profiles.yml sets them):\n\n"
            + table(["node", "PostgreSQL s", "DuckDB s"],
                    [[n.split(".", 2)[-1], f"{nodes[n]:.2f}", f"{last['duckdb']['dbt_nodes'].get(n, 0):.2f}"]
                     for n in slowest]))
    section.data = {"server": SERVER, "ratios": ratios, "rounds": [
        {b: {k: v for k, v in r[b].items() if k != "dbt_nodes"} for b in BACKENDS} for r in rounds],
        "dbt_nodes": {b: last[b]["dbt_nodes"] for b in BACKENDS}}
    return section


def _times(pg: float | None, duck: float | None) -> str:
    return f"{pg / duck:.1f}×" if pg and duck else "–"


PRIME = """
import sys
from datetime import date
from pathlib import Path
from storekpi import dbt_runner, warehouse
target = warehouse.Target(sys.argv[1])
if target.kind == "duckdb":
    target.path.parent.mkdir(parents=True, exist_ok=True)
with warehouse.open_build(target, fresh=True) as wh:
    wh.ensure_schema()
    result = dbt_runner._invoke("build", wh, date.fromisoformat(sys.argv[2]), Path(sys.argv[3]),
                                extra=["--select", "stg_stores", "--resource-type", "model"])
warehouse.discard(target)
sys.exit(0 if result.success else 1)
"""


def prime_parse(warehouse: str, home: Path, work: Path) -> None:
    """Leave dbt's parse of the project for `warehouse` in `home`, as the nights before a nightly run do (one view
    built: the parse is of the whole project); the timed run then starts the way every night but the first does."""
    from bench.measure import PYTHON, run_child
    from bench.sizes import END_DATE

    result = run_child([PYTHON, "-c", PRIME, warehouse, END_DATE.isoformat(), str(work / "dbt")], work=work,
                       env={"STOREKPI_HOME": str(home)})
    if result.code != 0:
        raise RuntimeError(f"priming dbt's parse failed: {result.stderr[-2000:]}")

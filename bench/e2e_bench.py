"""End to end (1 M order lines across 10 stores, all datasets: time and where it goes) and peak RSS at N vs 2N.

The 2N run of the RSS figure is the end-to-end run itself; the N run has half the orders per day over the same
stores and days (same file count), so the ratio isolates data volume. Full sizes run `storekpi run` (the Airflow
path operators use); the smoke sizes run the pipeline steps in one child process, without Airflow's start-up.
"""

from __future__ import annotations

import logging
import re
import shutil
from pathlib import Path

from bench import fixtures
from bench.measure import PYTHON, ChildResult, run_child, tree_rss_mib
from bench.report import Figure, Section, table
from bench.sizes import END_DATE, SEED, Sizes

log = logging.getLogger(__name__)

RSS_GROWTH_MAX = 0.20
# Order-line rows the generator writes per store, day and `orders_per_day` (measured at seed 7: 1.38 lines per
# order, unpaid and cancelled orders; runs of 7 days or fewer have no weekly re-export). Only sizes the run; the
# report counts the lines actually loaded.
LINES_PER_ORDER_DAY = 1.5
_MIGRATE = ("from storekpi import airflow_runner as a; home = a.configure_environment(); "
            "from airflow import settings; settings.configure_orm(); a.migrate(home)")


RSS_ADVICE = """\
**Why peak RSS grows more than 20 %:** a run holds everything in one process (dag.test runs the tasks
in-process), and the peak comes in `{top}` ({n:,.0f} → {rss:,.0f} MiB sampled); ingest: {ingest_n:,.0f} →
{ingest_2n:,.0f} MiB. The quality gate reads no mart into pandas (its checks are counted in SQL, GX validates the
offending rows: `storekpi.quality.sql_checks`), and every DuckDB connection of a run, dbt-duckdb's included, has
`memory_limit` = `storekpi.warehouse.DUCKDB_MEMORY_LIMIT` (STOREKPI_DUCKDB_MEMORY_LIMIT overrides it), so DuckDB's
buffer manager spills instead of growing. What grows beyond that is memory outside DuckDB's buffer manager (query
results, allocator caches after file-sized temporaries are freed): look at the task above with
/proc/self/status VmHWM around its statements."""

PER_FILE_NOTE = """\
Ingest's share is mostly data, not files: one `Workbench` (the warehouse's DuckDB connection with the parsers as
temporary macros) serves the whole run, so a file's fixed cost is a handful of SQL statements (planning the typing
statement is the largest: see the history section's setup for the cost per small file), and plain CSV exports are
read by DuckDB's parallel CSV reader straight into temporary tables."""


def orders_per_day(sizes: Sizes) -> int:
    return max(1, round(sizes.e2e_lines / (sizes.e2e_stores * sizes.e2e_days * LINES_PER_ORDER_DAY)))


def landing_folder(root: Path, sizes: Sizes, per_day: int) -> Path:
    return fixtures.landing(root, stores=sizes.e2e_stores, days=sizes.e2e_days, orders_per_day=per_day,
                            end_date=END_DATE)


_STEP_LINE = re.compile(r"step=(\w+) status=(started|done) run=\S+(?: date=\S+)?(?: seconds=([\d.]+))?")


def step_seconds(log: Path) -> tuple[dict[str, float], str | None]:
    """(seconds of each finished step, the step running now) from the run's log, where every step logs its start
    and end (`pipeline.run_step`)."""
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return {}, None
    done: dict[str, float] = {}
    running = None
    for name, status, seconds in _STEP_LINE.findall(text):
        if status == "started":
            running = name
        else:
            done[name] = float(seconds)
            running = None if running == name else running
    return done, running


class StepMemory:
    """Samples the run's resident memory and charges it to the running task, read from the run's log (each step
    logs when it starts and ends)."""

    def __init__(self, logs: Path):
        self.logs = logs
        self.before = set(logs.glob("*.log"))
        self.peak: dict[str, float] = {}

    def __call__(self, pid: int) -> None:
        rss = tree_rss_mib(pid)
        step = self._running()
        self.peak[step] = max(self.peak.get(step, 0.0), rss)

    def _running(self) -> str:
        new = [p for p in self.logs.glob("*.log") if p not in self.before]
        if not new:  # the CLI opens the run's log before it starts Airflow
            return "CLI start-up"
        done, running = step_seconds(new[0])
        if running:
            return running
        from storekpi.pipeline import STEPS

        return next((s.__name__ for s in STEPS if s.__name__ not in done), "after the last task")


def warm_up(home: Path, sizes: Sizes, logs: Path) -> ChildResult | None:
    """Migrate a fresh Airflow home's metadata DB before the timed runs (the first run would: not a run cost)."""
    if not sizes.e2e_via_airflow:
        return None
    result = run_child([PYTHON, "-c", _MIGRATE], work=logs, env={"STOREKPI_HOME": str(home)})
    if result.code != 0:
        raise RuntimeError(f"Airflow warm-up failed: {result.stderr[-2000:]}")
    return result


def duckdb_file(root: Path) -> Path:
    """The DuckDB warehouse `run_night` builds under `root` (one path every round: dbt's parse stays valid)."""
    return root / "out" / "warehouse.duckdb"


def run_night(landing: Path, root: Path, home: Path, sizes: Sizes, *,
              warehouse: str | None = None, timeout: float = 1800) -> tuple[ChildResult, dict]:
    """One nightly run for D into a fresh warehouse (a DuckDB file under `root`, or the empty PostgreSQL database
    `warehouse` names); returns the child and its run summary (with task_seconds and order_lines)."""
    out = root / "out"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    warehouse = warehouse or str(duckdb_file(root))
    common = ["--landing", str(landing), "--warehouse", warehouse, "--date", END_DATE.isoformat()]
    if sizes.e2e_via_airflow:
        before = set((home / "logs").glob("*.log"))
        argv = [PYTHON, "-m", "storekpi.cli", "run", *common, "--outbox", str(out / "outbox"),
                "--reports", str(out / "reports")]
        (home / "logs").mkdir(parents=True, exist_ok=True)
        memory = StepMemory(home / "logs")
        result = run_child(argv, work=root / "logs", env={"STOREKPI_HOME": str(home)}, timeout=timeout,
                           sample=memory)
        public = result.json_line()
        if public.get("status") != "published":
            raise RuntimeError(f"storekpi run ended {public.get('status')}: {public.get('message')}")
        new = sorted(set((home / "logs").glob("*.log")) - before, key=lambda p: p.stat().st_mtime)
        summary = {**public, "task_seconds": step_seconds(new[-1])[0], "sampled_rss_mib": memory.peak}
    else:
        argv = [PYTHON, "-m", "bench.steps", *common, "--work", str(out)]
        if sizes.pipeline_steps:
            argv += ["--steps", *sizes.pipeline_steps]
        result = run_child(argv, work=root / "logs", env={"STOREKPI_HOME": str(home)}, timeout=timeout)
        summary = result.json_line()
        summary["sampled_rss_mib"] = summary.pop("peak_rss_mib_after", {})
    summary["order_lines"] = _order_lines(warehouse)
    return result, summary


def _order_lines(warehouse: str) -> int:
    """Rows in raw.order_lines: of the published file, or of the build file when the run stopped before publish
    (smoke); PostgreSQL writes raw in place."""
    from storekpi.warehouse import Target, Warehouse

    target = Target(warehouse)
    path = None if target.kind == "postgres" else target.path if target.path.exists() else target.build_path
    with Warehouse(target, path=path, read_only=True) as wh:
        return wh.query("select count(*) from raw.order_lines")[0][0]


def run(sizes: Sizes, work: Path, command: str) -> Section:
    section = Section("e2e", f"End to end: {sizes.e2e_lines:,} order lines across {sizes.e2e_stores} stores, "
                             "and peak RSS at N vs 2N")
    base = work / "e2e"
    home = base / "state"
    per_day = orders_per_day(sizes)
    half, full = max(1, per_day // 2), per_day
    landings = {"N": landing_folder(base / f"opd{half}", sizes, half),
                "2N": landing_folder(base / f"opd{full}", sizes, full)}
    warm = warm_up(home, sizes, base / "logs")
    results = {}
    for label in ("N", "2N"):
        results[label] = run_night(landings[label], base / label, home, sizes)
        log.info("e2e %s: %.1f s, peak RSS %.0f MiB", label, results[label][0].seconds,
                 results[label][0].max_rss_mib)
    child, summary = results["2N"]
    rss = {label: r.max_rss_mib for label, (r, _) in results.items()}
    growth = rss["2N"] / rss["N"] - 1
    lines = {label: s["order_lines"] for label, (_, s) in results.items()}
    tasks = summary.get("task_seconds", {})
    overhead = child.seconds - sum(tasks.values())
    how = "`storekpi run` (Airflow dag.test)" if sizes.e2e_via_airflow else "pipeline steps in one child process"
    section.figures = [
        Figure("e2e_seconds_1m_lines", f"end to end, {lines['2N']:,} order lines, {sizes.e2e_stores} stores",
               round(child.seconds, 1), "s", command=command),
        Figure("rss_growth_2x_input", "peak RSS growth from N to 2N input lines", round(growth, 3),
               "(fraction)", f"≤ {RSS_GROWTH_MAX:.2f}", growth <= RSS_GROWTH_MAX, command),
        Figure("peak_rss_mib_2n", "peak RSS of the 2N run", round(rss["2N"]), "MiB", command=command),
    ]
    section.data = {"via": "airflow" if sizes.e2e_via_airflow else "steps", "stores": sizes.e2e_stores,
                    "days": sizes.e2e_days, "orders_per_day": {"N": half, "2N": full}, "order_lines": lines,
                    "rows_loaded": {label: s.get("rows_loaded") for label, (_, s) in results.items()},
                    "wall_seconds": {label: r.seconds for label, (r, _) in results.items()},
                    "max_rss_mib": rss, "task_seconds": {label: s.get("task_seconds", {})
                                                         for label, (_, s) in results.items()},
                    "overhead_seconds": overhead,
                    "airflow_warm_up_seconds": warm.seconds if warm else None}
    section.details.append(
        f"{sizes.e2e_stores} generated stores (Shopify, Taobao/Tmall, generic ERP in turn), {sizes.e2e_days} days, "
        f"all datasets, seed {SEED}; run for D = {END_DATE} into a fresh warehouse via {how}. 2N: {full} orders "
        f"per ordinary day and store, {lines['2N']:,} order-line rows loaded "
        f"({summary.get('rows_loaded', 0):,} input rows of all datasets); N: {half} orders per day, "
        f"{lines['N']:,} order-line rows. Peak RSS is the child's `ru_maxrss` from `wait4`."
        + (f" The Airflow metadata DB was migrated before the runs ({warm.seconds:.1f} s, not counted)."
           if warm else ""))
    rows = [[t, f"{s:.1f}", f"{s / child.seconds:.0%}"] for t, s in tasks.items()]
    rows.append(["process start, Airflow, dag.test bookkeeping" if sizes.e2e_via_airflow else
                 "process start and imports", f"{overhead:.1f}", f"{overhead / child.seconds:.0%}"])
    rows.append(["**total (wall)**", f"{child.seconds:.1f}", "100%"])
    section.details.append(f"Where the 2N run's time goes (task_seconds from the run summary):\n\n"
                           + table(["task", "seconds", "share"], rows))
    memory = {label: s.get("sampled_rss_mib", {}) for label, (_, s) in results.items()}
    steps = [t for t in dict.fromkeys([*memory["N"], *memory["2N"]])
             if max(memory["N"].get(t, 0), memory["2N"].get(t, 0)) >= 1]
    section.details.append(
        ("Resident memory by task (MiB, sampled every 0.25 s over the process tree; the largest sample while the "
         "task ran):" if sizes.e2e_via_airflow else "Peak RSS so far after each step (MiB, `ru_maxrss`):")
        + "\n\n" + table(["task", "N", "2N", "2N / N"],
                          [[t, f"{memory['N'].get(t, 0):,.0f}", f"{memory['2N'].get(t, 0):,.0f}",
                            f"{memory['2N'].get(t, 0) / memory['N'][t]:.2f}" if memory["N"].get(t) else "–"]
                           for t in steps]))
    section.data["rss_by_task_mib"] = memory
    if growth > RSS_GROWTH_MAX and memory["2N"]:
        top = max(memory["2N"], key=memory["2N"].get)
        section.details.append(RSS_ADVICE.format(top=top, rss=memory["2N"][top], n=memory["N"].get(top, 0.0),
                                                 ingest_n=memory["N"].get("ingest", 0.0),
                                                 ingest_2n=memory["2N"].get("ingest", 0.0)))
    section.details.append(PER_FILE_NOTE)
    section.details.append(table(["run", "order lines", "orders/day/store", "wall s", "peak RSS MiB"],
                                 [[label, f"{lines[label]:,}", {"N": half, "2N": full}[label],
                                   f"{results[label][0].seconds:.1f}", f"{rss[label]:,.0f}"]
                                  for label in ("N", "2N")]))
    return section

"""Nightly cost for one new day D on a store with 1 year vs 3 years of history (target: ratio ≤ 1.2).

Setup (not timed): generate the store's 3-year landing folder; the 1-year store is its last year (hard links, so
the two stores share their last year's data). Run the pipeline for D-1 on the 1-year folder and keep the published
warehouse as the 1-year baseline; copy it and run D-1 again on the 3-year folder, which ingests only the two older
years (the last year's files are unchanged), for the 3-year baseline: the same raw rows as a 3-year backfill, for
two thirds of its files. Timed: restore a baseline, run every step for D in-process; rounds alternate 1y/3y order.

The baselines are cached in bench/work/ under a digest of the generator's arguments and code and of the raw
schema: it is setup, not what is measured.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from datetime import timedelta
from pathlib import Path

from bench import fixtures
from bench.measure import median
from bench.report import Figure, Section, table
from bench.sizes import END_DATE, SEED, Sizes
from bench.steps import SETUP_STEPS, run_steps

log = logging.getLogger(__name__)

RATIO_MAX = 1.2  # issue 19 (issues 14 and 15 asked for 1.3)
LABELS = ("1y", "3y")
# A baseline stays valid while the landing folder and the raw tables' layout are unchanged; ingest or dbt code
# changes do not invalidate it (the night for D is run by the current code).
RAW_LAYOUT = ("include/storekpi/schema.py", *fixtures.GENERATOR)


def _build_path(warehouse: Path) -> Path:
    from storekpi.warehouse import Target

    return Target(str(warehouse)).build_path


def _landings(work: Path, sizes: Sizes) -> dict[str, Path]:
    """Landing folder per label: the longest history is generated, the shorter one is its tail."""
    longest = max(sizes.history_days)
    generated = work / "history" / "input"
    fixtures.landing(generated, stores=1, days=longest, orders_per_day=sizes.history_orders_per_day,
                     end_date=END_DATE)
    return {label: generated / "landing" if days == longest else
            fixtures.last_days(generated, work / "history" / label / "input", days=days, end_date=END_DATE)
            for label, days in zip(LABELS, sizes.history_days)}


def _baseline(root: Path, landing: Path, sizes: Sizes, before: str, start: dict | None = None) -> dict:
    """The published warehouse after the run for D-1 (cached), built on a copy of `start`'s baseline if given;
    returns the setup run's result."""
    steps = SETUP_STEPS if sizes.pipeline_steps is None else sizes.pipeline_steps
    key = fixtures.code_digest(*RAW_LAYOUT, extra=["baseline", root.name, sizes.history_days,
                                                   sizes.history_orders_per_day, SEED, steps,
                                                   start and start["fingerprint"]])
    baseline, record = root / "baseline.duckdb", root / "baseline.json"
    if baseline.exists() and record.exists() and json.loads(record.read_text()).get("fingerprint") == key:
        setup = json.loads(record.read_text())
        setup["reused"] = True
        log.info("history %s: reusing the D-1 baseline (built in %.0f s)", root.name, setup["seconds"])
        return setup
    root.mkdir(parents=True, exist_ok=True)
    warehouse = root / "warehouse.duckdb"
    if start:
        _restore(Path(start["baseline"]), warehouse)
    else:
        warehouse.unlink(missing_ok=True)
    from storekpi.ingest import RACY_NS

    time.sleep(RACY_NS / 1e9)  # ingest records no stat for a file changed moments ago (the 1-year folder's links)
    setup = run_steps(landing, warehouse, before, root / "run", label="setup", steps=steps)
    built = warehouse if "publish" in steps else _build_path(warehouse)  # smoke stops before publish
    shutil.copy2(built, baseline)
    setup = {k: v for k, v in setup.items() if k != "dbt_models"}
    setup.update(fingerprint=key, baseline=str(baseline))
    record.write_text(json.dumps(setup, indent=2))
    log.info("history %s: setup for %s took %.1f s", root.name, before, setup["seconds"])
    return {**setup, "reused": False}


def _restore(baseline: Path, warehouse: Path) -> None:
    for stale in (_build_path(warehouse), Path(f"{warehouse}.wal")):
        stale.unlink(missing_ok=True)
    shutil.copy2(baseline, warehouse)


def run(sizes: Sizes, work: Path, command: str) -> Section:
    labels = LABELS
    section = Section("history", "Nightly cost vs history: one new day on 1 year vs 3 years")
    day, before = END_DATE.isoformat(), (END_DATE - timedelta(days=1)).isoformat()
    landings = _landings(work, sizes)
    setups: dict[str, dict] = {}
    for label in labels:  # the 3-year baseline starts from the 1-year one
        setups[label] = _baseline(work / "history" / label, landings[label], sizes, before,
                                  start=setups.get("1y"))

    def night(label: str) -> dict:
        root = work / "history" / label
        _restore(root / "baseline.duckdb", root / "warehouse.duckdb")
        return run_steps(landings[label], root / "warehouse.duckdb", day, root / "run",
                         label="night", steps=sizes.pipeline_steps)

    warm_up = night("1y")["seconds"]  # the first night in this process also imports dbt and GX: not timed
    runs: dict[str, list[dict]] = {label: [] for label in labels}
    for round_no in range(sizes.history_rounds):
        for label in labels if round_no % 2 == 0 else labels[::-1]:
            runs[label].append(night(label))
            log.info("history %s: night %s took %.1f s", label, day, runs[label][-1]["seconds"])
    wall = {label: median([r["seconds"] for r in runs[label]]) for label in labels}
    ratio = wall["3y"] / wall["1y"]
    section.figures = [
        Figure("history_cost_ratio_3y_vs_1y", "nightly run for D, 3 years / 1 year of history", round(ratio, 3),
               "×", f"≤ {RATIO_MAX}", ratio <= RATIO_MAX, command),
        Figure("nightly_seconds_1y", "nightly run for D, 1 year of history (in-process steps)",
               round(wall["1y"], 2), "s", command=command),
        Figure("nightly_seconds_3y", "nightly run for D, 3 years of history (in-process steps)",
               round(wall["3y"], 2), "s", command=command),
    ]
    steps = list(runs["1y"][0]["task_seconds"])
    step_median = {label: {s: median([r["task_seconds"].get(s, 0.0) for r in runs[label]]) for s in steps}
                   for label in labels}
    section.data = {"days": dict(zip(labels, sizes.history_days)), "orders_per_day": sizes.history_orders_per_day,
                    "date": day, "median_seconds": wall, "warm_up_seconds": warm_up, "step_median_seconds": step_median,
                    "runs": {label: [{k: v for k, v in r.items() if k != "dbt_models"} for r in rs]
                             for label, rs in runs.items()},
                    "setup": {label: {"seconds": s["seconds"], "task_seconds": s["task_seconds"],
                                      "files_loaded": s["files_loaded"], "rows_loaded": s["rows_loaded"],
                                      "reused": s["reused"]} for label, s in setups.items()}}
    section.details.append(
        f"One Shopify store, {sizes.history_orders_per_day} orders per ordinary day, seed {SEED}, all datasets. "
        f"History: {sizes.history_days[0]} vs {sizes.history_days[1]} days up to D-1 = {before}; the 1-year "
        f"store is the last year of the 3-year one. Setup, not timed: the run for D-1 on the 1-year folder "
        f"({setups['1y']['files_loaded']:,} landing files, {setups['1y']['seconds']:.0f} s, of which ingest "
        f"{_setup_ingest(setups['1y'])}), then on a copy of its warehouse the run for D-1 on the 3-year folder, "
        f"which loads the {setups['3y']['files_loaded']:,} older files ({setups['3y']['seconds']:.0f} s, ingest "
        f"{_setup_ingest(setups['3y'])})"
        + ("; cached baselines reused" if setups["1y"]["reused"] and setups["3y"]["reused"] else "") + ". "
        f"Timed: the pipeline's steps for D = {day}, in-process (no Airflow), from a restored copy of the D-1 "
        f"warehouse; {sizes.history_rounds} round(s), alternating order, medians, after one untimed warm-up night "
        f"({warm_up:.1f} s: the first night in a process also imports dbt and Great Expectations).")
    section.details.append("Per step (median seconds):\n\n" + table(
        ["step", "1 year", "3 years", "3y / 1y"],
        [[s, f"{step_median['1y'][s]:.2f}", f"{step_median['3y'][s]:.2f}",
          _ratio(step_median["3y"][s], step_median["1y"][s])] for s in steps]
        + [["**total (wall)**", f"{wall['1y']:.2f}", f"{wall['3y']:.2f}", f"{ratio:.2f}"]]))
    section.details.append(_dbt_growth(runs))
    section.details.append(GROWTH_NOTE.format(per_file=_per_file(setups["3y"])))
    return section


GROWTH_NOTE = """\
Where the growth comes from: `discover` and `ingest` no longer read all history. `storekpi.landing.discover` lists
each date folder with one `os.scandir` and resolves only links (8,135 files: 0.26 s, was 1.07 s with `pathlib`), and
ingest reads a landing file only when its size, mtime or ctime differs from what `audit.files` recorded (it hashed
every file each night); what is left grows with the number of date folders, listed twice per night (the `discover`
and `ingest` steps both walk). The DuckDB build starts as a copy of the published file (with its fsync 28 ms for
the 1-year warehouse, 53 ms for the 3-year one; 1.8 s per GiB). dbt rebuilds every intermediate and mart table from
all of `raw` (all models are `table`s), so the `*_latest` and customer models grow with history: the next step is
incremental models on `_export_date`, proven against a full rebuild. Backfilling history costs ingest {per_file} per
small file (the setup above; it was 125–150 ms while every file had a DuckDB connection and parsers of its own)."""


def _setup_ingest(setup: dict) -> str:
    return f"{setup['task_seconds'].get('ingest', 0.0):.0f} s, {_per_file(setup)} per file"


def _per_file(setup: dict) -> str:
    return f"{1000 * setup['task_seconds'].get('ingest', 0.0) / max(setup['files_loaded'] or 1, 1):.0f} ms"


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b > 0 else "–"


def _dbt_growth(runs: dict[str, list[dict]], top: int = 12) -> str:
    """The dbt nodes whose time grows most with history: where a full rebuild pays for old days."""
    nodes = {label: {} for label in runs}
    for label, results in runs.items():
        keys = set().union(*(r["dbt_models"] for r in results))
        nodes[label] = {k: median([r["dbt_models"].get(k, 0.0) for r in results]) for k in keys}
    growth = sorted(nodes["3y"], key=lambda k: nodes["3y"][k] - nodes["1y"].get(k, 0.0), reverse=True)[:top]
    if not growth:
        return "dbt per-node timings: not available (no run_results.json)."
    return (f"dbt nodes that grow most with history (median execution seconds from run_results.json, top {top}):"
            "\n\n" + table(["node", "1 year", "3 years", "3y / 1y"],
                           [[f"`{k}`", f"{nodes['1y'].get(k, 0.0):.2f}", f"{nodes['3y'][k]:.2f}",
                             _ratio(nodes["3y"][k], nodes["1y"].get(k, 0.0))] for k in growth]))

"""The fixed cost of one `storekpi run`: a night with no new files, minus its in-process steps, part by part.

The test suite's two-store landing folder (`tests/fixtures/e2e_landing`) is run once for D (setup, not timed);
then quiet nights D+1, D+2, … run through the real CLI and the real DAG (`bench.overhead_probe` adds clocks only).
Rounds alternate a warm dbt parse (the warehouse's parse cache from the night before, what every night but the
first gets) and a cold one (the cache deleted first), so `dbt_parse_seconds` cold vs warm come from the same run.
`run_fixed_overhead_seconds` is the median of the warm nights. The smoke sizes run only the start-up (interpreter,
CLI, Airflow import, metadata, DagBag): no DAG run.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from datetime import timedelta
from pathlib import Path

from bench.measure import PYTHON, ROOT, median, run_child
from bench.report import Figure, Section, table
from bench.sizes import END_DATE, Sizes

log = logging.getLogger(__name__)

TARGET_SECONDS = 5.0
LANDING = ROOT / "tests" / "fixtures" / "e2e_landing"  # small: the point is what does not depend on the data
STEP_PREFIX = "step:"
PARTS = (  # (key, label) of the fixed costs outside the steps, in the order a run meets them
    ("interpreter", "interpreter start"),
    ("cli", "CLI start-up (storekpi imports, option and landing checks, warehouse lock)"),
    ("airflow_import", "import Airflow"),
    ("metadata", "Airflow metadata: configure_orm + migrate check"),
    ("dagbag", "DagBag parse of dags/"),
    ("dag_run_setup", "dag.test: serialise and sync the DAG, create the DAG run"),
    ("first_task_start", "dag.test: first task start request (the in-process Execution API builds its routers)"),
    ("task_bookkeeping", "dag.test: the other tasks' start/finish requests and scheduling"),
    ("after_dag", "after the DAG run: summary, console"),
    ("interpreter_exit", "interpreter exit"),
)
IN_STEP = (("dbt_import", "import dbt", "import dbt"), ("dbt_parse", "dbt parse (manifest load + write)", "dbt parse"),
           ("gx_import", "import Great Expectations", "import great_expectations"))


def breakdown(probe: dict, wall: float) -> dict:
    """Seconds per fixed part, the steps' own seconds and the in-step fixed costs, from one probe's spans."""
    spans: dict[str, list[tuple[float, float]]] = {}
    for name, start, end in probe["spans"]:
        spans.setdefault(name, []).append((start, end))

    def one(name: str) -> tuple[float, float] | None:
        return spans[name][0] if name in spans else None

    def length(name: str) -> float:
        return sum(end - start for start, end in spans.get(name, []))

    steps = {name[len(STEP_PREFIX):]: length(name) for name in spans if name.startswith(STEP_PREFIX)}
    run_dag, dag_test = one("run_dag"), one("dag.test")
    parts = {"interpreter": length("interpreter start"),
             "cli": (run_dag[0] if run_dag else probe["ended"]) - length("interpreter start"),
             "airflow_import": length("import airflow"),
             "metadata": length("configure_orm") + length("migrate"),
             "dagbag": length("DagBag")}
    if run_dag and dag_test:
        parts["airflow_import"] += length("configure_environment")
        first_step = min((start for name, ss in spans.items() if name.startswith(STEP_PREFIX) for start, _ in ss),
                         default=dag_test[1])
        starts = sorted(spans.get("task start request", []))
        first_request = starts[0][1] - starts[0][0] if starts else 0.0
        parts["dag_run_setup"] = first_step - dag_test[0] - first_request
        parts["first_task_start"] = first_request
        parts["task_bookkeeping"] = dag_test[1] - first_step - sum(steps.values())
        parts["after_dag"] = probe["ended"] - dag_test[1]
    parts["interpreter_exit"] = wall - probe["ended"]
    return {"parts": {k: round(v, 3) for k, v in parts.items()},
            "fixed_seconds": round(wall - sum(steps.values()), 3),
            "steps": {k: round(v, 3) for k, v in steps.items()},
            "in_step": {key: round(length(span), 3) for key, _, span in IN_STEP},
            "wall_seconds": round(wall, 3)}


def _probe(work: Path, home: Path, args: list[str], label: str, startup_only: bool = False) -> dict:
    out = work / f"{label}.json"
    out.unlink(missing_ok=True)
    argv = [PYTHON, "-m", "bench.overhead_probe", str(out), *(["--startup-only"] if startup_only else []),
            "--", "run", *args]
    result = run_child(argv, work=work / "logs" / label, timeout=900,
                       env={"STOREKPI_HOME": str(home), "STOREKPI_BENCH_SPAWNED_AT": repr(time.time())})
    if not out.exists():
        raise RuntimeError(f"probe {label} exited {result.code}: {result.stderr[-2000:]}")
    if not startup_only and result.code != 0:
        raise RuntimeError(f"storekpi run ({label}) exited {result.code}: {result.stdout[-1000:]}")
    found = breakdown(json.loads(out.read_text()), result.seconds)
    found["label"] = label
    return found


def run(sizes: Sizes, work: Path, command: str) -> Section:
    section = Section("overhead", "Fixed cost of one `storekpi run` (a night with no new files)")
    base = work / "overhead"
    home = base / "state"
    landing = LANDING
    out = base / "out"
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(home, ignore_errors=True)
    out.mkdir(parents=True)

    def args(day) -> list[str]:
        return ["--landing", str(landing), "--warehouse", str(out / "warehouse.duckdb"), "--date", day.isoformat(),
                "--outbox", str(out / "outbox"), "--reports", str(out / "reports")]

    if sizes.overhead_rounds == 0:  # smoke: the probe migrates the fresh metadata DB itself (no second child)
        return _smoke(section, _probe(base, home, args(END_DATE), "startup", startup_only=True), command)
    migrate = run_child([PYTHON, "-c", "from storekpi import airflow_runner as a; h = a.configure_environment(); "
                         "from airflow import settings; settings.configure_orm(); a.migrate(h)"],
                        work=base / "logs" / "migrate", env={"STOREKPI_HOME": str(home)})
    if migrate.code != 0:
        raise RuntimeError(f"Airflow metadata migration failed: {migrate.stderr[-2000:]}")

    setup = run_child([PYTHON, "-m", "storekpi.cli", "run", *args(END_DATE)], work=base / "logs" / "setup",
                      env={"STOREKPI_HOME": str(home)}, timeout=900)
    if setup.code != 0:
        raise RuntimeError(f"setup night exited {setup.code}: {setup.stderr[-2000:]}")
    nights: dict[str, list[dict]] = {"warm": [], "cold": []}
    day = END_DATE
    for round_number in range(sizes.overhead_rounds):
        for kind in (("warm", "cold") if round_number % 2 == 0 else ("cold", "warm")):
            day += timedelta(days=1)
            if kind == "cold":
                shutil.rmtree(home / "dbt-parse", ignore_errors=True)
            night = _probe(base, home, args(day), f"{kind}-{day}")
            nights[kind].append(night)
            log.info("overhead %s night %s: wall %.1f s, fixed %.1f s, dbt parse %.1f s", kind, day,
                     night["wall_seconds"], night["fixed_seconds"], night["in_step"]["dbt_parse"])
    return _full(section, nights, setup.seconds, migrate.seconds, command)


def _med(nights: list[dict], *path: str) -> float:
    values = []
    for night in nights:
        value = night
        for key in path:
            value = value.get(key, 0.0)
        values.append(value)
    return round(median(values), 2)


def _full(section: Section, nights: dict[str, list[dict]], setup_seconds: float, migrate_seconds: float,
          command: str) -> Section:
    warm, cold = nights["warm"], nights["cold"]
    fixed = _med(warm, "fixed_seconds")
    parse_cold, parse_warm = _med(cold, "in_step", "dbt_parse"), _med(warm, "in_step", "dbt_parse")
    section.figures = [
        Figure("run_fixed_overhead_seconds", "`storekpi run` with no new files, minus its in-process steps", fixed,
               "s", f"≤ {TARGET_SECONDS:g}", fixed <= TARGET_SECONDS, command),
        Figure("dbt_parse_seconds_cold", "dbt parse with no parse cache (the first night of a warehouse)",
               parse_cold, "s", command=command),
        Figure("dbt_parse_seconds_warm", "dbt parse reusing the night before's parse", parse_warm, "s",
               command=command),
    ]
    section.data = {"nights": nights, "setup_seconds": round(setup_seconds, 1),
                    "migrate_seconds": round(migrate_seconds, 1), "landing": "tests/fixtures/e2e_landing"}
    section.details.append(
        f"The test suite's landing folder `tests/fixtures/e2e_landing` (two stores, orders and traffic for one "
        f"day) run for D = {END_DATE} (setup, "
        f"{setup_seconds:.0f} s, after migrating a fresh Airflow metadata DB in {migrate_seconds:.1f} s, not "
        f"counted); then {len(warm) + len(cold)} quiet nights (no new files) through `storekpi run` and "
        "`bench.overhead_probe` (clocks around the real CLI, Airflow and pipeline functions), alternating a warm "
        "dbt parse (the parse cache the night before left) and a cold one (cache deleted). Medians; warm nights "
        "for the fixed parts.")
    rows = [[label, f"{_med(warm, 'parts', key):.2f}", f"{_med(cold, 'parts', key):.2f}"] for key, label in PARTS]
    rows.append(["**fixed cost (wall − steps)**", f"**{fixed:.2f}**", f"{_med(cold, 'fixed_seconds'):.2f}"])
    rows.append(["in-process steps", f"{_med(warm, 'wall_seconds') - fixed:.2f}",
                 f"{_med(cold, 'wall_seconds') - _med(cold, 'fixed_seconds'):.2f}"])
    rows.append(["**total (wall)**", f"{_med(warm, 'wall_seconds'):.2f}", f"{_med(cold, 'wall_seconds'):.2f}"])
    section.details.append("Outside the steps (seconds):\n\n" + table(["part", "warm parse", "cold parse"], rows))
    step_names = list(dict.fromkeys(name for night in warm + cold for name in night["steps"]))
    rows = [[label, f"{_med(warm, 'in_step', key):.2f}", f"{_med(cold, 'in_step', key):.2f}"]
            for key, label, _ in IN_STEP]
    rows += [[f"step `{name}` (all of it)", f"{_med(warm, 'steps', name):.2f}", f"{_med(cold, 'steps', name):.2f}"]
             for name in step_names]
    section.details.append("Fixed costs inside the steps, and the steps (seconds):\n\n"
                           + table(["part", "warm parse", "cold parse"], rows))
    return section


def _smoke(section: Section, startup: dict, command: str) -> Section:
    fixed = round(sum(startup["parts"].values()), 2)
    section.figures = [Figure("run_fixed_overhead_seconds", "start-up only (smoke sizes: no DAG run)", fixed, "s",
                              f"≤ {TARGET_SECONDS:g}", fixed <= TARGET_SECONDS, command)]
    section.data = {"startup": startup}
    section.details.append("Smoke sizes: the start-up up to the DagBag only (a fresh metadata DB: migrating it "
                           "counts).\n\n"
                           + table(["part", "seconds"], [[label, f"{startup['parts'][key]:.2f}"]
                                                         for key, label in PARTS if key in startup["parts"]]))
    return section

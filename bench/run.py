"""`make bench`: run every benchmark side by side and write bench/report.md and bench/report.json.

    python -m bench.run                 # full sizes (what is committed): < 10 min on 2 cores without `scale`
                                        # and `postgres`; `scale` (10 M lines) adds ~3 min of generation once,
                                        # then ~15 min (1.1 GiB peak); `postgres` a few minutes
    python -m bench.run --smoke         # tiny sizes, < 90 s, report in bench/work/smoke/ (tests/bench runs it)
    python -m bench.run --only ingest   # one section (ingest, ad_ingest, history, parse, e2e, overhead,
                                        # scale, postgres); the report holds only it
    python -m bench.run --only scale --scale-lines 1000000 --out DIR   # the scale section scaled down, its
                                        # figures' keys marked `_scaled_1m`

Generated data and scratch warehouses go to bench/work/ (gitignored; generated inputs are reused across runs).
A section that fails is reported as failed with its error; the exit code is then 1.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import traceback
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))  # `python bench/run.py` works as well as `python -m bench.run`

from bench import (ad_ingest_bench, e2e_bench, history_bench, ingest_bench, overhead_bench,  # noqa: E402
                   parse_bench, postgres_bench, scale_bench)
from bench.measure import machine  # noqa: E402
from bench.report import Section, write  # noqa: E402
from bench.sizes import FULL, SMOKE  # noqa: E402

log = logging.getLogger("bench")
SECTIONS = {"ingest": ingest_bench, "ad_ingest": ad_ingest_bench, "history": history_bench, "parse": parse_bench,
            "e2e": e2e_bench, "overhead": overhead_bench, "scale": scale_bench, "postgres": postgres_bench}


def _environment(work: Path) -> None:
    """Private state for everything the harness starts: storekpi home, Airflow home, fixed PII salt, no telemetry."""
    os.environ["STOREKPI_HOME"] = str(work / "state")
    os.environ["STOREKPI_PII_SALT"] = "bench-salt"
    os.environ.setdefault("STOREKPI_LOG_LEVEL", "WARNING")  # children started through the storekpi CLI
    os.environ["GX_ANALYTICS_ENABLED"] = "false"
    os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    from storekpi import airflow_runner

    airflow_runner.configure_environment(work / "state" / "airflow")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes (< 90 s), for the test suite")
    parser.add_argument("--only", nargs="+", choices=sorted(SECTIONS), help="run only these sections")
    parser.add_argument("--out", type=Path, help="where report.md and report.json go (default: bench/ for the "
                        "full run; bench/work/smoke/ for --smoke, so the committed report is never overwritten)")
    parser.add_argument("--work", type=Path, default=BENCH / "work", help="generated data and scratch files")
    parser.add_argument("--note", default="", help="a sentence for the report, e.g. about other load")
    parser.add_argument("--scale-lines", type=int, help="a scaled-down scale section (e.g. 1000000 lines over the "
                        "same three years); its figures' keys say so (`_scaled_1m`)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("bench").setLevel(logging.INFO)  # the stages' own INFO lines would drown the progress
    sizes = SMOKE if args.smoke else FULL
    extra = ""
    if args.scale_lines and args.scale_lines != sizes.scale_lines:
        sizes = replace(sizes, scale_lines=args.scale_lines, scale_key_suffix=f"_scaled_{_short(args.scale_lines)}")
        extra = f" --scale-lines {args.scale_lines}"
    work = (args.work / sizes.name).resolve()
    work.mkdir(parents=True, exist_ok=True)
    _environment(work)
    started = time.perf_counter()
    info = machine()
    sections: list[Section] = []
    for name in args.only or SECTIONS:
        command = f"python -m bench.run{' --smoke' if args.smoke else ''} --only {name}{extra}"
        section_started = time.perf_counter()
        try:
            section = SECTIONS[name].run(sizes, work, command)
        except Exception as exc:  # one broken stage must not hide the other figures
            log.error("section %s failed:\n%s", name, traceback.format_exc())
            section = Section(name, f"{name} (failed)", error=f"{type(exc).__name__}: {exc}"[:2000])
        section.data["section_seconds"] = round(time.perf_counter() - section_started, 1)
        log.info("section %s done in %.0f s", name, section.data["section_seconds"])
        sections.append(section)
    meta = {
        "command": "python -m bench.run" + (" --smoke" if args.smoke else "")
                   + (f" --only {' '.join(args.only)}" if args.only else "") + extra,
        "sizes": sizes.name,
        "finished_at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "seconds": round(time.perf_counter() - started, 1),
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "note": args.note,
    }
    md, js = write(sections, info, meta, args.out or (work if args.smoke else BENCH))
    log.info("wrote %s and %s in %.0f s", md, js, meta["seconds"])
    return 1 if any(s.error for s in sections) else 0


def _short(lines: int) -> str:
    """1000000 -> '1m', 250000 -> '250k'."""
    return f"{lines / 1e6:g}m" if lines >= 1_000_000 else f"{lines / 1e3:g}k"


if __name__ == "__main__":
    sys.exit(main())

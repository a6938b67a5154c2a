"""Ingest of one generated Shopify orders export: storekpi vs the DuckDB `read_csv` floor vs pandas + to_sql.

Each method runs in its own fresh process (`bench.ingest_worker`), timed inside it, in interleaved rounds whose
order alternates, so a burst of load on the shared machine hits both sides alike. Targets: ≤ 1.5x the floor,
≥ 10x faster than pandas.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from bench import fixtures
from bench.measure import PYTHON, median, run_child
from bench.report import Figure, Section, table
from bench.sizes import SEED, Sizes

log = logging.getLogger(__name__)

FLOOR_RATIO_MAX = 1.5
PANDAS_SPEEDUP_MIN = 10.0


def run(sizes: Sizes, work: Path, command: str) -> Section:
    section = Section("ingest", f"Ingest of a {sizes.ingest_lines:,}-line Shopify orders export")
    export = fixtures.shopify_export(work / "data", sizes.ingest_lines)
    size_mib = export.stat().st_size / 2**20
    seconds: dict[str, list[float]] = {"storekpi": [], "duckdb": [], "pandas": []}
    rows: dict[str, int] = {}
    rss: dict[str, list[float]] = {m: [] for m in seconds}
    for round_no in range(sizes.ingest_rounds):
        order = ["duckdb", "storekpi"] if round_no % 2 == 0 else ["storekpi", "duckdb"]
        if round_no < sizes.pandas_rounds:  # last: its 3 GB process must not disturb the pair's timings
            order.append("pandas")
        for method in order:
            result = run_child([PYTHON, "-m", "bench.ingest_worker", method, str(export), str(work / "ingest")],
                               work=work / "ingest" / "logs")
            measured = result.json_line()
            seconds[method].append(measured["seconds"])
            rows[method] = measured["rows"]
            rss[method].append(result.max_rss_mib)
            log.info("ingest round %d: %s %.2f s", round_no + 1, method, measured["seconds"])
    med = {m: median(v) for m, v in seconds.items()}
    ratio = med["storekpi"] / med["duckdb"]
    speedup = med["pandas"] / med["storekpi"]
    section.figures = [
        Figure("ingest_vs_duckdb_ratio", "storekpi ingest time / DuckDB read_csv floor", round(ratio, 3), "×",
               f"≤ {FLOOR_RATIO_MAX}", ratio <= FLOOR_RATIO_MAX, command),
        Figure("ingest_speedup_vs_pandas", "pandas read_csv + to_sql time / storekpi ingest time",
               round(speedup, 2), "×", f"≥ {PANDAS_SPEEDUP_MIN:g}", speedup >= PANDAS_SPEEDUP_MIN, command),
        Figure("ingest_seconds", "storekpi ingest, median", round(med["storekpi"], 2), "s",
               command=command),
    ]
    section.data = {"export": str(export.relative_to(work.parent)), "export_mib": round(size_mib, 1),
                    "lines": sizes.ingest_lines, "seconds": seconds, "median_seconds": med, "rows": rows,
                    "max_rss_mib": rss}
    section.details.append(
        f"One generated Shopify `orders_export_1.csv`: {sizes.ingest_lines:,} line rows, {size_mib:,.0f} MiB "
        f"(seed {SEED}). Each method runs in a fresh process, warms up on the file's first lines (imports, "
        "engine start-up), then is timed inside the process, writing a fresh database file; rounds interleave "
        f"storekpi and the floor with alternating order ({sizes.ingest_rounds} round(s); pandas in "
        f"{sizes.pandas_rounds}). "
        "The pandas baseline is `pd.read_csv` + `DataFrame.to_sql` into a SQLite file through the stdlib "
        "`sqlite3` connection (no SQLAlchemy DuckDB dialect is installed).")
    section.details.append(table(
        ["method", "median s", "runs (s)", "rows", "peak RSS MiB (max)", "lines/s"],
        [[m, f"{med[m]:.2f}", ", ".join(f"{s:.2f}" for s in seconds[m]), f"{rows.get(m, 0):,}",
          f"{max(rss[m]):,.0f}", f"{sizes.ingest_lines / med[m]:,.0f}"] for m in ("duckdb", "storekpi", "pandas")]))
    pairs = [k / d for k, d in zip(seconds["storekpi"], seconds["duckdb"])]  # the two runs of one round
    section.data["round_ratios"] = [round(r, 3) for r in pairs]
    section.details.append(
        f"Ratio storekpi / floor within each round: {', '.join(f'{r:.2f}' for r in pairs)} (the median ratio "
        f"above is of the medians). Other work on the machine moves single runs by a second or more.")
    section.details.append(HOW)
    section.details.append(_profile(export, work))
    if ratio > FLOOR_RATIO_MAX:
        section.details.append(FLOOR_ADVICE)
    pandas_vs_floor = med["pandas"] / med["duckdb"]
    if speedup < PANDAS_SPEEDUP_MIN and pandas_vs_floor < PANDAS_SPEEDUP_MIN:
        section.details.append(
            f"**Why the pandas target is missed:** pandas 3 (Arrow-backed strings) + `to_sql` into SQLite takes "
            f"{pandas_vs_floor:.1f}× the DuckDB floor on this machine, so ≥ {PANDAS_SPEEDUP_MIN:g}× faster than "
            "pandas would mean beating the floor itself: the two ingest targets cannot both be met here. Meeting "
            f"the floor target (≤ {FLOOR_RATIO_MAX}×) would give about "
            f"{pandas_vs_floor / FLOOR_RATIO_MAX:.1f}× pandas; storekpi gives {speedup:.1f}×.")
    return section


HOW = """**How storekpi ingests it** (`storekpi.ingest`, `storekpi.adapters`): one `Workbench` per run works inside
the warehouse's own DuckDB connection, with the parsers installed once as temporary macros. The file is hashed
(the manifest) and scanned once in chunks (newline count, UTF-8 check, whether cells need more than spaces
trimmed); being plain UTF-8 CSV with its header on line 1, DuckDB's parallel `read_csv` reads the mapped columns
(explicit VARCHAR, 64 MiB buffers) straight into a temporary table, and line numbers are its row ids, checked
against the newline count. One statement cleans, types, hashes and finds each row's first failed row check;
one pass over the rows finds duplicate conflicts and each order's first-row fields (orders on one line skip the
aggregate); raw rows go in with `INSERT … SELECT`. Nothing passes through Python or Arrow. Files that are not plain
(gzip, xlsx, Parquet, GB18030, title lines, values spanning lines, malformed rows) take the Arrow reader, then
the same SQL."""

FLOOR_ADVICE = """**Why storekpi still misses the floor** (see the profile): the floor parses the file once and writes
one table. storekpi does that work too — `read_csv` into a temporary table (CPU mostly in the CSV scan and in
materialising 18 text columns) — and then what the floor does not: hashing the file for the manifest and scanning
it (Python, single-threaded), typing with the parsers (the salted SHA-256 of every e-mail in
`storekpi.pii.customer_key_sql` is about a quarter of that statement's CPU, two thirds of it in its normalising
`trim` with a custom character set, which is slow in DuckDB and redundant after the cleaning), the per-order
aggregate for the order fields and duplicate conflicts, and writing two tables (`raw.orders`, `raw.order_lines`:
compressing them is most of the INSERT statements' time). What is left to gain is small: a guarded `trim` in
`storekpi.pii.normalised_sql` (as `sk_clean_plain` does) would save about 0.3 CPU-seconds here; running the file
scan in a thread while DuckDB reads measured 0–0.2 s, within the noise, and was not kept."""


def _profile(export: Path, work: Path) -> str:
    """Where storekpi's time goes: one more ingest of the export under cProfile, with each SQL statement timed."""
    out = work / "ingest" / "storekpi.profile.txt"
    measured = run_child([PYTHON, "-m", "bench.ingest_worker", "storekpi", str(export), str(work / "ingest"),
                          "--profile", str(out)], work=work / "ingest" / "logs").json_line()
    text = out.read_text()
    start = text.find("   ncalls")
    statements = sorted(json.loads(out.with_suffix(".sql.json").read_text()), reverse=True)
    top = [[f"{seconds:.2f}", "`" + (sql[:110] + ("…" if len(sql) > 110 else "")).replace("|", "\\|") + "`"]
           for seconds, sql in statements if seconds >= 0.02]  # a pipe would end the table cell
    return (f"Profile of one more storekpi ingest of the whole export ({measured['seconds']:.1f} s under cProfile). "
            "Python functions, cumulative time, top 20 (time inside DuckDB shows under the call that issued the "
            "statement):\n\n```\n" + text[start:].rstrip() + "\n```\n\nSQL statements on the warehouse "
            f"connection taking 0.02 s or more ({len(statements)} statements in all, "
            f"{sum(s for s, _ in statements):.2f} s):\n\n" + table(["seconds", "statement"], top))

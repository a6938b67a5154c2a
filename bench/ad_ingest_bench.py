"""Ingest of one 100,000-row ad report (a Meta Ads Manager daily export, the ad layout whose header is on line 1)
vs DuckDB's own `read_csv` of it. Target: ≤ 1.5x. Both run in this process, interleaved, each into a fresh
database file, after a warm-up on a small file (imports, engine start-up and macro planning are not compared)."""

from __future__ import annotations

import csv
import logging
import shutil
import time
from datetime import timedelta
from pathlib import Path

from bench.measure import median
from bench.report import Figure, Section, table
from bench.sizes import END_DATE, SEED, Sizes

log = logging.getLogger(__name__)

RATIO_MAX = 1.5
STORES_YML = "stores:\n  - {id: bench_ads, platform: shopify, timezone: America/New_York, currency: USD}\n"
HEADER = ["Reporting starts", "Reporting ends", "Campaign name", "Campaign delivery", "Amount spent (USD)",
          "Impressions", "Link clicks", "Purchases", "Purchases conversion value"]


def ad_report(folder: Path, rows: int) -> Path:
    """A Meta daily export of `rows` campaign-days (deterministic: seed and row count name it)."""
    import numpy as np

    path = folder / f"meta_ads_{rows}_{SEED}.csv"
    if path.exists():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    days = 365
    campaigns = max(1, -(-rows // days))
    spend = rng.uniform(5, 2_000, rows).round(2)
    clicks = (spend * rng.uniform(0.5, 2, rows)).astype(int)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        for i in range(rows):
            day = (END_DATE - timedelta(days=i % days)).isoformat()
            writer.writerow([day, day, f"Campaign {i // days:04d} - {'Broad' if i % 3 else 'Retargeting'}",
                             "active", f"{spend[i]:,.2f}", int(clicks[i] * 40), int(clicks[i]),
                             int(clicks[i] // 50), f"{spend[i] * 2.6:,.2f}"])
    return path


def _storekpi(report: Path, work: Path) -> tuple[float, int]:
    from storekpi import config, ingest, landing
    from storekpi.warehouse import Target, Warehouse

    root = work / "landing"
    shutil.rmtree(root, ignore_errors=True)
    (root / "bench_ads" / "ad_spend" / END_DATE.isoformat()).mkdir(parents=True)
    shutil.copy(report, root / "bench_ads" / "ad_spend" / END_DATE.isoformat() / report.name)
    (root / "stores.yml").write_text(STORES_YML)
    stores = config.load(root / "stores.yml")
    files = landing.discover(root, stores, END_DATE)
    target = Target(str(_fresh(work / "storekpi.duckdb")))
    with Warehouse(target, path=target.path) as wh:
        wh.ensure_schema()
    started = time.perf_counter()
    with Warehouse(target, path=target.path) as wh:
        summary = ingest.ingest(wh, stores, files, batch_id="bench", salt="bench-salt")
    return time.perf_counter() - started, summary.rows_loaded


def _duckdb(report: Path, work: Path) -> tuple[float, int]:
    import duckdb

    path = _fresh(work / "floor.duckdb")
    started = time.perf_counter()
    con = duckdb.connect(str(path))
    con.execute("create table ad_report as select * from read_csv(?)", [str(report)])
    rows = con.execute("select count(*) from ad_report").fetchone()[0]
    con.close()
    return time.perf_counter() - started, rows


def _fresh(path: Path) -> Path:
    for stale in (path, path.with_name(path.name + ".wal")):
        stale.unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def run(sizes: Sizes, work: Path, command: str) -> Section:
    section = Section("ad_ingest", f"Ingest of a {sizes.ad_rows:,}-row ad report")
    report = ad_report(work / "data", sizes.ad_rows)
    scratch = work / "ad_ingest"
    warm = ad_report(work / "data", 200)
    _storekpi(warm, scratch), _duckdb(warm, scratch)
    seconds: dict[str, list[float]] = {"storekpi": [], "duckdb": []}
    rows: dict[str, int] = {}
    for round_no in range(sizes.ingest_rounds):
        order = ("duckdb", "storekpi") if round_no % 2 == 0 else ("storekpi", "duckdb")
        for method in order:
            took, rows[method] = (_storekpi if method == "storekpi" else _duckdb)(report, scratch)
            seconds[method].append(took)
            log.info("ad ingest round %d: %s %.3f s", round_no + 1, method, took)
    med = {m: median(v) for m, v in seconds.items()}
    ratio = med["storekpi"] / med["duckdb"]
    section.figures = [
        Figure("ad_ingest_vs_duckdb_ratio", f"storekpi ingest of a {sizes.ad_rows:,}-row Meta ad report / DuckDB "
               "read_csv of it", round(ratio, 3), "×", f"≤ {RATIO_MAX}", ratio <= RATIO_MAX, command),
        Figure("ad_ingest_seconds", "storekpi ad report ingest, median", round(med["storekpi"], 3), "s",
               command=command),
    ]
    section.data = {"rows": rows, "seconds": seconds, "median_seconds": med,
                    "report_mib": round(report.stat().st_size / 2**20, 2)}
    section.details.append(
        f"One generated Meta Ads Manager daily export (`Amount spent (USD)` header, thousands separators in "
        f"quoted cells), {sizes.ad_rows:,} rows, {report.stat().st_size / 2**20:.1f} MiB. storekpi does the real "
        "work of the ingest task (hashing, header matching with the currency taken from the header, typing, "
        "not_daily / currency / negative checks, duplicate conflicts, lineage) into a fresh warehouse; the floor "
        "is `create table … as select * from read_csv(…)` with DuckDB's type detection. "
        f"{sizes.ingest_rounds} interleaved round(s), medians.")
    section.details.append(table(["method", "median s", "runs (s)", "rows"],
                                 [[m, f"{med[m]:.3f}", ", ".join(f"{s:.3f}" for s in seconds[m]),
                                   f"{rows.get(m, 0):,}"] for m in ("duckdb", "storekpi")]))
    return section




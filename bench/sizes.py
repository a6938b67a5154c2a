"""How big each benchmark is: the full run `make bench` commits, and the tiny smoke run the test suite keeps working.

The full sizes are the issues' (1 M Shopify lines, 1 vs 3 years, 1 M lines across 10 stores, 10 M lines of one
store over 3 years), with as few repeats as still give a median: every section but `scale` fits 10 minutes on 2
cores; `scale` runs the 10 M-line night end to end once, however long today's code takes (its report says).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

END_DATE = date(2026, 11, 20)  # D: the generator's default last business day
SEED = 7


@dataclass(frozen=True)
class Sizes:
    name: str
    ingest_lines: int  # line rows of the single Shopify orders export
    ingest_rounds: int  # interleaved rounds of storekpi ingest vs the DuckDB floor
    pandas_rounds: int  # the tutorial baseline is ~10x slower: fewer rounds keep the budget
    history_days: tuple[int, int]  # (1 year, 3 years) of history before D
    history_orders_per_day: int
    history_rounds: int
    parse_repeats: int
    e2e_stores: int
    e2e_days: int
    e2e_lines: int  # order lines across all stores (the 2N run of the RSS figure; N is half)
    e2e_via_airflow: bool  # `storekpi run` (the real path) or the pipeline steps in one child process
    pipeline_steps: tuple[str, ...] | None = None  # None: every step; smoke stops after ingest (dbt alone > 20 s)
    ad_rows: int = 100_000  # rows of the ad report of the ad_ingest section (marketing.md)
    overhead_rounds: int = 2  # pairs of quiet nights (warm and cold dbt parse); 0: start-up only, no DAG run
    scale_lines: int = 10_000_000  # the scale section: order lines of one store over scale_days (issue 19)
    scale_days: int = 3 * 365
    scale_key_suffix: str = ""  # a scaled-down run (`--scale-lines`) labels its figures, e.g. "_scaled_1m"
    postgres_rounds: int = 1  # interleaved DuckDB / PostgreSQL runs of the e2e section's 2N input


FULL = Sizes(
    name="full", ingest_lines=1_000_000, ingest_rounds=5, pandas_rounds=1,
    history_days=(365, 3 * 365), history_orders_per_day=40, history_rounds=2, parse_repeats=3,
    e2e_stores=10, e2e_days=7, e2e_lines=1_000_000, e2e_via_airflow=True,
)
SMOKE = Sizes(
    name="smoke", ingest_lines=2_000, ingest_rounds=1, pandas_rounds=1,
    history_days=(4, 12), history_orders_per_day=30, history_rounds=1, parse_repeats=1,
    e2e_stores=3, e2e_days=4, e2e_lines=2_000, e2e_via_airflow=False, pipeline_steps=("discover", "ingest"),
    ad_rows=2_000, overhead_rounds=0, scale_lines=3_000, scale_days=10,
)

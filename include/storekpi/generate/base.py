"""What every platform writer shares: the simulated store, the export clock, file records and the bad cells.

Bad cells (a negative or fractional quantity, an unparseable date or amount) are put into a few single-line paid
orders of the largest order exports (the weekly re-exports), one or two per file, so every case appears while each
file stays far below the 5 % quarantine share that would block a run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa

from storekpi.generate.activity import DailyPlan, Reviews
from storekpi.generate.catalogue import Catalogue
from storekpi.generate import files
from storekpi.generate.orders import HOUR, OrderBook, list_price
from storekpi.generate.products import unit_cost
from storekpi.generate.stores import StoreProfile
from storekpi.generate.text import NO_TIME, csv_bytes, money, pick, text

BAD_CASES = ("negative_quantity", "non_integer_quantity", "unparseable_date", "unparseable_amount")
NIGHTLY_AT = 3 * HOUR + 17 * 60  # nightly exports run at 03:17 the next morning
WEEKLY_AT = 4 * HOUR + 42 * 60  # the weekly 14-day re-export at 04:42
WEEKLY_WINDOW = 14
TRAFFIC_WINDOW = 3
REVIEW_WINDOW = 3


@dataclass(frozen=True)
class ExportFile:
    dataset: str
    folder: date  # the last store-local business day the export covers
    name: str
    data: bytes
    rows: int  # data rows (title and header lines excluded)
    cases: tuple[str, ...] = ()  # bad cells placed in this file


@dataclass
class Store:
    """One simulated store: everything a writer needs to render any export of it."""

    profile: StoreProfile
    catalogue: Catalogue
    book: OrderBook
    plan: DailyPlan
    reviews: Reviews
    stock: np.ndarray  # on hand per day x SKU
    rng: np.random.Generator  # rendering choices (which rows get bad cells)

    @property
    def days(self) -> int:
        return self.book.days

    def date(self, day: int) -> date:
        return self.book.start + timedelta(days=day)

    def nightly_at(self, day: int) -> int:
        return self.book.day_start(day + 1) + NIGHTLY_AT

    def weekly_at(self, day: int) -> int:
        return self.book.day_start(day + 1) + WEEKLY_AT


def visible(times: np.ndarray, at: int) -> np.ndarray:
    """The event happened by export time `at`."""
    return (times != NO_TIME) & (times <= at)


def tz_offsets(seconds: np.ndarray, timezone: str) -> pa.Array:
    """'+0800' / '-0500' per wall-clock time (DST-aware); ambiguous times read as daylight time."""
    seconds = np.where(seconds == NO_TIME, 0, seconds)
    local = pd.DatetimeIndex(pd.to_datetime(seconds, unit="s"))
    aware = local.tz_localize(timezone, ambiguous=np.ones(len(local), bool), nonexistent="shift_forward")
    offset = (aware.tz_localize(None) - aware.tz_convert("UTC").tz_localize(None)).total_seconds()
    offset = np.asarray(offset, np.int64) // 60
    values, inverse = np.unique(offset, return_inverse=True)
    labels = [f"{'-' if v < 0 else '+'}{abs(v) // 60:02d}{abs(v) % 60:02d}" for v in values]
    return pick(labels, inverse)


def weekly_days(days: int) -> list[int]:
    """Weekly re-exports: every 7th day counting back from the last day (which has one), from the second week."""
    return [d for d in range(7, days) if (days - 1 - d) % 7 == 0]


def busiest_days(store: Store, count: int) -> list[int]:
    per_day = store.plan.created_orders.astype(float)
    per_day[-1] = -1
    return [int(d) for d in np.argsort(-per_day, kind="stable")[:count]]


def assign_cases(carriers: list[int]) -> dict[int, list[str]]:
    """Spread the bad cases round-robin over the carrier days (largest files first)."""
    out: dict[int, list[str]] = {}
    if carriers:
        for k, case in enumerate(BAD_CASES):
            out.setdefault(carriers[k % len(carriers)], []).append(case)
    return out


def victims(store: Store, orders: np.ndarray, at: int, count: int) -> np.ndarray:
    """Positions in `orders` of `count` ordinary single-line orders paid by `at` (never a hand-placed case)."""
    book = store.book
    ok = (book.n_lines[orders] == 1) & visible(book.paid[orders], at) & ~book.special[orders]
    ok &= ~visible(book.refunded_at[orders], at)
    candidates = np.flatnonzero(ok)
    if len(candidates) < count:
        candidates = np.flatnonzero(book.n_lines[orders] == 1)
    return np.sort(store.rng.choice(candidates, min(count, len(candidates)), replace=False))


def set_cell(columns: dict[str, pa.Array], name: str, row: int, value: str) -> None:
    values = columns[name].to_numpy(zero_copy_only=False).astype(object)
    values[row] = value
    columns[name] = pa.array(values, pa.string())


def products_file(store: Store, day: int, *, parquet: bool = False) -> ExportFile:
    """The catalogue with the list prices in force from `day` on; all platforms share this layout."""
    cat = store.catalogue
    skus = np.arange(len(cat))
    columns = {
        "sku": text(cat.sku),
        "product_name": text(cat.name),
        "list_price": money(list_price(cat, skus, np.full(len(cat), day), store.book.reprice_day)),
        "cost": money(unit_cost(cat, skus, np.full(len(cat), day), store.book.reprice_day)),
        "launched_on": text([(date(2024, 3, 1) + timedelta(days=int(i) * 23)).isoformat() for i in skus]),
    }
    folder = store.date(day)
    if parquet:
        table = pa.table({**columns, "list_price": columns["list_price"].cast(pa.decimal128(18, 2)),
                          "cost": columns["cost"].cast(pa.decimal128(18, 2)),
                          "launched_on": columns["launched_on"].cast(pa.date32())})
        return ExportFile("products", folder, f"products_{folder}.parquet", files.parquet(table), len(cat))
    return ExportFile("products", folder, f"catalogue_{folder}.csv", csv_bytes(columns), len(cat))


def day_range_seconds(store: Store, first: int, last: int) -> tuple[int, int]:
    return store.book.day_start(first), store.book.day_start(last + 1)


__all__ = ["ExportFile", "Store", "visible", "tz_offsets", "weekly_days", "busiest_days", "assign_cases",
           "victims", "set_cell", "products_file", "day_range_seconds", "BAD_CASES"]

"""`storekpi generate`: a realistic, deterministic demo landing folder.

Each store is simulated once (traffic -> orders -> reviews -> stock, vectorised with numpy from one seeded
generator) and then rendered the way its platform exports it: nightly files, weekly overlapping re-exports with
newer statuses and refunds, and every messy case of the spec's sources.md. Same arguments, same bytes.
"""

from __future__ import annotations

import logging
import shutil
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from storekpi.config import DEFAULT_PROMO_DAYS
from storekpi.errors import ConfigError
from storekpi.generate import catalogue as catalogues
from storekpi.generate import files, generic, marketing, shopify, taobao
from storekpi.generate.activity import daily_plan, promo_mask, reviews, stock_levels
from storekpi.generate.base import NIGHTLY_AT, ExportFile, Store
from storekpi.generate.orders import LINES_PER_ORDER, Policy, add_free_shipping_codes, add_tips, simulate
from storekpi.generate.stores import StoreProfile, profiles, stores_yml

log = logging.getLogger(__name__)

DEFAULT_END_DATE = date(2026, 11, 20)  # fixed so output is deterministic per seed; covers the 11-11 promo day
MARKER = ".storekpi-generated"  # lets a later run replace a folder it wrote, and only such a folder
UNPAID_SHARE = 0.06
_WRITERS = {"shopify": shopify.exports, "taobao": taobao.exports, "generic": generic.exports}
_CHARGES = {  # platform -> how orders are charged
    "shopify": dict(promo_discount=0.3, tax_rate=0.08, free_shipping_from=5000, shipping_cents=599),
    "taobao": dict(promo_discount=0.25, tax_rate=0.0, free_shipping_from=None),
    "generic": dict(promo_discount=0.2, tax_rate=0.0, free_shipping_from=5000, shipping_cents=490),
}

__all__ = ["DEFAULT_END_DATE", "generate", "write_shopify_orders"]


def generate(out: Path, *, stores: int = 3, days: int = 60, seed: int = 7, end_date: date = DEFAULT_END_DATE,
             orders_per_day: int | None = None, vat_store: bool = False, cod_store: bool = False,
             tips: bool = False, free_shipping_codes: bool = False) -> dict:
    """Write <out>/stores.yml and <out>/<store>/<dataset>/<YYYY-MM-DD>/<file> for every store and day; return a
    JSON-able summary. An existing non-empty folder is replaced only if an earlier generate wrote it.

    The real-export options (sources.md "Real exports") add what the default demo leaves out: `vat_store` a UK
    Shopify store whose prices include VAT, `cod_store` an Indian Shopify store paid cash on delivery, `tips` tip
    lines and `free_shipping_codes` FREESHIP codes on the Shopify stores' orders. Without them the files are the
    same bytes as always."""
    if stores < 1:
        raise ConfigError(f"--stores must be at least 1, got {stores}")
    if days < 1:
        raise ConfigError(f"--days must be at least 1, got {days}")
    if orders_per_day is not None and orders_per_day < 1:
        raise ConfigError(f"--orders-per-day must be at least 1, got {orders_per_day}")
    out = Path(out)
    _prepare(out)
    extra = tuple(key for key, wanted in (("vat_store", vat_store), ("cod_store", cod_store)) if wanted)
    chosen = profiles(stores, orders_per_day, extra)
    n_files = n_rows = 0
    bad_cells: dict[str, list[str]] = {}
    hero_skus: dict[str, list[str]] = {}
    volumes: dict[str, tuple[float, float]] = {}  # store -> (paid orders, visitors) per day: the plan's basis
    for index, profile in enumerate(chosen):
        store = simulate_store(profile, index, seed=seed, end_date=end_date, days=days)
        if profile.platform == "shopify" and (tips or free_shipping_codes):
            options = np.random.default_rng([seed, index, 13])  # its own draws: the rest of the store is unchanged
            if free_shipping_codes:
                add_free_shipping_codes(store.book, options)
            if tips:
                add_tips(store.book, options)
        hero_skus[profile.id] = [store.catalogue.sku[i] for i in store.catalogue.hero_skus]
        volumes[profile.id] = (float(np.median(store.plan.created_orders)) * (1 - UNPAID_SHARE),  # promo days aside
                               float(np.median(store.plan.visitors)))
        exports = _WRITERS[profile.platform](store) + marketing.exports(store)
        for export in exports:
            relpath = _write(out, profile.id, export)
            if export.cases:
                bad_cells[relpath] = list(export.cases)
        n_files += len(exports)
        n_rows += sum(e.rows for e in exports)
        log.info("generate: store %s (%s): %d files, %d rows, %d orders", profile.id, profile.platform,
                 len(exports), sum(e.rows for e in exports), len(store.book))
    (out / "stores.yml").write_text(stores_yml(chosen, end_date, hero_skus, volumes=volumes, days=days), encoding="utf-8")
    start = end_date - timedelta(days=days - 1)
    return {"out": str(out), "stores": len(chosen), "store_ids": [p.id for p in chosen],
            "start_date": start.isoformat(), "end_date": end_date.isoformat(), "days": days, "seed": seed,
            **({"options": [name for name, on in (("vat_store", vat_store), ("cod_store", cod_store), ("tips", tips),
                                                  ("free_shipping_codes", free_shipping_codes)) if on]}
               if vat_store or cod_store or tips or free_shipping_codes else {}),
            "files": n_files, "lines": n_rows, "bad_cells": bad_cells}


def simulate_store(profile: StoreProfile, index: int, *, seed: int, end_date: date, days: int) -> Store:
    rng = np.random.default_rng([seed, index])
    promo_rules = tuple(DEFAULT_PROMO_DAYS) + tuple(f"{end_date.year}-{d}" for d in profile.store_promo_days)
    catalogue = catalogues.build(profile.platform, rng)
    plan = daily_plan(profile, end_date, days, promo_rules, rng, unpaid_share=UNPAID_SHARE)
    policy = Policy(platform=profile.platform, start=plan.dates[0], promo=plan.promo,
                    guest_share=profile.guest_share, unpaid_share=UNPAID_SHARE,
                    foreign_orders=2 if profile.foreign_currency else 0,
                    **{**_CHARGES[profile.platform], **profile.charges})
    book = simulate(rng, catalogue, plan.created_orders, policy)
    return Store(profile=profile, catalogue=catalogue, book=book, plan=plan, reviews=reviews(book, profile, rng),
                 stock=stock_levels(book, catalogue, rng), rng=rng)


def write_shopify_orders(path: Path, lines: int, seed: int = 7, *, end_date: date = DEFAULT_END_DATE,
                         days: int = 30, timezone: str = "America/New_York", currency: str = "USD") -> int:
    """One Shopify orders_export CSV of exactly `lines` line rows (gzipped if the name ends in .gz), orders spread
    over `days` days up to end_date, as exported the next night. For the ingest benchmark; returns `lines`."""
    if lines < 1:
        raise ValueError("lines must be at least 1")
    rng = np.random.default_rng([seed, 1_000])
    catalogue = catalogues.build("shopify", rng)
    start = end_date - timedelta(days=days - 1)
    dates = [start + timedelta(days=i) for i in range(days)]
    expected_orders = int(lines / float(np.dot(LINES_PER_ORDER, [1, 2, 3, 4])) * 1.05) + 20
    counts = rng.multinomial(expected_orders, np.full(days, 1 / days))
    policy = Policy(platform="shopify", start=start, promo=promo_mask(dates, tuple(DEFAULT_PROMO_DAYS)),
                    guest_share=0.09, **_CHARGES["shopify"])
    book = simulate(rng, catalogue, counts, policy, total_lines=lines)
    at = book.day_start(days) + NIGHTLY_AT
    written = shopify.write_orders(Path(path), book, catalogue, at=at, timezone=timezone, currency=currency,
                                   vendor="Maple Street Goods")
    log.info("generate: benchmark Shopify orders file %s: %d lines, %d orders", path, written, len(book))
    return written


def _prepare(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out: {out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        if not (out / MARKER).is_file():
            raise ConfigError(f"--out: {out} is not empty and was not written by storekpi generate; "
                              "choose an empty or new folder")
        for child in sorted(out.iterdir()):
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("written by storekpi generate; the next generate run may replace this folder\n")


def _write(out: Path, store_id: str, export: ExportFile) -> str:
    relpath = f"{store_id}/{export.dataset}/{export.folder.isoformat()}/{export.name}"
    files.write(out / relpath, export.data)
    log.debug("generate: store %s, dataset %s: wrote %s (%d rows)", store_id, export.dataset, relpath, export.rows)
    return relpath

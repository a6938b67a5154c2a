"""Generated inputs, cached in bench/work/: they are not what is measured, and generating 1 M lines takes a while.

A cached input is reused only while its arguments and the generator's code are unchanged (a digest of both is kept
beside it), so a changed generator never benchmarks stale files.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from datetime import date, timedelta
from pathlib import Path

from bench.measure import ROOT
from bench.sizes import SEED

GENERATOR = ("include/storekpi/generate",)


def code_digest(*names: str, extra: object = None) -> str:
    """sha256 over the given source files and folders (their *.py), plus `extra` as JSON."""
    digest = hashlib.sha256(json.dumps(extra, default=str).encode())
    for name in names:
        path = ROOT / name
        for source in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            digest.update(source.relative_to(ROOT).as_posix().encode())
            digest.update(source.read_bytes())
    return digest.hexdigest()[:16]


def landing(root: Path, *, stores: int, days: int, orders_per_day: int, end_date: date) -> Path:
    """`storekpi generate` output in root/landing (regenerated when its arguments or the generator change)."""
    key = code_digest(*GENERATOR, extra=["landing", stores, days, orders_per_day, SEED, end_date])
    out, marker = root / "landing", root / f".landing-{key}"
    if not marker.exists():
        from storekpi import generate

        shutil.rmtree(root, ignore_errors=True)
        generate.generate(out, stores=stores, days=days, seed=SEED, end_date=end_date,
                          orders_per_day=orders_per_day)
        marker.touch()
    return out


def last_days(landing_root: Path, root: Path, *, days: int, end_date: date) -> Path:
    """root/landing: the last `days` days (up to end_date) of the landing folder at landing_root, hard-linked.

    The same store with a shorter history: generating it separately would give other data, and cost time."""
    source = landing_root / "landing"
    key = code_digest(extra=["last_days", days, end_date, sorted(p.name for p in landing_root.glob(".landing-*"))])
    out, marker = root / "landing", root / f".landing-{key}"
    if not marker.exists():
        shutil.rmtree(root, ignore_errors=True)
        first = end_date - timedelta(days=days - 1)
        out.mkdir(parents=True)
        shutil.copy2(source / "stores.yml", out / "stores.yml")
        for folder in sorted(source.glob("*/*/*")):  # <store>/<dataset>/<date>
            if folder.is_dir() and date.fromisoformat(folder.name) >= first:
                shutil.copytree(folder, out / folder.relative_to(source), copy_function=_link)
        marker.touch()
    return out


def _link(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def shopify_export(folder: Path, lines: int) -> Path:
    """One Shopify `orders_export` CSV with exactly `lines` line rows."""
    key = code_digest(*GENERATOR, extra=["shopify_orders", lines, SEED])
    path = folder / f"orders_export_{lines}_{key}.csv"
    if not path.exists():
        from storekpi import generate

        for stale in folder.glob(f"orders_export_{lines}_*.csv"):
            stale.unlink()
        folder.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        generate.write_shopify_orders(partial, lines=lines, seed=SEED)
        partial.replace(path)
    return path

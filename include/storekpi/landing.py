"""The landing folder: which export files exist for a run date.

Layout (spec README): <landing>/<store_id>/<dataset>/<YYYY-MM-DD>/<file>. A run for date D sees only folders dated
<= D, so rerunning an old date is reproducible.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from storekpi.adapters.reading import MAX_FILE_BYTES
from storekpi.config import StoreConfig
from storekpi.errors import ConfigError

DATASETS = ("orders", "traffic", "reviews", "stock", "products", "traffic_sources", "ad_spend")


@dataclass(frozen=True)
class LandingFile:
    path: Path  # absolute
    relpath: str  # relative to the landing folder, '/'-separated: the file's identity in the warehouse
    store_id: str
    dataset: str
    export_date: date
    outside: bool = False  # a link whose real path is outside the landing folder: rejected, never read

    def sha256(self) -> str:
        """The content's digest; for a file that is never read (outside the landing folder, above the size
        limit), a digest of what is known without reading it, so an unchanged one is not looked at again."""
        digest = hashlib.sha256()
        if self.outside:
            digest.update(f"outside_landing:{os.readlink(self.path) if self.path.is_symlink() else ''}".encode())
            return digest.hexdigest()
        stat = self.path.stat()
        if stat.st_size > MAX_FILE_BYTES:
            digest.update(f"too_large:{stat.st_size}:{stat.st_mtime_ns}".encode())
            return digest.hexdigest()
        with self.path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        return digest.hexdigest()


def discover(landing: Path, config: StoreConfig, run_date: date) -> list[LandingFile]:
    """Every export file dated <= run_date, in a stable order (store, dataset, date, path).

    A store folder that stores.yml does not list is a configuration error naming the folder; hidden files and
    folders (dot-names) are ignored. Names are free: content decides the format (ingest sniffs it and rejects what
    it cannot read). Links are followed only while their real path stays inside the landing folder: a file or
    folder that leads outside it is listed once with `outside` set (ingest rejects it `outside_landing` without
    opening it).
    """
    if not landing.is_dir():
        raise ConfigError(f"--landing: folder not found: {landing}")
    root = landing.resolve()
    known = set(config.ids)
    files: list[LandingFile] = []
    for store_dir in _entries(landing, root):
        if not store_dir.is_dir() and not _outside(store_dir, root):
            continue
        if store_dir.name not in known:
            raise ConfigError(f"{store_dir}: store folder {store_dir.name!r} is not listed in {config.path}")
        if _outside(store_dir, root):
            raise ConfigError(f"{store_dir}: store folder {store_dir.name!r} is a link to a folder outside the "
                              f"landing folder; move the exports into the landing folder")
        for dataset_dir in _entries(store_dir, root):
            if dataset_dir.name not in DATASETS or not (dataset_dir.is_dir() or _outside(dataset_dir, root)):
                raise ConfigError(f"{dataset_dir}: expected one of the dataset folders {', '.join(DATASETS)}")
            if _outside(dataset_dir, root):
                raise ConfigError(f"{dataset_dir}: dataset folder is a link to a folder outside the landing "
                                  f"folder; move the exports into the landing folder")
            real_dataset = str(dataset_dir.resolve())
            for entry in _scan(dataset_dir):
                try:
                    export_date = date.fromisoformat(entry.name)
                except ValueError:
                    raise ConfigError(f"{dataset_dir / entry.name}: expected a folder named YYYY-MM-DD") from None
                if export_date > run_date:
                    continue
                rel = f"{store_dir.name}/{dataset_dir.name}/{entry.name}"
                if not entry.is_symlink():
                    found = _walk(entry.path, f"{real_dataset}/{entry.name}", rel, root)
                elif (real := Path(entry.path).resolve()).is_relative_to(root):
                    found = _walk(entry.path, str(real), rel, root)
                else:
                    found = [(True, entry.path, rel)]
                files += [LandingFile(path=Path(real), relpath=relpath, store_id=store_dir.name,
                                      dataset=dataset_dir.name, export_date=export_date, outside=outside)
                          for outside, real, relpath in sorted(found, key=lambda f: f[2].split("/"))]
    return files


def _entries(folder: Path, root: Path) -> list[Path]:
    """A folder's entries that are not hidden, sorted."""
    return sorted(p for p in folder.iterdir() if not p.name.startswith("."))


def _outside(path: Path, root: Path) -> bool:
    """Whether `path`, an entry of a folder whose real path is inside `root`, leads outside it: only a link can,
    so only links are resolved (resolving every file made discovery grow with history)."""
    return path.is_symlink() and not path.resolve().is_relative_to(root)


def _scan(folder: Path | str) -> list[os.DirEntry]:
    """A folder's entries that are not hidden, sorted by name: one `scandir`, no `stat` per entry (the nightly walk
    lists every date folder of the history)."""
    with os.scandir(folder) as it:
        return sorted((e for e in it if not e.name.startswith(".")), key=lambda e: e.name)


def _walk(folder: str, real: str, rel: str, root: Path,
          seen: frozenset[str] = frozenset()) -> list[tuple[bool, str, str]]:
    """(outside, real path, relpath) of every file under `folder` (whose real path is `real`, inside the
    landing folder), following links that stay inside it; a link leading outside (file or folder) is one entry,
    never opened. Only links are resolved; paths are strings (a Path per entry was most of the walk's time). A link
    loop is followed once."""
    if real in seen:
        return []
    found: list[tuple[bool, str, str]] = []
    for entry in _scan(folder):
        relpath = f"{rel}/{entry.name}"
        if entry.is_symlink():
            target = Path(entry.path).resolve()
            if not target.is_relative_to(root):
                found.append((True, entry.path, relpath))
            elif target.is_dir():
                found += _walk(entry.path, str(target), relpath, root, seen | {real})
            elif target.is_file():
                found.append((False, str(target), relpath))
        elif entry.is_dir():
            found += _walk(entry.path, f"{real}/{entry.name}", relpath, root, seen | {real})
        elif entry.is_file():
            found.append((False, f"{real}/{entry.name}", relpath))
    return found


def missing_store_folders(landing: Path, config: StoreConfig) -> list[str]:
    """Listed stores without a folder: a freshness warning, not an error."""
    return [s for s in config.ids if not (landing / s).is_dir()]

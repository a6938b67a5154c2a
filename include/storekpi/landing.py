"""The landing folder: which export files exist for a run date.

Layout (spec README): <landing>/<store_id>/<dataset>/<YYYY-MM-DD>/<file>. A run for date D sees only folders dated
<= D, so rerunning an old date is reproducible.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

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

    def sha256(self) -> str:
        digest = hashlib.sha256()
        with self.path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        return digest.hexdigest()


def discover(landing: Path, config: StoreConfig, run_date: date) -> list[LandingFile]:
    """Every export file dated <= run_date, in a stable order (store, dataset, date, path).

    A store folder that stores.yml does not list is a configuration error naming the folder; hidden files and
    folders (dot-names) are ignored. Names are free: content decides the format (ingest sniffs it and rejects what it cannot read).
    """
    if not landing.is_dir():
        raise ConfigError(f"--landing: folder not found: {landing}")
    known = set(config.ids)
    files: list[LandingFile] = []
    for store_dir in sorted(p for p in landing.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if store_dir.name not in known:
            raise ConfigError(f"{store_dir}: store folder {store_dir.name!r} is not listed in {config.path}")
        for dataset_dir in sorted(p for p in store_dir.iterdir() if not p.name.startswith(".")):
            if dataset_dir.name not in DATASETS or not dataset_dir.is_dir():
                raise ConfigError(f"{dataset_dir}: expected one of the dataset folders {', '.join(DATASETS)}")
            for date_dir in sorted(p for p in dataset_dir.iterdir() if not p.name.startswith(".")):
                try:
                    export_date = date.fromisoformat(date_dir.name)
                except ValueError:
                    raise ConfigError(f"{date_dir}: expected a folder named YYYY-MM-DD") from None
                if export_date > run_date:
                    continue
                for path in sorted(p for p in date_dir.rglob("*") if p.is_file()):
                    if any(part.startswith(".") for part in path.relative_to(date_dir).parts):
                        continue
                    files.append(LandingFile(
                        path=path.resolve(),
                        relpath=path.relative_to(landing).as_posix(),
                        store_id=store_dir.name,
                        dataset=dataset_dir.name,
                        export_date=export_date,
                    ))
    return files


def missing_store_folders(landing: Path, config: StoreConfig) -> list[str]:
    """Listed stores without a folder: a freshness warning, not an error."""
    return [s for s in config.ids if not (landing / s).is_dir()]

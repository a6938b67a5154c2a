"""Helpers for ingest tests (a uniquely named module: `conftest` is ambiguous with several conftest.py files)."""

from __future__ import annotations

import hashlib
import shutil
from datetime import date
from pathlib import Path

from storekpi import config as store_config
from storekpi import landing as landing_mod
from storekpi.ingest import IngestSummary, ingest
from storekpi.warehouse import Warehouse

FIXTURES = Path(__file__).parents[1] / "fixtures" / "ingest"
SALT = "test-salt"
STORES_YML = """\
stores:
  - {id: shop_us, platform: shopify, timezone: America/Los_Angeles, currency: USD}
  - {id: tmall_flagship, platform: taobao, timezone: Asia/Shanghai, currency: CNY}
  - {id: erp_shop, platform: generic, timezone: Europe/Berlin, currency: EUR}
"""


def hashed(text: str) -> str:
    """sha256(salt + ':' + text), worked out independently of storekpi.pii."""
    return hashlib.sha256(f"{SALT}:{text}".encode()).hexdigest()


class Landing:
    def __init__(self, root: Path):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        (root / "stores.yml").write_text(STORES_YML)
        self.config = store_config.load(root / "stores.yml")

    def add(self, store: str, dataset: str, day: str, name: str, content: bytes | str | Path) -> str:
        folder = self.root / store / dataset / day
        folder.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Path):
            shutil.copy(content, folder / name)
        else:
            (folder / name).write_bytes(content.encode() if isinstance(content, str) else content)
        return f"{store}/{dataset}/{day}/{name}"

    def remove(self, relpath: str) -> None:
        (self.root / relpath).unlink()

    def files(self, run_date: str = "2026-12-31") -> list[landing_mod.LandingFile]:
        return landing_mod.discover(self.root, self.config, date.fromisoformat(run_date))


def run(wh: Warehouse, landing: Landing, batch: str = "b1", run_date: str = "2026-12-31") -> IngestSummary:
    return ingest(wh, landing.config, landing.files(run_date), batch_id=batch, salt=SALT)


def rows(wh: Warehouse, sql: str, params=None) -> list[dict]:
    df = wh.query_df(sql, params)
    return [{k: (None if _is_null(v) else v) for k, v in rec.items()} for rec in df.to_dict("records")]


def _is_null(value) -> bool:
    try:
        return bool(value != value) or value is None or str(value) in ("NaT", "<NA>")
    except (TypeError, ValueError):
        return False


def quarantine(wh: Warehouse, relpath: str) -> dict[int, tuple[str, str | None]]:
    """row number -> (reason, column) for one file."""
    return {r: (reason, column) for r, reason, column in wh.query(
        "select _row_number, reason, column_name from quarantine.rows where _source_file = ? order by 1",
        [relpath])}

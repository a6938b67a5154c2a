"""Frames of the merchandising warnings (merchandising.md): configured hero SKUs no export has ever named."""

from __future__ import annotations

from datetime import date

import pandas as pd

from storekpi.config import StoreConfig
from storekpi.quality.frames import read
from storekpi.warehouse import Warehouse

# every raw table that names a store's SKUs
SKU_TABLES = ("order_lines", "stock", "products")


def unseen_hero_skus(wh: Warehouse, config: StoreConfig, run_date: date) -> tuple[pd.DataFrame, int]:
    """(store_id, sku) of stores.yml hero_skus that no export dated up to D names (a typo, or a SKU renamed on
    the platform), and how many hero SKUs are configured."""
    configured = pd.DataFrame([(s.id, sku) for s in config.stores for sku in s.hero_skus],
                              columns=["store_id", "sku"])
    if configured.empty:
        return configured, 0
    seen = read(wh, " union ".join(f"select distinct _store_id as store_id, sku from raw.{table} "
                                   f"where sku is not null and _export_date <= ?" for table in SKU_TABLES),
                [run_date] * len(SKU_TABLES))
    merged = configured.merge(seen, on=["store_id", "sku"], how="left", indicator=True)
    unseen = merged.loc[merged["_merge"] == "left_only", ["store_id", "sku"]]
    return unseen.reset_index(drop=True), len(configured)

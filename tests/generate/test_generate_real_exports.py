"""The demo's Shopify inventory carries the quirks of real exports (sources.md "Real exports", Inventory)."""

from __future__ import annotations

from collections import Counter

from gen_helpers import files, rows

SHOPIFY = "us_shopify"


def test_inventory_has_not_stocked_locations_and_a_duplicated_sku(landing):
    stock = rows(files(landing, SHOPIFY, "stock")[-1])
    not_stocked = [r for r in stock if r["On hand (current)"] == "not stocked"]
    assert not_stocked and all(r["Location"] == "Brooklyn Store" for r in not_stocked)
    assert all(r["Available (not editable)"] == "not stocked" for r in not_stocked)
    pairs = Counter((r["SKU"], r["Location"]) for r in stock)
    duplicated = [pair for pair, n in pairs.items() if n > 1]
    assert len(duplicated) == 1 and duplicated[0][1] == "Main Warehouse NJ"
    variants = {r["Option1 Value"] for r in stock if (r["SKU"], r["Location"]) == duplicated[0]}
    assert "Gift box" in variants and len(variants) == 2

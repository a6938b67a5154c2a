"""Catalogue exports with costs (merchandising.md): unit costs in force per day, and the Shopify admin
"Export products" CSV with its real header, one row per variant plus a product's extra image rows."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from storekpi.generate.catalogue import Catalogue
from storekpi.generate.orders import list_price
from storekpi.generate.text import csv_bytes

# The header of a real "Export products" CSV (Shopify admin, 2024 layout)
SHOPIFY_HEADER = (
    "Handle,Title,Body (HTML),Vendor,Product Category,Type,Tags,Published,Option1 Name,Option1 Value,"
    "Option2 Name,Option2 Value,Option3 Name,Option3 Value,Variant SKU,Variant Grams,Variant Inventory Tracker,"
    "Variant Inventory Qty,Variant Inventory Policy,Variant Fulfillment Service,Variant Price,"
    "Variant Compare At Price,Variant Requires Shipping,Variant Taxable,Variant Barcode,Image Src,Image Position,"
    "Image Alt Text,Gift Card,SEO Title,SEO Description,Google Shopping / Google Product Category,"
    "Google Shopping / Gender,Google Shopping / Age Group,Google Shopping / MPN,Google Shopping / Condition,"
    "Google Shopping / Custom Product,Variant Image,Variant Weight Unit,Variant Tax Code,Cost per item,Status"
).split(",")


def unit_cost(catalogue: Catalogue, sku: np.ndarray, day: np.ndarray, reprice_day: int) -> np.ndarray:
    """Cost in cents: the repriced SKU's supplier raised its price too, by 8 %, from the same day."""
    base = catalogue.cost_cents[sku]
    raised = np.round(base * 1.08).astype(np.int64)
    return np.where((sku == catalogue.repriced_sku) & (day >= reprice_day), raised, base)


def shopify_products_csv(catalogue: Catalogue, day: int, reprice_day: int, on_hand: np.ndarray) -> tuple[bytes, int]:
    """(CSV bytes, data rows) of the products export on `day`."""
    skus = np.arange(len(catalogue))
    days = np.full(len(catalogue), day)
    listed = list_price(catalogue, skus, days, reprice_day)
    cost = unit_cost(catalogue, skus, days, reprice_day)
    rows: list[dict[str, str]] = []
    seen: set[str] = set()
    for i in skus:
        handle = catalogue.handle[i]
        first = handle not in seen
        seen.add(handle)
        sale = bool(catalogue.on_sale[i])
        price = int(np.round(listed[i] * 0.85 / 10) * 10) if sale else int(listed[i])
        image = f"https://cdn.shopify.com/s/files/1/0000/0001/products/{handle}-{i}.jpg?v=1730000000"
        row = {
            "Handle": handle, "Option1 Value": catalogue.variant[i], "Variant SKU": catalogue.sku[i],
            "Variant Grams": "450.0", "Variant Inventory Tracker": "shopify" if catalogue.stocked[i] else "",
            "Variant Inventory Qty": str(int(on_hand[i])), "Variant Inventory Policy": "deny",
            "Variant Fulfillment Service": "manual", "Variant Price": _money(price),
            "Variant Compare At Price": _money(int(listed[i])) if sale else "",
            "Variant Requires Shipping": "true" if catalogue.stocked[i] else "false", "Variant Taxable": "true",
            "Variant Image": image, "Variant Weight Unit": "kg", "Cost per item": _money(int(cost[i])),
        }
        if first:
            row.update({"Title": catalogue.title[i], "Body (HTML)": f"<p>{catalogue.title[i]}</p>",
                        "Vendor": "Maple Street Goods", "Type": "Home", "Tags": "home, demo", "Published": "true",
                        "Option1 Name": "Title" if catalogue.variant[i] == "Default Title" else "Variant",
                        "Image Src": image, "Image Position": "1", "Gift Card": "false", "Status": "active"})
        rows.append(row)
        if first:  # a second product image: a row with the handle and image columns only
            rows.append({"Handle": handle, "Image Src": image.replace(".jpg", "-detail.jpg"), "Image Position": "2",
                         "Image Alt Text": f"{catalogue.title[i]} detail"})
    columns = {name: pa.array([r.get(name, "") for r in rows], pa.string()) for name in SHOPIFY_HEADER}
    return csv_bytes(columns), len(rows)


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"

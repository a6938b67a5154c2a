"""Shopify admin "Export products" CSV (`products_export*.csv`, merchandising.md "Inputs").

One row per variant; a product's extra image rows (and option rows without a variant) carry only `Handle` and the
image columns: they are counted as loaded and describe no product. A variant's later rows leave `Title` empty, so
the name falls back to the handle.
"""

from __future__ import annotations

from storekpi.adapters.base import Field, Layout

PRODUCTS_EXPORT = Layout(
    "shopify", "products", "Export products CSV",
    fields=(
        Field("sku", ("Variant SKU",), required=True),
        Field("product_name", ("Title",), fallback="handle"),
        Field("handle", ("Handle",)),
        # list price: the compare-at price when set, else the selling price
        Field("list_price", ("Variant Compare At Price",), kind="amount", optional=True, fallback="price"),
        Field("price", ("Variant Price",), kind="amount", required=True),
        Field("cost", ("Cost per item",), kind="amount", optional=True),
    ),
    key=("sku",), entity="SKU",
    blank_when_empty=("sku", "price"),
)

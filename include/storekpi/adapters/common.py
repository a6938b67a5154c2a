"""Layouts every platform shares."""

from __future__ import annotations

from storekpi.adapters.base import Field, Layout


def products_layout(platform: str) -> Layout:
    """The optional product catalogue (sources.md "products"): same columns on every platform."""
    return Layout(
        platform, "products", "product catalogue",
        fields=(
            Field("sku", ("sku",), required=True),
            Field("product_name", ("product_name",)),
            Field("list_price", ("list_price",), kind="amount", required=True),
            Field("cost", ("cost",), kind="amount", optional=True),
            Field("launched_on", ("launched_on",), kind="date", optional=True),
            Field("lead_time_days", ("lead_time_days",), kind="count", optional=True),
        ),
        key=("sku",), entity="SKU",
    )

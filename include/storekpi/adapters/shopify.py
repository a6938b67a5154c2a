"""Shopify admin exports (sources.md "platform: shopify")."""

from __future__ import annotations

from storekpi.adapters.base import Field, Layout, Spread
from storekpi.adapters.common import products_layout
from storekpi.adapters.shopify_products import PRODUCTS_EXPORT

PLATFORM = "shopify"

ORDERS = Layout(
    PLATFORM, "orders", "Export orders CSV (one row per line item)",
    fields=(
        Field("order_id", ("Name",), required=True),
        Field("customer", ("Email",), kind="identity", personal=True, order_level=True),
        Field("status", ("Financial Status",), order_level=True),
        Field("paid_at", ("Paid at",), kind="timestamp", order_level=True, future_check=True),
        Field("created_at", ("Created at",), kind="timestamp", order_level=True, future_check=True),
        Field("cancelled_at", ("Cancelled at",), kind="timestamp", order_level=True, optional=True),
        Field("fulfilled_at", ("Fulfilled at",), kind="timestamp", order_level=True, optional=True),
        Field("currency", ("Currency",), kind="currency", order_level=True, optional=True),
        Field("subtotal", ("Subtotal",), kind="amount", order_level=True),
        Field("shipping", ("Shipping",), kind="amount", order_level=True),
        Field("taxes", ("Taxes",), kind="amount", order_level=True),
        Field("total", ("Total",), kind="amount", order_level=True),
        Field("order_discount", ("Discount Amount",), kind="amount", order_level=True, signed=True),
        Field("refunded_amount", ("Refunded Amount",), kind="amount", order_level=True, optional=True),
        Field("quantity", ("Lineitem quantity",), kind="quantity", required=True),
        Field("product_name", ("Lineitem name",)),
        Field("unit_price", ("Lineitem price",), kind="amount", required=True),
        Field("compare_at_price", ("Lineitem compare at price",), kind="amount", optional=True),
        Field("sku", ("Lineitem sku",)),
    ),
    key=("order_id",), entity="order", role="order_lines", first_row=("status", "subtotal", "total"),
)

TRAFFIC = Layout(
    PLATFORM, "traffic", "Analytics 'Sessions over time' report",
    fields=(
        Field("date", ("Day",), kind="date", required=True, future_check=True),
        Field("sessions", ("Sessions",), kind="count"),
        Field("visitors", ("Online store visitors", "online_store_visitors"), kind="count", required=True),
    ),
    key=("date",), entity="day",
    advice=tuple((period, f"This report is grouped by {period.lower()}: daily KPIs need one row per day, so "
                          f"export the Sessions over time report again by Day") for period in ("Week", "Month")),
)

# Judge.me and Shopify Product Reviews differ only by header names: one layout with aliases covers both.
REVIEWS = Layout(
    PLATFORM, "reviews", "product reviews export (Judge.me or Shopify Product Reviews)",
    fields=(
        Field("product", ("product_handle",), required=True),
        Field("rating", ("rating",), kind="rating", required=True),
        Field("reviewed_at", ("review_date", "created_at"), kind="timestamp", required=True, future_check=True),
        Field("reviewer", ("reviewer_email", "email"), kind="identity", personal=True),
        Field("body", ("body",), personal=True),  # free text may name people: never stored
    ),
    key=("product", "reviewer", "reviewed_at", "body"), entity="review", hash_key=True,
)

STOCK = Layout(
    PLATFORM, "stock", "Export inventory CSV",
    fields=(
        Field("sku", ("SKU",)),  # a row without SKU loads and stays out of SKU marts (a warning counts it)
        Field("product_name", ("Title",), optional=True),
        Field("location", ("Location",), optional=True),
        # 'On hand' is preferred over 'Available' where it has a value; 'On hand (new)' is an edit column.
        Field("on_hand", ("On hand", "On hand (current)"), kind="stock_level", required=True, optional=True,
              fallback="available"),
        Field("available", ("Available", "Available (not editable)")),
    ),
    key=("sku", "location"), entity="SKU", sums_rows=True,
)

# The older export: no Location column, one column per location after COO, each cell that location's on hand
# (`…,SKU,HS Code,COO,Mittelhof` or `…,COO,"2133A Lourdes Street, …",Italy Warehouse`). Read as one row per
# location; a row is quarantined whole when one of its cells cannot be read.
STOCK_BY_LOCATION = Layout(
    PLATFORM, "stock", "Export inventory CSV, one column per location (older layout)",
    fields=(
        Field("sku", ("SKU",)),
        Field("product_name", ("Title",), optional=True),
    ),
    key=("sku",), entity="SKU", sums_rows=True,
    spread=Spread("COO", "location", Field("on_hand", (), kind="stock_level", required=True),
                  long_headers=tuple(h for f in STOCK.fields if f.name in ("location", "on_hand", "available")
                                     for h in f.headers) + ("On hand (new)", "Bin name")),
)

LAYOUTS: dict[str, tuple[Layout, ...]] = {
    "orders": (ORDERS,),
    "traffic": (TRAFFIC,),
    "reviews": (REVIEWS,),
    "stock": (STOCK, STOCK_BY_LOCATION),
    "products": (products_layout(PLATFORM), PRODUCTS_EXPORT),
}

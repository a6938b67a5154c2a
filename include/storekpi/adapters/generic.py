"""Any other system (JD, Pinduoduo, an ERP): UTF-8 CSV or Parquet with snake_case columns."""

from __future__ import annotations

from storekpi.adapters.base import Field, Layout
from storekpi.adapters.common import products_layout

PLATFORM = "generic"

ORDERS = Layout(
    PLATFORM, "orders", "orders (one row per line)",
    fields=(
        Field("order_id", ("order_id",), required=True),
        Field("customer", ("customer_id",), kind="identity", personal=True, order_level=True),
        Field("created_at", ("created_at",), kind="timestamp", order_level=True, future_check=True),
        Field("paid_at", ("paid_at",), kind="timestamp", order_level=True, future_check=True),
        Field("cancelled_at", ("cancelled_at",), kind="timestamp", order_level=True),
        Field("currency", ("currency",), kind="currency", order_level=True),
        Field("sku", ("sku",)),
        Field("product_name", ("product_name",)),
        Field("quantity", ("quantity",), kind="quantity", required=True),
        Field("unit_price", ("unit_price",), kind="amount", required=True),
        Field("list_price", ("list_price",), kind="amount", optional=True),
        # order-level amounts: on the first line only or repeated on every line, they count once
        Field("order_discount", ("order_discount",), kind="amount", order_level=True, signed=True),
        Field("shipping", ("shipping",), kind="amount", order_level=True),
        Field("refunded_amount", ("refunded_amount",), kind="amount", order_level=True),
    ),
    key=("order_id",), entity="order", role="order_lines",
)

TRAFFIC = Layout(
    PLATFORM, "traffic", "traffic",
    fields=(
        Field("date", ("date",), kind="date", required=True, future_check=True),
        Field("visitors", ("visitors",), kind="count", required=True),
        Field("sessions", ("sessions",), kind="count", optional=True),
        Field("pageviews", ("pageviews",), kind="count", optional=True),
    ),
    key=("date",), entity="day",
)

REVIEWS = Layout(
    PLATFORM, "reviews", "reviews",
    fields=(
        Field("review_id", ("review_id",), required=True),
        Field("reviewed_at", ("reviewed_at",), kind="timestamp", required=True, future_check=True),
        Field("rating", ("rating",), kind="rating", required=True),
        Field("product", ("sku",)),
        Field("order_id", ("order_id",), optional=True),
        Field("body", ("body",), personal=True, optional=True),  # free text: never stored
    ),
    key=("review_id",), entity="review",
)

STOCK = Layout(
    PLATFORM, "stock", "stock",
    fields=(
        Field("sku", ("sku",), required=True),
        Field("on_hand", ("on_hand",), kind="stock_level", required=True),
        Field("product_name", ("product_name",), optional=True),
    ),
    key=("sku",), entity="SKU",
)

LAYOUTS: dict[str, tuple[Layout, ...]] = {
    "orders": (ORDERS,),
    "traffic": (TRAFFIC,),
    "reviews": (REVIEWS,),
    "stock": (STOCK,),
    "products": (products_layout(PLATFORM),),
}

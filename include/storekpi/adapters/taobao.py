"""Taobao / Tmall seller exports (sources.md "platform: taobao").

Orders come as two files in one folder, told apart by their headers: the order report (one row per order) and the
line report (one row per line). `canonical` pairs them and quarantines orphans.
"""

from __future__ import annotations

from storekpi.adapters.base import Field, Layout
from storekpi.adapters.common import products_layout

PLATFORM = "taobao"

ORDER_REPORT = Layout(
    PLATFORM, "orders", "order report (ExportOrderList)",
    fields=(
        Field("order_id", ("订单编号",), required=True),
        Field("customer", ("买家会员名",), kind="identity", personal=True),
        Field("goods_amount", ("买家应付货款",), kind="amount"),
        Field("shipping", ("买家应付邮费",), kind="amount"),
        Field("total", ("买家实际支付金额",), kind="amount"),
        Field("status", ("订单状态",)),
        Field("created_at", ("订单创建时间",), kind="timestamp", future_check=True),
        Field("paid_at", ("订单付款时间",), kind="timestamp", future_check=True),
        Field("item_count", ("宝贝总数量",), kind="count", optional=True),
        Field("refunded_amount", ("退款金额",), kind="amount", optional=True),
    ),
    key=("order_id",), entity="order", role="order_report",
)

LINE_REPORT = Layout(
    PLATFORM, "orders", "line report (ExportOrderDetailList)",
    fields=(
        Field("order_id", ("订单编号",), required=True),
        Field("product_name", ("标题",)),
        Field("list_price", ("价格",), kind="amount", required=True),  # list unit price, also the unit price
        Field("quantity", ("购买数量",), kind="quantity", required=True),
        Field("sku", ("商家编码",), optional=True),
    ),
    key=("order_id",), entity="order", role="line_report",
)

TRAFFIC = Layout(
    PLATFORM, "traffic", "生意参谋 shop overview (店铺概况) daily export",
    fields=(
        Field("date", ("统计日期",), kind="date", required=True, future_check=True),
        Field("visitors", ("访客数",), kind="count", required=True),
        Field("pageviews", ("浏览量",), kind="count", optional=True),
        Field("paying_buyers", ("支付买家数",), kind="count", optional=True),
    ),
    key=("date",), entity="day",
)

REVIEWS = Layout(
    PLATFORM, "reviews", "review export",
    fields=(
        Field("reviewed_at", ("评价时间",), kind="timestamp", required=True, future_check=True),
        Field("rating", ("评价结果",), kind="rating_word", required=True),
        Field("body", ("评价内容",), personal=True, optional=True),  # free text: never stored
        Field("product", ("宝贝标题",)),
        Field("order_id", ("订单编号",)),
    ),
    key=("order_id", "product", "reviewed_at"), entity="review",
)

STOCK = Layout(
    PLATFORM, "stock", "inventory export",
    fields=(
        Field("sku", ("商家编码",)),
        Field("product_name", ("商品名称",), optional=True),
        Field("on_hand", ("库存", "可售库存", "库存数量"), kind="stock_level", required=True),
    ),
    key=("sku",), entity="SKU", sums_rows=True,
)

LAYOUTS: dict[str, tuple[Layout, ...]] = {
    "orders": (ORDER_REPORT, LINE_REPORT),
    "traffic": (TRAFFIC,),
    "reviews": (REVIEWS,),
    "stock": (STOCK,),
    "products": (products_layout(PLATFORM),),
}

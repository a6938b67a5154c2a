"""Marketing exports (marketing.md): visitors by traffic source, and ad platform spend reports.

Ad reports are told apart by their headers whatever the store's platform (a Shopify store advertises on Google and
Meta), so every store accepts every ad layout. Traffic-source layouts follow the store's platform, plus generic.
"""

from __future__ import annotations

import dataclasses

from storekpi.adapters.base import Field, Layout, Summary

_NONNEG = {"non_negative": True}

# -- traffic_sources: store x date x source x source_detail ------------------------------------------------------
SHOPIFY_SOURCES = Layout(
    "shopify", "traffic_sources", "Analytics 'Sessions by referrer' report",
    fields=(
        Field("date", ("Day", "day"), kind="date", required=True, optional=True, future_check=True),
        Field("source", ("Referrer source", "referrer_source"), required=True),
        Field("source_detail", ("Referrer name", "referrer_name"), optional=True),
        Field("sessions", ("Sessions", "sessions"), kind="count"),
        Field("visitors", ("Online store visitors", "online_store_visitors", "Visitors", "visitors"), kind="count",
              required=True),
        Field("orders", ("Sessions that completed checkout", "sessions_that_completed_checkout"), kind="count",
              optional=True),
    ),
    key=("date", "source", "source_detail"), entity="source",
)

SYCM_SOURCES = Layout(
    "taobao", "traffic_sources", "生意参谋 流量来源 (店铺来源) export",
    fields=(
        Field("date", ("统计日期", "日期"), kind="date", required=True, optional=True, future_check=True),
        Field("source", ("来源", "流量来源"), required=True),
        Field("source_detail", ("来源明细",), optional=True),
        Field("visitors", ("访客数",), kind="count", required=True),
        Field("orders", ("下单买家数",), kind="count", optional=True),
        Field("buyers", ("支付买家数",), kind="count", optional=True),
        Field("sales", ("支付金额",), kind="amount", optional=True),
    ),
    key=("date", "source", "source_detail"), entity="source", none_values=("-",),
)

GENERIC_SOURCES = Layout(
    "generic", "traffic_sources", "traffic sources",
    fields=(
        Field("date", ("date",), kind="date", required=True, optional=True, future_check=True),
        Field("source", ("source",), required=True),
        Field("source_detail", ("source_detail",), optional=True),
        Field("visitors", ("visitors",), kind="count", required=True),
        Field("sessions", ("sessions",), kind="count", optional=True),
        Field("orders", ("orders",), kind="count", optional=True),
        Field("buyers", ("buyers",), kind="count", optional=True),
        Field("sales", ("sales",), kind="amount", optional=True),
    ),
    key=("date", "source", "source_detail"), entity="source",
)

# -- ad_spend: store x date x ad_platform x campaign ------------------------------------------------------------
ALIMAMA = Layout(
    "taobao", "ad_spend", "阿里妈妈 直通车 / 万相台 / 引力魔方 report",
    fields=(
        Field("date", ("日期",), kind="date", required=True, future_check=True),
        Field("campaign", ("计划名字", "计划名称", "场景名字", "投放计划名称"), required=True),
        Field("spend", ("花费",), kind="amount", required=True, **_NONNEG),
        Field("impressions", ("展现量",), kind="count", **_NONNEG),
        Field("clicks", ("点击量",), kind="count", **_NONNEG),
        Field("attributed_sales", ("总成交金额",), kind="amount"),
        Field("attributed_orders", ("总成交笔数",), kind="amount"),
    ),
    key=("date", "campaign"), entity="campaign-day", none_values=("-",),
    constants=(("ad_platform", "alimama"),),
)

GOOGLE_ADS = Layout(
    "generic", "ad_spend", "Google Ads campaign report",
    fields=(
        Field("date", ("Day",), kind="date", required=True, future_check=True),
        Field("campaign", ("Campaign",), required=True),
        Field("currency", ("Currency code", "Currency"), kind="currency", optional=True),
        Field("spend", ("Cost",), kind="amount", required=True, **_NONNEG),
        Field("impressions", ("Impr.", "Impressions"), kind="count", **_NONNEG),
        Field("clicks", ("Clicks",), kind="count", **_NONNEG),
        Field("attributed_orders", ("Conversions",), kind="amount"),
        Field("attributed_sales", ("Conv. value", "Conversion value", "Total conv. value"), kind="amount"),
    ),
    key=("date", "campaign"), entity="campaign-day", none_values=("--", " --"),
    constants=(("ad_platform", "google_ads"),),
    # 'Total: Account', 'Total: Campaigns', 'Total: Search' …: in the first column (Day, Campaign or Campaign
    # status), with '--' or nothing where the day would be
    summary=Summary(label=r"^total\s*:", label_in=("date", "campaign"), undated="date"),
)

META_ADS = Layout(
    "generic", "ad_spend", "Meta Ads Manager export",
    fields=(
        Field("date", ("Reporting starts",), kind="date", required=True, future_check=True),
        Field("date_end", ("Reporting ends",), kind="date", same_day_as="date"),
        Field("campaign", ("Campaign name",), required=True),
        # the account currency is in the spend header: 'Amount spent (EUR)'
        Field("currency", ("Amount spent (*)",), kind="currency", from_header=r"\(\s*([A-Za-z]{3})\s*\)"),
        Field("spend", ("Amount spent (*)",), kind="amount", required=True, **_NONNEG),
        Field("impressions", ("Impressions",), kind="count", **_NONNEG),
        Field("clicks", ("Link clicks",), kind="count", **_NONNEG),
        Field("attributed_orders", ("Purchases", "Website purchases"), kind="amount"),
        Field("attributed_sales", ("Purchases conversion value", "Website purchases conversion value"),
              kind="amount"),
    ),
    key=("date", "campaign"), entity="campaign-day", constants=(("ad_platform", "meta_ads"),),
    # Ads Manager's summary row ('Include summary row'): no campaign name, the report's whole date range, the totals
    summary=Summary(unnamed="campaign", sums="spend"),
)

# The same export broken down by day (Ads Manager's Breakdown > By time > Day): a `Day` column carries each row's
# day, while `Reporting starts` / `Reporting ends`, when present, span the whole report period on every row. Such a
# row is that day's row, not a multi-day one (docs/decisions.md "Meta's Day breakdown"). The period columns are read
# but not checked, so this layout matches more columns than META_ADS whenever `Day` is there, and wins.
META_ADS_BY_DAY = dataclasses.replace(
    META_ADS, name="Meta Ads Manager export broken down by day",
    fields=(Field("date", ("Day",), kind="date", required=True, future_check=True),
            Field("period_start", ("Reporting starts",), optional=True),
            Field("period_end", ("Reporting ends",), optional=True),
            *(f for f in META_ADS.fields if f.name not in ("date", "date_end"))),
)

GENERIC_ADS = Layout(
    "generic", "ad_spend", "ad spend",
    fields=(
        Field("date", ("date",), kind="date", required=True, future_check=True),
        Field("ad_platform", ("ad_platform",), required=True),
        Field("campaign", ("campaign",), required=True),
        Field("spend", ("spend",), kind="amount", required=True, **_NONNEG),
        Field("impressions", ("impressions",), kind="count", **_NONNEG),
        Field("clicks", ("clicks",), kind="count", **_NONNEG),
        Field("attributed_orders", ("attributed_orders",), kind="amount"),
        Field("attributed_sales", ("attributed_sales",), kind="amount"),
        Field("currency", ("currency",), kind="currency", optional=True),
    ),
    key=("date", "ad_platform", "campaign"), entity="campaign-day",
)

AD_SPEND = (ALIMAMA, GOOGLE_ADS, META_ADS_BY_DAY, META_ADS, GENERIC_ADS)
TRAFFIC_SOURCES = {
    "shopify": (SHOPIFY_SOURCES, GENERIC_SOURCES),
    "taobao": (SYCM_SOURCES, GENERIC_SOURCES),
    "generic": (GENERIC_SOURCES,),
}


def layouts(platform: str) -> dict[str, tuple[Layout, ...]]:
    """The marketing datasets' layouts for a store of `platform`."""
    return {"traffic_sources": TRAFFIC_SOURCES[platform], "ad_spend": AD_SPEND}

"""The marketing gates (marketing.md, quality.md layer 3): grain and non-negative counts block; clicks above
impressions and traffic sources no channel rule maps only warn (platforms count differently; the map is
extendable in stores.yml)."""

from __future__ import annotations

from storekpi.quality import frames
from storekpi.quality.suites import BLOCKING, WARNING, Batch, Check, a_at_least_b, between, table, unique
from storekpi.warehouse import Warehouse

SOURCES = "marts.traffic_sources_daily"
CAMPAIGNS = "marts.ad_campaign_daily"


def batches(wh: Warehouse) -> list[Batch]:
    """No batches when the build has no marketing marts (a warehouse built before them, or a test's hand-made marts)."""
    if not (wh.table_exists(wh.marts_schema, "traffic_sources_daily")
            and wh.table_exists(wh.marts_schema, "ad_campaign_daily")):
        return []
    sources = f"""
select store_id, "date", source, coalesce(source_detail, '') as source_detail, visitors
from {wh.marts_schema}.traffic_sources_daily"""
    source_rows = int(wh.query(f"select count(*) from {wh.marts_schema}.traffic_sources_daily")[0][0])
    campaigns = f"""
select store_id, "date", ad_platform, campaign, spend, impressions, clicks
from {wh.marts_schema}.ad_campaign_daily"""
    unmapped = frames.read(wh, """
select store_id, source, coalesce(source_detail, '') as source_detail, min(traffic_date) as first_date,
       max(traffic_date) as last_date, sum(visitors) as visitors
from intermediate.int_traffic_sources_latest
where is_unmapped
group by store_id, source, coalesce(source_detail, '')
order by store_id, source, source_detail""")
    return [
        table("marketing", "traffic_sources_daily", sources, ["store_id", "date", "source", "source_detail"], [
            unique(["store_id", "date", "source", "source_detail"], SOURCES,
                   "one row per store, date, source and source_detail"),
            between("visitors", SOURCES, BLOCKING, "visitors >= 0", min_value=0),
        ]),
        table("marketing", "ad_campaign_daily", campaigns, ["store_id", "date", "ad_platform", "campaign"], [
            unique(["store_id", "date", "ad_platform", "campaign"], CAMPAIGNS,
                   "one row per store, date, ad_platform and campaign"),
            between("spend", CAMPAIGNS, BLOCKING, "spend >= 0", min_value=0),
            between("impressions", CAMPAIGNS, BLOCKING, "impressions >= 0", min_value=0),
            between("clicks", CAMPAIGNS, BLOCKING, "clicks >= 0", min_value=0),
            a_at_least_b("impressions", "clicks", CAMPAIGNS, WARNING,
                         "clicks <= impressions where both are known (platforms count differently)",
                         ignore_row_if="either_value_is_missing"),
        ]),
        Batch("marketing", "traffic_sources_unmapped", unmapped, ["store_id", "source", "source_detail"], [
            Check("expect_traffic_sources_to_map_to_a_channel", {}, SOURCES, "channel", WARNING,
                  "every traffic source maps to a channel (add it to stores.yml channels:, else it counts as "
                  "other)", ("first_date", "last_date", "visitors")),
        ], population=source_rows),
    ]

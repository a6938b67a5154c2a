"""A landing folder for the marketing marts: the hand fixtures of tests/fixtures/ingest/marketing plus a few
inline files, for three stores (one without any ad export). The values the tests expect are worked out by hand
in the test modules, from these files."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

from storekpi import config as store_config
from storekpi import landing as landing_mod

FIXTURES = Path(__file__).parents[1] / "fixtures" / "ingest"
MARKETING = FIXTURES / "marketing"
D = date(2026, 11, 19)
SALT = "test-salt"

STORES_YML = """\
defaults:
  channels: {newsletter: email}
  recipients:
    marketing: [growth@example.com]
    data: [data@example.com]
stores:
  - {id: shop_us, name: US Shop, platform: shopify, timezone: America/Los_Angeles, currency: USD}
  - {id: tmall_flagship, name: 天猫旗舰店, platform: taobao, timezone: Asia/Shanghai, currency: CNY,
     thresholds: {min_campaign_spend: 20}}
  - {id: erp_shop, name: ERP Shop, platform: generic, timezone: Europe/Berlin, currency: EUR,
     channels: {cpc: paid_ads}}
"""

SHOP_ORDERS = (
    "Name,Email,Financial Status,Paid at,Currency,Subtotal,Shipping,Taxes,Total,Discount Amount,Created at,"
    "Lineitem quantity,Lineitem name,Lineitem price,Lineitem sku\n"
    "#1,a@example.com,paid,2026-11-18 10:00:00 -0800,USD,100.00,0.00,0.00,100.00,0.00,2026-11-18 09:59:00 -0800,"
    "1,Mug,100.00,MUG\n"
    "#2,b@example.com,paid,2026-11-19 10:00:00 -0800,USD,50.00,0.00,0.00,50.00,0.00,2026-11-19 09:59:00 -0800,"
    "2,Tee,25.00,TEE\n"
    "#3,a@example.com,paid,2026-11-19 11:00:00 -0800,USD,30.00,0.00,0.00,30.00,0.00,2026-11-19 10:59:00 -0800,"
    "1,Cap,30.00,CAP\n"
)

TMALL_TRAFFIC = "统计日期,访客数\r\n2026-11-16,2900\r\n2026-11-17,3000\r\n2026-11-18,3100\r\n2026-11-19,3200\r\n"
# a 直通车 report of 11-16 alone: the store's ad span starts there, so 11-17 (no ad rows) is 0, not NULL
TMALL_ALIMAMA_1116 = "日期,计划名字,花费,展现量,点击量,总成交金额,总成交笔数\r\n2026-11-16,老客召回,10.00,0,0,5.00,1\r\n"


def build_landing(root: Path) -> store_config.StoreConfig:
    root.mkdir(parents=True, exist_ok=True)
    (root / "stores.yml").write_text(STORES_YML, encoding="utf-8")

    def add(store: str, dataset: str, day: str, name: str, content) -> None:
        folder = root / store / dataset / day
        folder.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Path):
            shutil.copy(content, folder / name)
        else:
            (folder / name).write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))

    add("shop_us", "orders", "2026-11-19", "orders_export_1.csv", SHOP_ORDERS)
    add("shop_us", "traffic", "2026-11-19", "sessions.csv", FIXTURES / "shopify" / "sessions_over_time.csv")
    add("shop_us", "traffic_sources", "2026-11-19", "referrers.csv", MARKETING / "shopify_sessions_by_referrer.csv")
    add("shop_us", "ad_spend", "2026-11-19", "Campaign report.csv", MARKETING / "google_ads_campaigns.tsv")
    add("shop_us", "ad_spend", "2026-11-19", "google_shopping.csv", MARKETING / "google_ads_campaigns.csv")
    add("shop_us", "ad_spend", "2026-11-19", "meta.csv", MARKETING / "meta_ads_daily.csv")
    add("tmall_flagship", "traffic", "2026-11-19", "overview.csv", TMALL_TRAFFIC.encode("gb18030"))
    add("tmall_flagship", "traffic_sources", "2026-11-19", "来源.xlsx", MARKETING / "sycm_traffic_sources.xlsx")
    add("tmall_flagship", "ad_spend", "2026-11-16", "zt.csv", TMALL_ALIMAMA_1116.encode("gb18030"))
    add("tmall_flagship", "ad_spend", "2026-11-19", "万相台.xlsx", MARKETING / "alimama_campaigns.xlsx")
    add("erp_shop", "traffic", "2026-11-19", "traffic.csv", "date,visitors\n2026-11-19,200\n")
    add("erp_shop", "traffic_sources", "2026-11-19", "sources.csv", MARKETING / "generic_traffic_sources.csv")
    return store_config.load(root / "stores.yml")


def build_warehouse(target, root: Path, work_dir: Path, path: Path | None = None) -> dict:
    """stores.yml -> raw config, ingest, dbt build (unit tests included): the pipeline's steps without Airflow.
    Returns the dbt build summary."""
    from storekpi import dbt_runner, pipeline
    from storekpi.ingest import ingest
    from storekpi.warehouse import Warehouse

    config = build_landing(root)
    with Warehouse(target, path=path) as wh:
        wh.ensure_schema()
        pipeline._write_store_config(wh, config, 2025, 2027)
        ingest(wh, config, landing_mod.discover(root, config, D), batch_id="b1", salt=SALT)
    build_wh = Warehouse(target, path=path) if path else Warehouse(target, marts_schema="marts__build_mkt")
    summary = dbt_runner.build(build_wh, D, work_dir=work_dir, unit_tests=True)
    build_wh.close()
    return summary

"""Marketing exports of the demo (marketing.md): visitors by source and ad platform reports, per store and day.

Shaped like the real exports (see tests/fixtures/ingest/marketing): Shopify "Sessions by referrer", 生意参谋 店铺来源
(GB18030 with title lines and '-' cells, xlsx on weekly days), 阿里妈妈 plan reports (xlsx), Google Ads (UTF-8 CSV
nightly, the UTF-16 tab-separated "Excel" CSV weekly, two title lines, '--'), Meta Ads Manager (currency in the
spend header), generic. Messy cases sit in the weekly re-exports, which are large enough that one bad row stays
under the default max_quarantine_share: a Meta row spanning the week (not_daily) and a Google row in another
currency (currency_mismatch). On the last day one campaign returns under the ROAS target, so roas_below_target
fires in `make run`.
"""

from __future__ import annotations

import codecs
import csv
import io

import numpy as np

from storekpi.generate import files
from storekpi.generate.base import ExportFile, Store, weekly_days

WEEK = 7
# (source, detail, share of the store's visitors): by-source visitors are not additive, so shares sum above 1
_SHOPIFY_SOURCES = (("Direct", "", 0.34), ("Search", "Google", 0.30), ("Search", "Bing", 0.04),
                    ("Social", "Instagram", 0.14), ("Social", "Facebook", 0.08), ("Email", "Klaviyo", 0.06),
                    ("Paid", "Google Ads", 0.10), ("Unknown", "", 0.02), ("Podcast", "Acme FM", 0.01))
_SYCM_SOURCES = (("淘内免费", "手淘搜索", 0.38), ("淘内免费", "手淘推荐", 0.22), ("付费流量", "直通车", 0.12),
                 ("付费流量", "万相台", 0.08), ("付费流量", "淘宝客", 0.04), ("自主访问", "购物车", 0.10),
                 ("自主访问", "我的淘宝", 0.06), ("淘外流量", "抖音", 0.03))
_GENERIC_SOURCES = (("direct", "", 0.40), ("organic_search", "google", 0.35), ("email", "newsletter", 0.12),
                    ("referral", "partner blog", 0.08), ("paid_ads", "google cpc", 0.10))
# (campaign, share of paid visitors, ROAS around which it performs)
_CAMPAIGNS = {
    "google_ads": (("Search - Brand", 0.35, 6.0), ("Search - Generic", 0.30, 2.6), ("PMax - Catalog", 0.35, 3.2)),
    "meta_ads": (("Prospecting - Broad", 0.40, 2.4), ("Retargeting - 30d", 0.35, 4.5), ("Advantage+ Shopping",
                                                                                         0.25, 3.0)),
    "alimama": (("直通车-核心词", 0.40, 3.5), ("万相台-货品加速", 0.35, 2.8), ("引力魔方-拉新", 0.25, 2.3)),
    "tiktok_ads": (("Spark - Winter", 0.6, 2.5), ("Retarget - Cart", 0.4, 4.0)),
}
_CPC = {"USD": 0.9, "EUR": 0.8, "CNY": 1.2}
_AOV = {"USD": 60.0, "EUR": 55.0, "CNY": 180.0}
UNDER_TARGET = 1.4  # ROAS of one campaign on the last day (default roas_min is 2.0)


def exports(store: Store) -> list[ExportFile]:
    """Every marketing file of the store: one traffic_sources and the ad reports per day, weekly re-exports."""
    rng = np.random.default_rng([len(store.profile.id), store.days, sum(map(ord, store.profile.id))])
    days = _ad_days(store, rng)
    out: list[ExportFile] = []
    weekly = set(weekly_days(store.days))
    platform = store.profile.platform
    for day in range(store.days):
        out.append(_sources_file(store, day, xlsx=platform == "taobao" and day in weekly))
        if platform == "shopify":
            out.append(_google_csv(store, day, days["google_ads"]))
            out.append(_meta(store, [day], days["meta_ads"], f"meta_ads_{store.date(day)}.csv"))
            if day in weekly:
                week = list(range(day - WEEK + 1, day + 1))
                out.append(_google_tsv(store, week, days["google_ads"]))
                out.append(_meta(store, week, days["meta_ads"], f"meta_ads_week_{store.date(day)}.csv",
                                 spanning=True))
        elif platform == "taobao":
            out.append(_alimama(store, day, days["alimama"]))
        else:
            out.append(_generic_ads(store, day, days["tiktok_ads"]))
    return out


def _ad_days(store: Store, rng: np.random.Generator) -> dict[str, list[list[tuple]]]:
    """platform -> per day -> (campaign, spend, impressions, clicks, orders, sales): one simulation, so nightly
    files and weekly re-exports agree (latest export wins over equal numbers)."""
    currency = store.profile.currency
    visitors = store.plan.visitors.astype(float)
    out: dict[str, list[list[tuple]]] = {}
    for platform, campaigns in _CAMPAIGNS.items():
        per_day = []
        for day in range(store.days):
            rows = []
            for index, (name, share, roas) in enumerate(campaigns):
                clicks = int(max(1, round(visitors[day] * 0.1 * share * rng.uniform(0.8, 1.2))))
                impressions = int(clicks * rng.uniform(25, 60))
                spend = round(clicks * _CPC.get(currency, 1.0) * rng.uniform(0.8, 1.2), 2)
                day_roas = UNDER_TARGET if (day == store.days - 1 and index == len(campaigns) - 1) \
                    else roas * rng.uniform(0.85, 1.15)
                sales = round(spend * day_roas, 2)
                orders = round(sales / _AOV.get(currency, 60.0), 2 if platform == "google_ads" else 0)
                rows.append((name, spend, impressions, clicks, orders, sales))
            per_day.append(rows)
        out[platform] = per_day
    return out


def _csv(header: list[str], rows: list[list], *, delimiter: str = ",", title: tuple[str, ...] = ()) -> str:
    buffer = io.StringIO()
    for line in title:
        buffer.write(line + "\r\n")
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def _thousands(value: float, decimals: int = 2) -> str:
    return f"{value:,.{decimals}f}"


def _sources_file(store: Store, day: int, *, xlsx: bool) -> ExportFile:
    platform = store.profile.platform
    visitors = int(store.plan.visitors[day])
    table = {"shopify": _SHOPIFY_SOURCES, "taobao": _SYCM_SOURCES}.get(platform, _GENERIC_SOURCES)
    rows = []
    for k, (source, detail, share) in enumerate(table):
        v = int(round(visitors * share))
        buyers = int(round(v * store.profile.conversion * (1.6 if source in ("自主访问", "Email") else 1.0)))
        if platform == "shopify":
            rows.append([store.date(day).isoformat(), source, detail, _thousands(v * 1.25, 0), v, buyers])
        elif platform == "taobao":
            sales = buyers * _AOV["CNY"]
            none = k == len(table) - 1  # a source too small for 生意参谋 to report buyers: '-'
            rows.append([source, detail, _thousands(v, 0), "-", "-" if none else int(buyers * 1.2),
                         "-" if none else buyers, "-" if none else _thousands(sales), "-", "-"])
        else:
            rows.append([store.date(day).isoformat(), source, detail, v, int(v * 1.2), buyers, buyers,
                         f"{buyers * _AOV.get(store.profile.currency, 60):.2f}"])
    date = store.date(day).isoformat()
    if platform == "shopify":
        header = ["Day", "Referrer source", "Referrer name", "Sessions", "Online store visitors",
                  "Sessions that completed checkout"]
        data = ("\ufeff" + _csv(header, rows)).encode("utf-8")
        return ExportFile("traffic_sources", store.date(day), f"sessions_by_referrer_{date}.csv", data, len(rows))
    if platform == "taobao":
        header = ["来源", "来源明细", "访客数", "访客数变化", "下单买家数", "支付买家数", "支付金额", "支付转化率", "UV价值"]
        title = ("生意参谋-流量-店铺来源", f"统计时间：{date} ~ {date}", ",,,,,,,,")
        if xlsx:
            return ExportFile("traffic_sources", store.date(day), f"店铺来源_{date}.xlsx", files.xlsx(header, rows),
                              len(rows))
        return ExportFile("traffic_sources", store.date(day), f"店铺来源_{date}.csv",
                          _csv(header, rows, title=title).encode("gb18030"), len(rows))
    header = ["date", "source", "source_detail", "visitors", "sessions", "orders", "buyers", "sales"]
    return ExportFile("traffic_sources", store.date(day), f"traffic_sources_{date}.csv",
                      _csv(header, rows).encode("utf-8"), len(rows))


def _google_rows(store: Store, days: list[int], sim, *, dash: bool) -> list[list]:
    rows = []
    for day in days:
        for name, spend, impressions, clicks, orders, sales in sim[day]:
            impr = "--" if dash and name.startswith("PMax") else _thousands(impressions, 0)
            rows.append([store.date(day).strftime("%b %-d, %Y"), name, "Enabled", store.profile.currency,
                         _thousands(spend), impr, clicks, f"{orders:.2f}", _thousands(sales),
                         "--" if not orders else f"{spend / orders:.2f}"])
    return rows


_GOOGLE_HEADER = ["Day", "Campaign", "Campaign state", "Currency code", "Cost", "Impr.", "Clicks", "Conversions",
                  "Conv. value", "Cost / conv."]


def _google_csv(store: Store, day: int, sim) -> ExportFile:
    title = ("Campaign report", f'"{store.date(day).strftime("%B %-d, %Y")} - {store.date(day).strftime("%B %-d, %Y")}"')
    text = _csv(_GOOGLE_HEADER, _google_rows(store, [day], sim, dash=False), title=title)
    return ExportFile("ad_spend", store.date(day), f"google_ads_{store.date(day)}.csv", text.encode("utf-8"),
                      len(sim[day]))


def _google_tsv(store: Store, week: list[int], sim) -> ExportFile:
    """The weekly download as Google's "Excel CSV": UTF-16, tab-separated, '--' for PMax impressions, and one
    campaign of a second account in EUR (quarantined currency_mismatch)."""
    rows = _google_rows(store, week, sim, dash=True)
    rows.append([store.date(week[-1]).strftime("%b %-d, %Y"), "EU - Search", "Enabled", "EUR", "35.00", "1,200",
                 40, "1.00", "80.00", "35.00"])
    first, last = store.date(week[0]).strftime("%B %-d, %Y"), store.date(week[-1]).strftime("%B %-d, %Y")
    text = _csv(_GOOGLE_HEADER, rows, delimiter="\t", title=("Campaign report", f"{first} - {last}"))
    return ExportFile("ad_spend", store.date(week[-1]), f"Campaign report {store.date(week[-1])}.csv",
                      codecs.BOM_UTF16_LE + text.encode("utf-16-le"), len(rows))


def _meta(store: Store, days: list[int], sim, name: str, *, spanning: bool = False) -> ExportFile:
    header = ["Reporting starts", "Reporting ends", "Campaign name", "Campaign delivery",
              f"Amount spent ({store.profile.currency})", "Impressions", "Link clicks", "Purchases",
              "Purchases conversion value"]
    rows = [[store.date(d).isoformat(), store.date(d).isoformat(), c, "active", _thousands(s), i, k, int(o),
             _thousands(v)] for d in days for c, s, i, k, o, v in sim[d]]
    if spanning:  # a lifetime row someone exported without the daily breakdown: not_daily
        rows.append([store.date(days[0]).isoformat(), store.date(days[-1]).isoformat(), "Brand awareness",
                     "completed", "140.00", 52000, 310, 2, "96.00"])
    return ExportFile("ad_spend", store.date(days[-1]), name, _csv(header, rows).encode("utf-8"), len(rows))


def _alimama(store: Store, day: int, sim) -> ExportFile:
    header = ["日期", "计划ID", "计划名字", "花费", "展现量", "点击量", "点击率", "总成交金额", "总成交笔数", "投入产出比"]
    rows = [[store.date(day).isoformat(), 3000 + k, c, f"{s:.2f}", i, k_, f"{k_ / i:.2%}", f"{v:.2f}", int(o),
             f"{v / s:.2f}"] for k, (c, s, i, k_, o, v) in enumerate(sim[day])]
    return ExportFile("ad_spend", store.date(day), f"万相台_计划报表_{store.date(day)}.xlsx",
                      files.xlsx(header, rows), len(rows))


def _generic_ads(store: Store, day: int, sim) -> ExportFile:
    header = ["date", "ad_platform", "campaign", "spend", "impressions", "clicks", "attributed_orders",
              "attributed_sales", "currency"]
    rows = [[store.date(day).isoformat(), "tiktok_ads", c, f"{s:.2f}", i, k, int(o), f"{v:.2f}",
             store.profile.currency] for c, s, i, k, o, v in sim[day]]
    return ExportFile("ad_spend", store.date(day), f"ad_spend_{store.date(day)}.csv",
                      _csv(header, rows).encode("utf-8"), len(rows))

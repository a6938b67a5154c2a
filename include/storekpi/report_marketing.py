"""The report's marketing section per store (marketing.md): visitors by channel (table and a stacked chart),
campaigns by spend with ROAS, and the MER and ad-spend share trend. Drawn with the report's own helpers."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

from storekpi.alerts import format_value
from storekpi.config import CHANNELS, Store

# one colour per channel, in CHANNELS order (colour-blind-safe palette)
COLOURS = dict(zip(CHANNELS, ("#4477aa", "#66ccee", "#ee6677", "#228833", "#ccbb44", "#aa3377", "#bbbbbb",
                              "#332288", "#999999")))


def load(wh, run_date: date, trend_days: int, frame) -> dict[str, pd.DataFrame]:
    """The marts this section reads (`frame` is report._frame: an absent mart gives an empty frame)."""
    first = run_date - timedelta(days=trend_days - 1)
    return {
        "sources": frame(wh, "marts", "traffic_sources_daily", """
            select store_id, date, channel, sum(visitors) as visitors, sum(visitor_share) as visitor_share,
                   sum(buyers) as buyers, sum(sales) as sales
            from marts.traffic_sources_daily where date between ? and ? group by store_id, date, channel
            order by store_id, date, visitors desc""", [first, run_date]),
        "campaigns": frame(wh, "marts", "ad_campaign_daily",
                           "select * from marts.ad_campaign_daily where date = ? order by store_id, spend desc, "
                           "ad_platform, campaign", [run_date]),
    }


def section(store: Store, run_date: date, daily: pd.DataFrame, data: dict, *, trend_days: int, table,
            line_chart, esc) -> str:
    sources = _of(data.get("sources"), store.id)
    campaigns = _of(data.get("campaigns"), store.id)
    days = [run_date - timedelta(days=trend_days - 1 - i) for i in range(trend_days)]
    out = [f"<h4>Visitors by channel on {run_date.isoformat()}</h4>"]
    today = sources[sources["date"] == run_date] if len(sources) else sources
    if today.empty:
        out.append('<p class="note">No traffic-source export covers this day.</p>')
    else:
        out.append(table(today, [("channel", "Channel", "text"), ("visitors", "Visitors", "count"),
                                 ("visitor_share", "Share of store visitors", "rate"),
                                 ("buyers", "Buyers", "count"), ("sales", "Sales", "money")], store))
        out.append('<p class="note">A visitor who came by two sources counts in both: shares may add up to more '
                   "than 100 %.</p>")
    if len(sources):
        out.append(f'<div class="chart"><div class="title">Visitors by channel, last {trend_days} days</div>'
                   f"{stacked_bars(days, sources, label=f'Visitors by channel, {store.name}', esc=esc)}</div>")
    out.append(f"<h4>Campaigns on {run_date.isoformat()} by spend</h4>")
    has_ads = len(daily) and "ad_spend" in daily.columns and daily["ad_spend"].notna().any()
    if campaigns.empty:
        out.append('<p class="note">' + ("No campaign spent on this day." if has_ads
                                           else "No ad-spend export for this store.") + "</p>")
    else:
        out.append(table(campaigns, [("ad_platform", "Platform", "text"), ("campaign", "Campaign", "text"),
                                     ("spend", "Spend", "money"), ("attributed_sales", "Attributed sales", "money"),
                                     ("roas", "ROAS", "number"), ("ctr", "CTR", "rate"), ("cpc", "CPC", "money")],
                         store))
        out.append('<p class="note">Attributed sales are what each platform claims; they overlap and are never '
                   "added to net sales. MER (net sales / ad spend) is the store-level number.</p>")
    if has_ads:
        charts = []
        for column, label, unit in (("mer", "MER (net sales / ad spend)", "number"),
                                    ("ad_spend_share", "Ad-spend share of net sales", "rate")):
            series = dict(zip(daily["date"], daily[column]))
            values = [None if pd.isna(series.get(d)) else float(series[d]) for d in days]
            charts.append(f'<div class="chart"><div class="title">{esc(label)}</div>'
                          f"{line_chart(days, values, unit=unit, label=f'{label}, {store.name}')}</div>")
        out.append(f'<div class="charts">{"".join(charts)}</div>')
    return "\n".join(out)


def stacked_bars(days: list[date], sources: pd.DataFrame, *, label: str, esc, width: int = 520,
                 height: int = 160) -> str:
    """Inline SVG: one bar per day, stacked by channel (CHANNELS order), with a legend."""
    left, right, top, bottom = 44, 8, 8, 34
    pivot = sources.pivot_table(index="date", columns="channel", values="visitors", aggfunc="sum").reindex(days)
    channels = [c for c in CHANNELS if c in pivot.columns]
    totals = pivot[channels].fillna(0).sum(axis=1)
    peak = float(totals.max()) or 1.0
    step = (width - left - right) / len(days)
    marks = [f'<line class="axis" x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}"/>',
             f'<text x="{left - 4}" y="{top + 8}" text-anchor="end">{esc(format_value(peak, "count"))}</text>',
             f'<text x="{left}" y="{height - bottom + 12}">{days[0]:%m-%d}</text>',
             f'<text x="{width - right}" y="{height - bottom + 12}" text-anchor="end">{days[-1]:%m-%d}</text>']
    scale = (height - top - bottom) / peak
    for i, day in enumerate(days):
        base = height - bottom
        for channel in channels:
            value = pivot.at[day, channel]
            if pd.isna(value) or value <= 0:
                continue
            h = float(value) * scale
            base -= h
            marks.append(f'<rect x="{left + i * step + 1:.1f}" y="{base:.1f}" width="{max(step - 2, 1):.1f}" '
                         f'height="{h:.1f}" fill="{COLOURS[channel]}"><title>{day.isoformat()} {esc(channel)}: '
                         f"{esc(format_value(value, 'count'))}</title></rect>")
    x = left
    for channel in channels:
        marks.append(f'<rect x="{x}" y="{height - 14}" width="9" height="9" fill="{COLOURS[channel]}"/>'
                     f'<text x="{x + 12}" y="{height - 6}">{esc(channel)}</text>')
        x += 14 + 7 * len(channel)
    return (f'<svg role="img" aria-label="{esc(label)}" width="{width}" height="{height}" class="stacked" '
            f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">{"".join(marks)}</svg>')


def _of(frame: pd.DataFrame | None, store_id: str) -> pd.DataFrame:
    if frame is None or "store_id" not in frame.columns:
        return pd.DataFrame()
    out = frame[frame["store_id"] == store_id]
    if "date" in out.columns:
        out = out.assign(date=pd.to_datetime(out["date"]).dt.date)
    return out

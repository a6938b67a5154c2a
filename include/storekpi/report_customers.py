"""The report's customer section per store (customers.md): segment counts, the loyal-customer and 30-day repurchase
trends, and each cohort's LTV curve. Counts and curves only: no customer key ever reaches the report."""

from __future__ import annotations

from datetime import date

import pandas as pd

from storekpi.alerts import format_value
from storekpi.config import Store
from storekpi.report import esc, frame_or_empty, line_chart

SEGMENTS = ("new", "loyal", "at_risk", "lapsed", "one_off", "regular")  # customers.md, in rule order
LTV_COHORTS = 6  # the most recent cohorts drawn as curves
CURVE_COLOURS = ("#1f6feb", "#d9480f", "#2b8a3e", "#862e9c", "#e67700", "#495057")


def load(wh, run_date: date) -> dict[str, pd.DataFrame]:
    """The customer frames of the report (empty when the marts are absent)."""
    segments = frame_or_empty(wh, "marts", "customer_segments",
                     "select store_id, segment, count(*) as customers from marts.customer_segments "
                     "group by store_id, segment", [])
    ltv = frame_or_empty(wh, "marts", "customer_ltv",
                "select store_id, cohort_month, months_since_first, customers, cumulative_net_sales_per_customer "
                "from marts.customer_ltv where cohort_month <= ? order by store_id, cohort_month, months_since_first",
                [run_date])
    if "cohort_month" in ltv.columns:
        ltv["cohort_month"] = pd.to_datetime(ltv["cohort_month"]).dt.date
    return {"customer_segments": segments, "customer_ltv": ltv}


def section(store: Store, run_date: date, daily: pd.DataFrame, data: dict) -> str:
    """HTML of the section; `daily` is the store's kpi_store_daily rows of the trend window."""
    segments = _rows(data.get("customer_segments"), store.id)
    ltv = _rows(data.get("customer_ltv"), store.id)
    if segments.empty:
        return '<p class="note">No known customers yet (guest orders are never a customer).</p>'
    counts = dict(zip(segments["segment"], segments["customers"].astype(int)))
    total = sum(counts.values())
    since = min(daily["date"]) if len(daily) else run_date  # the first day of the report's trend window
    loyal_then = daily.loc[daily["date"] == since, "loyal_customers"] if "loyal_customers" in daily else []
    rows = []
    for name in SEGMENTS:
        n = counts.get(name, 0)
        change = ""
        if name == "loyal" and since < run_date and len(loyal_then) and not pd.isna(loyal_then.iloc[0]):
            change = f"{n - int(loyal_then.iloc[0]):+d} since {since.isoformat()}".replace("-", "\u2212", 1)
        rows.append(f'<tr><td>{esc(name)}</td><td class="num">{esc(format_value(n, "count"))}</td>'
                    f'<td class="num">{esc(format_value(n / total, "rate"))}</td><td>{esc(change)}</td></tr>')
    table = ('<table><tr><th>segment</th><th class="num">customers</th><th class="num">share</th><th>trend</th></tr>'
             f'{"".join(rows)}</table>')
    days = sorted(daily["date"]) if len(daily) else [run_date]
    charts = []
    for column, label, unit in (("loyal_customers", "Loyal customers", "count"),
                                ("repurchase_rate_30d", "30-day repurchase rate", "rate")):
        series = dict(zip(daily["date"], daily[column])) if column in daily.columns else {}
        values = [None if pd.isna(series.get(d)) else float(series[d]) for d in days]
        svg = line_chart(days, values, unit=unit, label=f"{label}, {store.name}")
        charts.append(f'<div class="chart"><div class="title">{esc(label)}</div>{svg}</div>')
    curve = _ltv_chart(ltv, store)
    charts.append(f'<div class="chart"><div class="title">Cumulative net sales per customer by cohort '
                  f'({esc(store.currency)})</div>{curve}</div>')
    return table + f'<div class="charts">{"".join(charts)}</div>'


def _rows(frame: pd.DataFrame | None, store_id: str) -> pd.DataFrame:
    if frame is None or "store_id" not in frame.columns:
        return pd.DataFrame()
    return frame[frame["store_id"] == store_id]


def _ltv_chart(ltv: pd.DataFrame, store: Store, width: int = 340, height: int = 150) -> str:
    """The LTV curve of each recent cohort: months since the first order -> cumulative net sales per customer."""
    if ltv.empty:
        return f'<svg role="img" aria-label="LTV curves, {esc(store.name)}: no data" width="{width}"></svg>'
    cohorts = sorted(ltv["cohort_month"].unique())[-LTV_COHORTS:]
    ltv = ltv[ltv["cohort_month"].isin(cohorts)]
    left, right, top, bottom = 44, 60, 8, 18
    top_value = float(ltv["cumulative_net_sales_per_customer"].max()) * 1.1 or 1.0
    months = max(int(ltv["months_since_first"].max()), 1)

    def x(m: int) -> float:
        return left + (width - left - right) * m / months

    def y(v: float) -> float:
        return top + (height - top - bottom) * (1 - v / top_value)

    marks = [f'<line class="axis" x1="{left}" y1="{y(0):.1f}" x2="{width - right}" y2="{y(0):.1f}"/>',
             f'<text x="{left - 4}" y="{y(top_value) + 8:.1f}" text-anchor="end">'
             f'{esc(format_value(top_value, "money"))}</text>',
             f'<text x="{left}" y="{height - 4}">month 0</text>',
             f'<text x="{width - right}" y="{height - 4}" text-anchor="end">month {months}</text>']
    for i, cohort in enumerate(cohorts):
        curve = ltv[ltv["cohort_month"] == cohort].sort_values("months_since_first")
        points = [(int(m), float(v)) for m, v in zip(curve["months_since_first"],
                                                      curve["cumulative_net_sales_per_customer"])]
        colour = CURVE_COLOURS[i % len(CURVE_COLOURS)]
        size = int(curve["customers"].iloc[0])
        marks.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" '
                     f'points="{" ".join(f"{x(m):.1f},{y(v):.1f}" for m, v in points)}">'
                     f"<title>cohort {cohort:%Y-%m} ({size} customers)</title></polyline>")
        last_m, last_v = points[-1]
        marks.append(f'<text x="{x(last_m) + 3:.1f}" y="{y(last_v) + 3:.1f}" fill="{colour}">{cohort:%Y-%m}</text>')
    return (f'<svg role="img" aria-label="LTV curves by cohort, {esc(store.name)}" width="{width}" '
            f'height="{height}" class="trend" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">'
            f'{"".join(marks)}</svg>')

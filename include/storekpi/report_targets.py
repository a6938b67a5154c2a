"""The report's targets parts (targets.md): a scorecard section per role (the week and the month holding D, every
store side by side) and, per store, the month's pacing table with a chart of each target's cumulative progress."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

from storekpi.config import ROLES, StoreConfig, Store
from storekpi.scorecards import KPIS, ROLE_LABELS, format_value, verdict


def load(frame, wh, run_date: date) -> dict[str, pd.DataFrame]:
    """The marts these parts read (`frame` is report._frame: an absent mart gives an empty frame)."""
    week = run_date - timedelta(days=run_date.weekday())
    month = run_date.replace(day=1)
    return {
        "scorecards": frame(wh, "marts", "role_scorecards", """
            select * from marts.role_scorecards
            where (period_type = 'week' and period_start = ?) or (period_type = 'month' and period_start = ?)
            order by role, store_id, kpi_order, period_type desc""", [week, month]),
        "pacing": frame(wh, "marts", "target_pacing",
                        "select * from marts.target_pacing where month = ? order by store_id, metric", [month]),
        "month_daily": frame(wh, "marts", "kpi_store_daily", """
            select * from marts.kpi_store_daily where date between ? and ? order by store_id, date""", [month, run_date]),
    }


def scorecard_section(config: StoreConfig, run_date: date, data: dict, esc) -> str:
    cards = data.get("scorecards", pd.DataFrame())
    week = run_date - timedelta(days=run_date.weekday())
    year, number, _ = week.isocalendar()
    out = ['<section class="roles" id="scorecards"><h2>Scorecards by role</h2>',
           f'<p class="note">Week {year}-W{number:02d} ({week} to {week + timedelta(days=6)}) and '
           f"{run_date:%Y-%m}, each scored up to {run_date}; – means the data is missing.</p>"]
    names = {s.id: s.name for s in config.stores}
    for role in ROLES:
        own = cards[cards["role"] == role] if len(cards) else cards
        out.append(f'<h3 id="scorecard-{role}">{esc(ROLE_LABELS[role])} ({esc(role)})</h3>')
        if own.empty:
            out.append('<p class="note">No scorecard yet.</p>')
            continue
        rows = []
        for (store_id, kpi), group in own.groupby(["store_id", "kpi"], sort=False):
            label, unit = KPIS.get(kpi, (kpi, "count"))
            cells = [f"<td>{esc(names.get(store_id, store_id))}</td><td>{esc(label)}</td>"]
            for period in ("week", "month"):
                hit = group[group["period_type"] == period]
                if hit.empty:
                    cells.append('<td class="num">–</td><td class="num">–</td><td></td>')
                    continue
                row = hit.iloc[0]
                result = verdict(row)
                css = {"met": "ok", "missed": "bad"}.get(result, "")
                cells.append(f'<td class="num">{esc(format_value(row["actual"], unit))}</td>'
                             f'<td class="num">{esc(format_value(row["target"], unit))}</td>'
                             f'<td><span class="pill {css}">{esc(result)}</span></td>' if result else
                             f'<td class="num">{esc(format_value(row["actual"], unit))}</td>'
                             f'<td class="num">{esc(format_value(row["target"], unit))}</td><td></td>')
            rows.append(f"<tr>{''.join(cells)}</tr>")
        out.append('<table><tr><th>store</th><th>KPI</th><th class="num">week</th><th class="num">target</th>'
                   '<th></th><th class="num">month</th><th class="num">target</th><th></th></tr>'
                   f"{''.join(rows)}</table>")
    out.append("</section>")
    return "\n".join(out)


def pacing_section(store: Store, run_date: date, data: dict, *, table, line_chart, esc) -> str:
    pacing = data.get("pacing", pd.DataFrame())
    pacing = pacing[pacing["store_id"] == store.id] if len(pacing) else pacing
    if pacing.empty:
        return f'<p class="note">No monthly targets for {run_date:%Y-%m} in stores.yml.</p>'
    pacing = pacing.assign(on_track=pacing["on_track"].map({True: "yes", False: "no"}).fillna("–"))
    out = [table(pacing, [("metric", "Metric", "text"), ("target", "Target", "number"),
                          ("actual_to_date", "To date", "number"), ("expected_to_date", "Expected", "number"),
                          ("pacing", "Pacing", "rate"), ("projected", "Projected", "number"),
                          ("on_track", "On track", "text")], store)]
    daily = data.get("month_daily", pd.DataFrame())
    daily = daily[daily["store_id"] == store.id] if len(daily) else daily
    month = run_date.replace(day=1)
    days_in_month = ((month + timedelta(days=32)).replace(day=1) - month).days
    days = [month + timedelta(days=i) for i in range(days_in_month)]
    charts = []
    for row in pacing.itertuples(index=False):
        column = row.metric
        if not row.target or column not in daily.columns or pd.isna(row.actual_to_date):
            continue  # no data for the metric this month (e.g. no ad export): no chart, not a line at 0
        series = dict(zip(pd.to_datetime(daily["date"]).dt.date, daily[column]))
        total, values = 0.0, []
        for day in days:  # cumulative share of the target; a day with no value adds nothing
            if day > run_date:
                values.append(None)
                continue
            value = series.get(day)
            total += 0.0 if value is None or pd.isna(value) else float(value)
            values.append(total / float(row.target))
        label = f"{column.replace('_', ' ')}: share of the {run_date:%Y-%m} target, {store.name}"
        svg = line_chart(days, values, unit="rate", target=1.0, label=label)
        charts.append(f'<div class="chart"><div class="title">{esc(column.replace("_", " "))}: '
                      f"cumulative share of target (pace: {esc(format_value(row.pacing, 'rate'))})</div>{svg}</div>")
    if charts:
        out.append(f'<div class="charts">{"".join(charts)}</div>')
    return "\n".join(out)

"""The nightly report: one self-contained HTML file per run, plus CSV extracts of each mart for D.

A shop team reads this instead of the warehouse, often offline or from a mail attachment, so the file carries its
own CSS and inline SVG charts: no script, font or image is fetched. Every text from data or configuration goes
through `html.escape`. Sections follow who acts on them ("roles see what they own"): an owner index links each
role to its alerts and to the parts of each store section it owns (ops: KPIs and discounts, merchandiser: stock,
marketing: trends, customer_service: reviews, data: data quality).

Reads only the published marts (and audit/quarantine tables when present); writes `<out_dir>/<D>/report.html` and
`<out_dir>/<D>/<mart>.csv` (UTF-8 with BOM, so spreadsheet programs show Chinese names correctly).
"""

from __future__ import annotations

import html
import logging
import os
from datetime import date, datetime, timedelta, timezone
from importlib import resources
from pathlib import Path

import pandas as pd

from storekpi import report_merchandising
from storekpi.alerts import bridge_sentence, format_value, rule_views
from storekpi.config import ROLES, Store, StoreConfig
from storekpi.spreadsheet import neutralised_frame
from storekpi.warehouse import Warehouse

log = logging.getLogger(__name__)

TREND_DAYS = 30
MAX_TABLE_ROWS = 50
COHORT_MONTHS = 12
# mart -> the filter that gives "the mart for D" (repurchase cohorts have no date: cohorts started by D)
EXTRACTS = {
    "kpi_store_daily": "date = ?",
    "stock_cover": "date = ?",
    "repurchase_cohorts": "cohort_month <= ?",
    "discount_violations": "date = ?",
    "revenue_bridge": "date = ?",
    "kpi_alerts": "date = ?",
    "traffic_sources_daily": "date = ?",  # marketing.md
    "ad_campaign_daily": "date = ?",
    "replenishment": "date = ?",  # merchandising.md
    "product_classes": "cast(? as date) is not null",  # as of D: the whole mart
    "promo_readiness": "promo_date > ?",
    "target_pacing": "month <= ?",  # targets.md: every targeted month up to D's
    "role_scorecards": "cast(? as date) between period_start and period_end",  # the week and month holding D
}
ROLE_OWNS = {  # role -> (store subsection anchor suffix, what it is)
    "ops": (("kpis", "KPIs"), ("discounts", "discount violations")),
    "merchandiser": (("stock", "stock cover"), ("merchandising", "hero SKUs, reorder list, promo readiness, roles")),
    "marketing": (("trends", "traffic and sales trends"), ("marketing", "traffic sources and ad spend")),
    "customer_service": (("kpis", "review rate"), ("customers", "customer segments and repurchase")),
    "data": (("quality", "data quality"),),
}
# (column, label, unit, stores.yml threshold the value must reach, if any)
CARDS = (
    ("net_sales", "Net sales", "money", None),
    ("orders", "Orders", "count", "daily_orders_min"),
    ("conversion_rate", "Conversion rate", "rate", "conversion_rate_min"),
    ("aov", "Average order value", "money", None),
    ("visitors", "Visitors", "count", None),
    ("positive_review_rate_30d", "Positive reviews (30 d)", "rate", "positive_review_rate_min"),
    ("refund_rate", "Refund rate", "rate", None),
    ("returning_buyer_rate", "Returning buyers", "rate", None),
    ("units_per_order", "Units per order", "number", None),
    ("sell_through_rate_28d", "Sell-through (28 d)", "rate", None),
)
CHARTS = (
    ("net_sales", "Net sales", "money", None),
    ("orders", "Orders", "count", "daily_orders_min"),
    ("conversion_rate", "Conversion rate", "rate", "conversion_rate_min"),
    ("visitors", "Visitors", "count", None),
)


def esc(value: object) -> str:
    return "" if value is None else html.escape(str(value))


# -- public interface -----------------------------------------------------------------------------------------------
def write_report(wh: Warehouse, run_date: date, config: StoreConfig, out_dir: Path,
                 run_summary: dict | None = None) -> Path:
    """Write `<out_dir>/<D>/report.html` and the CSV extracts beside it; returns the HTML path."""
    day_dir = Path(out_dir) / run_date.isoformat()
    day_dir.mkdir(parents=True, exist_ok=True)
    extracts = write_extracts(wh, run_date, day_dir)
    data = _load(wh, run_date)
    page = _page(run_date, config, data, extracts, run_summary or {})
    path = day_dir / "report.html"
    tmp = day_dir / ".report.html.tmp"
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, path)
    log.info("report for %s written to %s (%d stores, %d extracts)", run_date, path, len(config.stores),
             len(extracts))
    return path


def write_extracts(wh: Warehouse, run_date: date, day_dir: Path) -> list[Path]:
    written = []
    for mart, where in EXTRACTS.items():
        if not wh.table_exists("marts", mart):
            log.warning("mart marts.%s is missing: no CSV extract for %s", mart, run_date)
            continue
        frame = wh.query_df(f"select * from marts.{mart} where {where} order by 1, 2", [run_date])
        path = day_dir / f"{mart}.csv"
        # no cell runs as a formula; CRLF line ends (RFC 4180) make the writer quote a CR inside a value
        neutralised_frame(frame).to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\r\n")
        written.append(path)
    return written


# -- data -----------------------------------------------------------------------------------------------------------
def _frame(wh: Warehouse, schema: str, table: str, sql: str, params: list) -> pd.DataFrame:
    if not wh.table_exists(schema, table):
        log.info("%s.%s not present: its report section is empty", schema, table)
        return pd.DataFrame()
    return wh.query_df(sql, params)


frame_or_empty = _frame  # for the sections kept in their own modules (report_customers)


def _load(wh: Warehouse, run_date: date) -> dict[str, pd.DataFrame]:
    first = run_date - timedelta(days=TREND_DAYS - 1)
    data = {
        "daily": _frame(wh, "marts", "kpi_store_daily",
                        "select * from marts.kpi_store_daily where date between ? and ? "
                        "order by store_id, date", [first, run_date]),
        "stock": _frame(wh, "marts", "stock_cover", """
            with latest as (select store_id, max(date) as date from marts.stock_cover where date <= ?
                            group by store_id)
            select s.store_id, s.date, s.sku, s.product_name, s.on_hand, s.units_28d, s.days_of_cover,
                   s.stockout, s.low_cover, count(*) over (partition by s.store_id) as skus_in_snapshot
            from marts.stock_cover s join latest l on s.store_id = l.store_id and s.date = l.date""", [run_date]),
        "violations": _frame(wh, "marts", "discount_violations",
                             "select * from marts.discount_violations where date = ? "
                             "order by store_id, price_ratio, order_id, sku", [run_date]),
        "cohorts": _frame(wh, "marts", "repurchase_cohorts",
                          "select * from marts.repurchase_cohorts where cohort_month <= ? "
                          "order by store_id, cohort_month desc", [run_date]),
        "alerts": _frame(wh, "marts", "kpi_alerts",
                         "select * from marts.kpi_alerts where date = ? order by store_id, severity, rule, sku",
                         [run_date]),
        "bridge": _frame(wh, "marts", "revenue_bridge", "select * from marts.revenue_bridge where date = ?",
                         [run_date]),
        "files": _frame(wh, "audit", "files", """
            select store_id, dataset, count(*) as files, sum(case when status = 'rejected' then 1 else 0 end)
                   as rejected, max(export_date) as latest_export, sum(rows_in) as rows_in,
                   sum(rows_loaded) as rows_loaded, sum(rows_quarantined) as rows_quarantined
            from audit.files where export_date <= ? group by store_id, dataset order by store_id, dataset""",
                        [run_date]),
        "rejected": _frame(wh, "audit", "files",
                           "select store_id, path, reason, message from audit.files "
                           "where export_date <= ? and status = 'rejected' order by store_id, path", [run_date]),
        "quarantine": _frame(wh, "quarantine", "rows", """
            select _store_id as store_id, dataset, reason, count(*) as rows_quarantined from quarantine.rows
            where _export_date <= ? group by 1, 2, 3 order by 1, 4 desc""", [run_date]),
        "dq": _frame(wh, "audit", "dq_results", """
            with last_run as (select run_id from audit.dq_results group by run_id order by max(evaluated_at) desc
                              limit 1)
            select suite, expectation, table_name, column_name, blocking, success, unexpected_count, element_count
            from audit.dq_results where run_id in (select run_id from last_run)
            order by success, blocking desc, suite, expectation""", []),
    }
    from storekpi import report_marketing

    data["marketing"] = report_marketing.load(wh, run_date, TREND_DAYS, _frame)
    data.update(report_merchandising.load(lambda *args: _frame(wh, *args), run_date))
    units = {rule: view.unit for rule, view in rule_views().items()}
    data["alerts"]["unit"] = data["alerts"]["rule"].map(units).fillna("count") if len(data["alerts"]) else []
    from storekpi import report_customers  # imports this module: imported late

    data.update(report_customers.load(wh, run_date))
    from storekpi import report_targets

    data.update(report_targets.load(_frame, wh, run_date))
    for frame in (f for f in data.values() if isinstance(f, pd.DataFrame)):
        for column in ("date", "latest_export", "cohort_month", "promo_date", "decision_due", "last_sold_date"):
            if column in frame.columns:
                frame[column] = pd.to_datetime(frame[column]).dt.date
    return data


def _of_store(frame: pd.DataFrame, store_id: str) -> pd.DataFrame:
    return frame[frame["store_id"] == store_id] if "store_id" in frame.columns else frame.iloc[0:0]


# -- page -----------------------------------------------------------------------------------------------------------
def _page(run_date: date, config: StoreConfig, data: dict, extracts: list[Path], summary: dict) -> str:
    css = resources.files("storekpi").joinpath("templates/report.css").read_text(encoding="utf-8")
    title = f"storekpi — nightly report {run_date.isoformat()}"
    nav = "".join(f'<a href="#store-{esc(s.id)}">{esc(s.name)}</a>' for s in config.stores)
    nav += "".join(f'<a href="#role-{r}">{esc(r)}</a>' for r in ROLES)
    nav += '<a href="#scorecards">scorecards</a>'  # targets.md
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    facts = [f"{k.replace('_', ' ')}: {summary[k]}" for k in
             ("status", "stores", "files_loaded", "rows_loaded", "rows_quarantined", "alerts") if k in summary]
    parts = [
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(title)}</title><style>{css}</style></head><body>",
        f'<header class="top"><h1>{esc(title)}</h1><p>{len(config.stores)} stores · '
        f'{len(data["alerts"])} alerts dated {run_date.isoformat()} · generated {generated}'
        f'{" · " + esc(" · ".join(facts)) if facts else ""}</p></header>',
        f"<nav>{nav}</nav><main>",
        _roles_section(config, data["alerts"]),
    ]
    from storekpi import report_targets

    parts.append(report_targets.scorecard_section(config, run_date, data, esc))
    parts += [_store_section(store, run_date, data) for store in config.stores]
    parts.append(_dq_section(data["dq"]))
    links = "".join(f'<a href="{esc(p.name)}">{esc(p.name)}</a> ' for p in extracts)
    parts.append(f"</main><footer>CSV extracts for {run_date.isoformat()}: {links or 'none'}</footer>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _roles_section(config: StoreConfig, alerts: pd.DataFrame) -> str:
    out = ['<section class="roles" id="roles"><h2>Alerts by owner</h2>']
    for role in ROLES:
        own = alerts[alerts["owner_role"] == role] if not alerts.empty else alerts
        links = " · ".join(f'<a href="#store-{esc(s.id)}-{anchor}">{esc(s.name)}: {esc(what)}</a>'
                           for s in config.stores for anchor, what in ROLE_OWNS.get(role, ()))
        pill = f'<span class="pill {"bad" if len(own) else "ok"}">{len(own)} alerts</span>'
        out.append(f'<h3 id="role-{role}">{esc(role)} {pill}</h3><p class="owner">Owns: {links}</p>')
        if len(own):
            out.append(_alerts_table(own, config))
    out.append("</section>")
    return "\n".join(out)


def _alerts_table(alerts: pd.DataFrame, config: StoreConfig | None = None) -> str:
    names = {s.id: s.name for s in config.stores} if config else {}
    rows = []
    for alert in alerts.itertuples(index=False):
        unit = alert.unit
        store = f"<td>{esc(names.get(alert.store_id, alert.store_id))}</td>" if config else ""
        rows.append(f"<tr>{store}<td>{esc(alert.rule)}</td><td class=\"sev-{esc(alert.severity)}\">"
                    f"{esc(alert.severity)}</td><td>{esc(alert.sku if isinstance(alert.sku, str) else '')}</td>"
                    f'<td class="num">{esc(format_value(alert.value, unit))}</td>'
                    f'<td class="num">{esc(format_value(alert.threshold, unit))}</td>'
                    f"<td>{esc(alert.message)}</td></tr>")
    head = "<th>store</th>" if config else ""
    return (f'<table><tr>{head}<th>rule</th><th>severity</th><th>SKU</th><th class="num">value</th>'
            f'<th class="num">threshold</th><th>message</th></tr>{"".join(rows)}</table>')


def _store_section(store: Store, run_date: date, data: dict) -> str:
    sid = esc(store.id)
    daily = _of_store(data["daily"], store.id)
    alerts = _of_store(data["alerts"], store.id)
    bridge = _of_store(data["bridge"], store.id)
    out = [f'<section class="store" id="store-{sid}"><h2>{esc(store.name)} <span class="meta">{sid} · '
           f"{esc(store.platform)} · {esc(store.currency)} · {esc(store.timezone)}</span></h2>"]
    if len(bridge):
        b = bridge.iloc[0]
        sentence = bridge_sentence(b["log_change"], b["visitors_effect"], b["conversion_effect"], b["aov_effect"],
                                   run_date)
        out.append(f"<p><b>Revenue bridge:</b> {esc(sentence)}</p>")
    out.append(f"<h3>Alerts ({len(alerts)})</h3>")
    out.append(_alerts_table(alerts) if len(alerts) else '<p class="note">No alerts for this day.</p>')
    out.append(f'<h3 id="store-{sid}-kpis">KPIs on {run_date.isoformat()}</h3>')
    out.append(_cards(store, daily, run_date))
    out.append(f'<h3 id="store-{sid}-trends">Last {TREND_DAYS} days</h3>')
    out.append(_charts(store, daily, run_date))
    from storekpi import report_marketing

    out.append(f'<h3 id="store-{sid}-marketing">Marketing: traffic sources and ad spend</h3>')
    out.append(report_marketing.section(store, run_date, daily, data["marketing"], trend_days=TREND_DAYS,
                                        table=_table, line_chart=line_chart, esc=esc))
    out.append(f'<h3 id="store-{sid}-stock">Stock cover</h3>')
    out.append(_stock(store, _of_store(data["stock"], store.id)))
    out.append(f'<h3 id="store-{sid}-merchandising">Merchandising</h3>')
    out.append(report_merchandising.section(store, data, _table, esc))
    out.append(f'<h3 id="store-{sid}-discounts">Discount violations</h3>')
    out.append(_violations(store, _of_store(data["violations"], store.id)))
    out.append(f'<h3 id="store-{sid}-cohorts">Repurchase cohorts (90 days)</h3>')
    out.append(_cohorts(_of_store(data["cohorts"], store.id)))
    from storekpi import report_customers

    out.append(f'<h3 id="store-{sid}-customers">Customers</h3>')
    out.append(report_customers.section(store, run_date, daily, data))
    from storekpi import report_targets

    out.append(f'<h3 id="store-{sid}-pacing">Targets and pacing, {run_date:%Y-%m}</h3>')
    out.append(report_targets.pacing_section(store, run_date, data, table=_table, line_chart=line_chart, esc=esc))
    out.append(f'<h3 id="store-{sid}-quality">Data quality</h3>')
    out.append(_store_quality(store, run_date, data))
    out.append("</section>")
    return "\n".join(out)


def _display(value: object, unit: str, store: Store | None) -> str:
    text = format_value(value, unit)
    return f"{text} {store.currency}" if unit == "money" and store and text != "–" else text


def _cards(store: Store, daily: pd.DataFrame, run_date: date) -> str:
    today = daily[daily["date"] == run_date] if len(daily) else daily
    if today.empty:
        return '<p class="note">No KPI row for this day.</p>'
    row = today.iloc[0]
    prior = daily[daily["date"] == run_date - timedelta(days=7)]
    cards = []
    for column, label, unit, target_key in CARDS:
        if column not in row.index:
            continue
        value = row[column]
        css, target = "", ""
        if target_key and not pd.isna(value):
            goal = store.thresholds_on(run_date)[target_key]
            met = value >= goal
            css = "ok" if met else "bad"
            target = f"target ≥ {format_value(goal, unit)}"
        change = ""
        if len(prior) and column in prior.columns:
            before = prior.iloc[0][column]
            if not pd.isna(before) and not pd.isna(value) and before:
                change = f"{(value / before - 1) * 100:+.0f} % vs a week ago".replace("-", "\u2212")
        cards.append(f'<div class="card {css}"><div class="label">{esc(label)}</div>'
                     f'<div class="value">{esc(_display(value, unit, store))}</div>'
                     f'<div class="target">{esc(target)}</div><div class="target">{esc(change)}</div></div>')
    return f'<div class="cards">{"".join(cards)}</div>'


def _charts(store: Store, daily: pd.DataFrame, run_date: date) -> str:
    days = [run_date - timedelta(days=TREND_DAYS - 1 - i) for i in range(TREND_DAYS)]
    charts = []
    for column, label, unit, target_key in CHARTS:
        series = dict(zip(daily["date"], daily[column])) if column in daily.columns else {}
        values = [None if pd.isna(series.get(d)) else float(series[d]) for d in days]
        target = store.thresholds_on(run_date)[target_key] if target_key else None  # in force on D
        svg = line_chart(days, values, unit=unit, target=target, label=f"{label}, {store.name}")
        charts.append(f'<div class="chart"><div class="title">{esc(label)}'
                      f'{" (" + esc(store.currency) + ")" if unit == "money" else ""}</div>{svg}</div>')
    return f'<div class="charts">{"".join(charts)}</div>'


def line_chart(days: list[date], values: list[float | None], *, unit: str, target: float | None = None,
               label: str = "", width: int = 340, height: int = 130) -> str:
    """An inline SVG line chart; gaps where a value is missing, a dashed line at the target."""
    left, right, top, bottom = 44, 8, 8, 18
    known = [v for v in values if v is not None]
    if not known:
        return f'<svg role="img" aria-label="{esc(label)}: no data" width="{width}" height="{height}"></svg>'
    top_value = max(known + ([target] if target is not None else [])) * 1.1 or 1.0
    low_value = min(0.0, min(known))
    span = (top_value - low_value) or 1.0
    step = (width - left - right) / max(len(days) - 1, 1)

    def x(i: int) -> float:
        return left + i * step

    def y(v: float) -> float:
        return top + (height - top - bottom) * (1 - (v - low_value) / span)

    segments, current = [], []
    for i, value in enumerate(values):
        if value is None:
            if current:
                segments.append(current)
            current = []
        else:
            current.append(f"{x(i):.1f},{y(value):.1f}")
    if current:
        segments.append(current)
    marks = [f'<line class="axis" x1="{left}" y1="{y(low_value):.1f}" x2="{width - right}" y2="{y(low_value):.1f}"/>',
             f'<text x="{left - 4}" y="{y(top_value) + 8:.1f}" text-anchor="end">{esc(axis_label(top_value, unit))}'
             "</text>",
             f'<text x="{left - 4}" y="{y(low_value):.1f}" text-anchor="end">{esc(axis_label(low_value, unit))}'
             "</text>",
             f'<text x="{left}" y="{height - 4}">{days[0]:%m-%d}</text>',
             f'<text x="{width - right}" y="{height - 4}" text-anchor="end">{days[-1]:%m-%d}</text>']
    if target is not None:
        marks.append(f'<line class="target" x1="{left}" y1="{y(target):.1f}" x2="{width - right}" '
                     f'y2="{y(target):.1f}"><title>target {esc(format_value(target, unit))}</title></line>')
    marks += [f'<polyline class="series" points="{" ".join(seg)}"/>' for seg in segments]
    marks += [f'<circle class="point" cx="{x(i):.1f}" cy="{y(v):.1f}" r="2"><title>{d.isoformat()}: '
              f"{esc(format_value(v, unit))}</title></circle>"
              for i, (d, v) in enumerate(zip(days, values)) if v is not None]
    return (f'<svg role="img" aria-label="{esc(label)}" width="{width}" height="{height}" class="trend" '
            f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">{"".join(marks)}</svg>')


def axis_label(value: float, unit: str) -> str:
    """Short tick labels: 12.3k, 1.2M, 2 %."""
    if unit == "rate":
        return f"{value * 100:.1f} %"
    for size, suffix in ((1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.1f}{suffix}"
    return f"{value:.0f}" if abs(value) >= 10 or value == int(value) else f"{value:.1f}"


def _table(frame: pd.DataFrame, columns: list[tuple[str, str, str]], store: Store | None) -> str:
    """columns: (column, heading, unit); at most MAX_TABLE_ROWS rows, the rest counted (the CSV has them all)."""
    head = "".join(f'<th class="{"num" if unit != "text" else ""}">{esc(h)}</th>' for _, h, unit in columns)
    rows = []
    for record in frame.head(MAX_TABLE_ROWS).to_dict("records"):
        cells = []
        for column, _, unit in columns:
            value = record.get(column)
            if unit == "text":
                cells.append(f"<td>{esc('' if pd.isna(value) else value)}</td>")
            else:
                cells.append(f'<td class="num">{esc(_display(value, unit, store))}</td>')
        rows.append(f"<tr>{''.join(cells)}</tr>")
    more = (f'<p class="note">… and {len(frame) - MAX_TABLE_ROWS} more rows in the CSV extract.</p>'
            if len(frame) > MAX_TABLE_ROWS else "")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>{more}"


def _stock(store: Store, stock: pd.DataFrame) -> str:
    if stock.empty:
        return '<p class="note">No stock snapshot up to this day.</p>'
    flagged = stock[stock["stockout"].astype(bool) | stock["low_cover"].astype(bool)].copy()
    flagged["status"] = flagged["stockout"].map({True: "stocked out", False: "low cover"})
    flagged = flagged.sort_values(["stockout", "days_of_cover", "sku"], ascending=[False, True, True])
    summary = (f'<p>Snapshot of {stock["date"].iloc[0].isoformat()}: {int(stock["skus_in_snapshot"].iloc[0])} SKUs, '
               f'<span class="pill bad">{int(stock["stockout"].astype(bool).sum())} stocked out</span> '
               f'<span class="pill">{int(stock["low_cover"].astype(bool).sum())} low cover '
               f'(&lt; {format_value(store.thresholds["cover_days_min"], "count")} days)</span></p>')
    if flagged.empty:
        return summary
    return summary + _table(flagged, [("sku", "SKU", "text"), ("product_name", "product", "text"),
                                      ("status", "status", "text"), ("on_hand", "on hand", "count"),
                                      ("units_28d", "units 28 d", "count"),
                                      ("days_of_cover", "days of cover", "days")], store)


def _violations(store: Store, lines: pd.DataFrame) -> str:
    if lines.empty:
        return '<p class="note">No order line below the discount floor on this day.</p>'
    return (f'<p>{len(lines)} order line(s) below the floor of '
            f'{format_value(store.thresholds["discount_floor"], "rate")} of list price.</p>'
            + _table(lines, [("order_id", "order", "text"), ("sku", "SKU", "text"), ("quantity", "qty", "count"),
                             ("effective_unit_price", "effective price", "money"),
                             ("list_price", "list price", "money"), ("price_ratio", "ratio", "rate")], store))


def _cohorts(cohorts: pd.DataFrame) -> str:
    if cohorts.empty:
        return '<p class="note">No customer cohorts yet.</p>'
    rows = []
    for c in cohorts.head(COHORT_MONTHS).itertuples(index=False):
        rate = None if pd.isna(c.repurchase_rate_90d) else float(c.repurchase_rate_90d)
        bar = f'<span class="bar" style="width:{rate * 120:.0f}px"></span> ' if rate else ""
        state = "final" if bool(c.is_mature) else "still growing"
        rows.append(f"<tr><td>{c.cohort_month:%Y-%m}</td><td class=\"num\">{esc(format_value(c.customers, 'count'))}"
                    f'</td><td class="num">{esc(format_value(c.repurchased_90d, "count"))}</td>'
                    f"<td>{bar}{esc(format_value(rate, 'rate'))}</td><td>{state}</td></tr>")
    return ('<table><tr><th>cohort</th><th class="num">customers</th><th class="num">repurchased ≤ 90 d</th>'
            f'<th>rate</th><th></th></tr>{"".join(rows)}</table>')


def _store_quality(store: Store, run_date: date, data: dict) -> str:
    files = _of_store(data["files"], store.id)
    if files.empty:
        return '<p class="note">No file audit recorded for this store.</p>'
    rows = []
    for f in files.itertuples(index=False):
        stale = f.latest_export < run_date
        rows.append(f"<tr><td>{esc(f.dataset)}</td><td class=\"{'sev-warning' if stale else ''}\">"
                    f"{f.latest_export.isoformat()}{' (stale)' if stale else ''}</td>"
                    f'<td class="num">{int(f.files)}</td><td class="num">{int(f.rejected)}</td>'
                    f'<td class="num">{int(f.rows_in):,}</td><td class="num">{int(f.rows_loaded):,}</td>'
                    f'<td class="num">{int(f.rows_quarantined):,}</td></tr>')
    out = ['<table><tr><th>dataset</th><th>latest export</th><th class="num">files</th>'
           '<th class="num">rejected</th><th class="num">rows in</th><th class="num">loaded</th>'
           f'<th class="num">quarantined</th></tr>{"".join(rows)}</table>']
    reasons = _of_store(data["quarantine"], store.id)
    if len(reasons):
        out.append("<p>Quarantine reasons: " + ", ".join(
            f"{esc(r.dataset)}/{esc(r.reason)} {int(r.rows_quarantined)}" for r in reasons.itertuples()) + "</p>")
    rejected = _of_store(data["rejected"], store.id)
    if len(rejected):
        out.append(_table(rejected, [("path", "rejected file", "text"), ("reason", "reason", "text"),
                                     ("message", "message", "text")], store))
    return "\n".join(out)


def _dq_section(dq: pd.DataFrame) -> str:
    out = ['<section class="quality" id="quality"><h2>Quality gates (last run)</h2>']
    if dq.empty:
        out.append('<p class="note">No gate results recorded.</p></section>')
        return "\n".join(out)
    failed = dq[~dq["success"].astype(bool)]
    out.append(f'<p>{len(dq)} expectations evaluated: <span class="pill ok">{len(dq) - len(failed)} passed</span> '
               f'<span class="pill {"bad" if len(failed) else "ok"}">{len(failed)} failed</span></p>')
    if len(failed):
        failed = failed.assign(kind=failed["blocking"].map({True: "blocking", False: "warning"}))
        out.append(_table(failed, [("suite", "suite", "text"), ("expectation", "expectation", "text"),
                                   ("table_name", "table", "text"), ("column_name", "column", "text"),
                                   ("kind", "kind", "text"), ("unexpected_count", "unexpected", "count")],
                          None))
    out.append("</section>")
    return "\n".join(out)

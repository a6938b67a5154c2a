"""The "storekpi" page of the Airflow UI (served by `plugins/storekpi_page.py`): `storekpi status` plus the latest
published day's KPIs per store, its alerts by owner role, the gate results of the last run and a link to the
night's HTML report.

Everything is read through `storekpi.status.open_read_only`, so the page can be opened at any time, also while a
run is going, and never makes that run wait. The HTML is one self-contained document (inline CSS, no script).
"""

from __future__ import annotations

import os
from datetime import date
from html import escape
from pathlib import Path
from typing import Any

from storekpi import status as status_mod
from storekpi import warehouse
from storekpi.warehouse import Target

KPI_COLUMNS = ("store_id", "visitors", "orders", "net_sales", "conversion_rate", "aov", "positive_review_rate_30d")


def collect(target: Target) -> dict[str, Any]:
    """`status.collect` plus the published day's KPIs, alerts and the last run's gate results."""
    page = status_mod.collect(target)
    published = next((r for r in page["runs"] if r["status"] == "published"), None)
    page.update(kpi_date=published and published["date"], kpis=[], alerts=[], gates=[])
    if published and warehouse.exists(target):
        with status_mod.open_read_only(target) as wh:
            if wh.table_exists("marts", "kpi_store_daily"):
                page["kpis"] = status_mod.query_dicts(wh, "marts", "kpi_store_daily", f"""
select {', '.join(KPI_COLUMNS)} from marts.kpi_store_daily where date = ? order by store_id""",
                                                [date.fromisoformat(published["date"])])
            page["alerts"] = status_mod.query_dicts(wh, "marts", "kpi_alerts", """
select owner_role, store_id, rule, severity, sku, message from marts.kpi_alerts where date = ?
order by owner_role, store_id, rule, sku""", [date.fromisoformat(published["date"])])
    last = page["last_run"]
    if last:
        with status_mod.open_read_only(target, status_mod.recorded_path(last)) as wh:
            page["gates"] = status_mod.query_dicts(wh, "audit", "dq_results", """
select suite, expectation, table_name, column_name, blocking, success, unexpected_count, element_count
from audit.dq_results where run_id = ? order by success, blocking desc, suite, expectation""", [last["run_id"]])
    return page


def reports_folder(target: Target) -> Path | None:
    """Where nightly reports are written: $STOREKPI_REPORTS, else reports/ beside a DuckDB warehouse."""
    if os.environ.get("STOREKPI_REPORTS"):
        return Path(os.environ["STOREKPI_REPORTS"]).expanduser().resolve()
    return warehouse.reports_beside(target)


def report_file(target: Target, day: str) -> Path | None:
    """The HTML report of `day` if it exists (`day` must be YYYY-MM-DD: it becomes part of a path)."""
    try:
        date.fromisoformat(day)
    except ValueError:
        return None
    folder = reports_folder(target)
    path = folder / day / "report.html" if folder and len(day) == 10 else None
    return path if path and path.is_file() else None


# -- HTML -----------------------------------------------------------------------------------------------------------
_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1f2933;background:#fff}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #e4e7eb}
table{border-collapse:collapse;margin:4px 0 8px} th,td{padding:4px 10px;border-bottom:1px solid #eef0f2;
text-align:left} td.n{text-align:right;font-variant-numeric:tabular-nums} .muted{color:#7b8794}
.pill{display:inline-block;padding:1px 8px;border-radius:9px;font-size:12px;font-weight:600}
.published,.yes,.pass{background:#e3f9e5;color:#05400a} .blocked,.NO,.fail{background:#ffe3e3;color:#610404}
.failed,.warn{background:#fff3c4;color:#513c06} .running{background:#e0e8f9;color:#1d3d8f}
"""


def render_html(page: dict[str, Any], report_href: str | None) -> str:
    last = page["last_run"]
    parts = [f"<h1>storekpi</h1><div class=muted>{escape(page['warehouse'])} · "
             f"{'a run is in progress' if page['run_in_progress'] else 'no run in progress'}</div>"]
    if not last:
        parts.append("<p>No run has been recorded in this warehouse yet.</p>")
        return _document("".join(parts))
    parts.append(f"<p>Last run: <b>{escape(last['date'])}</b> {_pill(last['status'])}"
                 f"{' — ' + escape(last['message']) if last.get('message') else ''}</p>")
    if report_href:
        parts.append(f'<p><a id="report-link" href="{escape(report_href)}">Open the night\'s report '
                     f"({escape(page['kpi_date'] or '')})</a></p>")
    if page["kpis"]:
        parts.append(f"<h2>KPIs of {escape(page['kpi_date'])}</h2>")
        parts.append(_table(["store", "visitors", "orders", "net sales", "conversion", "AOV", "pos. reviews 30d"],
                            [[k["store_id"], _n(k["visitors"], "{:,.0f}"), _n(k["orders"], "{:,.0f}"), _n(k["net_sales"], "{:,.2f}"),
                              _n(k["conversion_rate"], "{:.2%}"), _n(k["aov"], "{:,.2f}"),
                              _n(k["positive_review_rate_30d"], "{:.1%}")] for k in page["kpis"]],
                            css_id="kpis"))
    parts.append(f"<h2>Alerts of {escape(page['kpi_date'] or '–')} by owner</h2>")
    by_owner: dict[str, list] = {}
    for alert in page["alerts"]:
        by_owner.setdefault(alert["owner_role"], []).append(alert)
    if not by_owner:
        parts.append("<p class=muted>No alerts.</p>")
    for owner, alerts in by_owner.items():
        parts.append(f'<h3 id="owner-{escape(owner)}">{escape(owner)} <span class=muted>({len(alerts)})</span></h3>')
        parts.append(_table(["store", "rule", "severity", "message"],
                            [[a["store_id"], a["rule"], a["severity"], a["message"]] for a in alerts]))
    parts.append("<h2>Last runs</h2>")
    parts.append(_table(["date", "status", "started (UTC)", "seconds", "files", "rows", "quarantined", "alerts",
                         "steps"],
                        [[r["date"], _Raw(_pill(r["status"])), r["started_at"] or "", _n(r["seconds"], "{:,.1f}"),
                          _n(r["files_loaded"]), _n(r["rows_loaded"]), _n(r["rows_quarantined"]), _n(r["alerts"]),
                          ", ".join(f"{k} {v:.1f}s" for k, v in r["steps"].items())] for r in page["runs"]],
                        css_id="runs"))
    parts.append(f"<h2>Freshness for {escape(last['date'])}</h2>")
    parts.append(_table(["store", "dataset", "latest export", "covers D"],
                        [[f["store_id"], f["dataset"], f["last_export_date"] or "never",
                          _Raw(_pill(status_mod.covers_word(f["covers_run_date"])))] for f in page["freshness"]],
                        css_id="freshness"))
    parts.append(f"<h2>Quarantined rows of the last run: {sum(q['rows'] for q in page['quarantine'])}</h2>")
    if page["quarantine"]:
        parts.append(_table(["reason", "rows"], [[q["reason"], _n(q["rows"])] for q in page["quarantine"]]))
    if last["status"] == "blocked":
        parts.append("<h2>Blocking reasons (nothing was published)</h2>")
        parts.append(_table(["suite", "check", "table", "column", "unexpected"],
                            [[b["suite"], b["expectation"], b["table_name"] or "", b["column_name"] or "",
                              _n(b["unexpected_count"])] for b in page["blocking"]], css_id="blocking"))
    gates = page["gates"]
    failed = sum(1 for g in gates if not g["success"])
    parts.append(f"<h2>Gate results of the last run: {len(gates)} checks, {failed} not met</h2>")
    parts.append(_table(["result", "suite", "check", "table", "column", "unexpected / rows"],
                        [[_Raw(_pill("pass" if g["success"] else "fail" if g["blocking"] else "warn")),
                          g["suite"], g["expectation"], g["table_name"] or "", g["column_name"] or "",
                          f"{_n(g['unexpected_count'])} / {_n(g['element_count'])}"] for g in gates],
                        css_id="gates"))
    return _document("".join(parts))


def render_error(message: str) -> str:
    return _document(f"<h1>storekpi</h1><p>{escape(message)}</p>")


class _Raw(str):
    """Markup built here, not to be escaped again."""


def _pill(word: str) -> str:
    return f'<span class="pill {escape(word)}">{escape(word)}</span>'


def _n(value: Any, pattern: str = "{:,}") -> str:
    return "–" if value is None else pattern.format(value)


def _table(header: list[str], rows: list[list], css_id: str | None = None) -> str:
    ident = f' id="{css_id}"' if css_id else ""
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(
        f"<td{' class=n' if isinstance(c, str) and c[:1].isdigit() else ''}>"
        f"{c if isinstance(c, _Raw) else escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table{ident}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _document(body: str) -> str:
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>storekpi</title><link rel="icon" href="data:,">'
            f"<style>{_CSS}</style></head><body>{body}</body></html>")

"""Alert e-mails: the morning message each owner of a breached KPI reads.

The rules themselves are data (dbt_project.yml `alert_rules`) computed in dbt (`marts.kpi_alerts`); this module
only routes and words them, reading each rule's label, unit and history series from that same table
(`kpis.md`, "marts.kpi_alerts"):
- only alerts dated D, routed by `stores.yml` recipients (store x owner role -> addresses);
- ONE message per address, even when it owns several roles or stores, listing its alerts grouped by store; each
  alert with its number, its threshold and the last 7 days of that KPI; sales alerts add a revenue-bridge sentence;
- subject `[storekpi] <D>: <n> alerts for <role>`; a person with alerts of several roles gets the roles joined with
  ", " in stores.yml role order (`ops, merchandiser, ...`), n counting all the alerts in the message;
- plain text and HTML parts, UTF-8; the day's report attached (and its path named);
- nobody without alerts gets mail. Addresses never reach the logs.
"""

from __future__ import annotations

import html
import logging
import math
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from email.message import EmailMessage
from pathlib import Path

import pandas as pd

from storekpi import mailer
from storekpi.config import ROLES, StoreConfig
from storekpi.warehouse import Warehouse

log = logging.getLogger(__name__)

HISTORY_DAYS = 7
SALES_RULES = ("orders_below_target", "conversion_below_target", "traffic_drop")
SEVERITY_ORDER = {"critical": 0, "warning": 1}
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MINUS = "\u2212"


@dataclass(frozen=True)
class RuleView:
    """How one alert rule is worded and which series shows its last 7 days (one entry of the rules table)."""

    label: str
    kpi: str  # the mart column the value and the history come from
    kpi_label: str
    unit: str  # count | rate | days | money
    mart: str | None = None  # the mart the history is read from
    item: str | None = None  # the key the history is per (sku, campaign: the alert carries it, its mart has it)
    history: str = "mart"  # mart: the kpi column per day | count: the number of mart rows per day
    history_label: str | None = None


FALLBACK_VIEW = RuleView("Alert", "value", "value", "count")
ITEM_KEYS = ("sku", "campaign")  # alert keys a 7-day history can be per (a mart row per store, item and day)


def rule_views() -> dict[str, RuleView]:
    """rule -> its wording, from the rules table (dbt_project.yml `alert_rules`, which dbt renders kpi_alerts from)."""
    from storekpi.dbt_runner import alert_rules

    views = {}
    for rule in alert_rules():
        history = rule.get("history", "mart")
        item = next((k for k in rule.get("keys", []) if k in ITEM_KEYS), None) if history == "mart" else None
        views[rule["rule"]] = RuleView(rule["label"], rule["column"], rule["kpi_label"], rule["unit"], rule["mart"],
                                       item, history, rule.get("history_label", rule["kpi_label"]))
    return views


# -- public interface -----------------------------------------------------------------------------------------------
def compose(wh: Warehouse, run_date: date, config: StoreConfig, *, report_path: Path | None) -> list[EmailMessage]:
    """One message per recipient address that owns at least one alert dated `run_date`."""
    alerts = _alerts_of_day(wh, run_date)
    if alerts.empty:
        log.info("no alerts for %s: no e-mail", run_date)
        return []
    routed = alerts.merge(_routes(config), on=["store_id", "owner_role"], how="left")
    unrouted = routed[routed["address"].isna()]
    for (store_id, role), group in unrouted.groupby(["store_id", "owner_role"]):
        log.warning("store %s: %d %s alert(s) for %s have no recipient in stores.yml", store_id, len(group), role,
                    run_date)
    routed = routed.dropna(subset=["address"])
    views = rule_views()
    history = _history(wh, run_date, alerts, views)
    bridges = _bridges(wh, run_date)
    attachment = _attachment(report_path)
    messages = []
    for address, own in routed.groupby("address", sort=True):
        own = own.sort_values(["store_rank", "severity_rank", "rule", "sku"], na_position="first")
        messages.append(_message(address, own, run_date, config, views, history, bridges, report_path,
                                 attachment))
    log.info("composed %d alert e-mail(s) for %d alert(s) dated %s", len(messages), len(alerts), run_date)
    return messages


def deliver(wh: Warehouse, run_date: date, config: StoreConfig, *, outbox: Path | None,
            report_path: Path | None) -> int:
    """Compose and send the day's alert e-mails; returns how many messages went out."""
    return len(mailer.send(compose(wh, run_date, config, report_path=report_path), outbox=outbox))


# -- data -----------------------------------------------------------------------------------------------------------
def _alerts_of_day(wh: Warehouse, run_date: date) -> pd.DataFrame:
    alerts = wh.query_df(
        "select store_id, rule, owner_role, severity, sku, campaign, value, threshold, message "
        "from marts.kpi_alerts where date = ?", [run_date])
    alerts["severity_rank"] = alerts["severity"].map(SEVERITY_ORDER).fillna(9)
    return alerts


def _routes(config: StoreConfig) -> pd.DataFrame:
    """(store_id, owner_role, address, store_rank): stores.yml as a join table (config-sized, not data-sized)."""
    rows = [(store.id, role, address, rank)
            for rank, store in enumerate(config.stores)
            for role, addresses in store.recipients.items()
            for address in dict.fromkeys(addresses)]
    return pd.DataFrame(rows, columns=["store_id", "owner_role", "address", "store_rank"])


def _history(wh: Warehouse, run_date: date, alerts: pd.DataFrame,
             views: dict[str, RuleView]) -> dict[tuple[str, str, str, str], dict]:
    """(store_id, sku / campaign or "", mart, kpi) -> {date: value} over D-6 … D, for every series the day's alerts
    need."""
    first = run_date - timedelta(days=HISTORY_DAYS - 1)
    needed = {views.get(r, FALLBACK_VIEW) for r in alerts["rule"].unique()}
    frames = []
    for mart, item, history in sorted({(v.mart, v.item or "", v.history) for v in needed if v.mart}):
        if not wh.table_exists("marts", mart):
            continue
        if history == "count":
            rows = wh.query_df(f"select store_id, date, count(*) as value from marts.{mart} "
                               "where date between ? and ? group by store_id, date", [first, run_date])
            frames.append(rows.assign(mart=mart, kpi="count", item=None))
            continue
        kpis = sorted({v.kpi for v in needed if (v.mart, v.item or "", v.history) == (mart, item, history)})
        keys = ["store_id", "item", "date"] if item else ["store_id", "date"]
        columns = ["store_id", f"{item} as item", "date"] if item else keys
        rows = wh.query_df(f"select {', '.join(columns + kpis)} from marts.{mart} where date between ? and ?",
                           [first, run_date])
        if item:
            rows = rows.merge(alerts.loc[alerts[item].notna(), ["store_id", item]].drop_duplicates()
                              .rename(columns={item: "item"}))
        rows = rows.melt(id_vars=keys, var_name="kpi").assign(mart=mart)
        frames.append(rows if item else rows.assign(item=None))
    if not frames:
        return {}
    history = pd.concat([f[["store_id", "item", "mart", "kpi", "date", "value"]] for f in frames], ignore_index=True)
    history["date"] = pd.to_datetime(history["date"]).dt.date
    history["item"] = history["item"].fillna("")
    return {key: dict(zip(group["date"], group["value"]))
            for key, group in history.groupby(["store_id", "item", "mart", "kpi"], sort=False)}


def _bridges(wh: Warehouse, run_date: date) -> dict[str, str]:
    """store_id -> the revenue-bridge sentence for `run_date` (stores with a comparable day only)."""
    if not wh.table_exists("marts", "revenue_bridge"):
        return {}
    rows = wh.query_df("select store_id, log_change, visitors_effect, conversion_effect, aov_effect "
                       "from marts.revenue_bridge where date = ?", [run_date])
    return {row.store_id: bridge_sentence(row.log_change, row.visitors_effect, row.conversion_effect,
                                          row.aov_effect, run_date)
            for row in rows.itertuples(index=False)}


def bridge_sentence(log_change: float, visitors_effect: float, conversion_effect: float, aov_effect: float,
                    run_date: date) -> str:
    """'net sales −18 % vs last Friday: visitors −5 %, conversion −14 %, AOV +1 %' from the log effects."""
    weekday = WEEKDAYS[run_date.weekday()]
    return (f"net sales {_log_pct(log_change)} vs last {weekday}: visitors {_log_pct(visitors_effect)}, "
            f"conversion {_log_pct(conversion_effect)}, AOV {_log_pct(aov_effect)}")


def _log_pct(effect: float) -> str:
    pct = round((math.exp(float(effect)) - 1) * 100)
    if pct == 0:
        return "0 %"
    return f"+{pct} %" if pct > 0 else f"{MINUS}{-pct} %"


def _attachment(report_path: Path | None) -> Path | None:
    if report_path is None or not Path(report_path).is_file():
        return None
    if Path(report_path).stat().st_size > MAX_ATTACHMENT_BYTES:
        log.warning("report %s is larger than %d bytes: linked, not attached", report_path, MAX_ATTACHMENT_BYTES)
        return None
    return Path(report_path)


# -- wording --------------------------------------------------------------------------------------------------------
def format_value(value: object, unit: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or pd.isna(value):
        return "–"
    value = float(value)
    if unit == "rate":
        return f"{value * 100:.1f} %"
    if unit == "days":
        return f"{value:.1f}"
    if unit == "money":
        return f"{value:,.2f}"
    return f"{value:,.0f}" if value == int(value) else f"{value:,.2f}"


@dataclass(frozen=True)
class AlertLine:
    """One alert, worded: the headline and its last 7 days."""

    headline: str
    history_label: str
    days: list[date]
    values: list[str]


def _alert_line(alert: pd.Series, run_date: date, view: RuleView, history: dict) -> AlertLine:
    what = view.label if view is not FALLBACK_VIEW else str(alert["rule"])
    if isinstance(alert["sku"], str):
        what += f" — SKU {alert['sku']}"
    if isinstance(alert.get("campaign"), str):
        what += f" — campaign {alert['campaign']}"
    if pd.isna(alert["value"]):
        headline = f"{what}: {alert['message']}"
    else:
        headline = (f"{what}: {view.kpi_label} {format_value(alert['value'], view.unit)} "
                    f"(threshold {format_value(alert['threshold'], view.unit)})")
    days = [run_date - timedelta(days=HISTORY_DAYS - 1 - i) for i in range(HISTORY_DAYS)]
    kpi, unit, label = view.kpi, view.unit, view.history_label or view.kpi_label
    if view.history == "count":
        kpi, unit = "count", "count"
    item = alert[view.item] if view.item else ""
    series = history.get((alert["store_id"], item, view.mart, kpi), {})
    values = [format_value(series.get(day, 0 if view.history == "count" else None), unit) for day in days]
    return AlertLine(headline, label, days, values)


def _message(address: str, own: pd.DataFrame, run_date: date, config: StoreConfig, views: dict[str, RuleView],
             history: dict, bridges: dict[str, str], report_path: Path | None,
             attachment: Path | None) -> EmailMessage:
    roles = [role for role in ROLES if role in set(own["owner_role"])]
    roles += sorted(set(own["owner_role"]) - set(roles))
    subject = f"[storekpi] {run_date.isoformat()}: {len(own)} alerts for {', '.join(roles)}"
    intro = f"storekpi found {len(own)} alert(s) for you on {run_date.isoformat()} ({', '.join(roles)})."
    text = [intro, ""]
    body = [f"<p>{html.escape(intro)}</p>"]
    for _, store_alerts in own.groupby("store_rank", sort=True):
        store = config.get(store_alerts["store_id"].iloc[0])
        title = f"{store.name} ({store.id}, {store.currency})"
        text += [title, "=" * _display_width(title)]
        body.append(f'<h2 style="font-size:16px;margin:18px 0 6px">{html.escape(title)}</h2>')
        if store_alerts["rule"].isin(SALES_RULES).any():
            bridge = bridges.get(store.id, "no comparable day a week earlier")
            text.append(f"Revenue bridge: {bridge}")
            body.append(f"<p><b>Revenue bridge:</b> {html.escape(bridge)}</p>")
        body.append('<ul style="padding-left:18px">')
        for _, alert in store_alerts.iterrows():
            line = _alert_line(alert, run_date, views.get(alert["rule"], FALLBACK_VIEW), history)
            tag = f"[{alert['severity']}{', ' + alert['owner_role'] if len(roles) > 1 else ''}] "
            text.append(f"- {tag}{line.headline}")
            text.append(f"  last 7 days of {line.history_label} ({line.days[0]:%m-%d} … {line.days[-1]:%m-%d}): "
                        + " · ".join(line.values))
            body.append(_alert_html(tag, line))
        body.append("</ul>")
        text.append("")
    if report_path is not None:
        where = "attached, and at" if attachment else "at"
        text.append(f"The full report is {where} {report_path}")
        uri = Path(report_path).resolve().as_uri()
        body.append(f'<p>The full report is {where} <a href="{html.escape(uri)}">{html.escape(str(report_path))}'
                    "</a>.</p>")
    html_doc = ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>'
                f'{html.escape(subject)}</title></head><body style="font-family:sans-serif;font-size:14px;'
                f'color:#1d2733">{"".join(body)}</body></html>')
    return mailer.message(to=address, subject=subject, text="\n".join(text) + "\n", html=html_doc,
                          attachments=[attachment] if attachment else [])


def _display_width(text: str) -> int:
    """Columns a monospace mail reader gives `text`: CJK characters take two, so underlines fit."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _alert_html(tag: str, line: AlertLine) -> str:
    head = "".join(f'<th style="padding:2px 6px;font-weight:normal;color:#5b6774">{d:%m-%d}</th>'
                   for d in line.days)
    cells = "".join(f'<td style="padding:2px 6px;text-align:right">{html.escape(v)}</td>' for v in line.values)
    return (f"<li style=\"margin-bottom:10px\"><b>{html.escape(tag)}</b>{html.escape(line.headline)}"
            f'<table style="border-collapse:collapse;font-size:12px;margin-top:4px"><caption style="text-align:'
            f'left;color:#5b6774">last 7 days of {html.escape(line.history_label)}</caption><tr>{head}</tr>'
            f"<tr>{cells}</tr></table></li>")

"""Scorecard e-mails (targets.md): each role judged by the numbers it owns, per week and per month.

When D is a Sunday every recipient gets one message with the scorecards of the ISO week ending D, for the roles
they hold, per store; when D is the last day of a month, one with the month's. A Sunday that ends a month sends both
(two messages: different periods, different subjects). The numbers come from marts.role_scorecards; this module
only routes and words them, through the same mailer and outbox as the alert e-mails. Addresses never reach the logs.
"""

from __future__ import annotations

import html
import logging
import math
from datetime import date, timedelta
from email.message import EmailMessage
from pathlib import Path

import pandas as pd

from storekpi import mailer
from storekpi.config import ROLES, StoreConfig
from storekpi.warehouse import Warehouse

log = logging.getLogger(__name__)

ROLE_LABELS = {"ops": "Operations", "marketing": "Marketing", "merchandiser": "Merchandising",
               "customer_service": "Customer service", "data": "Data"}
# kpi -> (label, unit): unit rate | money | count | ratio | per_day
KPIS = {
    "orders_per_day": ("Orders per day", "per_day"),
    "conversion_rate": ("Conversion rate", "rate"),
    "net_sales": ("Net sales", "money"),
    "aov": ("Average order value", "money"),
    "discount_violations": ("Discount violations", "count"),
    "visitors": ("Visitors", "count"),
    "new_buyers": ("New buyers", "count"),
    "ad_spend": ("Ad spend", "money"),
    "roas": ("ROAS", "ratio"),
    "mer": ("MER", "ratio"),
    "stockout_sku_days": ("Stocked-out SKU days", "count"),
    "hero_days_below_min": ("Hero SKU days below minimum", "count"),
    "sell_through_rate_28d": ("28-day sell-through", "rate"),
    "positive_review_rate_30d": ("30-day positive reviews", "rate"),
    "refund_rate": ("Refund rate", "rate"),
    "days_missing_data": ("Days with missing data", "count"),
}


def periods_ending(run_date: date) -> list[tuple[str, date]]:
    """(period_type, period_start) whose scorecard goes out on D: the week on a Sunday, the month on its last day."""
    periods = []
    if run_date.isoweekday() == 7:
        periods.append(("week", run_date - timedelta(days=6)))
    if (run_date + timedelta(days=1)).day == 1:
        periods.append(("month", run_date.replace(day=1)))
    return periods


def period_name(period_type: str, start: date) -> str:
    """`week 2026-W48` or `2026-11`, as the subject says it."""
    if period_type == "week":
        year, week, _ = start.isocalendar()
        return f"week {year}-W{week:02d}"
    return start.strftime("%Y-%m")


def format_value(value: object, unit: str) -> str:
    if value is None or pd.isna(value) or (isinstance(value, float) and math.isnan(value)):
        return "–"
    value = float(value)
    if unit == "rate":
        return f"{value * 100:.2f} %"
    if unit in ("money", "ratio", "per_day"):
        return f"{value:,.2f}"
    return f"{value:,.0f}" if value == int(value) else f"{value:,.2f}"


def verdict(row: pd.Series) -> str:
    if pd.isna(row["direction"]):
        return ""
    if pd.isna(row["met"]):
        return "no data"
    return "met" if bool(row["met"]) else "missed"


def scorecard_rows(wh: Warehouse, period_type: str, start: date) -> pd.DataFrame:
    if not wh.table_exists("marts", "role_scorecards"):
        return pd.DataFrame(columns=["store_id", "role", "kpi", "kpi_order", "actual", "target", "direction", "met",
                                     "period_end", "is_complete"])
    return wh.query_df(
        "select store_id, role, kpi, kpi_order, actual, target, direction, met, period_end, is_complete "
        "from marts.role_scorecards where period_type = ? and period_start = ? order by store_id, role, kpi_order",
        [period_type, start])


def compose(wh: Warehouse, run_date: date, config: StoreConfig) -> list[EmailMessage]:
    """One message per recipient address and period ending D, with the roles that address holds."""
    messages = []
    for period_type, start in periods_ending(run_date):
        rows = scorecard_rows(wh, period_type, start)
        holders: dict[str, dict[str, list]] = {}  # address -> role -> stores
        for store in config.stores:
            for role in ROLES:
                for address in dict.fromkeys(store.recipients.get(role, ())):
                    holders.setdefault(address, {}).setdefault(role, []).append(store)
        for address in sorted(holders):
            messages.append(_message(address, holders[address], rows, period_type, start, run_date))
        log.info("composed %d %s scorecard e-mail(s) for %s", len(holders), period_type, period_name(period_type, start))
    return messages


def deliver(wh: Warehouse, run_date: date, config: StoreConfig, *, outbox: Path | None) -> int:
    """Compose and send the scorecards due on D (none on most days); returns how many messages went out."""
    return len(mailer.send(compose(wh, run_date, config), outbox=outbox))


def _message(address: str, roles: dict[str, list], rows: pd.DataFrame, period_type: str, start: date,
             run_date: date) -> EmailMessage:
    name = period_name(period_type, start)
    ordered = [r for r in ROLES if r in roles]
    end = start + timedelta(days=6) if period_type == "week" else (start + timedelta(days=32)).replace(day=1) \
        - timedelta(days=1)
    title = f"Scorecard {name} ({start} to {end})"
    text = [title, ""]
    parts = [f"<h1>{html.escape(title)}</h1>"]
    for role in ordered:
        text += [ROLE_LABELS[role], "=" * len(ROLE_LABELS[role])]
        parts.append(f"<h2>{html.escape(ROLE_LABELS[role])}</h2>")
        for store in roles[role]:
            own = rows[(rows["store_id"] == store.id) & (rows["role"] == role)]
            text.append(f"{store.name} ({store.id})")
            parts.append(f"<h3>{html.escape(store.name)} ({html.escape(store.id)})</h3>")
            if own.empty:
                text += ["  no KPI days in this period", ""]
                parts.append("<p>No KPI days in this period.</p>")
                continue
            parts.append("<table border='1' cellpadding='4' cellspacing='0'><tr><th>KPI</th><th>actual</th>"
                         "<th>target</th><th></th></tr>")
            for _, row in own.iterrows():
                label, unit = KPIS.get(row["kpi"], (row["kpi"], "count"))
                actual, target = format_value(row["actual"], unit), format_value(row["target"], unit)
                bound = {"at_least": "≥ ", "at_most": "≤ "}.get(row["direction"], "") if pd.notna(row["target"]) else ""
                result = verdict(row)
                text.append(f"  {label:<30} {actual:>14}   target {bound}{target:<14} {result}".rstrip())
                parts.append(f"<tr><td>{html.escape(label)}</td><td align='right'>{html.escape(actual)}</td>"
                             f"<td align='right'>{html.escape(bound + target)}</td><td>{html.escape(result)}</td></tr>")
            parts.append("</table>")
            text.append("")
    text.append("KPIs without a target are shown for context; – means the data is missing.")
    parts.append("<p>KPIs without a target are shown for context; – means the data is missing.</p>")
    subject = f"[storekpi] {name}: scorecard for {', '.join(ordered)}"
    return mailer.message(to=address, subject=subject, text="\n".join(text),
                          html="<html><body>" + "".join(parts) + "</body></html>")

"""targets.md recomputed with pandas for the tests: marts.target_pacing from a pandas kpi_store_daily (the one
tests/kpi_reference.py derives from raw) and the stores.yml text read with plain YAML, not storekpi's config code."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

import pandas as pd

METRIC_COLUMNS = {"net_sales": "net_sales", "orders": "orders", "visitors": "visitors", "new_buyers": "new_buyers",
                  "ad_budget": "ad_spend"}
DEFAULT_BUDGET_TOLERANCE = 0.10


def monthly_targets(doc: dict) -> dict[str, dict[str, dict[str, float]]]:
    """store id -> "YYYY-MM" -> metric -> target: the store's entry merged key by key over the defaults'."""
    defaults = (doc.get("defaults") or {}).get("monthly_targets") or {}
    out = {}
    for store in doc["stores"]:
        merged = {str(m): dict(v) for m, v in defaults.items()}
        for month, values in (store.get("monthly_targets") or {}).items():
            merged.setdefault(str(month), {}).update(values)
        out[store["id"]] = merged
    return out


def threshold_on(doc: dict, store_id: str, key: str, day: date, builtin: float):
    """targets.md precedence: store targets, store thresholds, defaults' targets, defaults' thresholds."""
    defaults = doc.get("defaults") or {}
    store = next(s for s in doc["stores"] if s["id"] == store_id)

    def latest(phases):
        found = None
        for phase in phases or []:
            if date.fromisoformat(str(phase["from"])) <= day and key in phase:
                found = phase[key]
        return found

    for value in (latest(store.get("targets")), (store.get("thresholds") or {}).get(key),
                  latest(defaults.get("targets")), (defaults.get("thresholds") or {}).get(key)):
        if value is not None:
            return value
    return builtin


def expected_target_pacing(daily: pd.DataFrame, doc: dict, D: date, money_in_cents: tuple[str, ...] = ()
                           ) -> pd.DataFrame:
    daily = daily.copy()
    daily["date"] = pd.to_datetime(daily["date"]).dt.date
    for column in money_in_cents:
        daily[column] = daily[column].astype("float64") / 100
    rows = []
    for store_id, months in monthly_targets(doc).items():
        own = daily[daily["store_id"] == store_id]
        for month_text, metrics in months.items():
            month = date.fromisoformat(f"{month_text}-01")
            if month > D.replace(day=1):
                continue
            days_in_month = calendar.monthrange(month.year, month.month)[1]
            last = min(D, month.replace(day=days_in_month))
            days_elapsed = (last - month).days + 1
            for metric, target in metrics.items():
                column = METRIC_COLUMNS[metric]
                in_month = own[(own["date"] >= month) & (own["date"] <= last)]
                values = in_month[column].astype("float64")
                actual = values.sum(min_count=1)
                recent = in_month[in_month["date"] >= last - timedelta(days=6)][column].astype("float64")
                run_rate = recent.mean()  # NaN days are skipped, as the spec says
                projected = actual if days_elapsed == days_in_month else actual + (days_in_month - days_elapsed) * run_rate
                expected = target * days_elapsed / days_in_month
                if pd.isna(projected):
                    on_track = None
                elif column == "ad_spend":
                    tolerance = threshold_on(doc, store_id, "budget_tolerance", last, DEFAULT_BUDGET_TOLERANCE)
                    on_track = round(projected, 6) <= round(target * (1 + tolerance), 6)
                else:
                    on_track = round(projected, 6) >= round(target, 6)
                rows.append({"store_id": store_id, "month": month, "metric": column, "target": float(target),
                             "days_in_month": days_in_month, "days_elapsed": days_elapsed,
                             "actual_to_date": actual, "expected_to_date": expected,
                             "pacing": actual / expected if expected else float("nan"),
                             "run_rate_7d": run_rate, "projected": projected, "on_track": on_track})
    return pd.DataFrame(rows)

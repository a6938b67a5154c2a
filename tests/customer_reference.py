"""customer_segments, customer_ltv and the customer columns of kpi_store_daily in plain pandas, from customers.md.

Nothing here reuses the dbt SQL: it starts from `kpi_reference.order_facts` (paid orders <= D, net sales in cents)
and applies the contract's rules directly; the daily columns recompute the segments from scratch for every date,
where the dbt model works with spells.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

SEGMENT_KEYS = ["store_id", "customer_key"]
LTV_KEYS = ["store_id", "cohort_month", "months_since_first"]


def ntile(n: int, buckets: int = 5) -> np.ndarray:
    """SQL ntile over n sorted rows: the first n % buckets buckets hold one row more."""
    sizes = [n // buckets + (1 if b < n % buckets else 0) for b in range(buckets)]
    return np.repeat(np.arange(1, buckets + 1), sizes)


def segments_as_of(orders: pd.DataFrame, loyal_min_orders: dict[str, int], D: date) -> pd.DataFrame:
    known = orders[orders["customer_key"].notna() & (orders["paid_date"] <= D)]
    in_year = known["paid_date"] >= D - timedelta(days=364)
    known = known.assign(in_year=in_year.astype(int), net_year=np.where(in_year, known["net"], 0))
    frame = known.groupby(SEGMENT_KEYS).agg(
        first_paid_date=("paid_date", "min"), last_paid_date=("paid_date", "max"), orders=("order_id", "count"),
        net_sales=("net", "sum"), orders_365d=("in_year", "sum"), net_sales_365d=("net_year", "sum"),
    ).reset_index()
    frame["recency_days"] = [(D - last).days for last in frame["last_paid_date"]]
    threshold = frame["store_id"].map(loyal_min_orders)
    rules = [
        frame["first_paid_date"] >= D - timedelta(days=29),
        (frame["orders_365d"] >= threshold) & (frame["recency_days"] <= 90),
        (frame["orders"] >= 2) & (frame["recency_days"] > 90) & (frame["recency_days"] <= 180),
        frame["recency_days"] > 180,
        frame["orders"] == 1,
    ]
    frame["segment"] = np.select(rules, ["new", "loyal", "at_risk", "lapsed", "one_off"], "regular")
    return frame


def expected_customer_segments(orders: pd.DataFrame, stores: pd.DataFrame, D: date) -> pd.DataFrame:
    loyal = dict(zip(stores["store_id"], stores["loyal_min_orders"]))
    frame = segments_as_of(orders, loyal, D)
    parts = []
    for _, store in frame.groupby("store_id"):
        store = store.copy()
        for score, column, descending in (("r_score", "recency_days", True), ("f_score", "orders_365d", False),
                                          ("m_score", "net_sales_365d", False)):
            ordered = store.sort_values([column, "customer_key"], ascending=[not descending, True])
            store.loc[ordered.index, score] = ntile(len(ordered))
        parts.append(store)
    frame = pd.concat(parts)
    for score in ("r_score", "f_score", "m_score"):
        frame[score] = frame[score].astype("int64")
    return frame  # net_sales and net_sales_365d in cents


def _month(day: date) -> date:
    return day.replace(day=1)


def _next_month(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def _months(first: date, last: date) -> list[date]:
    months, month = [], first
    while month <= last:
        months.append(month)
        month = _next_month(month)
    return months


def expected_customer_ltv(orders: pd.DataFrame, D: date) -> pd.DataFrame:
    known = orders[orders["customer_key"].notna()].copy()
    known["month"] = known["paid_date"].map(_month)
    cohort = known.groupby(SEGMENT_KEYS)["paid_date"].min().map(_month).rename("cohort_month").reset_index()
    known = known.merge(cohort, on=SEGMENT_KEYS)
    rows = []
    for (store_id, cohort_month), members in known.groupby(["store_id", "cohort_month"]):
        customers = members["customer_key"].nunique()
        net = orders_so_far = 0
        for offset, month in enumerate(_months(cohort_month, _month(D))):
            in_month = members[members["month"] == month]
            net += int(in_month["net"].sum())
            orders_so_far += len(in_month)
            month_end = _next_month(month) - timedelta(days=1)
            rows.append({
                "store_id": store_id, "cohort_month": cohort_month, "months_since_first": offset,
                "customers": customers, "active_customers": in_month["customer_key"].nunique(),
                "cumulative_net_sales_per_customer": net / 100 / customers,
                "cumulative_orders_per_customer": orders_so_far / customers,
                "is_complete": month_end <= D,
            })
    return pd.DataFrame(rows)


def expected_customer_daily(orders: pd.DataFrame, stores: pd.DataFrame, days: pd.DataFrame) -> pd.DataFrame:
    """repurchase_rate_30d and loyal_customers for every (store_id, date) of `days`, each date taken as D."""
    loyal = dict(zip(stores["store_id"], stores["loyal_min_orders"]))
    known = orders[orders["customer_key"].notna()]
    rates, loyal_counts = [], []
    for store_id, day in zip(days["store_id"], days["date"]):
        mine = known[known["store_id"] == store_id]
        base = set(mine.loc[(mine["paid_date"] >= day - timedelta(days=59))
                            & (mine["paid_date"] <= day - timedelta(days=30)), "customer_key"])
        back = set(mine.loc[(mine["paid_date"] >= day - timedelta(days=29))
                            & (mine["paid_date"] <= day), "customer_key"])
        rates.append(len(base & back) / len(base) if base else np.nan)
        segments = segments_as_of(mine, loyal, day) if len(mine) else pd.DataFrame({"segment": []})
        loyal_counts.append(int((segments["segment"] == "loyal").sum()))
    return days.assign(repurchase_rate_30d=rates, loyal_customers=loyal_counts)

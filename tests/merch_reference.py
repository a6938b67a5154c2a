"""product_classes and replenishment computed from raw rows with pandas / numpy / scipy, straight from
merchandising.md. Nothing here reuses the dbt SQL (order facts and stock cover come from `kpi_reference`)."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
from scipy.stats import norm

from tests.kpi_reference import cents, expected_stock_cover, latest, latest_lines, order_facts


def product_days(raw: dict[str, pd.DataFrame], orders: pd.DataFrame, D) -> pd.DataFrame:
    """Per store, SKU and paid date: units, net sales (each line's share of its order's net) and gross profit."""
    lines = latest_lines(raw, D).rename(columns={"_store_id": "store_id"})
    lines = lines[lines["sku"].notna()].merge(orders[["store_id", "order_id", "paid_date", "gross", "net"]],
                                              on=["store_id", "order_id"])
    line_gross = cents(lines["unit_price"]).astype("float64") * lines["quantity"]
    lines["net_sales"] = np.where(lines["gross"] > 0, line_gross * lines["net"] / lines["gross"].where(
        lines["gross"] > 0), 0.0) / 100
    days = lines.groupby(["store_id", "sku", "paid_date"], as_index=False).agg(
        units=("quantity", "sum"), net_sales=("net_sales", "sum"))
    days = days[days["units"] > 0]
    # the cost in force on each day: the latest cost export dated on or before it
    products = raw["products"]
    products = latest(products[products["valid_from"] <= D], ["_store_id", "sku", "valid_from"], D)
    costs = products[products["cost"].notna()].rename(columns={"_store_id": "store_id"})
    costs = costs.assign(unit_cost=cents(costs["cost"]).astype("float64") / 100)
    days["unit_cost"] = np.nan
    for (store, sku), group in days.groupby(["store_id", "sku"]):
        mine = costs[(costs["store_id"] == store) & (costs["sku"] == sku)].sort_values("valid_from")
        for index, day in group["paid_date"].items():
            valid = mine[mine["valid_from"] <= day]
            if len(valid):
                days.loc[index, "unit_cost"] = valid["unit_cost"].iloc[-1]
    days["gross_profit"] = days["net_sales"] - days["units"] * days["unit_cost"]
    return days


def hero_skus(raw: dict[str, pd.DataFrame], days: pd.DataFrame, D) -> set[tuple[str, str]]:
    """The configured hero SKUs; a store without any: its 2 SKUs with the most units in D-27 ... D."""
    configured = raw.get("hero_skus", pd.DataFrame(columns=["store_id", "sku"]))
    heroes = set(map(tuple, configured[["store_id", "sku"]].to_numpy()))
    recent = days[days["paid_date"] >= D - timedelta(days=27)].groupby(["store_id", "sku"])["units"].sum()
    for store in raw["stores"]["store_id"]:
        if store in set(configured["store_id"]):
            continue
        mine = recent[store] if store in recent.index.get_level_values(0) else pd.Series(dtype="int64")
        top = sorted(((-units, sku) for sku, units in mine.items() if units > 0))[:2]
        heroes |= {(store, sku) for _, sku in top}
    return heroes


def abc(values: pd.Series, skus: pd.Series) -> pd.Series:
    """A / B / C by the share of the SKUs sorted before it (value desc, SKU asc)."""
    order = sorted(values.index, key=lambda i: (-values[i], skus[i]))
    total, before, out = values.sum(), 0.0, {}
    for i in order:
        out[i] = "A" if before < 0.80 * total else "B" if before < 0.95 * total else "C"
        before += values[i]
    return pd.Series(out)


def expected_product_classes(raw: dict[str, pd.DataFrame], D) -> pd.DataFrame:
    stores = raw["stores"].set_index("store_id")
    orders = order_facts(raw, D)
    days = product_days(raw, orders, D)
    cover = expected_stock_cover(raw, orders, D)
    latest_snap = cover[cover["date"] == cover["store_id"].map(cover.groupby("store_id")["date"].max())]
    window = days[days["paid_date"] >= D - timedelta(days=89)]
    heroes = hero_skus(raw, days, D)
    rows = []
    keys = set(zip(window["store_id"], window["sku"])) | set(zip(latest_snap["store_id"], latest_snap["sku"]))
    for store, sku in sorted(keys):
        mine = window[(window["store_id"] == store) & (window["sku"] == sku)]
        sold = days[(days["store_id"] == store) & (days["sku"] == sku)]
        snap = latest_snap[(latest_snap["store_id"] == store) & (latest_snap["sku"] == sku)]
        on_hand = snap["on_hand"].iloc[0] if len(snap) else None
        last = sold["paid_date"].max() if len(sold) else None
        dead_days = stores.loc[store, "dead_stock_days"]
        rows.append({
            "store_id": store, "sku": sku, "units_90d": int(mine["units"].sum()),
            "net_sales_90d": float(mine["net_sales"].sum()),
            "gross_profit_90d": float(mine["gross_profit"].sum()) if mine["unit_cost"].notna().all() else np.nan,
            "is_hero": (store, sku) in heroes, "on_hand": on_hand, "last_sold_date": last,
            "dead_stock": bool(on_hand is not None and on_hand > 0
                               and (last is None or last < D - timedelta(days=int(dead_days) - 1))),
        })
    frame = pd.DataFrame(rows)
    frame["margin_90d"] = frame["gross_profit_90d"] / frame["net_sales_90d"].where(frame["net_sales_90d"] != 0)
    parts = []
    for _, group in frame.groupby("store_id"):
        group = group.copy()
        group["sales_share"] = group["net_sales_90d"] / group["net_sales_90d"].sum()
        group["abc_class"] = abc(group["net_sales_90d"], group["sku"])
        group["units_class"] = abc(group["units_90d"].astype(float), group["sku"])
        known = group[group["gross_profit_90d"].notna()]
        group["profit_class"] = abc(known["gross_profit_90d"], known["sku"]) if len(known) else None
        unsold = group["units_90d"] == 0
        group.loc[unsold, ["abc_class", "units_class"]] = "U"
        group.loc[unsold & group["gross_profit_90d"].notna(), "profit_class"] = "U"
        store_margin = known["gross_profit_90d"].sum() / known["net_sales_90d"].sum()
        role = np.select(
            [group["is_hero"], group["dead_stock"], group["profit_class"] == "A",
             (group["units_class"] == "A") & (group["margin_90d"] < store_margin)],
            ["hero", "dead_stock", "profit_driver", "traffic_driver"], "long_tail")
        group["role"] = role
        parts.append(group)
    return pd.concat(parts, ignore_index=True)


def expected_replenishment(raw: dict[str, pd.DataFrame], D) -> pd.DataFrame:
    """replenishment's rows for the snapshot of D."""
    stores = raw["stores"].set_index("store_id")
    orders = order_facts(raw, D)
    cover = expected_stock_cover(raw, orders, D)
    cover = cover[cover["date"] == D].copy()
    days = product_days(raw, orders, D)
    heroes = hero_skus(raw, days, D)
    products = latest(raw["products"], ["_store_id", "sku", "valid_from"], D)
    products = products[products.get("lead_time_days", pd.Series(index=products.index, dtype=float)).notna()]
    products = products.sort_values("valid_from")
    own_lead = products.drop_duplicates(["_store_id", "sku"], keep="last").set_index(["_store_id", "sku"])
    out = []
    for _, row in cover.iterrows():
        store, sku, n = row["store_id"], row["sku"], row["window_days"]
        s = stores.loc[store]
        hero = (store, sku) in heroes
        if pd.isna(n):
            std = np.nan
        else:
            span = pd.date_range(D - timedelta(days=int(n) - 1), D).date
            sold = days[(days["store_id"] == store) & (days["sku"] == sku)].set_index("paid_date")["units"]
            std = float(np.std([sold.get(day, 0) for day in span], ddof=0))  # population standard deviation
        lead = int(own_lead.loc[(store, sku), "lead_time_days"]) if (store, sku) in own_lead.index \
            else int(s["lead_time_days"])
        z = norm.ppf(s["service_level"])
        safety = z * std * np.sqrt(lead)
        point = row["avg_daily_units"] * lead + safety
        if hero:
            point = max(0.0 if np.isnan(point) else point, s["hero_min_on_hand"])
        avg = row["avg_daily_units"]
        if hero:
            up_to = max(point + (0.0 if pd.isna(avg) else avg) * s["review_days"], s["hero_min_on_hand"])
        else:
            up_to = point + avg * s["review_days"]
        have = max(row["on_hand"], 0)
        needs = bool(have <= point and (row["avg_daily_units"] > 0 or hero)) if not np.isnan(point) else False
        out.append({"store_id": store, "sku": sku, "date": D, "demand_std": std, "lead_time_days": lead,
                    "safety_stock": safety, "reorder_point": point, "order_up_to": up_to, "is_hero": hero,
                    "needs_reorder": needs, "suggested_order_qty": int(np.ceil(up_to - have)) if needs else 0})
    return pd.DataFrame(out)

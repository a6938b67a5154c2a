"""The merchandiser's part of each store section (merchandising.md): hero SKUs against their minimum, the reorder
list with quantities, each upcoming promo day's readiness, dead stock, and the ABC / role table with margins.

Reads the published marts product_classes, replenishment (the latest snapshot up to D) and promo_readiness; the
HTML helpers are report.py's, passed in, so both parts of the page look alike.
"""

from __future__ import annotations

from datetime import date
from typing import Callable

import pandas as pd

from storekpi.config import Store

ROLE_ORDER = ("hero", "profit_driver", "traffic_driver", "long_tail", "dead_stock")


def load(frame: Callable[..., pd.DataFrame], run_date: date) -> dict[str, pd.DataFrame]:
    """The frames this section reads; `frame(schema, table, sql, params)` is report._frame."""
    return {
        "classes": frame("marts", "product_classes", "select * from marts.product_classes order by store_id, sku",
                         []),
        "reorder": frame("marts", "replenishment", """
            with latest as (select store_id, max(date) as date from marts.replenishment where date <= ?
                            group by store_id)
            select r.* from marts.replenishment r join latest l on r.store_id = l.store_id and r.date = l.date
            order by r.store_id, r.suggested_order_qty desc, r.sku""", [run_date]),
        "promo": frame("marts", "promo_readiness",
                       "select * from marts.promo_readiness order by store_id, promo_date, shortfall desc, sku", []),
    }


def section(store: Store, data: dict, table: Callable, esc: Callable[[object], str]) -> str:
    """HTML of the merchandising subsection; `table` and `esc` are report._table and report.esc."""
    def mine(name: str) -> pd.DataFrame:
        frame = data.get(name, pd.DataFrame())
        return frame[frame["store_id"] == store.id] if "store_id" in frame.columns else frame.iloc[0:0]

    classes, reorder, promo = mine("classes"), mine("reorder"), mine("promo")
    if classes.empty and reorder.empty:
        return '<p class="note">No product sales or stock up to this day.</p>'
    minimum = int(store.thresholds["hero_min_on_hand"])
    out = [f"<h4>Hero SKUs (keep at least {minimum} on hand)</h4>"]
    heroes = classes[classes["is_hero"].astype(bool)].merge(
        reorder[["sku", "suggested_order_qty"]], on="sku", how="left") if len(classes) else classes
    if heroes.empty:
        out.append('<p class="note">No hero SKU.</p>')
    else:
        heroes = heroes.assign(status=[
            "below minimum" if pd.isna(h) or h < minimum else "ok" for h in heroes["on_hand"]])
        out.append(table(heroes, [("sku", "SKU", "text"), ("status", "status", "text"),
                                  ("on_hand", "on hand", "count"), ("units_90d", "units 90 d", "count"),
                                  ("suggested_order_qty", "order", "count")], store))
    needs = reorder[reorder["needs_reorder"].astype(bool)] if len(reorder) else reorder
    snapshot = reorder["date"].iloc[0] if len(reorder) else None
    out.append(f"<h4>Reorder list{f' (snapshot of {snapshot})' if snapshot is not None else ''}: "
               f"{len(needs)} SKUs</h4>")
    if len(needs):
        out.append(table(needs, [("sku", "SKU", "text"), ("product_name", "product", "text"),
                                 ("on_hand", "on hand", "count"), ("reorder_point", "reorder point", "number"),
                                 ("order_up_to", "order up to", "number"),
                                 ("suggested_order_qty", "order", "count")], store))
    out.append("<h4>Promo readiness</h4>")
    if promo.empty:
        out.append(f'<p class="note">No promo day in the next {int(store.thresholds["promo_horizon_days"])} '
                   "days.</p>")
    for promo_date, day in (promo.groupby("promo_date", sort=True) if len(promo) else ()):
        short = day[day["shortfall"] > 0]
        first = day.iloc[0]
        state = (f'<span class="pill bad">{len(short)} SKUs short</span>' if len(short)
                 else '<span class="pill ok">ready</span>')
        out.append(f"<p><b>{esc(promo_date)}</b> in {int(first['days_until'])} days · decide by "
                   f"{esc(first['decision_due'])} · {state}</p>")
        if len(short):
            out.append(table(short, [("sku", "SKU", "text"), ("on_hand", "on hand", "count"),
                                     ("expected_units", "expected units", "number"),
                                     ("safety_stock", "safety stock", "number"),
                                     ("shortfall", "short", "count")], store))
    dead = classes[classes["dead_stock"].astype(bool)] if len(classes) else classes
    days = int(store.thresholds["dead_stock_days"])
    out.append(f"<h4>Dead stock (on hand, no sale in {days} days): {len(dead)} SKUs</h4>")
    if len(dead):
        out.append(table(dead, [("sku", "SKU", "text"), ("on_hand", "on hand", "count"),
                                ("last_sold_date", "last sold", "text")], store))
    if len(classes):
        out.append("<h4>ABC classes and product roles (90 days)</h4>")
        ranked = classes.assign(_role=classes["role"].map({r: i for i, r in enumerate(ROLE_ORDER)}))
        ranked = ranked.sort_values(["_role", "net_sales_90d", "sku"], ascending=[True, False, True])
        out.append(table(ranked, [("sku", "SKU", "text"), ("role", "role", "text"),
                                  ("abc_class", "sales", "text"), ("units_class", "units", "text"),
                                  ("profit_class", "profit", "text"), ("units_90d", "units", "count"),
                                  ("net_sales_90d", "net sales", "money"), ("sales_share", "share", "rate"),
                                  ("gross_profit_90d", "gross profit", "money"), ("margin_90d", "margin", "rate")],
                         store))
    return "\n".join(out)

"""kpi_store_daily and stock_cover computed from raw rows with plain pandas, straight from kpis.md.

Nothing here reuses the dbt SQL: raw frames are deduplicated (latest export wins), filtered to dates <= D and
aggregated again in pandas. Used by the dbt tests (hand-made raw data) and the integration tests (the generator's
demo data through the whole pipeline).
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd

MONEY_DAILY = ["gross_sales", "discounts", "net_sales", "refunds"]


def cents(series: pd.Series) -> pd.Series:
    """Decimal or text money -> integer cents, exactly."""
    return (pd.to_numeric(series.astype(str), errors="coerce") * 100).round().astype("Int64")


def latest(frame: pd.DataFrame, keys: list[str], D) -> pd.DataFrame:
    """Latest export wins per entity; ties go to the source file that sorts last (exports dated <= D only)."""
    frame = frame[frame["_export_date"] <= D]
    ordered = frame.sort_values(["_export_date", "_source_file", "_row_number"])
    return ordered.drop_duplicates(keys, keep="last")


def latest_lines(raw: dict[str, pd.DataFrame], D) -> pd.DataFrame:
    """An order's lines come as one set from the latest line file that lists it."""
    lines = raw["order_lines"][raw["order_lines"]["_export_date"] <= D]
    sets = lines.sort_values(["_export_date", "_source_file"]).drop_duplicates(["_store_id", "order_id"],
                                                                               keep="last")
    return lines.merge(sets[["_store_id", "order_id", "_source_file"]], on=["_store_id", "order_id", "_source_file"])


def order_facts(raw: dict[str, pd.DataFrame], D) -> pd.DataFrame:
    stores = raw["stores"].set_index("store_id")
    orders = latest(raw["orders"], ["_store_id", "order_id"], D)
    lines = latest_lines(raw, D)
    lines = lines.assign(line_cents=cents(lines["unit_price"]) * lines["quantity"])
    totals = lines.groupby(["_store_id", "order_id"], as_index=False).agg(gross=("line_cents", "sum"),
                                                                        units=("quantity", "sum"))
    orders = orders[orders["paid_at"].notna()].copy()
    orders["paid_date"] = pd.to_datetime(orders["paid_at"]).dt.date
    orders = orders[orders["paid_date"] <= D].merge(totals, on=["_store_id", "order_id"], how="left")
    orders["platform"] = orders["_store_id"].map(stores["platform"])
    taobao = orders["platform"] == "taobao"
    discount = cents(orders["order_discount"]).fillna(0)
    taobao_net = cents(orders["total"]).fillna(0) - cents(orders["shipping"]).fillna(0)
    orders["net"] = np.where(taobao, taobao_net, orders["gross"] - discount).astype("int64")
    orders["disc"] = np.where(taobao, orders["gross"] - taobao_net, discount).astype("int64")
    orders["refund"] = cents(orders["refunded_amount"]).fillna(0).astype("int64")
    return orders.rename(columns={"_store_id": "store_id"})


def expected_stock_cover(raw: dict[str, pd.DataFrame], orders: pd.DataFrame, D) -> pd.DataFrame:
    stores = raw["stores"].set_index("store_id")
    stock = raw["stock"]
    stock = stock[(stock["snapshot_date"] <= D) & (stock["_export_date"] <= D) & stock["sku"].notna()]
    stock = stock.assign(location=stock["location"].fillna(""))
    # sources.md: per SKU and location the latest file wins; its rows of that SKU and location add up
    where = ["_store_id", "snapshot_date", "sku", "location"]
    winner = latest(stock, where, D)[[*where, "_source_file"]]
    stock = stock.merge(winner, on=[*where, "_source_file"])
    cover = stock.groupby(["_store_id", "sku", "snapshot_date"], as_index=False).agg(
        on_hand=("on_hand", lambda v: v.sum(min_count=1)), product_name=("product_name", "max"))
    # 'not stocked' (NULL) adds nothing; a SKU stocked at no location is not in the snapshot
    cover = cover[cover["on_hand"].notna()].astype({"on_hand": "int64"})
    cover = cover.rename(columns={"_store_id": "store_id", "snapshot_date": "date"})
    lines = latest_lines(raw, D)
    sold = lines.rename(columns={"_store_id": "store_id"}).merge(orders[["store_id", "order_id", "paid_date"]],
                                                               on=["store_id", "order_id"])
    pairs = cover[["store_id", "sku", "date"]].merge(sold[["store_id", "sku", "paid_date", "quantity"]],
                                                     on=["store_id", "sku"], how="left")
    in_window = (pairs["paid_date"] <= pairs["date"]) & (pairs["paid_date"] >= pairs["date"] - timedelta(days=27))
    units = pairs[in_window].groupby(["store_id", "sku", "date"])["quantity"].sum().rename("units_28d")
    cover = cover.merge(units.reset_index(), on=["store_id", "sku", "date"], how="left")
    cover["units_28d"] = cover["units_28d"].fillna(0).astype("int64")
    first_paid = orders.groupby("store_id")["paid_date"].min()
    age = (pd.to_datetime(cover["date"]) - pd.to_datetime(cover["store_id"].map(first_paid))).dt.days + 1
    cover["window_days"] = age.clip(upper=28).where(age >= 1)
    cover["avg_daily_units"] = cover["units_28d"] / cover["window_days"]
    cover["days_of_cover"] = (cover["on_hand"].clip(lower=0) / cover["avg_daily_units"]).where(
        cover["avg_daily_units"] > 0)
    cover["stockout"] = cover["on_hand"] <= 0
    threshold = in_force(raw, cover["store_id"], cover["date"], "cover_days_min")
    cover["low_cover"] = ~cover["stockout"] & (cover["days_of_cover"] < threshold).fillna(False)
    return cover


def expected_ad_days(raw: dict[str, pd.DataFrame], D) -> pd.DataFrame:
    """marketing.md: a store's ad spend and attributed sales per day; 0 on a day without rows inside the span of its
    ad rows, no row (NULL) outside it or for a store without ad_spend exports."""
    empty = pd.DataFrame({"store_id": pd.Series(dtype=object), "date": pd.Series(dtype=object),
                          "ad_spend": pd.Series(dtype="float64"), "attributed_sales": pd.Series(dtype="float64")})
    ads = raw.get("ad_spend")
    if ads is None or ads.empty:
        return empty
    ads = ads.assign(campaign=ads["campaign"].str.strip())
    ads = latest(ads[ads["date"] <= D], ["_store_id", "date", "ad_platform", "campaign"], D)
    ads = ads.assign(spend_cents=cents(ads["spend"]), sales_cents=cents(ads["attributed_sales"]))
    daily = ads.groupby(["_store_id", "date"])[["spend_cents", "sales_cents"]].sum()
    rows = []
    for store, group in daily.groupby(level=0):
        dates = group.index.get_level_values(1)
        for day in pd.date_range(min(dates), max(dates)):
            spend, sales = group.loc[(store, day.date())] if (store, day.date()) in group.index else (0, 0)
            rows.append((store, day.date(), int(spend) / 100, int(sales) / 100))
    return pd.DataFrame(rows, columns=list(empty.columns)) if rows else empty


def expected_kpi_store_daily(raw: dict[str, pd.DataFrame], orders: pd.DataFrame, cover: pd.DataFrame, D):
    stores = raw["stores"].set_index("store_id")
    traffic = raw["traffic"]
    traffic = latest(traffic[traffic["date"] <= D], ["_store_id", "date"], D).rename(columns={"_store_id": "store_id"})
    starts = pd.concat([orders.groupby("store_id")["paid_date"].min(), traffic.groupby("store_id")["date"].min()])
    starts = starts.groupby(level=0).min()
    days = pd.DataFrame([(s, d.date()) for s, first in starts.items() for d in pd.date_range(first, D)],
                        columns=["store_id", "date"])
    anonymous = orders["customer_key"].isna()
    daily = orders.assign(anon=anonymous).groupby(["store_id", "paid_date"]).agg(
        orders=("order_id", "count"), known=("customer_key", "nunique"), anon=("anon", "sum"), units=("units", "sum"),
        gross_sales=("gross", "sum"), discounts=("disc", "sum"), net_sales=("net", "sum"), refunds=("refund", "sum"))
    daily["buyers"] = daily["known"] + daily["anon"]
    firsts = orders[~anonymous].groupby(["store_id", "customer_key"])["paid_date"].min().reset_index()
    first_counts = firsts.groupby(["store_id", "paid_date"]).size().rename("first_timers")
    daily = daily.join(first_counts, how="left").fillna({"first_timers": 0})
    daily["new_buyers"] = daily["first_timers"] + daily["anon"]
    frame = days.merge(daily.reset_index().rename(columns={"paid_date": "date"}), on=["store_id", "date"], how="left")
    for column in ["orders", "buyers", "units", "new_buyers", *MONEY_DAILY]:
        frame[column] = frame[column].fillna(0).astype("int64")
    frame = frame.merge(traffic[["store_id", "date", "visitors", "sessions", "pageviews"]], on=["store_id", "date"],
                        how="left")
    ratio = lambda a, b: (a / b.where(b != 0)).astype("float64")  # noqa: E731 - NULL when the denominator is 0
    frame["aov"] = ratio(frame["net_sales"] / 100, frame["orders"])
    frame["sales_per_buyer"] = ratio(frame["net_sales"] / 100, frame["buyers"])
    frame["units_per_order"] = ratio(frame["units"], frame["orders"])
    frame["conversion_rate"] = ratio(frame["orders"], frame["visitors"])
    frame["buyer_conversion_rate"] = ratio(frame["buyers"], frame["visitors"])
    frame["returning_buyers"] = frame["buyers"] - frame["new_buyers"]
    frame["returning_buyer_rate"] = ratio(frame["returning_buyers"], frame["buyers"])
    frame["refund_rate"] = ratio(frame["refunds"], frame["net_sales"])
    # reviews (latest export per review), on their local date
    reviews = raw["reviews"]
    reviews = latest(reviews, ["_store_id", "review_id"], D).rename(columns={"_store_id": "store_id"})
    reviews["date"] = pd.to_datetime(reviews["reviewed_at"]).dt.date
    reviews = reviews[reviews["date"] <= D]
    frame["reviews"] = frame.merge(reviews.groupby(["store_id", "date"]).size().rename("n").reset_index(),
                                   on=["store_id", "date"], how="left")["n"].fillna(0).astype("int64")
    window = frame[["store_id", "date"]].merge(reviews[["store_id", "date", "rating"]].rename(
        columns={"date": "review_date"}), on="store_id")
    window = window[(window["review_date"] <= window["date"])
                    & (window["review_date"] >= window["date"] - timedelta(days=29))]
    rate = window.groupby(["store_id", "date"])["rating"].agg(lambda r: (r >= 4).mean()).rename("rate")
    frame = frame.merge(rate.reset_index(), on=["store_id", "date"], how="left")
    frame["positive_review_rate_30d"] = frame.pop("rate")
    snap = cover.groupby(["store_id", "date"]).agg(
        skus_in_snapshot=("sku", "count"), skus_stockout=("stockout", "sum"), skus_low_cover=("low_cover", "sum"),
        selling=("units_28d", lambda u: (u > 0).sum()))
    snap["sell_through_rate_28d"] = snap.pop("selling") / snap["skus_in_snapshot"]
    frame = frame.merge(snap.reset_index(), on=["store_id", "date"], how="left")
    frame["platform"] = frame["store_id"].map(stores["platform"])
    frame["currency"] = frame["store_id"].map(stores["currency"])
    frame["daily_orders_target"] = in_force(raw, frame["store_id"], frame["date"], "daily_orders_min")
    frame = frame.merge(expected_ad_days(raw, D), on=["store_id", "date"], how="left")
    frame["mer"] = ratio(frame["net_sales"] / 100, frame["ad_spend"])
    frame["ad_spend_share"] = ratio(frame["ad_spend"], frame["net_sales"] / 100)
    frame["new_buyer_cac"] = ratio(frame["ad_spend"], frame["new_buyers"])
    # customers.md: repurchase_rate_30d and loyal_customers, the segments recomputed for every date
    from tests.customer_reference import expected_customer_daily

    customer = expected_customer_daily(orders, raw["stores"], frame[["store_id", "date"]])
    frame["repurchase_rate_30d"] = customer["repurchase_rate_30d"].to_numpy()
    frame["loyal_customers"] = customer["loyal_customers"].to_numpy()
    # targets.md: the conversion target in force and the visitors the plan (and the goal) need at it
    frame["conversion_rate_target"] = in_force(raw, frame["store_id"], frame["date"], "conversion_rate_min")
    goal = frame["store_id"].map(stores["goal_daily_orders"]) if "goal_daily_orders" in stores else np.nan
    target = frame["conversion_rate_target"].where(frame["conversion_rate_target"] > 0)
    frame["visitors_needed"] = frame["daily_orders_target"] / target
    frame["visitors_needed_for_goal"] = pd.Series(goal, index=frame.index, dtype="float64") / target
    return frame




def in_force(raw: dict[str, pd.DataFrame], store_ids: pd.Series, dates: pd.Series, key: str) -> pd.Series:
    """targets.md: a threshold per row, the raw.store_thresholds phase holding the row's date (raw.stores when the
    store has no phase)."""
    out = store_ids.map(raw["stores"].set_index("store_id")[key]).astype("float64")
    phases = raw.get("store_thresholds")
    if phases is None or phases.empty:
        return out
    days = pd.to_datetime(pd.Series(dates)).dt.date
    for phase in phases.to_dict("records"):
        start = pd.to_datetime(phase["valid_from"]).date()
        end = None if pd.isna(phase["valid_to"]) else pd.to_datetime(phase["valid_to"]).date()
        mask = (store_ids == phase["store_id"]) & (days >= start) & ((days < end) if end else True)
        out[mask] = float(phase[key])
    return out


def expected_marts(raw: dict[str, pd.DataFrame], D) -> dict[str, pd.DataFrame]:
    orders = order_facts(raw, D)
    cover = expected_stock_cover(raw, orders, D)
    return {"stock_cover": cover, "kpi_store_daily": expected_kpi_store_daily(raw, orders, cover, D)}


def assert_frames_equal(actual: pd.DataFrame, wanted: pd.DataFrame, keys: list[str], money: list[str],
                        rtol: float = 1e-12) -> None:
    assert len(actual) == len(wanted) > 0
    actual = actual.sort_values(keys).reset_index(drop=True)
    wanted = wanted.sort_values(keys).reset_index(drop=True)
    for column in actual.columns:
        got, want = actual[column], wanted[column]
        if column in money:
            assert cents(got).tolist() == want.tolist(), column
        elif column in keys or not pd.api.types.is_numeric_dtype(got) or pd.api.types.is_bool_dtype(got):
            assert got.astype(str).tolist() == want.astype(str).tolist(), column
        else:
            got, want = got.astype("float64").to_numpy(), want.astype("float64").to_numpy()
            assert (np.isnan(got) == np.isnan(want)).all(), column
            assert np.allclose(got, want, rtol=rtol, atol=1e-9 if rtol > 1e-12 else 0, equal_nan=True), column

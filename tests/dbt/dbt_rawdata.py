"""A small raw dataset for the dbt tests, written straight into `raw.*` (no generator, no ingest).

Hand-written edge cases (kept in `HAND` so tests can check them by value) plus a seeded random month of orders,
traffic, reviews, stock and catalogue for three stores, one per platform. Rows dated after the run date D and
exports from folders after D are included on purpose: the marts must ignore them.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from decimal import Decimal
from statistics import NormalDist

import pandas as pd

from storekpi import schema
from storekpi.config import DEFAULT_THRESHOLDS

RUN_DATE = date(2026, 11, 20)
FIRST_DAY = date(2026, 10, 12)
LOADED_AT = datetime(2026, 11, 21, 3, 0, 0)
STORES = {  # store_id -> (platform, currency)
    "shop": ("shopify", "USD"),
    "tmall": ("taobao", "CNY"),
    "gen": ("generic", "EUR"),
}
SKUS = ["S1", "S2", "S3", "S4", "S5", "S6"]  # S6 is stocked but never sold
LIST_PRICES = {"S1": Decimal("20.00"), "S2": Decimal("35.50"), "S3": Decimal("9.90"), "S4": Decimal("120.00"),
               "S5": Decimal("4.25"), "S6": Decimal("60.00")}


def money(value: str | float) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


class RawBuilder:
    """Collects raw rows with lineage, one list per table."""

    def __init__(self) -> None:
        self.rows: dict[str, list[dict]] = {t: [] for t in schema.RAW}
        self.row_numbers: dict[str, int] = {}

    def add(self, table: str, store: str, export_date: date, file: str, **values) -> None:
        path = f"{store}/{table if table != 'order_lines' else 'orders'}/{export_date.isoformat()}/{file}"
        self.row_numbers[path] = self.row_numbers.get(path, 1) + 1
        self.rows[table].append({
            **values, "_store_id": store, "_source_file": path, "_row_number": self.row_numbers[path],
            "_export_date": export_date, "_batch_id": "test", "_loaded_at": LOADED_AT,
        })

    def order(self, store: str, export_date: date, order_id: str, *, paid_at: datetime | None,
              customer_key: str | None, lines: list[tuple[str, int, Decimal]], discount: Decimal = Decimal("0"),
              refund: Decimal = Decimal("0"), shipping: Decimal = Decimal("0"), compare_at: dict | None = None,
              suffix: str = "") -> None:
        """One order in the platform's export shape (Taobao: separate order and line reports)."""
        platform = STORES[store][0]
        gross = sum((q * p for _, q, p in lines), Decimal("0"))
        order_file = {"shopify": "orders_export.csv", "taobao": "ExportOrderList.csv",
                      "generic": "orders.csv"}[platform] + suffix
        line_file = "ExportOrderDetailList.csv" + suffix if platform == "taobao" else order_file
        order = {"order_id": order_id, "customer_key": customer_key, "currency": STORES[store][1],
                 "paid_at": paid_at, "created_at": paid_at or datetime.combine(export_date, datetime.min.time()),
                 "refunded_amount": refund, "shipping": shipping}
        if platform == "taobao":
            # buyer paid goods after seller discount plus shipping: discount is implied by total - shipping
            order |= {"total": gross - discount + shipping, "goods_amount": gross - discount, "status": "交易成功",
                      "item_count": sum(q for _, q, _ in lines)}
        else:
            order |= {"order_discount": discount, "total": gross - discount + shipping}
        self.add("orders", store, export_date, order_file, **order)
        for number, (sku, quantity, price) in enumerate(lines, start=1):
            line = {"order_id": order_id, "line_number": number, "sku": sku, "product_name": f"Product {sku}",
                    "quantity": quantity, "unit_price": price}
            if platform == "shopify":
                line["compare_at_price"] = (compare_at or {}).get(sku)
            else:
                line["list_price"] = LIST_PRICES[sku] if platform == "taobao" else (compare_at or {}).get(sku)
            self.add("order_lines", store, export_date, line_file, **line)

    def frames(self) -> dict[str, pd.DataFrame]:
        return {table: pd.DataFrame(rows) for table, rows in self.rows.items() if rows}


def _at(day: date, hh: int, mm: int = 0, ss: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, ss)


D = RUN_DATE


def hand_rows(b: RawBuilder) -> None:
    """Edge cases of kpis.md, on days the random generator leaves alone (store 'shop', 11-19 and 11-20)."""
    d19, d20 = D - timedelta(days=1), D
    # multi-line order paid one second before local midnight: counts on 11-19; re-exported on 11-20 with a refund
    lines = [("S1", 2, money("20.00")), ("S2", 1, money("35.50"))]
    b.order("shop", d19, "#H1", paid_at=_at(d19, 23, 59, 59), customer_key="k_hand1", lines=lines,
            discount=money("5.50"))
    b.order("shop", d20, "#H1", paid_at=_at(d19, 23, 59, 59), customer_key="k_hand1", lines=lines,
            discount=money("5.50"), refund=money("10.00"))
    # unpaid order: never counts
    b.order("shop", d20, "#H2", paid_at=None, customer_key="k_hand1", lines=[("S1", 1, money("20.00"))])
    # guest order paid one second after midnight: counts on 11-20 as a new one-off buyer
    b.order("shop", d20, "#H3", paid_at=_at(d20, 0, 0, 1), customer_key=None, lines=[("S3", 3, money("9.90"))])
    # the same customer again on 11-20: a returning buyer
    b.order("shop", d20, "#H4", paid_at=_at(d20, 9, 30), customer_key="k_hand1", lines=[("S4", 1, money("120.00"))],
            discount=money("40.00"))  # 80/120 = 66.7 % of price: no compare-at price, no catalogue row for shop
    # paid after D, exported after D: ignored by the run for D
    b.order("shop", D + timedelta(days=1), "#H5", paid_at=_at(D + timedelta(days=1), 8),
            customer_key="k_hand2", lines=[("S1", 1, money("20.00"))])
    # traffic for 11-19 exported twice: the later export (corrected to 130 visitors) wins
    b.add("traffic", "shop", d19, "sessions.csv", date=d19, visitors=125, sessions=150, pageviews=400)
    b.add("traffic", "shop", d20, "sessions.csv", date=d19, visitors=130, sessions=160, pageviews=420)
    b.add("traffic", "shop", d20, "sessions.csv", date=d20, visitors=90, sessions=100, pageviews=300)
    b.add("traffic", "shop", D + timedelta(days=1), "sessions.csv", date=D + timedelta(days=1), visitors=1,
          sessions=1, pageviews=1)


def boundary_rows(b: RawBuilder) -> None:
    """Rule boundaries pinned by value in test_marts_values (store 'tmall', whose prices are its list prices).

    Two customers first paid on 08-20 (so tmall's calendar starts then) and came back 90 and 91 days later; two
    orders on 11-16 sold S4 (list 120.00) at exactly 70 % and one cent below it.
    """
    first, d16 = date(2026, 8, 20), D - timedelta(days=4)
    for customer, again in (("k_h90", date(2026, 11, 18)), ("k_h91", date(2026, 11, 19))):
        b.order("tmall", first, f"#{customer}a", paid_at=_at(first, 10), customer_key=customer,
                lines=[("S5", 1, LIST_PRICES["S5"])])
        b.order("tmall", again, f"#{customer}b", paid_at=_at(again, 10), customer_key=customer,
                lines=[("S5", 1, LIST_PRICES["S5"])])
    b.order("tmall", d16, "#F70", paid_at=_at(d16, 11), customer_key=None, lines=[("S4", 1, money("84.00"))])
    b.order("tmall", d16, "#F69", paid_at=_at(d16, 11), customer_key=None, lines=[("S4", 1, money("83.99"))])


def random_rows(b: RawBuilder, seed: int = 7) -> None:
    """A month of ordinary business per store; folders are weekly-ish with overlaps and re-exports."""
    rng = random.Random(seed)
    for store, (platform, _) in STORES.items():
        start = FIRST_DAY + timedelta(days=list(STORES).index(store) * 9)  # 'gen' is a young store
        day = start
        n = 0
        while day <= D + timedelta(days=1):
            export_day = day if rng.random() < 0.8 else day + timedelta(days=1)
            skip_orders = store == "shop" and day >= D - timedelta(days=1)  # hand rows own those days
            for _ in range(0 if skip_orders else rng.randint(0, 6)):
                n += 1
                order_id = f"{store[:2].upper()}{n:04d}"
                hour = rng.choice([0, 1, 9, 12, 18, 23])
                paid_at = None if rng.random() < 0.1 else _at(day, hour, rng.randint(0, 59), rng.randint(0, 59))
                customer = None if rng.random() < 0.2 else f"k_{store}_{rng.randint(1, 15)}"
                lines = [(sku, rng.randint(1, 3), LIST_PRICES[sku] if rng.random() < 0.7
                          else money(LIST_PRICES[sku] * Decimal("0.6")))
                         for sku in rng.sample(SKUS[:5], rng.randint(1, 3))]
                discount = money(rng.choice([0, 0, 0, 1.5, 5]))
                shipping = money(rng.choice([0, 6, 10])) if platform == "taobao" else Decimal("0.00")
                compare_at = {sku: LIST_PRICES[sku] for sku, _, _ in lines} if platform != "taobao" else None
                b.order(store, export_day, order_id, paid_at=paid_at, customer_key=customer, lines=lines,
                        discount=discount, shipping=shipping, compare_at=compare_at)
                if paid_at is not None and rng.random() < 0.15:  # re-exported later with a refund
                    later = export_day + timedelta(days=rng.randint(1, 3))
                    b.order(store, later, order_id, paid_at=paid_at, customer_key=customer, lines=lines,
                            discount=discount, shipping=shipping, compare_at=compare_at,
                            refund=money(rng.choice([5, 20, 999])), suffix=".re")
            if not (store == "shop" and day >= D - timedelta(days=1)) and rng.random() < 0.9:
                b.add("traffic", store, export_day, "traffic.csv", date=day, visitors=rng.randint(0, 400),
                      sessions=rng.randint(400, 500), pageviews=rng.randint(500, 900))
            for r in range(rng.randint(0, 3)):
                b.add("reviews", store, export_day, "reviews.csv", review_id=f"{store}-{day}-{r}",
                      reviewed_at=_at(day, rng.choice([0, 12, 23]), 5), rating=rng.choice([1, 3, 4, 5, 5, 5]),
                      product="S1")
            if (day - start).days % 6 == 5 or day == D:
                for sku in SKUS:
                    for location in ("A", "B"):
                        b.add("stock", store, day, f"stock_{location}.csv", snapshot_date=day, sku=sku,
                              location=location, product_name=f"Product {sku}",
                              on_hand=rng.choice([-2, 0, 0, 1, 3, 8, 20, 50]))
            day += timedelta(days=1)
        b.add("products", store, start, "products.csv", valid_from=start, sku="S2", product_name="Product S2",
              list_price=money("40.00"))
        # costs (merchandising.md): S3 from the start; S1 only from D-10 (8.00), raised to 9.00 from D-5
        b.add("products", store, start, "costs.csv", valid_from=start, sku="S3", product_name="Product S3",
              list_price=LIST_PRICES["S3"], cost=money("4.00"))
        for valid_from, cost in ((D - timedelta(days=10), "8.00"), (D - timedelta(days=5), "9.00")):
            b.add("products", store, valid_from, "costs.csv", valid_from=valid_from, sku="S1",
                  product_name="Product S1", list_price=LIST_PRICES["S1"], cost=money(cost))


def build_frames() -> dict[str, pd.DataFrame]:
    b = RawBuilder()
    hand_rows(b)
    boundary_rows(b)
    random_rows(b)
    frames = b.frames()
    frames["stores"] = pd.DataFrame([
        {"store_id": s, "name": s.title(), "platform": p, "timezone": "UTC", "currency": c,
         "conversion_rate_min": 0.02, "positive_review_rate_min": 0.985, "daily_orders_min": 3,
         "cover_days_min": 7.0, "discount_floor": 0.7, "max_quarantine_share": 0.05,
         "loyal_min_orders": 2 if s == "gen" else 3}
        for s, (p, c) in STORES.items()
    ] + [{"store_id": "idle", "name": "Idle", "platform": "generic", "timezone": "UTC", "currency": "EUR",
          "conversion_rate_min": 0.02, "positive_review_rate_min": 0.985, "daily_orders_min": 3,
          "cover_days_min": 7.0, "discount_floor": 0.7, "max_quarantine_share": 0.05,
          "loyal_min_orders": 3}])
    # merchandising thresholds at their stores.yml defaults (the pipeline always writes every threshold)
    for key in ("hero_min_on_hand", "lead_time_days", "review_days", "service_level", "promo_lift",
                "dead_stock_days", "promo_horizon_days", "pacing_min", "budget_tolerance", "refund_rate_max"):
        frames["stores"][key] = DEFAULT_THRESHOLDS[key]
    frames["stores"]["service_level_z"] = NormalDist().inv_cdf(DEFAULT_THRESHOLDS["service_level"])
    # targets.md: shop has a daily order goal; tmall's plan raises its targets from 11-10 (two phases); monthly
    # targets for shop (every metric, October and November) and tmall (orders only, November)
    frames["stores"]["goal_daily_orders"] = [20.0, None, None, None]
    base = frames["stores"].set_index("store_id")
    phases = []
    for store_id in base.index:
        row = {c: base.loc[store_id, c] if c in base.columns else None for c in schema.THRESHOLD_COLUMNS}
        if store_id != "tmall":
            phases.append({"store_id": store_id, "valid_from": date(1900, 1, 1), "valid_to": None, **row})
            continue
        phases.append({"store_id": store_id, "valid_from": date(1900, 1, 1), "valid_to": date(2026, 11, 10), **row})
        phases.append({"store_id": store_id, "valid_from": date(2026, 11, 10), "valid_to": None,
                       **row, "daily_orders_min": 5, "conversion_rate_min": 0.03})
    frames["store_thresholds"] = pd.DataFrame(phases)
    frames["monthly_targets"] = pd.DataFrame(
        [{"store_id": "shop", "month": date(2026, m, 1), "metric": metric, "target": target}
         for m in (10, 11) for metric, target in (("net_sales", 5000.0), ("orders", 90.0), ("visitors", 2000.0),
                                                  ("new_buyers", 40.0), ("ad_budget", 600.0))]
        + [{"store_id": "tmall", "month": date(2026, 11, 1), "metric": "orders", "target": 150.0}])
    # 11-11, and one promo day after D inside the 14-day horizon of promo_readiness
    frames["promo_days"] = pd.DataFrame([{"store_id": s, "date": d} for s in STORES
                                         for d in (date(2026, 11, 11), date(2026, 11, 27))])
    return frames

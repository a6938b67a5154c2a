"""Exports of an ERP in the generic snake_case layout: nightly UTF-8 CSV orders (order-level amounts on the first
line only), weekly 14-day re-exports alternating Parquet (typed columns) and CSV (order-level amounts repeated on
every line), a traffic CSV, reviews (a zero-byte file when a day has none), a stock CSV and a Parquet catalogue.
Receiver name, phone and address ride along as the ERP exports them; the adapter must drop them."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from storekpi.generate import files, people
from storekpi.generate.activity import PRELIMINARY_SHARE
from storekpi.generate.base import (REVIEW_WINDOW, TRAFFIC_WINDOW, WEEKLY_WINDOW, ExportFile, Store, assign_cases,
                                    busiest_days, day_range_seconds, products_file, set_cell, victims, visible,
                                    weekly_days)
from storekpi.generate.text import (NO_TIME, blank_where, choose, csv_bytes, integers, join, money, pick, text,
                                    timestamps)

_BAD_CELLS = {
    "negative_quantity": ("quantity", "-1"),
    "non_integer_quantity": ("quantity", "1.5"),
    "unparseable_date": ("paid_at", "0000-00-00 00:00:00"),
    "unparseable_amount": ("unit_price", "#VALUE!"),
}
_POSITIVE = ["Sehr schöne Qualität", "Schnelle Lieferung", "Wie beschrieben, gerne wieder", "Top!"]
_NEGATIVE = ["Leider beschädigt angekommen", "Farbe weicht ab", "Lieferung dauerte zu lange"]
_MONEY_COLUMNS = ("unit_price", "list_price", "order_discount", "shipping", "refunded_amount")
_TIME_COLUMNS = ("created_at", "paid_at", "cancelled_at")


def exports(store: Store) -> list[ExportFile]:
    weekly = weekly_days(store.days)
    as_parquet = {d: k % 2 == 0 for k, d in enumerate(reversed(weekly))}  # the newest re-export is Parquet
    csv_weekly = [d for d in reversed(weekly) if not as_parquet[d]]
    carriers = csv_weekly or busiest_days(store, 4)
    cases = assign_cases(carriers)
    out = []
    for day in range(store.days):
        nightly = store.book.orders_created(day, day)
        out.append(_orders_file(store, day, nightly, store.nightly_at(day), f"orders_{store.date(day)}.csv",
                                cases.get(day, []) if not csv_weekly else [], repeat=False))
        if day in weekly:
            first = max(0, day - WEEKLY_WINDOW + 1)
            window = store.book.orders_created(first, day)
            name = f"orders_{store.date(first)}_{store.date(day)}"
            if as_parquet[day]:
                out.append(_orders_parquet(store, day, window, store.weekly_at(day), name + ".parquet"))
            else:
                out.append(_orders_file(store, day, window, store.weekly_at(day), name + ".csv",
                                        cases.get(day, []), repeat=True))
        out.append(_traffic_file(store, day))
        out.append(_reviews_file(store, day))
        out.append(_stock_file(store, day))
        if day in (0, store.book.reprice_day):
            out.append(products_file(store, day, parquet=True))
    return out


def _order_columns(store: Store, orders: np.ndarray, at: int, *, repeat: bool) -> dict[str, pa.Array]:
    book, cat = store.book, store.catalogue
    lines = book.lines_of(orders)
    o = book.line_order[lines]
    later = (book.line_no[lines] > 1) & (not repeat)
    who = people.person(book.customer[o], o)
    sku = book.sku[lines]

    def order_level(values: pa.Array) -> pa.Array:
        return blank_where(values, later)

    return {
        "order_id": join("SO", integers(100_001 + o)),
        "customer_id": blank_where(join("C", integers(200_000 + np.maximum(book.customer[o], 0))),
                                   book.customer[o] < 0),
        "created_at": timestamps(book.created[o]),
        "paid_at": timestamps(np.where(visible(book.paid[o], at), book.paid[o], NO_TIME)),
        "cancelled_at": timestamps(np.where(visible(book.cancelled[o], at), book.cancelled[o], NO_TIME)),
        "currency": pick([store.profile.currency, store.profile.foreign_currency or "USD"],
                         book.foreign[o].astype(int)),
        "sku": pick(cat.sku, sku),
        "product_name": pick(cat.name, sku),
        "quantity": integers(book.qty[lines]),
        "unit_price": money(book.price[lines]),
        "list_price": money(book.list_price[lines]),
        "order_discount": order_level(money(book.discount[o])),
        "shipping": order_level(money(book.shipping[o])),
        "refunded_amount": order_level(money(np.where(visible(book.refunded_at[o], at), book.refund[o], 0))),
        "channel": pick(["webshop", "marketplace"], (o % 4 == 0).astype(int)),
        "receiver_name": people.names(who),
        "receiver_phone": join("+49 30 5550", integers(who % 1000)),
        "receiver_address": join(people.streets(who), people.cities(who), sep=", "),
    }


def _orders_file(store: Store, day: int, orders: np.ndarray, at: int, name: str, cases: list[str], *,
                 repeat: bool) -> ExportFile:
    columns = _order_columns(store, orders, at, repeat=repeat)
    rows_of_order = np.cumsum(np.r_[0, store.book.n_lines[orders][:-1]])
    for case, position in zip(cases, victims(store, orders, at, len(cases))):
        column, value = _BAD_CELLS[case]
        set_cell(columns, column, int(rows_of_order[position]), value)
    return ExportFile("orders", store.date(day), name, csv_bytes(columns), len(columns["order_id"]), tuple(cases))


def _orders_parquet(store: Store, day: int, orders: np.ndarray, at: int, name: str) -> ExportFile:
    columns = _order_columns(store, orders, at, repeat=True)
    typed = dict(columns)
    typed["quantity"] = columns["quantity"].cast(pa.int64())
    for column in _MONEY_COLUMNS:
        typed[column] = columns[column].cast(pa.decimal128(18, 2))
    for column in _TIME_COLUMNS:
        typed[column] = columns[column].cast(pa.timestamp("s"))
    table = pa.table(typed)
    return ExportFile("orders", store.date(day), name, files.parquet(table), table.num_rows)


def _traffic_file(store: Store, day: int) -> ExportFile:
    first = max(0, day - TRAFFIC_WINDOW + 1)
    days = np.arange(first, day + 1)
    settling = np.where(days == day, PRELIMINARY_SHARE, 1.0)
    plan = store.plan
    columns = {
        "date": text([store.date(int(d)).isoformat() for d in days]),
        "visitors": integers(np.round(plan.visitors[days] * settling)),
        "sessions": integers(np.round(plan.sessions[days] * settling)),
        "pageviews": integers(np.round(plan.pageviews[days] * settling)),
    }
    return ExportFile("traffic", store.date(day), f"traffic_{store.date(day)}.csv", csv_bytes(columns), len(days))


def _reviews_file(store: Store, day: int) -> ExportFile:
    lo, hi = day_range_seconds(store, max(0, day - REVIEW_WINDOW + 1), day)
    rv = store.reviews
    rows = np.flatnonzero((rv.at >= lo) & (rv.at < hi))
    name = f"reviews_{store.date(day)}.csv"
    if not len(rows):  # the ERP writes nothing at all, not even a header, on a day without reviews
        return ExportFile("reviews", store.date(day), name, b"", 0)
    phrase = rv.phrase[rows]
    rating = rv.rating[rows]
    columns = {
        "review_id": join("RV-", integers(rv.order[rows] + 500_000)),
        "reviewed_at": timestamps(rv.at[rows]),
        "rating": integers(rating),
        "sku": pick(store.catalogue.sku, rv.sku[rows]),
        "order_id": join("SO", integers(100_001 + rv.order[rows])),
        "body": choose(rating >= 4, pick(_POSITIVE, phrase % len(_POSITIVE)),
                       pick(_NEGATIVE, phrase % len(_NEGATIVE))),
    }
    return ExportFile("reviews", store.date(day), name, csv_bytes(columns), len(rows))


def _stock_file(store: Store, day: int) -> ExportFile:
    cat = store.catalogue
    skus = np.flatnonzero(cat.stocked)
    columns = {"sku": pick(cat.sku, skus), "on_hand": integers(store.stock[day, skus]),
               "product_name": pick(cat.name, skus)}
    return ExportFile("stock", store.date(day), f"stock_{store.date(day)}.csv", csv_bytes(columns), len(skus))

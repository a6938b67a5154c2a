"""Shopify exports as the admin writes them: `orders_export_1.csv` (one row per line item, order fields on the first
row only, timestamps with an offset), the analytics sessions report, product reviews (Shopify Product Reviews
layout, then Judge.me after the shop switched apps), the inventory export (two locations, with a BOM) and the
"Export products" catalogue. The weekly 14-day re-export is gzipped next to the nightly file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from storekpi.generate import files, people
from storekpi.generate.activity import PRELIMINARY_SHARE
from storekpi.generate.base import (REVIEW_WINDOW, TRAFFIC_WINDOW, WEEKLY_WINDOW, ExportFile, Store, assign_cases,
                                    busiest_days, day_range_seconds, set_cell, tz_offsets, victims,
                                    visible, weekly_days)
from storekpi.generate.catalogue import Catalogue
from storekpi.generate.orders import OrderBook
from storekpi.generate.products import shopify_products_csv
from storekpi.generate.text import (NO_TIME, blank_where, choose, constant, csv_bytes, integers, join, money,
                                    pick, text, timestamps)

FIRST_ORDER_NUMBER = 1001
_CHUNK_ORDERS = 150_000
_STATUS = ["voided", "pending", "refunded", "partially_refunded", "paid"]
_BAD_CELLS = {  # case -> (column, value)
    "negative_quantity": ("Lineitem quantity", "-1"),
    "non_integer_quantity": ("Lineitem quantity", "1.5"),
    "unparseable_date": ("Paid at", "Invalid date"),
    "unparseable_amount": ("Lineitem price", "#VALUE!"),
}
_POSITIVE = ["Love it!", "Great quality", "Exactly as pictured", "Beautiful, will buy again", "Fast shipping"]
_NEGATIVE = ["Arrived damaged", "Not as described", "Color is off", "Took weeks to arrive"]


def exports(store: Store) -> list[ExportFile]:
    weekly = weekly_days(store.days)
    cases = assign_cases(weekly[::-1] or busiest_days(store, 4))
    out = []
    for day in range(store.days):
        nightly = store.book.orders_created(day, day)
        out.append(_orders_file(store, day, nightly, store.nightly_at(day), "orders_export_1.csv",
                                cases.get(day, []) if not weekly else []))
        if day in weekly:
            window = store.book.orders_created(max(0, day - WEEKLY_WINDOW + 1), day)
            out.append(_orders_file(store, day, window, store.weekly_at(day), "orders_export_1.csv.gz",
                                    cases.get(day, [])))
        out.append(_traffic_file(store, day))
        out.append(_reviews_file(store, day))
        out.append(_stock_file(store, day))
        if day in (0, store.book.reprice_day):
            out.append(_products_file(store, day))
    return out


def write_orders(path: Path, store_book: OrderBook, catalogue: Catalogue, *, at: int, timezone: str,
                 currency: str, vendor: str) -> int:
    """Render every order of the book as one orders_export CSV (gzipped when the path ends in .gz), in chunks of
    orders so memory stays bounded for million-line files."""
    path.parent.mkdir(parents=True, exist_ok=True)
    opener = files.gzip_writer if path.name.endswith(".gz") else open
    rows = 0
    with opener(path, "wb") as fh:
        for lo in range(0, len(store_book), _CHUNK_ORDERS):
            orders = np.arange(lo, min(lo + _CHUNK_ORDERS, len(store_book)))
            columns = orders_columns(store_book, catalogue, orders, at, timezone=timezone, currency=currency,
                                     vendor=vendor)
            fh.write(csv_bytes(columns, header=lo == 0))
            rows += len(columns["Name"])
    return rows


def orders_columns(book: OrderBook, cat: Catalogue, orders: np.ndarray, at: int, *, timezone: str,
                   currency: str, vendor: str, foreign_currency: str = "CAD") -> dict[str, pa.Array]:
    """One row per line item of `orders`, as exported at local time `at`."""
    lines = book.lines_of(orders)
    o = book.line_order[lines]
    n = len(lines)
    later = book.line_no[lines] > 1
    who = people.person(book.customer[o], o)
    paid = visible(book.paid[o], at)
    refunded = visible(book.refunded_at[o], at)
    cancelled = visible(book.cancelled[o], at)
    shipped = visible(book.shipped[o], at)
    total = book.total[o]
    status = np.select([~paid & cancelled, ~paid, refunded & (book.refund[o] >= total), refunded], [0, 1, 2, 3], 4)
    cod = book.extra("cod")[o]  # cash on delivery: 'pending' without 'Paid at', even once fulfilled
    status = np.where(cod, 1, status)
    paid_at = paid & ~cod
    ship_discount = book.extra("ship_discount")[o]

    def when(times: np.ndarray, seen: np.ndarray) -> pa.Array:
        times = np.where(seen, times, NO_TIME)
        return blank_where(timestamps(times, offsets=tz_offsets(times, timezone)), later)

    def first(values: pa.Array) -> pa.Array:
        return blank_where(values, later)

    sku = book.sku[lines]
    ratio = book.discount[o] / np.maximum(book.gross[o], 1)
    code = np.select([ratio >= 0.35, ratio >= 0.2, ratio > 0, ship_discount > 0], [0, 1, 2, 4], 3)
    return {
        "Name": join("#", integers(o + FIRST_ORDER_NUMBER)),
        "Email": blank_where(people.emails(who), book.customer[o] < 0),
        "Financial Status": first(pick(_STATUS, status)),
        "Paid at": when(book.paid[o], paid_at),
        "Fulfillment Status": first(pick(["unfulfilled", "fulfilled"], shipped.astype(int))),
        "Fulfilled at": when(book.shipped[o], shipped),
        "Accepts Marketing": first(pick(["no", "yes"], (who % 3 == 0).astype(int))),
        "Currency": first(pick([currency, foreign_currency], book.foreign[o].astype(int))),
        "Subtotal": first(money(book.net[o])),
        "Shipping": first(money(book.shipping[o])),
        "Taxes": first(money(book.tax[o])),
        "Total": first(money(total)),
        "Discount Code": first(pick(["STAFF40", "SINGLES30", "WELCOME10", None, "FREESHIP"], code)),
        "Discount Amount": first(money(book.discount[o] + ship_discount)),  # a free-shipping code's fee too
        "Shipping Method": first(pick(["Standard Shipping", "Free Shipping"], (book.shipping[o] == 0).astype(int))),
        "Created at": timestamps(book.created[o], offsets=tz_offsets(book.created[o], timezone)),
        "Lineitem quantity": integers(book.qty[lines]),
        "Lineitem name": pick(cat.name, sku),
        "Lineitem price": money(book.price[lines]),
        "Lineitem compare at price": blank_where(money(book.compare_at[lines]), book.compare_at[lines] == 0),
        "Lineitem sku": pick(cat.sku, sku),
        "Lineitem requires shipping": pick(["true", "false"], (~cat.stocked[sku]).astype(int)),
        "Lineitem taxable": constant("true", n),
        "Lineitem fulfillment status": pick(["pending", "fulfilled"], shipped.astype(int)),
        "Billing Name": first(people.names(who)),
        "Billing Street": first(people.streets(who)),
        "Billing City": first(people.cities(who)),
        "Billing Zip": first(people.zips(who)),
        "Billing Country": first(constant("US", n)),
        "Shipping Name": first(people.names(who)),
        "Shipping Street": first(people.streets(who)),
        "Shipping City": first(people.cities(who)),
        "Shipping Zip": first(people.zips(who)),
        "Shipping Country": first(constant("US", n)),
        "Cancelled at": when(book.cancelled[o], cancelled),
        "Payment Method": first(blank_where(pick(["Shopify Payments", "PayPal Express Checkout",
                                                  "Cash on Delivery (COD)"],
                                                 np.where(cod, 2, (who % 4 == 0).astype(int))), ~paid & ~cod)),
        "Refunded Amount": first(money(np.where(refunded, book.refund[o], 0))),
        "Vendor": constant(vendor, n),
        "Id": first(integers(5_812_340_000_000 + o * 7 + 3)),
        "Tags": constant(None, n),
        "Source": first(constant("web", n)),
        "Phone": first(blank_where(people.us_phones(who), who % 5 != 0)),
    }


def _orders_file(store: Store, day: int, orders: np.ndarray, at: int, name: str, cases: list[str]) -> ExportFile:
    p = store.profile
    columns = orders_columns(store.book, store.catalogue, orders, at, timezone=p.timezone, currency=p.currency,
                             vendor=p.name, foreign_currency=p.foreign_currency or "CAD")
    rows_of_order = np.cumsum(np.r_[0, store.book.n_lines[orders][:-1]])
    for case, position in zip(cases, victims(store, orders, at, len(cases))):
        column, value = _BAD_CELLS[case]
        set_cell(columns, column, int(rows_of_order[position]), value)
    columns = with_tip_rows(columns, store.book, orders)
    data = csv_bytes(columns)
    if name.endswith(".gz"):
        data = files.gzipped(data)
    return ExportFile("orders", store.date(day), name, data, len(columns["Name"]), tuple(cases))


# what a tip row repeats of its order (real exports repeat Email and Created at on every row); the rest is blank
_TIP_ROW_KEEPS = ("Name", "Email", "Created at", "Lineitem fulfillment status")


def with_tip_rows(columns: dict[str, pa.Array], book: OrderBook, orders: np.ndarray) -> dict[str, pa.Array]:
    """A `Tip` line (quantity 1, no SKU, not shipped, not taxed) after the last line of each tipped order."""
    tip = book.extra("tip")[orders]
    if not tip.any():
        return columns
    last_row = np.cumsum(book.n_lines[orders]) - 1
    tipped = np.flatnonzero(tip > 0)
    k = len(tipped)
    tips = {name: values.take(pa.array(last_row[tipped])) if name in _TIP_ROW_KEEPS else pa.nulls(k, pa.string())
            for name, values in columns.items()}
    tips.update({"Lineitem quantity": constant("1", k), "Lineitem name": constant("Tip", k),
                 "Lineitem price": money(tip[tipped]), "Lineitem requires shipping": constant("false", k),
                 "Lineitem taxable": constant("false", k)})
    rows = len(columns["Name"])
    order = pa.array(np.argsort(np.r_[np.arange(rows), last_row[tipped] + 0.5], kind="stable"))
    return {name: pa.concat_arrays([values, tips[name]]).take(order) for name, values in columns.items()}


def _traffic_file(store: Store, day: int) -> ExportFile:
    first = max(0, day - TRAFFIC_WINDOW + 1)
    days = np.arange(first, day + 1)
    settling = np.where(days == day, PRELIMINARY_SHARE, 1.0)
    plan = store.plan
    columns = {
        "Day": text([store.date(int(d)).isoformat() for d in days]),
        "Sessions": integers(np.round(plan.sessions[days] * settling), thousands=True),
        "Online store visitors": integers(np.round(plan.visitors[days] * settling), thousands=True),
    }
    name = f"sessions_over_time_{store.date(first)}_{store.date(day)}.csv"
    return ExportFile("traffic", store.date(day), name, csv_bytes(columns), len(days))


def _reviews_file(store: Store, day: int) -> ExportFile:
    lo, hi = day_range_seconds(store, max(0, day - REVIEW_WINDOW + 1), day)
    rv = store.reviews
    pick_rows = np.flatnonzero((rv.at >= lo) & (rv.at < hi))
    book, cat = store.book, store.catalogue
    order = rv.order[pick_rows]
    who = people.person(book.customer[order], order)
    rating = rv.rating[pick_rows]
    positive = rating >= 4
    phrase = rv.phrase[pick_rows]
    body = choose(positive, pick(_POSITIVE, phrase % len(_POSITIVE)), pick(_NEGATIVE, phrase % len(_NEGATIVE)))
    title = choose(positive, pick(["Lovely", "Great", "Recommended"], phrase % 3),
                      pick(["Disappointed", "Not great"], phrase % 2))
    handle = pick(store.catalogue.handle, rv.sku[pick_rows])
    at = rv.at[pick_rows]
    if day < store.days // 3:  # Shopify Product Reviews app
        columns = {
            "product_handle": handle, "state": constant("published", len(order)), "rating": integers(rating),
            "title": title, "author": people.names(who), "email": people.emails(who),
            "location": people.cities(who), "body": body, "reply": constant(None, len(order)),
            "created_at": timestamps(at, offsets=tz_offsets(at, store.profile.timezone)),
            "replied_at": constant(None, len(order)),
        }
        name = "reviews_export.csv"
    else:  # Judge.me
        product_id = 7_904_110_000_000 + np.array([cat.title.index(title) for title in cat.title])  # per product
        columns = {
            "title": title, "body": body, "rating": integers(rating), "review_date": timestamps(at),
            "source": constant("web", len(order)), "curated": constant("ok", len(order)),
            "reviewer_name": people.names(who), "reviewer_email": people.emails(who),
            "product_id": integers(product_id[rv.sku[pick_rows]]), "product_handle": handle,
            "reply": constant(None, len(order)), "picture_urls": constant(None, len(order)),
        }
        name = "judgeme_reviews_export.csv"
    return ExportFile("reviews", store.date(day), name, csv_bytes(columns), len(order))


def _stock_file(store: Store, day: int) -> ExportFile:
    """Two locations per SKU, with the quirks of real inventory exports (sources.md "Real exports"): a SKU the
    Brooklyn store has none of is `not stocked` there, and the first SKU's warehouse count is split over two
    variant rows sharing the SKU (Shopify does not enforce unique SKUs). Neither changes any SKU's total."""
    cat = store.catalogue
    skus = np.flatnonzero(cat.stocked)
    on_hand = store.stock[day, skus]
    warehouse = np.round(on_hand * 0.8).astype(np.int64)
    sku = np.repeat(skus, 2)
    per_location = np.column_stack([warehouse, on_hand - warehouse]).ravel()
    location = np.arange(len(sku)) % 2
    twin = np.zeros(len(sku), bool)
    if len(sku) and per_location[0] > 1:
        rows = np.r_[0, np.arange(len(sku))]
        sku, location, per_location, twin = sku[rows], location[rows], per_location[rows], twin[rows]
        per_location[0] //= 2
        per_location[1] -= per_location[0]
        twin[0] = True
    not_stocked = (location == 1) & (per_location == 0)
    committed = np.minimum(per_location, (sku * 3 + day) % 3)
    n = len(sku)

    def level(values: np.ndarray) -> pa.Array:
        return choose(not_stocked, constant("not stocked", n), integers(values))

    columns = {
        "Handle": pick(cat.handle, sku), "Title": pick(cat.title, sku),
        "Option1 Name": constant("Title", n),
        "Option1 Value": choose(twin, constant("Gift box", n), pick(cat.variant, sku)),
        "SKU": pick(cat.sku, sku), "Location": pick(["Main Warehouse NJ", "Brooklyn Store"], location),
        "Incoming (not editable)": level(np.zeros(n, np.int64)),
        "Committed (not editable)": level(committed),
        "Available (not editable)": level(per_location - committed),
        "On hand (current)": level(per_location), "On hand (new)": level(per_location),
    }
    data = files.encode(csv_bytes(columns, eol="\r\n"), "utf-8-sig")  # saved from Excel: BOM and CRLF
    return ExportFile("stock", store.date(day), "inventory_export_1.csv", data, n)



def _products_file(store: Store, day: int) -> ExportFile:
    """The admin "Export products" CSV (costs in `Cost per item`, image rows included)."""
    data, rows = shopify_products_csv(store.catalogue, day, store.book.reprice_day, store.stock[day])
    return ExportFile("products", store.date(day), "products_export_1.csv", data, rows)

"""A Shopify orders export re-saved in a spreadsheet (issue 13 point 3, sources.md "Re-saved in a spreadsheet").

The file is the real export's shape (every column, Shopify's order) after a round trip through a spreadsheet set to
a day-first locale: timestamps become `30/12/2023 14:03` (offset and seconds dropped), and rows holding a quoted
value are written back wrapped whole in one quoted field, some with a trailing `;`. One order's first row was
damaged in the round trip (cut short) and another lost its first row: each is quarantined whole, and the rest of
the file loads exactly as the same file without those two orders.
"""

from __future__ import annotations

import csv
import re
from decimal import Decimal as D

import pandas as pd
from hostile_support import SHOPIFY_HEADER, outcome, shopify_rows, use_stores
from ingest_support import run

DAY = "2023-12-31"


def resaved(row: str) -> str:
    """A row as the spreadsheet writes it back: day-first dates without offset and seconds."""
    return re.sub(r"(\d{4})-(\d\d)-(\d\d) (\d\d:\d\d):\d\d [+-]\d{4}", r"\3/\2/\1 \4", row)


def wrapped(row: str, semicolon: bool) -> str:
    return '"' + row.rstrip("\n").replace('"', '""') + '"' + (";" if semicolon else "") + "\n"


def orders() -> dict[str, list[str]]:
    """Order -> its rows in the re-saved file (paid at 14:03 on the day each order says)."""
    def order(number, lines, day):
        return [resaved(r) for r in shopify_rows(number, lines, paid_at=f"{day} 14:03:11 -0800")]

    book = {
        "#4955": order(4955, [(2, "Mug", "12.00", "MUG"), (1, "Tee", "8.50", "TEE")], "2023-12-30"),
        "#4956": order(4956, [(1, "Mug, blue", "14.00", "MUG-B"), (3, "Cap", "5.00", "CAP")], "2023-12-30"),
        "#4957": order(4957, [(1, 'Poster 12" x 18"', "20.00", "POS")], "2023-12-05"),
        "#4959": order(4959, [(1, "Scarf, wool", "30.00", "SCF"), (2, "Tee", "8.50", "TEE"),
                              (1, "Cap", "5.00", "CAP")], "2023-12-30"),
        "#4960": order(4960, [(1, "Mug", "12.00", "MUG"), (1, "Tee", "8.50", "TEE")], "2023-12-30"),
        "#4961": order(4961, [(4, "Sticker", "1.25", "STK")], "2023-12-31"),
    }
    book["#4956"][0] = wrapped(book["#4956"][0], semicolon=True)
    book["#4957"][0] = wrapped(book["#4957"][0], semicolon=False)
    book["#4959"][0] = wrapped(book["#4959"][0], semicolon=True)[:180] + '";\n'  # cut short in the round trip
    book["#4960"] = book["#4960"][1:]  # its first row is gone
    return book


def ingest_file(wh, landing, name: str, book: dict[str, list[str]]):
    relpath = landing.add("shop_us", "orders", DAY, name, SHOPIFY_HEADER + "".join(r for rs in book.values()
                                                                                   for r in rs))
    run(wh, landing, run_date=DAY)
    return outcome(wh, relpath)


def raw_of(wh, relpath: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    lineage = ["_source_file", "_row_number", "_batch_id", "_loaded_at"]
    orders_ = wh.query_df("select * from raw.orders where _source_file = ? order by order_id", [relpath])
    lines = wh.query_df("select * from raw.order_lines where _source_file = ? order by order_id, line_number",
                        [relpath])
    return orders_.drop(columns=lineage).reset_index(drop=True), lines.drop(columns=lineage).reset_index(drop=True)


def test_resaved_file_quarantines_the_damaged_orders_and_loads_the_rest_exactly(wh, landing):
    book = orders()
    damaged = ingest_file(wh, landing, "orders_export_resaved.csv", book)
    assert (damaged.rows_in, damaged.rows_loaded, damaged.rows_quarantined) == (10, 6, 4)
    # every row of the damaged order, and the headless continuation row, and nothing else
    first = 2 + len(book["#4955"]) + len(book["#4956"]) + len(book["#4957"])  # #4959's first row
    assert damaged.quarantine[first][0] == "unparseable"
    cut = book["#4959"][0][1:-3].replace('""', '"')  # inside the quotes and before '";'
    fields = len(next(csv.reader([cut])))
    assert damaged.quarantine[first][2] == (
        f"{damaged.relpath} row {first}: is one quoted value holding {fields} fields where the header has 79 (a row a "
        "spreadsheet re-saved and cut short?); export the file again from the shop")
    for row in (first + 1, first + 2):
        reason, _, message = damaged.quarantine[row]
        assert reason == "incomplete_order"
        assert message == (f"{damaged.relpath} row {row}: order #4959 is incomplete: {damaged.relpath} row {first} "
                           "was quarantined (unparseable)")
    headless = first + 3
    assert damaged.quarantine[headless] == ("incomplete_order", None, (
        f"{damaged.relpath} row {headless}: order #4960 is incomplete: no row of this file fills its order fields "
        "(Financial Status, Subtotal, Total), so its first row is missing"))
    assert wh.query("select count(*) from raw.order_lines where _source_file = ? and order_id in "
                    "('#4959', '#4960')", [damaged.relpath]) == [(0,)]

    # the same file without those two orders loads the same rows
    clean = ingest_file(wh, landing, "orders_export_without.csv",
                        {k: v for k, v in book.items() if k not in ("#4959", "#4960")})
    assert (clean.rows_in, clean.rows_loaded, clean.rows_quarantined) == (6, 6, 0)
    for got, want in zip(raw_of(wh, damaged.relpath), raw_of(wh, clean.relpath)):
        pd.testing.assert_frame_equal(got, want)

    # wrapped rows unwrapped with their values; day-first dates (the file proves it: 30/12) read day first
    orders_, lines = raw_of(wh, damaged.relpath)
    paid = dict(zip(orders_.order_id, orders_.paid_at.astype(str)))
    assert paid == {"#4955": "2023-12-30 14:03:00", "#4956": "2023-12-30 14:03:00",
                    "#4957": "2023-12-05 14:03:00", "#4961": "2023-12-31 14:03:00"}
    assert set(lines.product_name) == {"Mug", "Tee", "Mug, blue", "Cap", 'Poster 12" x 18"', "Sticker"}
    # the day's merchandise sales, worked out by hand: 2 x 12.00 + 8.50 + 14.00 + 3 x 5.00
    lines["amount"] = lines.quantity * lines.unit_price
    day = lines.merge(orders_[["order_id", "paid_at"]], on="order_id")
    by_day = day.groupby(day.paid_at.dt.date.astype(str)).amount.sum().to_dict()
    assert by_day == {"2023-12-05": D("20.00"), "2023-12-30": D("61.50"), "2023-12-31": D("5.00")}


def test_date_order_dmy_reads_ambiguous_dates_day_first(wh, landing):
    use_stores(landing, "date_order: dmy")
    book = {"#4957": orders()["#4957"]}  # 05/12/2023: nothing in the file proves the order
    o = ingest_file(wh, landing, "orders_export_dmy.csv", book)
    assert o.rows_loaded == 1
    assert wh.query("select cast(paid_at as varchar) from raw.orders where _source_file = ?", [o.relpath]) == [
        ("2023-12-05 14:03:00",)]


def test_without_proof_or_setting_short_dates_read_month_first(wh, landing):
    book = {"#4957": orders()["#4957"]}
    o = ingest_file(wh, landing, "orders_export_mdy.csv", book)
    assert wh.query("select cast(paid_at as varchar) from raw.orders where _source_file = ?", [o.relpath]) == [
        ("2023-05-12 14:03:00",)]

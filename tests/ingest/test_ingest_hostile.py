"""Hostile and broken input (issue 20): every file is loaded or rejected with a reason, no row vanishes, on DuckDB
and on PostgreSQL alike. One test per case; each checks the status, reason, message (file, row, column) and the
accounting rows_in = loaded + quarantined (`hostile_support.assert_accounted`)."""

from __future__ import annotations

import gzip
import hashlib
import os
from decimal import Decimal as D

import pytest
from hostile_support import (
    GENERIC_HEADER,
    SHOPIFY_HEADER,
    generic_file,
    generic_row,
    ingest_one,
    shopify_rows,
    use_stores,
)
from ingest_support import FIXTURES
from pg import temp_database

from storekpi.adapters import reading
from storekpi.warehouse import Target, Warehouse


@pytest.fixture(scope="module")
def pg_shared():
    """One PostgreSQL database for the module (every test writes files of its own name)."""
    with temp_database("storekpi_hostile") as url, Warehouse(Target(url)) as wh:
        wh.ensure_schema()
        yield wh


@pytest.fixture(params=["duckdb", "postgres"])
def wh(request, tmp_path):
    if request.param == "postgres":
        yield request.getfixturevalue("pg_shared")
        return
    path = tmp_path / "warehouse.duckdb"
    with Warehouse(Target(str(path)), path=path) as warehouse:
        warehouse.ensure_schema()
        yield warehouse


def lines_of(wh, relpath: str) -> list[tuple]:
    return wh.query("select _row_number, order_id, product_name, quantity, unit_price from raw.order_lines "
                    "where _source_file = ? order by _row_number", [relpath])


# -- 1. quotes ---------------------------------------------------------------------------------------------------
def test_unterminated_quote_rejects_the_file_naming_the_row_it_opened(wh, landing):
    text = generic_file(100, row52={"product_name": "x"}).replace("SKU-1,x,", 'SKU-1,"Widget, blue,', 1)
    o = ingest_one(wh, landing, "erp_shop", "orders", "unterminated.csv", text)
    assert (o.status, o.reason) == ("rejected", "unreadable")
    assert o.message.startswith(f"{o.relpath} row 52: a quote (\") opened on this row is never closed")


def test_unterminated_quote_in_a_shopify_file(wh, landing):
    rows = [r for n in range(1001, 1031) for r in shopify_rows(n, [(1, "Mug", "12.00", "MUG")])]
    rows[20] = rows[20].replace(",Mug,", ',"Mug 12oz,', 1)
    o = ingest_one(wh, landing, "shop_us", "orders", "unterminated_shopify.csv", SHOPIFY_HEADER + "".join(rows))
    assert (o.status, o.reason) == ("rejected", "unreadable") and f"{o.relpath} row 22: a quote" in o.message


def test_a_quote_closed_ten_rows_later_quarantines_every_row_it_swallowed(wh, landing):
    text = generic_file(100, row52={"product_name": "x"}, row62={"product_name": "y"})
    text = text.replace("SKU-1,x,", 'SKU-1,"Widget, blue,', 1).replace("SKU-1,y,", 'SKU-1,Widget",', 1)
    o = ingest_one(wh, landing, "erp_shop", "orders", "swallowed.csv", text)
    assert (o.status, o.rows_in, o.rows_loaded, o.rows_quarantined) == ("loaded", 100, 89, 11)
    assert sorted(o.quarantine) == list(range(52, 63))
    assert {reason for reason, _, _ in o.quarantine.values()} == {"unparseable"}
    assert "closes only on row 62" in o.quarantine[52][2] and "opens on row 52" in o.quarantine[57][2]
    loaded = lines_of(wh, o.relpath)
    assert [r[0] for r in loaded] == [*range(2, 52), *range(63, 102)]
    assert {r[2] for r in loaded} == {"Widget"}  # no row hidden inside a product name


def test_legitimate_multi_line_values_still_load(wh, landing):
    o = ingest_one(wh, landing, "shop_us", "reviews", "judgeme_multiline.csv",
                   FIXTURES / "shopify" / "judgeme_reviews.csv")
    assert (o.rows_in, o.rows_loaded) == (3, 2) and o.quarantine[5][0] == "rating_out_of_range"
    note = shopify_rows(1001, [(1, "Mug", "12.00", "MUG"), (2, "Tee", "8.00", "TEE")],
                        cells={"Notes": "Leave at the door,\nring twice, thanks\nNo. 5, back gate"})
    text = SHOPIFY_HEADER + "".join(note + shopify_rows(1002, [(1, "Cap", "5.00", "CAP")]))
    o = ingest_one(wh, landing, "shop_us", "orders", "note_multiline.csv", text)
    assert (o.rows_in, o.rows_loaded, o.rows_quarantined) == (3, 3, 0)
    assert [r[0] for r in lines_of(wh, o.relpath)] == [2, 5, 6]


def test_rows_wrapped_whole_by_a_spreadsheet_are_unwrapped(wh, landing):
    plain = [generic_row(i, product_name="Mug, blue 12\" x") for i in range(1, 4)]
    wrapped = ['"' + plain[0].rstrip("\n").replace('"', '""') + '";\n',
               '"' + plain[1].rstrip("\n").replace('"', '""') + '"\n', plain[2]]
    o = ingest_one(wh, landing, "erp_shop", "orders", "wrapped.csv", GENERIC_HEADER + "".join(wrapped))
    assert (o.rows_in, o.rows_loaded) == (3, 3)
    assert lines_of(wh, o.relpath) == [(n, f"A-{n - 1}", 'Mug, blue 12" x', 1, D("10.00")) for n in (2, 3, 4)]


# -- 2. numbers --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("column", "value", "problem"), [
    ("quantity", "3000000000", "'3000000000' is out of range (at most 1,000,000)"),
    ("unit_price", "9999999999999999.99", "'9999999999999999.99' is out of range (less than 10,000,000,000)"),
    ("unit_price", "99999999999999999999.99", "cannot parse '99999999999999999999.99' as an amount"),
    ("unit_price", "10000000000.00", "'10000000000.00' is out of range (less than 10,000,000,000)"),
    ("shipping", "-4.90", "amount '-4.90' cannot be negative"),
    ("unit_price", "-10.00", "amount '-10.00' cannot be negative"),
])
def test_out_of_range_and_negative_numbers_are_unparseable_naming_row_column_value(wh, landing, column, value,
                                                                                   problem):
    name = f"numbers_{column}_{hashlib.md5(value.encode()).hexdigest()[:6]}.csv"
    o = ingest_one(wh, landing, "erp_shop", "orders", name, generic_file(30, row7={column: value}))
    assert (o.rows_in, o.rows_loaded, o.rows_quarantined) == (30, 29, 1)
    reason, col, message = o.quarantine[7]
    assert (reason, col) == ("unparseable", column)
    assert message.startswith(f"{o.relpath} row 7, column {column}: ") and problem in message


def test_largest_numbers_load_with_exact_decimals(wh, landing):
    text = generic_file(2, row2={"quantity": "1000000", "unit_price": "9999999999.99", "order_discount": "-0.01"})
    o = ingest_one(wh, landing, "erp_shop", "orders", "largest.csv", text)
    assert (o.rows_in, o.rows_loaded) == (2, 2)
    assert lines_of(wh, o.relpath)[0][3:] == (1000000, D("9999999999.99"))
    assert wh.query("select order_discount from raw.orders where _source_file = ? and order_id = 'A-1'",
                    [o.relpath]) == [(D("-0.01"),)]  # a discount may be negative (a warning, not quarantine)


def test_out_of_range_counts_are_unparseable(wh, landing):
    text = "date,visitors,sessions\n2026-11-19,3000000000,1\n2026-11-20,120,130\n"
    o = ingest_one(wh, landing, "erp_shop", "traffic", "traffic_range.csv", text)
    assert o.quarantine == {2: ("unparseable", "visitors", f"{o.relpath} row 2, column visitors: '3000000000' "
                                                            "is out of range (at most 2,147,483,647)")}


# -- 3. control characters ---------------------------------------------------------------------------------------
def test_nul_and_control_characters_are_removed_from_text(wh, landing):
    text = generic_file(2, row2={"product_name": "Wid\x00get\x07"}, row3={"sku": "SKU\x1b-1"})
    o = ingest_one(wh, landing, "erp_shop", "orders", "controls.csv", text)
    assert (o.rows_in, o.rows_loaded) == (2, 2)
    assert wh.query("select product_name, sku from raw.order_lines where _source_file = ? order by _row_number",
                    [o.relpath]) == [("Widget", "SKU-1"), ("Widget", "SKU-1")]


# -- 4. dates ----------------------------------------------------------------------------------------------------
def test_placeholder_dates_are_implausible(wh, landing):
    text = generic_file(30, row3={"paid_at": "1900-01-01 00:00:00"}, row4={"created_at": "1999-12-31 23:59:59"})
    o = ingest_one(wh, landing, "erp_shop", "orders", "placeholder.csv", text)
    assert o.quarantine[3] == ("implausible_date", "paid_at", f"{o.relpath} row 3, column paid_at: 1900-01-01 is "
                                                              "before 2000-01-01 (a placeholder date?)")
    assert o.quarantine[4][:2] == ("implausible_date", "created_at") and o.rows_loaded == 28


def test_dates_before_the_stores_history_start_are_implausible(wh, landing):
    use_stores(landing, "history_start: 2024-01-01")
    text = generic_file(30, row5={"paid_at": "2023-12-31 23:00:00"}, row6={"paid_at": "2024-01-01 00:00:00"})
    o = ingest_one(wh, landing, "erp_shop", "orders", "history.csv", text)
    assert o.quarantine == {5: ("implausible_date", "paid_at", f"{o.relpath} row 5, column paid_at: 2023-12-31 is "
                                                               "before 2024-01-01 (the store's history_start)")}


# -- 5. the landing folder ---------------------------------------------------------------------------------------
def test_links_out_of_the_landing_folder_are_rejected_unread(wh, landing, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "orders.csv").write_text(generic_file(3))
    folder = landing.root / "erp_shop" / "orders" / "2026-11-20"
    folder.mkdir(parents=True)
    os.symlink(elsewhere / "orders.csv", folder / "link_file.csv")
    os.symlink("/etc/passwd", folder / "link_passwd.csv")
    os.symlink(elsewhere, landing.root / "erp_shop" / "orders" / "2026-11-19")
    os.symlink(landing.root / "stores.yml", folder / "link_inside.csv")  # inside: read, and rejected by content
    landing.add("erp_shop", "orders", "2026-11-20", "real.csv", generic_file(2))
    from ingest_support import run

    run(wh, landing)
    from hostile_support import outcome

    for relpath in ("erp_shop/orders/2026-11-20/link_file.csv", "erp_shop/orders/2026-11-20/link_passwd.csv",
                    "erp_shop/orders/2026-11-19"):
        o = outcome(wh, relpath)
        assert (o.status, o.reason) == ("rejected", "outside_landing")
        assert "outside the landing folder, so it is not read" in o.message
        [(sha,)] = wh.query("select sha256 from audit.files where path = ?", [relpath])
        assert sha != hashlib.sha256((elsewhere / "orders.csv").read_bytes()).hexdigest()
    assert outcome(wh, "erp_shop/orders/2026-11-20/link_inside.csv").reason == "unknown_headers"
    assert outcome(wh, "erp_shop/orders/2026-11-20/real.csv").rows_loaded == 2


def test_a_sparse_1_gb_file_is_refused_by_size(wh, landing):
    folder = landing.root / "erp_shop" / "orders" / "2026-11-20"
    folder.mkdir(parents=True)
    with (folder / "huge.csv").open("wb") as fh:
        fh.write(GENERIC_HEADER.encode())
        fh.truncate(1 << 30)
    from hostile_support import outcome
    from ingest_support import run

    run(wh, landing)
    o = outcome(wh, "erp_shop/orders/2026-11-20/huge.csv")
    assert (o.status, o.reason) == ("rejected", "too_large")
    assert o.message == (f"{o.relpath}: the file is 1,024 MiB, above the limit of 768 MiB for one export file; "
                         f"export a shorter date range (several files are fine)")


def test_a_gzip_that_unpacks_above_the_limit_is_refused(wh, landing, monkeypatch):
    monkeypatch.setattr(reading, "MAX_FILE_BYTES", 4096)
    o = ingest_one(wh, landing, "erp_shop", "orders", "bomb.csv.gz", gzip.compress(generic_file(200).encode()))
    assert (o.status, o.reason) == ("rejected", "too_large") and "or more once decompressed" in o.message


# -- 6. garbage and line endings ---------------------------------------------------------------------------------
def test_garbage_says_what_to_do(wh, landing):
    o = ingest_one(wh, landing, "erp_shop", "orders", "garbage.csv", bytes(range(256)) * 8)
    assert (o.status, o.reason) == ("rejected", "undecodable")
    assert "export it again as CSV, xlsx or Parquet" in o.message and "(Error)" not in o.message


def test_a_binary_file_with_nul_bytes_is_rejected_by_headers(wh, landing):
    o = ingest_one(wh, landing, "erp_shop", "orders", "binary.csv", b"\x00\x01\x02ELF\x00\x00" * 50)
    assert (o.status, o.reason) == ("rejected", "unknown_headers") and "Expected orders" in o.message


def test_cr_only_line_endings(wh, landing):
    text = generic_file(3, row3={"quantity": "x"}).replace("\n", "\r")
    o = ingest_one(wh, landing, "erp_shop", "orders", "cr_only.csv", text)
    assert (o.rows_in, o.rows_loaded, o.rows_quarantined) == (3, 2, 1)
    assert o.quarantine[3][:2] == ("unparseable", "quantity") and "(Error)" not in str(o.message)


def test_mixed_line_endings(wh, landing):
    rows = generic_file(6, row6={"quantity": "x"}).split("\n")
    text = rows[0] + "\r\n" + rows[1] + "\n" + rows[2] + "\r" + rows[3] + "\r\n" + rows[4] + "\r" + rows[5] + "\n" \
        + rows[6] + "\r\n"
    o = ingest_one(wh, landing, "erp_shop", "orders", "mixed_eol.csv", text)
    assert (o.rows_in, o.rows_loaded) == (6, 5) and list(o.quarantine) == [6]
    assert [r[0] for r in lines_of(wh, o.relpath)] == [2, 3, 4, 5, 7]


def test_a_second_export_pasted_below_the_first(wh, landing):
    """A byte-order mark and a header in the middle: the BOM is dropped, the header row is quarantined by row."""
    text = generic_file(2) + "\ufeff" + generic_file(2).replace("A-", "B-")
    o = ingest_one(wh, landing, "erp_shop", "orders", "pasted.csv", text.encode("utf-8-sig"))
    assert (o.rows_in, o.rows_loaded, o.rows_quarantined) == (5, 4, 1)
    assert o.quarantine[4][0] == "unparseable" and o.quarantine[4][2].startswith(f"{o.relpath} row 4, column ")
    assert [r[1] for r in lines_of(wh, o.relpath)] == ["A-1", "A-2", "B-1", "B-2"]


def test_trailing_delimiters_load_the_row(wh, landing):
    text = generic_file(3, row3={"quantity": "2"}).split("\n")
    text = "\n".join([text[0], text[1] + ",,", text[2] + ",", text[3] + ",extra", ""])
    o = ingest_one(wh, landing, "erp_shop", "orders", "trailing.csv", text)
    assert (o.rows_in, o.rows_loaded) == (3, 2)
    assert o.quarantine == {4: ("unparseable", None, f"{o.relpath} row 4: has 15 fields where the header has 14")}
    assert [(r[0], r[3]) for r in lines_of(wh, o.relpath)] == [(2, 1), (3, 2)]


def test_fewer_fields_than_the_header(wh, landing):
    text = generic_file(3).replace("\nA-2,C-2,", "\nA-2,", 1)
    o = ingest_one(wh, landing, "erp_shop", "orders", "short_row.csv", text)
    assert o.quarantine == {3: ("unparseable", None, f"{o.relpath} row 3: has 13 fields where the header has 14")}


def test_blank_lines_and_whitespace_only_file(wh, landing):
    o = ingest_one(wh, landing, "erp_shop", "orders", "blank_lines.csv",
                   GENERIC_HEADER + "\n\n" + generic_row(1) + "\r\n\n" + generic_row(2))
    assert (o.rows_in, o.rows_loaded) == (2, 2) and [r[0] for r in lines_of(wh, o.relpath)] == [4, 7]
    o = ingest_one(wh, landing, "erp_shop", "orders", "whitespace.csv", " \n\t\n")
    assert (o.status, o.rows_in) == ("loaded", 0)


def test_formula_like_text_is_stored_as_written(wh, landing):
    text = generic_file(2, row2={"product_name": "=HYPERLINK(\"http://x\",\"y\")"}, row3={"product_name": "@SUM(A1)"})
    o = ingest_one(wh, landing, "erp_shop", "orders", "formulas.csv", text)
    assert [r[2] for r in lines_of(wh, o.relpath)] == ['=HYPERLINK("http://x","y")', "@SUM(A1)"]


def test_a_header_only_wrapped_file(wh, landing):
    o = ingest_one(wh, landing, "erp_shop", "orders", "wrapped_header.csv",
                   '"' + GENERIC_HEADER.rstrip("\n") + '";\n' + generic_row(1))
    assert (o.status, o.rows_in, o.rows_loaded) == ("loaded", 1, 1)


def test_nul_in_a_parquet_string_is_removed_too(wh, landing, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [dict(zip(GENERIC_HEADER.strip().split(","), generic_row(i).strip().split(","))) for i in (1, 2)]
    rows[0]["product_name"] = "Wid\x00get"
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "o.parquet")
    o = ingest_one(wh, landing, "erp_shop", "orders", "controls.parquet", (tmp_path / "o.parquet").read_bytes())
    assert (o.rows_in, o.rows_loaded) == (2, 2)
    assert [r[2] for r in lines_of(wh, o.relpath)] == ["Widget", "Widget"]

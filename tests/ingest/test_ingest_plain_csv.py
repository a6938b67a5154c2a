"""Plain CSV files are read by DuckDB itself (`reading.load`); they must come out exactly as `read_source` reads
them, and anything not plain must fall back to it."""

import duckdb
import pytest
from ingest_support import run

from storekpi.adapters import layouts, parsing, reading

HEADER = "Day,Sessions,Online store visitors"
TRAFFIC = layouts("shopify", "traffic")


def loaded(tmp_path, content: bytes, *, plain: bool = True):
    """(took the DuckDB path, cells by row number) of one traffic file."""
    path = tmp_path / "t.csv"
    path.write_bytes(content)
    con = duckdb.connect()
    if not plain:
        con.register("src", reading.read_source(path, TRAFFIC, "t.csv").table)
        return False, _cells(con)
    rows = reading.load(con, path, TRAFFIC, "t.csv", "src")
    return rows.table is None, _cells(con)


def _cells(con) -> list[tuple]:
    return con.execute("select _row_number, date, sessions, visitors from src order by 1").fetchall()


@pytest.mark.parametrize("content", [
    f"{HEADER}\n2026-11-19,1,2\n2026-11-20,,3\n",
    f"{HEADER}\r\n2026-11-19, 1 ,2\r\n2026-11-20,\"\",3\r\n",  # CRLF, spaces, a quoted empty cell
    f"\ufeff{HEADER}\n2026-11-19,\"1,000\",2",  # BOM, thousands separator, no final newline
    f"{HEADER}\n2026-11-19,1\t,2\n",  # a tab: the full cleaning
])
def test_plain_files_are_read_by_duckdb_as_read_source_reads_them(tmp_path, content):
    data = content.encode()
    took_duckdb, cells = loaded(tmp_path, data)
    assert took_duckdb
    assert cells == loaded(tmp_path, data, plain=False)[1]


@pytest.mark.parametrize("content", [
    f"{HEADER}\n2026-11-19,\"1\n0\",2\n2026-11-20,1,1\n",  # a value spanning two lines
    f"{HEADER}\n2026-11-19,1,2\n\n2026-11-20,1,1\n",  # a blank line
    f"{HEADER}\n2026-11-19,1\n2026-11-20,1,1\n",  # a malformed row
    f"title line\n{HEADER}\n2026-11-19,1,2\n",  # a title line
])
def test_files_that_are_not_plain_fall_back_to_read_source(tmp_path, content):
    took_duckdb, cells = loaded(tmp_path, content.encode())
    assert not took_duckdb
    assert cells == loaded(tmp_path, content.encode(), plain=False)[1]


def test_a_gb18030_file_falls_back_even_when_it_starts_as_ascii(tmp_path, monkeypatch):
    monkeypatch.setattr(reading, "HEAD_BYTES", 64)  # the non-UTF-8 bytes lie beyond the header sniff
    data = (HEADER + "\n" + "2026-11-19,1,2\n" * 10).encode() + "2026-11-20,1,2 访客\n".encode("gb18030")
    path = tmp_path / "t.csv"
    path.write_bytes(data)
    assert reading.load(duckdb.connect(), path, TRAFFIC, "t.csv", "src").encoding == "gb18030"


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 1 << 22])
def test_scan_checks_utf8_and_special_characters_across_chunk_boundaries(tmp_path, monkeypatch, chunk):
    monkeypatch.setattr(reading, "SCAN_CHUNK", chunk)
    path = tmp_path / "f.csv"
    cases = {
        "a,ß\n中,b\r\n": (2, True, True),
        "a,b\u3000\n": (1, True, False),  # ideographic space
        "a,b\u00a0": (0, False, False),  # no-break space
        'a,="1"\n': (1, True, False),
        "a,b\rc\n": (1, True, False),  # a CR that ends no line
    }
    for text, expected in cases.items():
        path.write_bytes(text.encode())
        assert reading._scan(path) == expected, text
    path.write_bytes("a,ß".encode()[:-1])  # ends inside a character
    assert reading._scan(path) is None


@pytest.mark.parametrize("value", ["  x ", ' ="4123" ', "\u3000x\t", "\r\n", "", " ", 'a="b"', '="x\ny"', "x y"])
def test_the_cleaning_macros(value):
    """sk_clean unwraps ="…", trims TRIMMED and makes empty NULL; sk_clean_plain is the same on cells free of
    everything but spaces."""
    con = duckdb.connect()
    parsing.install(con)
    expected = value.strip(parsing.TRIMMED)
    if expected.startswith('="') and expected.endswith('"') and "\n" not in expected:
        expected = expected[2:-1].strip(parsing.TRIMMED)
    got = con.execute("select sk_clean(?), sk_clean_plain(?)", [value, value]).fetchall()[0]
    assert got[0] == (expected or None)
    if not any(c in value for c in parsing.TRIMMED.replace(" ", "")) and '="' not in value:
        assert got[1] == got[0]


def test_ingest_leaves_nothing_behind_in_the_warehouse(wh, landing, tmp_path):
    landing.add("shop_us", "traffic", "2026-11-20", "a.csv", f"{HEADER}\n2026-11-19,1,2\n2026-11-19,1,3\n")
    landing.add("shop_us", "traffic", "2026-11-20", "b.csv", f"title\n{HEADER}\n2026-11-18,1,2\n")
    summary = run(wh, landing)
    assert (summary.files_loaded, summary.rows_loaded, summary.rows_quarantined) == (2, 1, 2)  # a duplicate conflict
    ours = "select count(*) from duckdb_{}() where {}_name like '\\_sk\\_%' escape '\\'"
    assert [wh.query(ours.format(kind, kind[:-1]))[0][0] for kind in ("tables", "views")] == [0, 0]
    wh.close()
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:  # the file: no macro either
        assert con.execute("select count(*) from duckdb_functions() where function_name like 'sk\\_%' escape '\\'"
                           ).fetchall() == [(0,)]


def test_a_file_named_like_a_glob_pattern_is_read_as_named(tmp_path):
    """DuckDB's read_csv expands `*?[]{}` in a path: `t[ab].csv` would read ta.csv and tb.csv instead."""
    (tmp_path / "ta.csv").write_text(f"{HEADER}\n2026-11-19,7,7\n")
    path = tmp_path / "t[ab].csv"
    path.write_text(f"{HEADER}\n2026-11-20,1,2\n")
    con = duckdb.connect()
    rows = reading.load(con, path, TRAFFIC, "t[ab].csv", "src")
    assert rows.table is not None  # not the DuckDB reader: the Arrow one, which takes the path as it is
    con.register("src", rows.table)
    assert [(d, s) for _, d, s, _ in _cells(con)] == [("2026-11-20", "1")]

"""The number parsers for messy columns (thousands separators, currency signs) are a speed choice only: on every
cell they give what the plain parsers give, so the sample that picks them (canonical `_file_traits`) can never
change a value. Checked on hand-picked cells and on generated ones, in DuckDB itself."""

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storekpi.adapters import parsing

PAIRS = [("sk_amount", "sk_amount_messy"), ("sk_number", "sk_number_messy"), ("sk_count", "sk_count_messy")]
CELLS = ["1,234.56", "1,234", "12,345,678.9", "1,23", "1,5", "12,5", "1,234,56", ",123", "1,,234", "1,234.",
         "$1,200.00", "$800.00", "￥1,234.50", "€ 12", "12 €", "1 234,56", "-1,234.5", "+1,000", "-5", "+.5",
         ".5", "5.", "0", "007", "1e3", "abc", "--", "", " 12", "12 ", "1.2349999", "99999999999999999999",
         "9,999,999,999.99", "10,000,000,000", "NaN", "inf", "1,234.5678901", "元100", "1.234,56", None]


@pytest.fixture(scope="module")
def con():
    con = duckdb.connect()
    parsing.install(con)
    yield con
    con.close()


def _same(con, cells):
    for plain, messy in PAIRS:
        rows = con.execute(f"select s, {plain}(s), {messy}(s) from unnest(?::varchar[]) as t(s)", [cells]).fetchall()
        assert [(s, a) for s, a, _ in rows] == [(s, b) for s, _, b in rows], plain


def test_hand_picked_cells_read_alike(con):
    _same(con, CELLS)
    got = dict(con.execute("select s, sk_amount_messy(s) from unnest(?::varchar[]) as t(s)",
                           [["1,234.56", "1,5", "$800.00"]]).fetchall())
    assert [str(got[s]) if got[s] is not None else None for s in ("1,234.56", "1,5", "$800.00")] == \
        ["1234.56", None, "800.00"]  # the parsers can fail: separators only in groups of three


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(alphabet="0123456789,.+-$￥ e\t\n\x0bNa", max_size=14), min_size=1, max_size=30))
def test_generated_cells_read_alike(con, cells):
    _same(con, cells)

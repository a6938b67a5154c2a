"""Hostile input through the real `storekpi run` (issue 20), on DuckDB and on PostgreSQL.

Three nights on a copy of the hand-written fixture landing: a first publish; a night whose export holds an
out-of-range quantity, an overflowing price, a NUL and a formula-like name (it used to fail every night with an
internal SQL message), which now publishes with those rows quarantined by row and column; and a night with an
unterminated quote, a link to /etc/passwd and a 1 GB sparse file, which is blocked with each file named and leaves
the published marts exactly as they were. The cases one by one are in tests/ingest/test_ingest_hostile.py.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import duckdb
import pytest

from tests.conftest import FIXTURES, run_cli

pytestmark = pytest.mark.e2e
HEADER = ("Name,Email,Financial Status,Paid at,Created at,Cancelled at,Currency,Subtotal,Shipping,Taxes,Total,"
          "Discount Amount,Refunded Amount,Lineitem quantity,Lineitem name,Lineitem price,Lineitem compare at price,"
          "Lineitem sku,Billing Name,Id\n")
MARTS = ("kpi_store_daily", "stock_cover", "discount_violations", "kpi_alerts")


def order(n: int, day: str, quantity: str = "1", price: str = "10.00", name: str = "Maple syrup 250ml") -> str:
    return (f"#{n},buyer{n}@example.com,paid,{day} 10:00:00 -0500,{day} 09:58:00 -0500,,CAD,10.00,0.00,0.00,10.00,"
            f"0.00,0.00,{quantity},{name},{price},,MS-250,Pat Doe,{9000 + n}\n")


def hostile_but_readable(day: str) -> str:
    """50 one-line orders; two of them out of range (4 %, under the 5 % blocking share)."""
    rows = [order(n, day) for n in range(2001, 2051)]
    rows[4] = order(2005, day, quantity="3000000000")
    rows[9] = order(2010, day, price="9999999999999999.99")
    rows[14] = order(2015, day, name="Maple\x00 syrup")
    rows[19] = order(2020, day, name='"=HYPERLINK(""http://evil.example"",""x"")"')
    return HEADER + "".join(rows)


def drop(landing: Path, day: str, name: str, content: str | bytes) -> Path:
    folder = landing / "maple_shop" / "orders" / day
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def drop_blocking(landing: Path, day: str) -> None:
    rows = [order(n, day) for n in range(3001, 3021)]
    rows[7] = rows[7].replace(",Maple syrup 250ml,", ',"Maple syrup 250ml,', 1)  # a quote never closed: row 9
    drop(landing, day, "orders_export_quote.csv", HEADER + "".join(rows))
    os.symlink("/etc/passwd", landing / "maple_shop" / "orders" / day / "orders_export_link.csv")
    with drop(landing, day, "orders_export_huge.csv", HEADER).open("r+b") as fh:
        fh.truncate(1 << 30)


@pytest.fixture(params=["duckdb", "postgres"])
def site(request, tmp_path):
    landing = tmp_path / "landing"
    shutil.copytree(FIXTURES / "e2e_landing", landing)
    (tmp_path / "state").mkdir()
    if request.param == "duckdb":
        yield landing, str(tmp_path / "warehouse.duckdb"), tmp_path
        return
    from tests.pg import temp_database

    with temp_database("storekpi_hostile_e2e") as url:
        yield landing, url, tmp_path


def snapshot(target: str) -> object:
    if not target.startswith("postgresql://"):
        return hashlib.sha256(Path(target).read_bytes()).hexdigest()  # the published file, byte for byte
    import psycopg2

    with psycopg2.connect(target) as pg, pg.cursor() as cur:
        out = {}
        for mart in MARTS:
            cur.execute(f"select * from marts.{mart}")
            out[mart] = sorted(map(repr, cur.fetchall()))
        cur.execute("select schema_name from information_schema.schemata where schema_name like 'marts%'")
        out["schemas"] = sorted(r[0] for r in cur.fetchall())
        return out


def query(target: str, sql: str, params: list) -> list[tuple]:
    if target.startswith("postgresql://"):
        import psycopg2

        with psycopg2.connect(target) as pg, pg.cursor() as cur:
            cur.execute(sql.replace("?", "%s"), params)
            return cur.fetchall()
    with duckdb.connect(target, read_only=True) as con:
        return con.execute(sql, params).fetchall()


def test_hostile_nights_publish_what_can_be_read_and_block_the_rest(site):
    landing, target, tmp = site

    def run(day: str):
        return run_cli("run", "--landing", str(landing), "--warehouse", target, "--date", day,
                       "--outbox", str(tmp / "outbox"), "--reports", str(tmp / "reports"), home=tmp / "state")

    first = run("2026-11-20")
    assert first.code == 0, first.stderr[-3000:]

    readable = drop(landing, "2026-11-21", "orders_export_2.csv", hostile_but_readable("2026-11-21"))
    second = run("2026-11-21")
    assert second.code == 0, second.stderr[-3000:]
    assert second.summary["status"] == "published"
    relpath = readable.relative_to(landing).as_posix()
    assert query(target, "select rows_in, rows_loaded, rows_quarantined from audit.files where path = ?",
                 [relpath]) == [(50, 48, 2)]
    assert sorted(query(target, "select _row_number, reason, column_name from quarantine.rows "
                                "where _source_file = ?", [relpath])) == [
        (6, "unparseable", "Lineitem quantity"), (11, "unparseable", "Lineitem price")]
    [(orders, net_sales)] = query(target, "select orders, net_sales from marts.kpi_store_daily "
                                          "where store_id = 'maple_shop' and date = ?", ["2026-11-21"])
    assert (orders, str(net_sales)) == (48, "480.00")  # 48 readable orders of 10.00
    assert query(target, "select count(*) from raw.order_lines where _source_file = ? and product_name = ?",
                 [relpath, "Maple syrup"]) == [(1,)]  # the NUL removed

    before = snapshot(target)
    drop_blocking(landing, "2026-11-22")
    third = run("2026-11-22")
    assert third.code == 3, third.stderr[-3000:]
    assert third.summary["status"] == "blocked"
    for name in ("orders_export_quote.csv", "orders_export_link.csv", "orders_export_huge.csv"):
        assert name in third.summary["message"], third.summary["message"]
    assert snapshot(target) == before  # nothing of the blocked night reached the published marts
    files = dict(query(target, "select path, reason || ': ' || message from audit.files where status = 'rejected'",
                       []))
    day = "maple_shop/orders/2026-11-22/"
    assert files[day + "orders_export_quote.csv"].startswith(
        f"unreadable: {day}orders_export_quote.csv row 9: a quote (\") opened on this row is never closed")
    assert files[day + "orders_export_link.csv"].startswith("outside_landing: ")
    assert files[day + "orders_export_huge.csv"].startswith("too_large: ")

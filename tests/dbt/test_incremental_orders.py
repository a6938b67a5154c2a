"""The incremental order chain (docs/decisions.md "Incremental order chain") equals a full rebuild, night after
night, on DuckDB and PostgreSQL: D moving on, a night that changes nothing, a refund exported later for an old
order, a re-saved file, a forgotten file and a rerun of an older date.

Each night is built incrementally on the previous one; every intermediate and mart table is then copied aside,
the chain's tables and state are dropped and the same night is built again from scratch, and both are compared
row for row over all columns (sorted frames; floats to 1e-12).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from storekpi import dbt_runner
from storekpi.warehouse import Target, Warehouse

from dbt_rawdata import RUN_DATE
from table_frames import assert_same_rows, fetch, normalised
from tests.dbt.conftest import load_raw
from tests.pg import temp_database

CHAIN = ("int_orders_latest", "int_order_lines_latest", "int_order_facts", "int_paid_order_lines")
STATE = ("order_chain_state", "order_chain_files", "order_chain_built")
PLANNING = ("int_order_chain_night", "int_order_changes")  # describe the night, not the data
SNAPSHOT = "incremental_snapshot"
OLD_ORDER = ("tmall", "#k_h90a")  # paid 2026-08-20, three months before D
OLD_ORDER_DAY = "2026-08-20"


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def warehouse(request, tmp_path):
    """A warehouse holding the dbt tests' raw rows, built in place (no write-audit-publish around it)."""
    if request.param == "duckdb":
        target = Target(str(tmp_path / "warehouse.duckdb"))
        with Warehouse(target, path=target.path) as wh:
            load_raw(wh)
        yield Warehouse(target, path=target.path)
        return
    with temp_database("storekpi_inc_test") as url:
        target = Target(url)
        with Warehouse(target) as wh:
            load_raw(wh)
        wh = Warehouse(target, marts_schema="marts__build_test")
        yield wh
        wh.close()


def build(wh: Warehouse, run_date, work_dir) -> None:
    wh.close()  # dbt is the single writer
    dbt_runner.build(wh, run_date, work_dir=work_dir, data_tests=False)  # the comparisons are the test here


def compared_tables(wh: Warehouse) -> list[tuple[str, str]]:
    rows = wh.query(
        "select table_schema, table_name from information_schema.tables where table_type = 'BASE TABLE' "
        "and table_schema in ('intermediate', ?) order by 1, 2", [wh.marts_schema])
    return [(s, t) for s, t in rows if t not in STATE + PLANNING]


def night(wh: Warehouse) -> tuple:
    return wh.query("select rebuild_reason, previous_run_date from intermediate.int_order_chain_night")[0]


def changed_orders(wh: Warehouse) -> set[tuple]:
    return set(wh.query("select store_id, order_id from intermediate.int_order_changes"))


def assert_equals_full_rebuild(wh: Warehouse, run_date, work_dir) -> None:
    """Copy every table aside, rebuild the chain from nothing for the same D and compare."""
    tables = compared_tables(wh)
    assert {t for _, t in tables} >= set(CHAIN)
    with wh.transaction():
        wh.execute(f"drop schema if exists {SNAPSHOT} cascade")
        wh.execute(f"create schema {SNAPSHOT}")
        for schema, table in tables:
            wh.execute(f"create table {SNAPSHOT}.{table} as select * from {schema}.{table}")
        for table in CHAIN + STATE:
            wh.execute(f"drop table intermediate.{table}")
    build(wh, run_date, work_dir)
    assert night(wh)[0] == "no previous night"
    for schema, table in tables:
        assert_same_rows(sorted_frame(wh, SNAPSHOT, table), sorted_frame(wh, schema, table), table)


def sorted_frame(wh: Warehouse, schema: str, table: str):
    """The table's rows sorted by every column (floats last: they may differ in the last bit between builds,
    as a float sum depends on the order rows are added in)."""
    frame = fetch(wh, schema, table)
    floats = [c for c in frame.columns if frame[c].dtype.kind == "f"]
    return normalised(frame, [c for c in frame.columns if c not in floats] + floats)


def test_incremental_nights_equal_full_rebuilds(warehouse, tmp_path):
    wh, work = warehouse, tmp_path / "work"
    build(wh, RUN_DATE - timedelta(days=1), work)  # the first night: built in full
    assert night(wh)[0] == "no previous night"

    # D moves on: the exports dated D become visible
    build(wh, RUN_DATE, work)
    assert night(wh) == (None, RUN_DATE - timedelta(days=1))
    assert ("shop", "#H3") in changed_orders(wh)  # exported and paid on D
    assert_equals_full_rebuild(wh, RUN_DATE, work)

    # nothing changed: nothing recomputed
    build(wh, RUN_DATE, work)
    assert night(wh)[0] is None and changed_orders(wh) == set()
    assert_equals_full_rebuild(wh, RUN_DATE, work)

    # a refund on an old order, exported later in a new file: exactly that order and its day change
    before = daily_refunds(wh)
    insert_refund(wh)
    build(wh, RUN_DATE, work)
    assert night(wh)[0] is None
    assert changed_orders(wh) == {OLD_ORDER}
    after = daily_refunds(wh)
    assert {key for key in before.keys() | after.keys() if before.get(key) != after.get(key)} == {
        ("tmall", OLD_ORDER_DAY)}
    assert after[("tmall", OLD_ORDER_DAY)] - before.get(("tmall", OLD_ORDER_DAY), 0) == pytest.approx(1.25)
    assert_equals_full_rebuild(wh, RUN_DATE, work)

    # a re-saved landing file (re-ingested: the refund is now 2.50) and a forgotten one, the same night
    resave_file(wh, "tmall/orders/2026-11-20/ExportOrderList-refunds.csv", refund="2.50")
    forgotten = "shop/orders/2026-11-20/orders_export.csv"  # carries #H1's refund of 10.00, among others
    forget_file(wh, forgotten)
    build(wh, RUN_DATE, work)
    assert night(wh)[0] == "a raw file was changed or forgotten"
    assert_equals_full_rebuild(wh, RUN_DATE, work)
    refunds = daily_refunds(wh)
    assert refunds[("tmall", OLD_ORDER_DAY)] - before.get(("tmall", OLD_ORDER_DAY), 0) == pytest.approx(2.50)
    assert wh.query("select count(*) from intermediate.int_orders_latest where source_file = ?", [forgotten]) == [(0,)]
    assert refunds.get(("shop", "2026-11-19"), 0) == before.get(("shop", "2026-11-19"), 0) - 10

    # a rerun of an older date reproduces it
    build(wh, RUN_DATE - timedelta(days=3), work)
    assert night(wh)[0] == "D before the previous D"
    assert_equals_full_rebuild(wh, RUN_DATE - timedelta(days=3), work)


# -- raw changes as ingest and `storekpi forget` make them --------------------------------------------------------
ORDER_COLUMNS = ("order_id, customer_key, currency, status, created_at, paid_at, cancelled_at, fulfilled_at, "
                 "subtotal, order_discount, shipping, taxes, total, goods_amount, item_count, line_differences, _store_id")


def insert_refund(wh: Warehouse) -> None:
    """The old order exported again on D in a new file, with a refund of 1.25."""
    with wh.transaction():
        wh.execute(
            f"insert into raw.orders ({ORDER_COLUMNS}, refunded_amount, _source_file, _row_number, _export_date, "
            f"_batch_id, _loaded_at) select {ORDER_COLUMNS}, 1.25, "
            "'tmall/orders/2026-11-20/ExportOrderList-refunds.csv', 2, ?, 'refunds', ? "
            "from raw.orders where _store_id = ? and order_id = ? and _export_date = ?",
            [RUN_DATE, datetime(2026, 11, 21, 4), *OLD_ORDER, OLD_ORDER_DAY])


def resave_file(wh: Warehouse, source_file: str, *, refund: str) -> None:
    """Ingest's re-ingest of a changed file: its old rows deleted, the new ones loaded by a new batch."""
    with wh.transaction():
        wh.execute("create temporary table resaved as select * from raw.orders where _source_file = ?",
                   [source_file])
        wh.execute("delete from raw.orders where _source_file = ?", [source_file])
        wh.execute(f"update resaved set refunded_amount = {refund}, _batch_id = 'resaved', _loaded_at = ?",
                   [datetime(2026, 11, 21, 5)])
        wh.execute("insert into raw.orders select * from resaved")
        wh.execute("drop table resaved")


def forget_file(wh: Warehouse, source_file: str) -> None:
    with wh.transaction():
        for table in ("orders", "order_lines"):
            wh.execute(f"delete from raw.{table} where _source_file = ?", [source_file])


def daily_refunds(wh: Warehouse) -> dict[tuple, float]:
    """kpi_store_daily's refunds per (store, date) with any refund, as floats."""
    return {(s, str(d)): float(r) for s, d, r in wh.query(
        f"select store_id, cast(date as varchar), refunds from {wh.marts_schema}.kpi_store_daily "
        "where refunds <> 0")}

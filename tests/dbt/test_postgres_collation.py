"""Tie-breaks on text follow byte order on PostgreSQL too, whatever the database's collation: on a database with
a language collation (ICU en-US) the latest-export-wins tie between two files of one export date picks the file
DuckDB picks."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from storekpi import dbt_runner
from storekpi.warehouse import Target, Warehouse

from dbt_rawdata import RUN_DATE, RawBuilder, build_frames
from tests.pg import temp_database

pytestmark = pytest.mark.postgres

# "_" (0x5F) sorts after "-" (0x2D) byte by byte; en-US puts "orders_a-2.csv" after "orders_a_1.csv"
FILES = {"orders_a-2.csv": Decimal("10.00"), "orders_a_1.csv": Decimal("20.00")}


def _raw() -> dict:
    b = RawBuilder()
    for file, total in FILES.items():
        b.add("orders", "gen", RUN_DATE, file, order_id="TIE-1", customer_key="c1", currency="EUR",
              paid_at=datetime(2026, 11, 20, 9), created_at=datetime(2026, 11, 20, 9), total=total,
              order_discount=Decimal("0"), shipping=Decimal("0"), refunded_amount=Decimal("0"))
    frames = b.frames()
    frames["stores"] = build_frames()["stores"]
    return frames


def _load(target: Target, path=None) -> None:
    with Warehouse(target, path=path) as wh:
        wh.ensure_schema()
        for table, frame in _raw().items():
            wh.append(f"raw.{table}", frame)


def _latest_total(target: Target, work, path=None) -> Decimal:
    dbt_runner.build(Warehouse(target, path=path), RUN_DATE, work_dir=work,
                     select=["+int_orders_latest"])
    with Warehouse(target, path=path) as wh:
        [(total,)] = wh.query("select total from intermediate.int_orders_latest where order_id = 'TIE-1'")
    return Decimal(str(total))


def test_latest_export_tie_picks_the_bytewise_last_file_on_an_en_us_database(tmp_path):
    expected = FILES[max(FILES, key=lambda name: name.encode())]
    duck = Target(str(tmp_path / "w.duckdb"))
    _load(duck, duck.path)
    assert _latest_total(duck, tmp_path / "duck", duck.path) == expected
    with temp_database("storekpi_collation", icu_locale="en-US") as url:
        pg = Target(url)
        _load(pg)
        with Warehouse(pg) as wh:  # the database's own order differs from the bytes'
            assert wh.query("select 'orders_a-2.csv' > 'orders_a_1.csv'") == [(True,)]
        assert _latest_total(pg, tmp_path / "pg") == expected

"""Ingest works on PostgreSQL too (own database on 127.0.0.1:5432, user postgres; skipped without a server)."""

from datetime import datetime
from decimal import Decimal as D

import pytest
from ingest_support import FIXTURES, SALT
from pg import temp_database

from storekpi.ingest import forget, ingest
from storekpi.warehouse import Target, Warehouse

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_wh():
    with temp_database("storekpi_ingest") as url, Warehouse(Target(url)) as wh:
        wh.ensure_schema()
        yield wh


def test_ingest_and_forget_on_postgres(pg_wh, landing):
    orders = landing.add("shop_us", "orders", "2026-11-20", "o.csv", FIXTURES / "shopify" / "orders_export_1.csv")
    taobao = FIXTURES / "taobao"
    landing.add("tmall_flagship", "orders", "2026-11-20", "ExportOrderList.csv",
                taobao / "ExportOrderList202611201200.csv")
    landing.add("tmall_flagship", "orders", "2026-11-20", "ExportOrderDetailList.csv",
                taobao / "ExportOrderDetailList202611201200.csv")
    summary = ingest(pg_wh, landing.config, landing.files(), batch_id="b1", salt=SALT)
    assert (summary.files_loaded, summary.rows_in, summary.rows_loaded, summary.rows_quarantined) == (3, 21, 9, 12)
    assert pg_wh.query("select order_id, paid_at, total from raw.orders where order_id = '#1001'") == [
        ("#1001", datetime(2026, 11, 19, 22, 3, 11), D("48.20"))]
    assert pg_wh.query("select count(*) from raw.order_lines") == [(7,)]
    again = ingest(pg_wh, landing.config, landing.files(), batch_id="b2", salt=SALT)
    assert (again.files_unchanged, again.rows_in) == (3, 0)
    assert forget(pg_wh, orders) == 3 + 4 + 8
    assert pg_wh.query("select status from audit.files where path = ?", [orders]) == [("forgotten",)]

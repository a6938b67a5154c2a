"""`storekpi customers` on a hand-made warehouse and the hand-written exports of tests/fixtures/e2e_landing.

Keys are computed here with hashlib from customers.md's rule (salt ":" trimmed, lower-cased identifier), not with
storekpi's code, so a drift between ingest's hashing and the command's would fail this test.
"""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import date
from decimal import Decimal

import duckdb
import pytest

from storekpi.warehouse import Target, Warehouse
from tests.conftest import FIXTURES

SALT = "salt-kept-beside-the-warehouse"
SHOPIFY = FIXTURES / "e2e_landing" / "maple_shop" / "orders" / "2026-11-20" / "orders_export_1.csv"
TAOBAO = FIXTURES / "e2e_landing" / "tea_house" / "orders" / "2026-11-20"
ORDER_REPORT, LINE_REPORT = TAOBAO / "ExportOrderList202611210800.csv", TAOBAO / "ExportOrderDetailList202611210800.csv"
TRAFFIC = FIXTURES / "e2e_landing" / "maple_shop" / "traffic" / "2026-11-20" / "sessions_over_time.csv"
NO_SALT = {"STOREKPI_PII_SALT": ""}  # the salt file beside the warehouse decides


def key(identifier: str) -> str:
    return hashlib.sha256(f"{SALT}:{identifier.strip().lower()}".encode()).hexdigest()


@pytest.fixture
def warehouse(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    with Warehouse(Target(str(path)), path=path) as wh:
        wh.ensure_schema()
        wh.execute("insert into raw.stores (store_id, name, platform, timezone, currency) values "
                   "('maple_shop', 'Maple', 'shopify', 'UTC', 'CAD'), ('tea_house', 'Tea', 'taobao', 'UTC', 'CNY')")
        wh.execute("create schema marts")
        wh.execute("create table marts.customer_segments (store_id varchar, customer_key varchar, segment varchar, "
                   "last_paid_date date, orders_365d bigint, net_sales_365d decimal(18, 2))")
        rows = [
            ("maple_shop", key("alice@example.com"), "loyal", date(2026, 11, 20), 4, Decimal("52.50")),
            ("maple_shop", key("bob@example.com"), "one_off", date(2026, 11, 19), 1, Decimal("10.00")),
            ("maple_shop", key("carol@example.com"), "at_risk", date(2026, 7, 1), 2, Decimal("30.00")),
            ("maple_shop", key("dave@example.com"), "loyal", date(2026, 11, 2), 5, Decimal("99.00")),  # not exported
            ("tea_house", key("小明"), "loyal", date(2026, 11, 20), 3, Decimal("1180.00")),
            ("tea_house", key("alice@example.com"), "loyal", date(2026, 11, 1), 3, Decimal("1.00")),  # other platform
        ]
        for row in rows:
            wh.execute("insert into marts.customer_segments values (?, ?, ?, ?, ?, ?)", list(row))
    path.with_name(path.name + ".salt").write_text(SALT + "\n")
    return path


def _csv(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_lists_each_matching_identity_once_with_its_store_and_segment(cli, warehouse):
    result = cli("customers", "--warehouse", str(warehouse), "--segment", "loyal,at_risk",
                 "--match", str(SHOPIFY), str(ORDER_REPORT), str(LINE_REPORT), env=NO_SALT)
    assert result.code == 0, result.stderr
    assert _csv(result.stdout) == [
        {"store_id": "maple_shop", "identifier": "alice@example.com", "segment": "loyal",
         "last_paid_date": "2026-11-20", "orders_365d": "4", "net_sales_365d": "52.50"},
        {"store_id": "maple_shop", "identifier": "carol@example.com", "segment": "at_risk",
         "last_paid_date": "2026-07-01", "orders_365d": "2", "net_sales_365d": "30.00"},
        {"store_id": "tea_house", "identifier": "小明", "segment": "loyal",
         "last_paid_date": "2026-11-20", "orders_365d": "3", "net_sales_365d": "1180.00"},
    ]
    for secret in ("alice", "carol", "小明", "bob"):
        assert secret not in result.stderr
    assert "identities" in result.stderr and ": 0 identities" in result.stderr


def test_out_file_store_filter_and_unchanged_warehouse(cli, warehouse, tmp_path):
    before = warehouse.read_bytes()
    out = tmp_path / "call_back.csv"
    result = cli("customers", "--warehouse", str(warehouse), "--segment", "one_off", "--store", "maple_shop",
                 "--match", str(SHOPIFY), "--out", str(out), env=NO_SALT)
    assert result.code == 0, result.stderr
    assert [r["identifier"] for r in _csv(out.read_text(encoding="utf-8-sig"))] == ["bob@example.com"]
    assert out.read_bytes().startswith(b"\xef\xbb\xbf") and out.stat().st_mode & 0o077 == 0
    assert result.summary == {"customers": 1, "out": str(out)}
    assert warehouse.read_bytes() == before
    with duckdb.connect(str(warehouse), read_only=True) as con:  # still a valid warehouse
        assert con.execute("select count(*) from marts.customer_segments").fetchone()[0] == 6


@pytest.mark.parametrize("args,env,needle", [
    (["--segment", "vip", "--match", str(SHOPIFY)], NO_SALT, "--segment: unknown segment 'vip'"),
    (["--segment", "loyal", "--match", str(TRAFFIC)], NO_SALT, "is not an orders export"),
    (["--segment", "loyal", "--store", "tea_house", "--match", str(SHOPIFY)], NO_SALT, "--match"),
    (["--segment", "loyal", "--store", "nowhere", "--match", str(SHOPIFY)], NO_SALT, "--store: unknown store"),
    (["--segment", "loyal", "--match", "missing.csv"], NO_SALT, "--match: file not found"),
])
def test_usage_errors_exit_2_naming_the_option(cli, warehouse, args, env, needle):
    result = cli("customers", "--warehouse", str(warehouse), *args, env=env)
    assert result.code == 2 and needle in result.stderr, result.stderr
    assert result.stdout == "" and "Traceback" not in result.stderr


def test_missing_salt_exits_2_and_creates_none(cli, warehouse):
    salt = warehouse.with_name(warehouse.name + ".salt")
    salt.unlink()
    result = cli("customers", "--warehouse", str(warehouse), "--segment", "loyal", "--match", str(SHOPIFY),
                 env=NO_SALT)
    assert result.code == 2 and "no personal-data salt" in result.stderr and "STOREKPI_PII_SALT" in result.stderr
    assert not salt.exists()


def test_a_warehouse_never_built_exits_2_naming_it_and_creates_nothing(cli, tmp_path):
    missing = tmp_path / "never_built.duckdb"
    result = cli("customers", "--warehouse", str(missing), "--segment", "loyal", "--match", str(SHOPIFY),
                 env=NO_SALT)
    assert result.code == 2 and f"--warehouse {missing} does not exist" in result.stderr, result.stderr
    assert not missing.exists() and not missing.with_name(missing.name + ".salt").exists()

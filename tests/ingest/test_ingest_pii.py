"""No personal data in the warehouse (file bytes and every text value) or the logs; customer_key and the salt."""

import hashlib
import logging
import re

from ingest_support import FIXTURES, SALT, run

from storekpi import pii
from storekpi.warehouse import Target

NICKNAMES_AND_NAMES = ["小明2026", "tb_buyer_b", "tb_buyer_c", "tb_buyer_d", "tb_buyer_x", "tb_buyer_y", "王小明",
                       "李四", "13800000001", "文三路", "Alice Smith", "Guest Buyer", "Carol King", "Dan Brown",
                       "555 0100", "1 Main St"]


def personal_values() -> list[str]:
    emails = set()
    for path in FIXTURES.rglob("*.csv"):
        raw = path.read_bytes()
        text = raw.decode("utf-8") if raw.isascii() or path.parent.name not in ("taobao", "marketing") \
            else raw.decode("gb18030", errors="replace")  # marketing/ holds UTF-8 and GB18030 fixtures
        emails |= {m.strip() for m in re.findall(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", text)}
    assert len(emails) >= 10  # the search must have something to find
    return sorted(emails | {e.lower() for e in emails}) + NICKNAMES_AND_NAMES


def test_no_personal_data_in_warehouse_or_logs(wh, landing, caplog, tmp_path):
    for platform, store in (("shopify", "shop_us"), ("taobao", "tmall_flagship"), ("generic", "erp_shop")):
        for path in (FIXTURES / platform).glob("*.csv"):
            dataset = next(d for d, words in (
                ("orders", ("order", "Order")), ("traffic", ("sessions", "overview")),
                ("reviews", ("review",)), ("stock", ("stock", "inventory")), ("products", ("products",)))
                if any(w in path.name for w in words))
            landing.add(store, dataset, "2026-11-20", path.name, path)
    landing.add("shop_us", "orders", "2026-11-21", "headerless.csv", "#9,zed@example.com,Zed Zulu\n")
    with caplog.at_level(logging.DEBUG):
        summary = run(wh, landing)
    assert summary.files_loaded >= 12 and summary.rows_loaded > 20 and summary.rows_quarantined > 10

    texts = []
    for schema_name, table in wh.query("select table_schema, table_name from information_schema.tables "
                                       "where table_schema in ('raw', 'quarantine', 'audit')"):
        columns = [c for c, t in wh.query("select column_name, data_type from information_schema.columns "
                                          "where table_schema = ? and table_name = ?", [schema_name, table])
                   if t == "VARCHAR"]
        for row in wh.query(f"select {', '.join(columns)} from {schema_name}.{table}"):
            texts.extend(v for v in row if v)
    wh.execute("checkpoint")
    wh.close()
    stored = (tmp_path / "warehouse.duckdb").read_bytes()
    assert "保温杯 500ml".encode() in stored and b"MUG-BLU" in stored  # the byte search can find stored text
    everything = "\n".join(texts)
    logs = caplog.text + "\n".join(str(r.args) for r in caplog.records)
    for value in personal_values() + ["zed@example.com", "Zed Zulu"]:
        assert value not in everything, value
        assert value.encode() not in stored, value
        assert value not in logs, value


def test_customer_key_is_salted_sha256_of_the_normalised_identifier():
    expected = hashlib.sha256(b"pepper:alice@example.com").hexdigest()
    assert pii.customer_key(["Alice@Example.com", " alice@example.com\t", "", None], "pepper") == [
        expected, expected, None, None]
    assert pii.customer_key(["小明2026"], "pepper") == [hashlib.sha256("pepper:小明2026".encode()).hexdigest()]


def test_salt_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("STOREKPI_PII_SALT", "from-env")
    assert pii.salt_for(Target(str(tmp_path / "w.duckdb"))) == "from-env"
    assert not (tmp_path / "w.duckdb.salt").exists()


def test_salt_file_beside_the_duckdb_warehouse_is_created_once(monkeypatch, tmp_path):
    monkeypatch.delenv("STOREKPI_PII_SALT", raising=False)
    target = Target(str(tmp_path / "w.duckdb"))
    first = pii.salt_for(target)
    assert len(first) == 64 and (tmp_path / "w.duckdb.salt").read_text() == first
    assert (tmp_path / "w.duckdb.salt").stat().st_mode & 0o777 == 0o600
    assert pii.salt_for(target) == first
    assert pii.salt_for(Target(str(tmp_path / "other.duckdb"))) != first


def test_ingest_uses_the_given_salt(wh, landing):
    landing.add("erp_shop", "orders", "2026-11-20", "o.csv", FIXTURES / "generic" / "orders.csv")
    run(wh, landing)
    assert ("A-1", hashlib.sha256(f"{SALT}:c-9".encode()).hexdigest()) in wh.query(
        "select order_id, customer_key from raw.orders")

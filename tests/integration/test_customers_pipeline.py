"""Customers (customers.md) on the generator's data through the whole pipeline, checked by paths of their own.

- customer_segments, customer_ltv and the customer columns of kpi_store_daily equal a pandas computation from the
  published raw tables (tests/customer_reference.py), and the segments are all there: loyal, lapsing, one-off;
- `storekpi customers` lists exactly the identities whose key — computed here with hashlib, not storekpi — is in
  the segment, and leaves no e-mail address or member name in the warehouse, `$STOREKPI_HOME` or its logs;
- the report's customer section shows counts and curves, never a customer key;
- the same landing folder run into PostgreSQL gives the same customer marts.
"""

from __future__ import annotations

import csv
import hashlib
import io
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml

from storekpi.generate import generate
from tests.conftest import run_cli
from tests.customer_reference import LTV_KEYS, SEGMENT_KEYS, expected_customer_ltv, expected_customer_segments
from tests.kpi_reference import assert_frames_equal, order_facts
from tests.pg import temp_database

pytestmark = pytest.mark.e2e
END = "2026-11-20"
SALT = "test-salt"  # what tests.conftest.run_cli sets
IDENTIFIER_COLUMNS = {"Email": "shopify", "买家会员名": "taobao", "customer_id": "generic"}


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    root = tmp_path_factory.mktemp("customers")
    landing = root / "landing"
    # 200 days: long enough for at_risk (91-180 days) and lapsed customers; a small shop's volume, and only the
    # last weeks of traffic, reviews and stock (customers do not depend on them), to keep the run short
    generate(landing, stores=3, days=200, seed=5, orders_per_day=15)
    for folder in (*landing.glob("*/traffic/*"), *landing.glob("*/reviews/*"), *landing.glob("*/stock/*")):
        if folder.name < "2026-10-20":
            shutil.rmtree(folder)
    # at this volume the generator's few bad rows are a larger share of a small file than the default 5 %
    stores = yaml.safe_load((landing / "stores.yml").read_text(encoding="utf-8"))
    stores.setdefault("defaults", {}).setdefault("thresholds", {})["max_quarantine_share"] = 0.5
    (landing / "stores.yml").write_text(yaml.safe_dump(stores, allow_unicode=True), encoding="utf-8")
    (root / "state").mkdir()
    warehouse = root / "warehouse.duckdb"
    result = run_cli("run", "--landing", str(landing), "--warehouse", str(warehouse), "--date", END,
                     "--outbox", str(root / "outbox"), home=root / "state", timeout=1800)
    assert result.code == 0, result.stderr[-4000:]
    return root, landing, warehouse


def _query(warehouse: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).df()


def _raw(warehouse: Path) -> dict[str, pd.DataFrame]:
    frames = {t: _query(warehouse, f"select * from raw.{t}") for t in ("orders", "order_lines", "stores")}
    for frame in frames.values():
        if "_export_date" in frame:
            frame["_export_date"] = pd.to_datetime(frame["_export_date"]).dt.date
    return frames


def test_customer_marts_equal_pandas_and_every_segment_occurs(published):
    _, _, warehouse = published
    D = date.fromisoformat(END)
    raw = _raw(warehouse)
    orders = order_facts(raw, D)
    segments = _query(warehouse, "select * exclude (net_sales, net_sales_365d), cast(net_sales as varchar) "
                                 "as net_sales, cast(net_sales_365d as varchar) as net_sales_365d "
                                 "from marts.customer_segments")
    for column in ("first_paid_date", "last_paid_date"):
        segments[column] = pd.to_datetime(segments[column]).dt.date
    wanted = expected_customer_segments(orders, raw["stores"], D)
    assert_frames_equal(segments, wanted[list(segments.columns)], SEGMENT_KEYS, ["net_sales", "net_sales_365d"])
    ltv = _query(warehouse, "select * from marts.customer_ltv")
    ltv["cohort_month"] = pd.to_datetime(ltv["cohort_month"]).dt.date
    assert_frames_equal(ltv, expected_customer_ltv(orders, D)[list(ltv.columns)], LTV_KEYS, [])
    # every store has loyal repeat buyers, lapsing ones and one-offs
    for store_id, store in segments.groupby("store_id"):
        assert {"new", "loyal", "at_risk", "lapsed", "one_off", "regular"} <= set(store["segment"]), store_id


def test_kpi_store_daily_customer_columns_equal_pandas(published):
    from tests.customer_reference import expected_customer_daily

    _, _, warehouse = published
    D = date.fromisoformat(END)
    raw = _raw(warehouse)
    daily = _query(warehouse, "select store_id, date, repurchase_rate_30d, loyal_customers "
                              "from marts.kpi_store_daily where date >= date '2026-09-01'")
    daily["date"] = pd.to_datetime(daily["date"]).dt.date
    wanted = expected_customer_daily(order_facts(raw, D), raw["stores"], daily[["store_id", "date"]])
    assert_frames_equal(daily, wanted, ["store_id", "date"], [])
    assert daily["repurchase_rate_30d"].gt(0).any() and daily["loyal_customers"].gt(0).any()


def _identities(files: list[Path]) -> dict[str, tuple[str, str]]:
    """identifier as written -> (platform, its customer_key), read with pandas and hashed with hashlib."""
    out = {}
    for path in files:
        data = path.read_bytes()
        if data[:2] == b"\x1f\x8b":
            import gzip

            data = gzip.decompress(data)
        if data[:4] == b"PAR1":
            frame = pd.read_parquet(io.BytesIO(data))
            frame = frame.astype(object).where(frame.notna(), "")  # pandas' str dtype keeps a missing id as NaN
        else:
            try:
                text = data.decode("utf-8-sig")
            except UnicodeDecodeError:
                text = data.decode("gb18030")
            frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
        for column, platform in IDENTIFIER_COLUMNS.items():
            if column in frame.columns:
                for value in frame[column]:
                    value = value.strip().removeprefix('="').removesuffix('"').strip()
                    if value and value.lower() not in ("none", "nan"):
                        key = hashlib.sha256(f"{SALT}:{value.lower()}".encode()).hexdigest()
                        out.setdefault(value, (platform, key))
    return out


def _order_files(landing: Path) -> list[Path]:
    return sorted(p for p in landing.glob("*/orders/*/*") if p.is_file())


def test_customers_command_lists_exactly_the_segment_and_leaks_nothing(published):
    root, landing, warehouse = published
    files = _order_files(landing)
    out = root / "call_back.csv"
    home = root / "state"
    before = {p: p.stat().st_mtime_ns for p in home.rglob("*") if p.is_file()}
    warehouse_bytes = warehouse.read_bytes()
    result = run_cli("customers", "--warehouse", str(warehouse), "--segment", "loyal,at_risk", "--match",
                     *map(str, files), "--out", str(out), home=home, timeout=1800)
    assert result.code == 0, result.stderr[-3000:]
    listed = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert listed and list(listed[0]) == ["store_id", "identifier", "segment", "last_paid_date", "orders_365d",
                                          "net_sales_365d"]
    # independently: identities of the exports whose key is in those segments of a store on the same platform
    identities = _identities(files)
    segments = _query(warehouse, "select s.store_id, s.customer_key, s.segment, st.platform "
                                 "from marts.customer_segments s join raw.stores st using (store_id) "
                                 "where s.segment in ('loyal', 'at_risk')")
    wanted_keys = {(r.store_id, r.customer_key): r.segment for r in segments.itertuples()}
    platforms = dict(zip(segments["store_id"], segments["platform"]))
    got = {}
    for row in listed:
        platform, key = identities[row["identifier"]]
        assert platforms[row["store_id"]] == platform
        got[(row["store_id"], key)] = row["segment"]
    assert got == wanted_keys  # every customer of the segments appears in the exports, and nobody else is listed
    assert len(got) == len(listed)  # one row per customer
    assert {r["segment"] for r in listed} == {"loyal", "at_risk"}
    # stdout gives the same CSV
    again = run_cli("customers", "--warehouse", str(warehouse), "--segment", "loyal,at_risk", "--match",
                    *map(str, files), home=home, timeout=1800)
    assert again.code == 0 and again.stdout == out.read_text(encoding="utf-8-sig")
    # nothing personal anywhere else: the warehouse is unchanged, the state folder gained nothing, logs are clean
    assert warehouse.read_bytes() == warehouse_bytes
    after = {p: p.stat().st_mtime_ns for p in home.rglob("*") if p.is_file()}
    assert after == before
    # e-mails, member names and customer ids (pure hex text also occurs by chance inside keys: skipped)
    names = [i for i in identities if len(i) >= 5 and not all(c in "0123456789abcdef" for c in i.lower())]
    assert any("@" in n for n in names) and any(ord(c) > 0x2E80 for n in names for c in n)
    logs = (result.stderr + again.stderr + result.stdout).encode()
    haystacks = [logs, warehouse_bytes] + [p.read_bytes() for p in home.rglob("*") if p.is_file()]
    assert [n for n in names if any(n.encode() in h for h in haystacks)] == []
    assert "call_back.csv" in result.stdout and "identities" in result.stderr


@pytest.mark.parametrize("case", ["segment", "not_orders", "salt"])
def test_customers_command_usage_errors_exit_2(published, case):
    root, landing, warehouse = published
    orders = str(_order_files(landing)[0])
    traffic = str(next(p for p in landing.glob("*/traffic/*/*") if p.is_file()))
    args = {"segment": (["--segment", "vip", "--match", orders], {}, "--segment"),
            "not_orders": (["--segment", "loyal", "--match", traffic], {}, "--match"),
            "salt": (["--segment", "loyal", "--match", orders], {"STOREKPI_PII_SALT": ""}, "salt")}[case]
    result = run_cli("customers", "--warehouse", str(warehouse), *args[0], home=root / "state", env=args[1])
    assert result.code == 2, result.stderr[-2000:]
    assert args[2] in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""


def test_report_customer_section_has_counts_and_curves_but_no_keys(published):
    root, _, warehouse = published
    report = (root / "reports" / END / "report.html").read_text(encoding="utf-8")
    keys = set(_query(warehouse, "select customer_key from marts.customer_segments")["customer_key"])
    assert not [k for k in keys if k in report]
    for store_id in _query(warehouse, "select store_id from raw.stores")["store_id"]:
        section = report.split(f'id="store-{store_id}-customers"', 1)[1].split("<h3", 1)[0]
        assert "loyal" in section and "at_risk" in section and "LTV curves by cohort" in section
        assert section.count("<polyline") >= 3  # loyal trend, repurchase trend and at least one cohort curve


@pytest.mark.postgres
def test_postgres_customer_marts_equal_duckdb(published):
    root, landing, warehouse = published
    with temp_database("storekpi_customers") as url:
        (root / "pg_state").mkdir(exist_ok=True)
        result = run_cli("run", "--landing", str(landing), "--warehouse", url, "--date", END,
                         "--outbox", str(root / "pg_outbox"), "--reports", str(root / "pg_reports"),
                         home=root / "pg_state", timeout=1800)
        assert result.code == 0, result.stderr[-4000:]
        import psycopg2

        with duckdb.connect(str(warehouse), read_only=True) as con, psycopg2.connect(url) as pg:
            for mart, columns in (("customer_segments", "*"), ("customer_ltv", "*"),
                                  ("kpi_store_daily", "store_id, date, repurchase_rate_30d, loyal_customers")):
                select = f"select {columns} from marts.{mart}"
                with pg.cursor() as cur:
                    cur.execute(select)
                    theirs = cur.fetchall()
                ours = con.execute(select).fetchall()
                assert len(ours) == len(theirs) > 0, mart
                assert _normalise(ours) == _normalise(theirs), mart


def _normalise(rows: list[tuple]) -> list[tuple]:
    """Across drivers: floats to 12 significant digits, decimals normalised, dates as text."""
    def cell(value):
        if isinstance(value, float):
            return float(f"{value:.12g}")
        if isinstance(value, Decimal):
            return value.normalize()
        return value.isoformat() if hasattr(value, "isoformat") else value

    return sorted((tuple(cell(v) for v in row) for row in rows), key=repr)

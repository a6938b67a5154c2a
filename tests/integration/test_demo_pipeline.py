"""The generator's demo data through the whole pipeline, checked by paths that do not share its code.

- kpi_store_daily and stock_cover equal an independent pandas computation from the published raw tables;
- the same landing folder run into PostgreSQL gives marts equal to the DuckDB run, row for row;
- no e-mail address, buyer nickname, name, phone or street from the inputs appears in the warehouse file, the
  reports, the e-mails or the logs.
"""

from __future__ import annotations

import csv
import email
import gzip
import io
import re
from decimal import Decimal
from email.policy import default as email_policy
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from storekpi.generate import generate
from tests.conftest import run_cli
from tests.kpi_reference import MONEY_DAILY, assert_frames_equal, expected_marts
from tests.pg import temp_database

pytestmark = pytest.mark.e2e
END = "2026-11-20"
MARTS = ("kpi_store_daily", "stock_cover", "repurchase_cohorts", "discount_violations", "revenue_bridge",
         "kpi_alerts", "product_daily", "product_classes", "replenishment", "promo_readiness",
         "target_pacing", "role_scorecards")  # targets.md
HEX = re.compile(r"[0-9a-f]+")
PERSONAL_COLUMNS = {
    "email", "billing name", "billing street", "shipping name", "shipping street", "phone", "author",
    "reviewer_name", "reviewer_email", "customer_id", "买家会员名", "买家支付宝账号", "收货人姓名", "收货地址", "联系手机",
}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    landing = root / "landing"
    generate(landing, stores=3, days=21, seed=11)
    (root / "state").mkdir()
    warehouse = root / "warehouse.duckdb"
    result = run_cli("run", "--landing", str(landing), "--warehouse", str(warehouse), "--date", END,
                     "--outbox", str(root / "outbox"), home=root / "state")
    assert result.code == 0, result.stderr[-4000:]
    (root / "logs.txt").write_text(result.stdout + result.stderr, encoding="utf-8")
    return root, landing, warehouse, result.summary


def test_demo_publishes_with_alerts(demo):
    _, _, _, summary = demo
    assert summary["status"] == "published"
    assert summary["stores"] == 3
    assert summary["rows_loaded"] > 1000 and 0 < summary["rows_quarantined"] < summary["rows_loaded"] * 0.05
    assert summary["alerts"] > 0


def _raw_frames(warehouse: Path) -> dict[str, pd.DataFrame]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        frames = {t: con.execute(f"select * from raw.{t}").df()
                  for t in ("orders", "order_lines", "traffic", "reviews", "stock", "stores", "ad_spend",
                            "store_thresholds")}
    for name, frame in frames.items():
        for column in ("_export_date", "date", "snapshot_date"):
            if column in frame:
                frame[column] = pd.to_datetime(frame[column]).dt.date
    return frames


def test_kpis_equal_an_independent_pandas_computation(demo):
    from datetime import date

    _, _, warehouse, _ = demo
    expected = expected_marts(_raw_frames(warehouse), date.fromisoformat(END))
    with duckdb.connect(str(warehouse), read_only=True) as con:
        daily = con.execute("select * exclude (gross_sales, discounts, net_sales, refunds), "
                            "cast(gross_sales as varchar) as gross_sales, cast(discounts as varchar) as discounts, "
                            "cast(net_sales as varchar) as net_sales, cast(refunds as varchar) as refunds "
                            "from marts.kpi_store_daily").df()
        cover = con.execute("select * from marts.stock_cover").df()
    for frame in (daily, cover):
        frame["date"] = pd.to_datetime(frame["date"]).dt.date
    assert_frames_equal(daily, expected["kpi_store_daily"][list(daily.columns)], ["store_id", "date"], MONEY_DAILY)
    assert_frames_equal(cover, expected["stock_cover"][list(cover.columns)], ["store_id", "sku", "date"], [])


def test_target_pacing_equals_pandas_row_for_row(demo):
    """targets.md: target_pacing recomputed from the pandas kpi_store_daily and stores.yml read as plain YAML."""
    from datetime import date

    import numpy as np
    import yaml

    from tests.targets_reference import expected_target_pacing

    _, landing, warehouse, _ = demo
    D = date.fromisoformat(END)
    doc = yaml.safe_load((landing / "stores.yml").read_text(encoding="utf-8"))
    daily = expected_marts(_raw_frames(warehouse), D)["kpi_store_daily"]
    wanted = expected_target_pacing(daily, doc, D, money_in_cents=("net_sales",))
    with duckdb.connect(str(warehouse), read_only=True) as con:
        got = con.execute("select * exclude (budget_tolerance, pacing_min) from marts.target_pacing").df()
        alerts = con.execute("select store_id, metric from marts.kpi_alerts where rule = 'pacing_behind' "
                             "and date = ?", [D]).fetchall()
        overruns = con.execute("select store_id, metric from marts.kpi_alerts where rule = 'ad_budget_overrun' "
                               "and date = ?", [D]).fetchall()
        phases = con.execute("select store_id, count(*) from raw.store_thresholds group by store_id").fetchall()
    got["month"] = pd.to_datetime(got["month"]).dt.date
    got["on_track"] = got["on_track"].map(lambda v: None if v is None or pd.isna(v) else bool(v)).astype(object)
    wanted["on_track"] = wanted["on_track"].astype(object)
    assert len(wanted) == 7  # 3 stores x November x orders and visitors, and eu_erp's ad budget
    assert "ad_spend" in set(wanted["metric"])
    assert_frames_equal(got, wanted[list(got.columns)], ["store_id", "month", "metric"], [], rtol=1e-9)
    # the generated plan: a phase change inside the period for every store, and one store behind pace on D
    assert {n for _, n in phases} == {2}
    assert alerts == [("tmall_flagship", "orders")]
    root = warehouse.parent  # ... and its owner (ops) is told, in the alert e-mail of the store's ops address
    mails = [p.read_text(encoding="utf-8", errors="replace") for p in (root / "outbox").glob("*tmall-ops*.eml")]
    assert len(mails) == 1 and "Behind the monthly target" in email.message_from_string(
        mails[0], policy=email_policy).get_body(("plain",)).get_content()
    # eu_erp's ad budget is overrun, and its marketing owner (the default recipient) is told
    assert overruns == [("eu_erp", "ad_spend")]
    mails = [p.read_text(encoding="utf-8", errors="replace") for p in (root / "outbox").glob("*-marketing@*.eml")]
    assert any("Ad spend over budget" in email.message_from_string(m, policy=email_policy).get_body(
        ("plain",)).get_content() for m in mails)
    assert np.isclose(wanted[(wanted.store_id == "tmall_flagship") & (wanted.month == date(2026, 11, 1))
                             & (wanted.metric == "orders")]["on_track"].astype(float), 0).all()


def test_product_classes_and_replenishment_equal_pandas_row_for_row(demo):
    """merchandising.md recomputed in the test with pandas / numpy / scipy (tests/merch_reference.py)."""
    from datetime import date

    from tests.merch_reference import expected_product_classes, expected_replenishment

    _, _, warehouse, _ = demo
    D = date.fromisoformat(END)
    raw = _raw_frames(warehouse)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for table in ("products", "hero_skus"):
            raw[table] = con.execute(f"select * from raw.{table}").df()
        classes = con.execute("select * from marts.product_classes").df()
        reorder = con.execute("select store_id, sku, date, demand_std, lead_time_days, safety_stock, reorder_point, "
                              "order_up_to, is_hero, needs_reorder, suggested_order_qty from marts.replenishment "
                              "where date = ?", [D]).df()
    for column in ("_export_date", "valid_from"):
        raw["products"][column] = pd.to_datetime(raw["products"][column]).dt.date
    classes["last_sold_date"] = pd.to_datetime(classes["last_sold_date"]).dt.date
    reorder["date"] = pd.to_datetime(reorder["date"]).dt.date
    wanted = expected_product_classes(raw, D)
    assert_frames_equal(classes, wanted[list(classes.columns)], ["store_id", "sku"], [], rtol=1e-9)
    assert_frames_equal(reorder, expected_replenishment(raw, D)[list(reorder.columns)], ["store_id", "sku"], [],
                        rtol=1e-9)
    # the demo has what the merchandiser's report shows: every role, dead stock, heroes to reorder
    assert {"hero", "dead_stock", "profit_driver", "long_tail"} <= set(classes["role"])
    assert set(classes["abc_class"]) >= {"A", "B", "C", "U"}
    assert reorder["needs_reorder"].any() and (reorder["suggested_order_qty"] > 0).any()


def _normalise(rows: list[tuple]) -> list[tuple]:
    """Compare across engines: money as Decimal text, floats to 12 significant digits."""
    def cell(value):
        if isinstance(value, float):
            return float(f"{value:.12g}")
        if isinstance(value, Decimal):
            return value.normalize()
        if hasattr(value, "isoformat"):
            return value.isoformat()
        return value

    return sorted((tuple(cell(v) for v in row) for row in rows), key=repr)


def test_postgres_run_equals_duckdb_run(demo):
    root, landing, warehouse, _ = demo
    with temp_database("storekpi_demo") as url:
        (root / "pg_state").mkdir(exist_ok=True)
        result = run_cli("run", "--landing", str(landing), "--warehouse", url, "--date", END,
                         "--outbox", str(root / "pg_outbox"), "--reports", str(root / "pg_reports"),
                         home=root / "pg_state")
        assert result.code == 0, result.stderr[-4000:]
        import psycopg2

        with duckdb.connect(str(warehouse), read_only=True) as con, psycopg2.connect(url) as pg:
            for mart in MARTS:
                columns = [r[0] for r in con.execute(
                    "select column_name from information_schema.columns where table_schema = 'marts' "
                    "and table_name = ? order by ordinal_position", [mart]).fetchall()]
                select = f"select {', '.join(columns)} from marts.{mart}"
                with pg.cursor() as cur:
                    cur.execute(select)
                    pg_rows = cur.fetchall()
                duck_rows = con.execute(select).fetchall()
                assert len(duck_rows) == len(pg_rows), mart
                assert _normalise(duck_rows) == _normalise(pg_rows), mart


def _input_tables(landing: Path):
    """Every landing file as (header, rows), read with plain pandas/csv, not storekpi's readers."""
    for path in sorted(p for p in landing.rglob("*") if p.is_file() and p.parent != landing):
        data = path.read_bytes()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        if not data.strip():
            continue
        if data[:4] == b"PAR1":
            frame = pd.read_parquet(io.BytesIO(data))
        elif data[:2] == b"PK":
            frame = pd.read_excel(io.BytesIO(data), header=None, dtype=str)
            yield from _rows_after_header([[str(c) for c in row] for row in frame.fillna("").to_numpy()])
            continue
        else:
            if data[:2] in (b"\xff\xfe", b"\xfe\xff"):  # Google Ads' "Excel" CSV
                text = data.decode("utf-16")
            else:
                try:
                    text = data.decode("utf-8-sig")
                except UnicodeDecodeError:
                    text = data.decode("gb18030")
            delimiter = "\t" if text.split("\n", 1)[0].count("\t") > text.split("\n", 1)[0].count(",") else ","
            yield from _rows_after_header(list(csv.reader(io.StringIO(text), delimiter=delimiter)))
            continue
        yield from _rows_after_header([list(frame.columns)] + [[str(v) for v in row] for row in frame.to_numpy()])


def _rows_after_header(rows: list[list[str]]):
    for i, row in enumerate(rows):
        names = [c.strip().lower() for c in row]
        if len(names) > 2 and len(set(names) - {""}) > 2:
            yield names, rows[i + 1:]
            return


def _personal_values(landing: Path) -> set[str]:
    values = set()
    for header, rows in _input_tables(landing):
        columns = [i for i, name in enumerate(header) if name in PERSONAL_COLUMNS]
        for row in rows:
            for i in columns:
                value = row[i].strip() if i < len(row) else ""
                # pure hex text (a nickname like 'ccc7557') also occurs by chance inside SHA-256 keys: skip it
                if len(value) >= 5 and value.lower() not in ("nan", "none") and not HEX.fullmatch(value.lower()):
                    values.add(value)
    return values


def test_no_personal_data_in_warehouse_reports_emails_or_logs(demo):
    root, landing, warehouse, _ = demo
    secrets = _personal_values(landing)
    assert len(secrets) > 100  # the inputs really carry personal data
    assert any("@example.com" in s for s in secrets) and any(ord(c) > 0x4E00 for s in secrets for c in s)
    haystacks = {warehouse: warehouse.read_bytes(), root / "logs.txt": (root / "logs.txt").read_bytes()}
    # reports and e-mails, and the state folder: run summaries, Airflow's metadata (XComs) and any task logs
    for folder in (root / "reports", root / "outbox", root / "state"):
        files = [p for p in folder.rglob("*") if p.is_file()]
        assert files, f"nothing written under {folder}"
        haystacks.update({p: p.read_bytes() for p in files})
    leaks = []
    for secret in secrets:
        needles = {secret.encode("utf-8"), secret.lower().encode("utf-8")}
        for path, data in haystacks.items():
            if any(n in data for n in needles):
                leaks.append((secret, str(path)))
    assert leaks == []

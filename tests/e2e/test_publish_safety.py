"""Write-audit-publish: nothing unvalidated ever reaches analysts (issue 6, spec quality.md "Never").

Each test runs the real `storekpi run` (Airflow in a subprocess) on copies of the hand-written fixture landing.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from tests.conftest import FIXTURES, ROOT, run_cli, run_progress

pytestmark = pytest.mark.e2e
DAY = "2026-11-20"
NEXT = "2026-11-21"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def marts_snapshot(warehouse: Path) -> dict:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {t: con.execute(f"select * from marts.{t} order by all").fetchall()
                for t in ("kpi_store_daily", "stock_cover", "repurchase_cohorts", "discount_violations",
                          "revenue_bridge", "kpi_alerts")}


@pytest.fixture
def site(published_e2e):
    """A landing copy, a state folder, and a warehouse published once from the fixture (a copy of the session's)."""
    tmp_path = published_e2e.root
    landing, warehouse = published_e2e.landing, published_e2e.warehouse

    def run(day: str = DAY, extra: tuple[str, ...] = (), **kwargs):
        return run_cli("run", "--landing", str(landing), "--warehouse", str(warehouse), "--date", day,
                       "--outbox", str(tmp_path / "outbox"), *extra, home=tmp_path / "state", **kwargs)

    return landing, warehouse, run, tmp_path


def _drop(landing: Path, store: str, dataset: str, day: str, name: str, text: str) -> Path:
    folder = landing / store / dataset / day
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


SHOPIFY_HEADER = ("Name,Email,Financial Status,Paid at,Created at,Cancelled at,Currency,Subtotal,Shipping,Taxes,"
                  "Total,Discount Amount,Refunded Amount,Lineitem quantity,Lineitem name,Lineitem price,"
                  "Lineitem compare at price,Lineitem sku\n")


def _assert_blocked(result, warehouse: Path, before_hash: str, outbox: Path, *needles: str) -> None:
    assert result.code == 3, (result.code, result.stderr[-3000:])
    assert result.summary["status"] == "blocked"
    assert sha256(warehouse) == before_hash  # byte-identical published file
    message = result.summary.get("message", "")
    mails = "\n".join(p.read_text(errors="replace") for p in sorted(outbox.glob("*.eml")))
    for needle in needles:
        assert needle in message, message
    assert "data@example.com" in mails and "blocked" in mails


def test_rejected_file_blocks_and_leaves_published_file_identical(site):
    landing, warehouse, run, tmp = site
    before = sha256(warehouse)
    shutil.rmtree(tmp / "outbox", ignore_errors=True)
    _drop(landing, "maple_shop", "orders", NEXT, "orders_export_2.csv", "Order,Customer,Amount\nX,Y,1\n")
    result = run(NEXT)
    _assert_blocked(result, warehouse, before, tmp / "outbox", "orders_export_2.csv")
    assert _runs(tmp / "warehouse.failed.duckdb")[-1][:2] == (NEXT, "blocked")  # the kept build says why
    assert "orders_export_2.csv" in _runs(tmp / "warehouse.failed.duckdb")[-1][2]


def _runs(path: Path) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return [(d.isoformat(), status, message or "") for d, status, message in
                con.execute("select date, status, message from audit.runs order by started_at").fetchall()]


def test_quarantine_share_above_limit_blocks(site):
    landing, warehouse, run, tmp = site
    before = sha256(warehouse)
    shutil.rmtree(tmp / "outbox", ignore_errors=True)
    rows = [
        "#2001,,paid,2026-11-21 10:00:00 -0500,2026-11-21 10:00:00 -0500,,CAD,10.00,0,0,10.00,0,0,1,Candy,10.00,,MC-01",
        "#2002,,paid,2026-11-21 11:00:00 -0500,2026-11-21 11:00:00 -0500,,CAD,10.00,0,0,10.00,0,0,-1,Candy,10.00,,MC-01",
    ]
    _drop(landing, "maple_shop", "orders", NEXT, "orders_export_3.csv", SHOPIFY_HEADER + "\n".join(rows) + "\n")
    result = run(NEXT)
    _assert_blocked(result, warehouse, before, tmp / "outbox", "orders_export_3.csv")


def test_a_failing_dbt_build_exits_1_and_leaves_the_published_file_identical(site):
    landing, warehouse, run, tmp = site
    before = sha256(warehouse)
    project = tmp / "dbt"
    shutil.copytree(ROOT / "dbt", project, ignore=shutil.ignore_patterns("target", "logs"))
    (project / "models" / "marts" / "kpi_store_daily.sql").write_text("select * from no_such_table\n")
    result = run(NEXT, env={"STOREKPI_DBT_PROJECT": str(project)})
    assert result.code == 1, (result.code, result.stderr[-3000:])
    assert result.summary["status"] == "failed"
    assert "dbt_build failed" in result.summary["message"] and "kpi_store_daily" in result.summary["message"]
    assert sha256(warehouse) == before
    assert _runs(tmp / "warehouse.failed.duckdb")[-1][:2] == (NEXT, "failed")  # kept for inspection, saying why
    assert "dbt_build failed" in _runs(tmp / "warehouse.failed.duckdb")[-1][2]


def test_a_failure_after_publish_exits_1_and_says_the_marts_were_published(site):
    landing, warehouse, run, tmp = site
    not_a_folder = tmp / "reports-file"
    not_a_folder.write_text("a file where the reports folder should be\n")
    result = run(NEXT, extra=("--reports", str(not_a_folder)))
    assert result.code == 1, (result.code, result.stderr[-3000:])
    assert result.summary["status"] == "failed"
    assert result.summary["message"].startswith("marts were published, then report failed")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select max(date) from marts.kpi_store_daily").fetchone()[0].isoformat() == NEXT


def test_killed_run_leaves_published_state_and_next_run_recovers(site):
    landing, warehouse, run, tmp = site
    _drop(landing, "maple_shop", "orders", NEXT, "orders_export_4.csv", SHOPIFY_HEADER +
          "#3001,dan@example.com,paid,2026-11-21 10:00:00 -0500,2026-11-21 10:00:00 -0500,,CAD,10.00,0,0,10.00,0,0,"
          "1,Candy,10.00,,MC-01\n")
    before = sha256(warehouse)
    env = {**os.environ, "STOREKPI_HOME": str(tmp / "state"), "STOREKPI_PII_SALT": "test-salt"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "storekpi.cli", "run", "--landing", str(landing), "--warehouse", str(warehouse),
         "--date", NEXT], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 240
    killed = False
    while time.time() < deadline and proc.poll() is None:
        _, done = run_progress(tmp / "state", NEXT)
        if "ingest" in done and "dbt_build" not in done:  # dbt is running now
            os.killpg(proc.pid, signal.SIGKILL)
            killed = True
            break
        time.sleep(0.05)
    proc.wait(timeout=30)
    assert killed, "the run finished before it could be killed during dbt"
    assert sha256(warehouse) == before

    recovered = run(NEXT)
    assert recovered.code == 0, recovered.stderr[-3000:]
    clean_root = tmp / "clean"
    (clean_root / "state").mkdir(parents=True)
    clean = run_cli("run", "--landing", str(landing), "--warehouse", str(clean_root / "w.duckdb"), "--date", NEXT,
                    home=clean_root / "state")
    assert clean.code == 0, clean.stderr[-3000:]
    assert marts_snapshot(warehouse) == marts_snapshot(clean_root / "w.duckdb")


READER = """
import duckdb, json, sys, time
path, stop_file, out = sys.argv[1], sys.argv[2], sys.argv[3]
seen, errors = [], []
import os
while not os.path.exists(stop_file):
    try:
        con = duckdb.connect(path, read_only=True)
        total = con.execute("select sum(net_sales), count(*) from marts.kpi_store_daily").fetchone()
        con.close()
        seen.append([str(total[0]), total[1]])
    except Exception as exc:
        errors.append(repr(exc))
    time.sleep(0.01)
json.dump({"seen": seen, "errors": errors}, open(out, "w"))
"""


def test_readers_see_old_or_new_state_never_a_mix(site):
    landing, warehouse, run, tmp = site
    with duckdb.connect(str(warehouse), read_only=True) as con:
        old = con.execute("select sum(net_sales), count(*) from marts.kpi_store_daily").fetchone()
    _drop(landing, "maple_shop", "orders", NEXT, "orders_export_5.csv", SHOPIFY_HEADER +
          "#4001,erin@example.com,paid,2026-11-21 10:00:00 -0500,2026-11-21 10:00:00 -0500,,CAD,40.00,0,0,40.00,0,0,"
          "4,Candy,10.00,,MC-01\n")
    stop, out = tmp / "stop", tmp / "reader.json"
    reader = subprocess.Popen([sys.executable, "-c", READER, str(warehouse), str(stop), str(out)])
    try:
        result = run(NEXT)
    finally:
        stop.touch()
        reader.wait(timeout=60)
    assert result.code == 0, result.stderr[-3000:]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        new = con.execute("select sum(net_sales), count(*) from marts.kpi_store_daily").fetchone()
    assert new != old
    observed = json.loads(out.read_text())
    assert observed["errors"] == []
    assert len(observed["seen"]) > 10
    allowed = {(str(old[0]), old[1]), (str(new[0]), new[1])}
    assert {tuple(s) for s in observed["seen"]} <= allowed
    assert (str(new[0]), new[1]) in {tuple(s) for s in observed["seen"]}


def test_blocked_run_leaves_postgres_marts_unchanged(tmp_path):
    import psycopg2

    from tests.pg import temp_database

    landing = tmp_path / "landing"
    shutil.copytree(FIXTURES / "e2e_landing", landing)
    (tmp_path / "state").mkdir()
    with temp_database("storekpi_wap") as url:
        def run(day: str):
            return run_cli("run", "--landing", str(landing), "--warehouse", url, "--date", day,
                           "--outbox", str(tmp_path / "outbox"), "--reports", str(tmp_path / "reports"),
                           home=tmp_path / "state")

        def snapshot() -> dict:
            with psycopg2.connect(url) as pg, pg.cursor() as cur:
                out = {}
                for mart in ("kpi_store_daily", "kpi_alerts", "stock_cover"):
                    cur.execute(f"select * from marts.{mart}")
                    out[mart] = sorted(map(repr, cur.fetchall()))
                cur.execute("select schema_name from information_schema.schemata where schema_name like 'marts%'")
                out["schemas"] = sorted(r[0] for r in cur.fetchall())
                return out

        first = run(DAY)
        assert first.code == 0, first.stderr[-3000:]
        before = snapshot()
        assert before["kpi_store_daily"] and before["schemas"] == ["marts"]
        _drop(landing, "maple_shop", "orders", NEXT, "orders_export_2.csv", "Order,Customer,Amount\nX,Y,1\n")
        blocked = run(NEXT)
        assert blocked.code == 3, blocked.stderr[-3000:]
        assert blocked.summary["status"] == "blocked"
        assert snapshot() == before  # same rows, and no build schema left behind
        with psycopg2.connect(url) as pg, pg.cursor() as cur:  # audit is in place: the blocked run is on record
            cur.execute("select status, message from audit.runs where date = %s", [NEXT])
            (status, message), = cur.fetchall()
        assert status == "blocked" and "orders_export_2.csv" in message
        # Raw and audit are written in place on PostgreSQL: the unchanged bad file is not read again, yet the
        # next night must block on it just the same, until it is corrected or forgotten.
        again = run(NEXT)
        assert again.code == 3, again.stderr[-3000:]
        assert "orders_export_2.csv" in again.summary["message"] and snapshot() == before
        bad = landing / "maple_shop" / "orders" / NEXT / "orders_export_2.csv"
        forgotten = run_cli("forget", str(bad), "--warehouse", url, "--landing", str(landing),
                            home=tmp_path / "state")
        assert forgotten.code == 0, forgotten.stderr[-3000:]
        assert run(NEXT).code == 0

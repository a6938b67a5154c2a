"""`storekpi status` on a published, a stale and a blocked warehouse, on DuckDB and PostgreSQL, checked against
`audit.*` read directly; and while another process holds a run in progress.

One site per backend runs the real `storekpi run` three times over a copy of the hand-written fixture landing:
D = 11-20 publishes (every store delivered orders and traffic for D); D = 11-21 publishes with no export dated
11-21 (stale: freshness is a warning, never blocking); D = 11-22 with a maple_shop file of which half the rows are
quarantined (share 0.5 > max_quarantine_share 0.05) is blocked.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from tests.conftest import E2E_DAY, FIXTURES, copy_published, run_cli
from tests.pg import temp_database

pytestmark = pytest.mark.e2e

SHOPIFY_HEADER = ("Name,Email,Financial Status,Paid at,Created at,Cancelled at,Currency,Subtotal,Shipping,Taxes,"
                  "Total,Discount Amount,Refunded Amount,Lineitem quantity,Lineitem name,Lineitem price,"
                  "Lineitem compare at price,Lineitem sku\n")
HALF_BAD = SHOPIFY_HEADER + (
    "#2001,,paid,2026-11-22 10:00:00 -0500,2026-11-22 10:00:00 -0500,,CAD,10.00,0,0,10.00,0,0,1,Candy,10.00,,MC-01\n"
    "#2002,,paid,2026-11-22 11:00:00 -0500,2026-11-22 11:00:00 -0500,,CAD,10.00,0,0,10.00,0,0,-1,Candy,10.00,,MC-01\n")


class Site:
    """A landing copy, a state folder and a warehouse (DuckDB file or PostgreSQL URL)."""

    def __init__(self, root: Path, warehouse: str):
        self.root, self.warehouse = root, warehouse
        self.landing = root / "landing"
        self.home = root / "state"
        if not self.landing.exists():  # else a copy of the session's published night (tests.conftest)
            shutil.copytree(FIXTURES / "e2e_landing", self.landing)
            self.home.mkdir()

    def run(self, day: str):
        return run_cli("run", "--landing", str(self.landing), "--warehouse", self.warehouse, "--date", day,
                       "--outbox", str(self.root / "outbox"), "--reports", str(self.root / "reports"),
                       home=self.home, timeout=1500)  # a whole DAG run; slow on a shared machine

    def status(self) -> dict:
        result = run_cli("status", "--warehouse", self.warehouse, "--json", home=self.home)
        assert result.code == 0, result.stderr[-3000:]
        return json.loads(result.stdout)

    def audit(self, sql: str, params: list | None = None, failed_build: bool = False) -> list[tuple]:
        """Rows of `sql` read straight from the warehouse (the kept failed build on DuckDB if asked)."""
        if self.warehouse.startswith("postgresql://"):
            import psycopg2

            with psycopg2.connect(self.warehouse) as con, con.cursor() as cur:
                cur.execute(sql.replace("?", "%s"), params)
                return cur.fetchall()
        path = Path(self.warehouse)
        path = path.with_name(f"{path.stem}.failed.duckdb") if failed_build else path
        with duckdb.connect(str(path), read_only=True) as con:
            return con.execute(sql, params or []).fetchall()


def _scenario(site: Site, published: bool = False) -> dict[str, dict]:
    """Run the three nights (the first already run when `published`), taking `storekpi status` after each."""
    seen = {}
    for name, day in (("published", E2E_DAY), ("stale", "2026-11-21")):
        if not (published and day == E2E_DAY):
            result = site.run(day)
            assert result.code == 0, result.stderr[-3000:]
        seen[name] = site.status()
    folder = site.landing / "maple_shop" / "orders" / "2026-11-22"
    folder.mkdir(parents=True)
    (folder / "orders_export_2.csv").write_text(HALF_BAD, encoding="utf-8")
    result = site.run("2026-11-22")
    assert result.code == 3, result.stderr[-3000:]
    seen["blocked"] = site.status()
    return seen


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def site(request, tmp_path_factory, published_e2e_template):
    root = tmp_path_factory.mktemp(f"status_{request.param}")
    if request.param == "duckdb":
        copy = copy_published(published_e2e_template, root)  # the first night, run with these same options
        site = Site(root, str(copy.warehouse))
        site.seen = _scenario(site, published=True)
        yield site
        return
    with temp_database("storekpi_status") as url:
        site = Site(root, url)
        site.seen = _scenario(site)
        yield site


def _audit_run(site: Site, run_id: str, failed_build: bool = False) -> dict:
    columns = ("run_id", "date", "status", "files_loaded", "rows_loaded", "rows_quarantined", "alerts", "task_seconds")
    (row,) = site.audit(f"select {', '.join(columns)} from audit.runs where run_id = ?", [run_id], failed_build)
    out = dict(zip(columns, row))
    out["date"] = out["date"].isoformat()
    out["steps"] = json.loads(out.pop("task_seconds"))
    return out


def _shown(run: dict) -> dict:
    keys = ("run_id", "date", "status", "files_loaded", "rows_loaded", "rows_quarantined", "alerts", "steps")
    return {k: run[k] for k in keys}


def test_published_warehouse_shows_the_run_its_steps_and_fresh_stores(site):
    status = site.seen["published"]
    last = status["last_run"]
    assert (last["date"], last["status"]) == ("2026-11-20", "published")
    assert _shown(last) == _audit_run(site, last["run_id"])
    assert {"discover", "ingest", "dbt_build", "quality_gate"} <= set(last["steps"])  # timed before the record
    # by hand: the fixture's four files are orders and traffic dated 11-20 of its two stores
    assert [(f["store_id"], f["dataset"], f["last_export_date"], f["covers_run_date"]) for f in status["freshness"]] \
        == [("maple_shop", "orders", "2026-11-20", True), ("maple_shop", "traffic", "2026-11-20", True),
            ("tea_house", "orders", "2026-11-20", True), ("tea_house", "traffic", "2026-11-20", True)]
    quarantined = site.audit("select reason, count(*) from quarantine.rows where _batch_id = ? group by reason",
                             [last["run_id"]])
    assert sorted((q["reason"], q["rows"]) for q in status["quarantine"]) == sorted(quarantined)
    assert sum(q["rows"] for q in status["quarantine"]) == last["rows_quarantined"]
    assert status["blocking"] == [] and status["run_in_progress"] is False


def test_stale_warehouse_says_which_exports_do_not_cover_the_last_date(site):
    status = site.seen["stale"]
    last = status["last_run"]
    assert (last["date"], last["status"]) == ("2026-11-21", "published")
    assert [r["date"] for r in status["runs"]] == ["2026-11-21", "2026-11-20"]
    assert _shown(last) == _audit_run(site, last["run_id"])
    assert last["files_loaded"] == 0  # nothing new: the 11-20 files were loaded the night before
    assert {(f["store_id"], f["dataset"]): (f["last_export_date"], f["covers_run_date"])
            for f in status["freshness"]} == {
        ("maple_shop", "orders"): ("2026-11-20", False), ("maple_shop", "traffic"): ("2026-11-20", False),
        ("tea_house", "orders"): ("2026-11-20", False), ("tea_house", "traffic"): ("2026-11-20", False)}


def test_blocked_warehouse_shows_the_quarantine_and_the_open_blocking_reasons(site):
    status = site.seen["blocked"]
    last = status["last_run"]
    duck = not site.warehouse.startswith("postgresql://")
    assert (last["date"], last["status"]) == ("2026-11-22", "blocked")
    assert [r["status"] for r in status["runs"]] == ["blocked", "published", "published"]
    assert _shown(last) == _audit_run(site, last["run_id"], failed_build=duck)
    # by hand: of the two rows of orders_export_2.csv, #2002 (quantity -1) is quarantined
    assert [(q["reason"], q["rows"]) for q in status["quarantine"]] == site.audit(
        "select reason, count(*) from quarantine.rows where _batch_id = ? group by reason", [last["run_id"]],
        failed_build=duck)
    assert sum(q["rows"] for q in status["quarantine"]) == 1
    failed = site.audit("select suite, expectation from audit.dq_results where run_id = ? and blocking "
                        "and not success order by suite, expectation", [last["run_id"]], failed_build=duck)
    assert failed and [(b["suite"], b["expectation"]) for b in status["blocking"]] == failed
    assert "orders_export_2.csv" in last["message"]
    fresh = {(f["store_id"], f["dataset"]): f["covers_run_date"] for f in status["freshness"]}
    assert fresh[("tea_house", "orders")] is False


def test_text_view_names_the_blocked_run_and_its_reasons(site):
    result = run_cli("status", "--warehouse", site.warehouse, home=site.home)
    assert result.code == 0, result.stderr
    text = result.stdout
    last = site.seen["blocked"]["last_run"]
    assert f"blocking reasons of the blocked run {last['run_id']}" in text
    assert "freshness for the last run's date 2026-11-22" in text
    for check in site.seen["blocked"]["blocking"]:
        assert check["expectation"] in text
    assert "\x1b[" not in text  # plain text


_HOLDER = textwrap.dedent("""
    import sys, time
    from storekpi import warehouse
    target = warehouse.Target(sys.argv[1])
    with warehouse.exclusive(target):
        wh = warehouse.open_build(target, fresh=True)
        if target.kind == "postgres":
            wh.con.autocommit = False  # an open write transaction, as ingest has mid-file
            wh.execute("insert into audit.settings (key, value) values ('held', 'by a run')")
        else:
            wh.execute("create table if not exists audit.held as select 1 as x")
        print("holding", flush=True)
        sys.stdin.readline()
        wh.close()
""")


def test_status_succeeds_while_another_process_holds_a_run_in_progress(site):
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, site.warehouse], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        status = run_cli("status", "--warehouse", site.warehouse, "--json", home=site.home, timeout=60)
        assert status.code == 0, status.stderr[-2000:]
        seen = json.loads(status.stdout)
        assert seen["run_in_progress"] is True
        assert seen["last_run"]["run_id"] == site.seen["blocked"]["last_run"]["run_id"]
        # the lock is really held: a run started now would be refused as busy
        busy = site.run("2026-11-22")
        assert busy.code == 1 and "another storekpi run" in busy.summary.get("message", ""), busy.stdout[-500:]
    finally:
        holder.stdin.write("\n")
        holder.stdin.close()
        holder.wait(timeout=30)
    assert site.status()["run_in_progress"] is False


def test_status_without_a_warehouse_is_a_usage_error(tmp_path, cli):
    missing = cli("status", "--warehouse", str(tmp_path / "nothing.duckdb"))
    assert missing.code == 2 and "nothing.duckdb does not exist" in missing.stderr
    assert cli("status").code == 2

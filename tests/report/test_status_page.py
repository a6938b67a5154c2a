"""The Airflow "storekpi" page on the hand-filled warehouse (tests/alerts/marts_fixture.py), served over HTTP by the
plugin's FastAPI app and opened in headless Chromium.

The app runs in a subprocess with a private AIRFLOW_HOME (importing the plugin imports Airflow). Airflow's login
is switched off there by overriding its `get_user` dependency: the login itself is tested through the real
api-server app in tests/plugins/test_storekpi_page.py; here the subject is what the page shows.
"""

from __future__ import annotations

import importlib.util
import os
import re
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

import chromium_cdp
from storekpi import report

ROOT = Path(__file__).resolve().parents[2]
_FIXTURE = Path(__file__).parents[1] / "alerts" / "marts_fixture.py"
if "marts_fixture" not in sys.modules:
    _spec = importlib.util.spec_from_file_location("marts_fixture", _FIXTURE)
    sys.modules["marts_fixture"] = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(sys.modules["marts_fixture"])
mf = sys.modules["marts_fixture"]
ARTIFACTS = Path(os.environ.get("STOREKPI_TEST_ARTIFACTS", Path(__file__).parents[1] / "artifacts"))

_SERVER = textwrap.dedent("""
    import importlib.util, sys
    import uvicorn
    from airflow.api_fastapi.core_api.security import get_user
    spec = importlib.util.spec_from_file_location("storekpi_page", sys.argv[1])
    page = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(page)
    page.app.dependency_overrides[get_user] = lambda: None
    uvicorn.run(page.app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
""")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8")


def _serve(tmp_path: Path, warehouse: Path, reports: Path):
    home = tmp_path / "airflow"
    home.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "STOREKPI_"))}
    env.update({"AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
                "STOREKPI_WAREHOUSE": str(warehouse), "STOREKPI_REPORTS": str(reports)})
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-c", _SERVER, str(ROOT / "plugins" / "storekpi_page.py"), str(port)],
                            env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the page server died: {proc.stderr.read()[-3000:]}")
        try:
            _get(base + "/status.json")
            return proc, base
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError("the page server did not answer within 120 s")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The hand-filled warehouse, its run recorded as published for D, and the night's report beside it."""
    tmp = tmp_path_factory.mktemp("status_page")
    wh, config = mf.build(tmp)
    wh.close()
    import duckdb

    with duckdb.connect(str(tmp / "warehouse.duckdb")) as con:
        con.execute("insert into audit.runs values ('run1', ?, 'published', '2026-11-21 01:00:00', "
                    "'2026-11-21 01:03:30', 3, 3, 1286, 5, 9, '{\"discover\": 1.5, \"ingest\": 30.25}', null)",
                    [mf.D])
    with mf.Warehouse(mf.Target(str(tmp / "warehouse.duckdb")), path=tmp / "warehouse.duckdb",
                      read_only=True) as ro:
        report.write_report(ro, mf.D, config, tmp / "reports", {"status": "published", "run_id": "run1"})
    proc, base = _serve(tmp, tmp / "warehouse.duckdb", tmp / "reports")
    yield tmp, base
    proc.terminate()
    proc.wait(timeout=30)


def test_page_shows_the_days_kpis_alerts_freshness_and_gates(site):
    _, base = site
    code, page = _get(base + "/")
    assert code == 200, page[:500]
    kpis = mf.kpi_store_daily()
    day = kpis[kpis["date"] == mf.D].set_index("store_id")
    for store_id, row in day.iterrows():
        cells = re.search(rf"<tr><td>{store_id}</td>(.*?)</tr>", page).group(1)
        values = re.findall(r"<td[^>]*>(.*?)</td>", cells)
        assert values[:2] == [f"{int(row['visitors']):,}", f"{int(row['orders']):,}"], store_id
    # by hand from the fixture's alerts dated D (see marts_fixture's docstring): ops 3 tmall + 1 EU,
    # merchandiser 2 + 1, marketing 1, data 1
    owners = dict(re.findall(r'<h3 id="owner-(\w+)">\w+ <span class=muted>\((\d+)\)</span>', page))
    assert owners == {"ops": "4", "merchandiser": "3", "marketing": "1", "data": "1"}
    assert "Gate results of the last run: 2 checks, 1 not met" in page
    assert "discover 1.5s, ingest 30.2s" in page
    assert "EU &lt;Shop&gt; &amp; Co has no traffic export covering D." in page  # escaped
    freshness = re.search(r'<table id="freshness">(.*?)</table>', page).group(1)
    assert re.search(r"<td>shopify_eu</td><td>orders</td><td[^>]*>2026-11-18</td><td><span class=\"pill NO\">",
                     freshness)  # stale: its latest export is two days before D
    assert 'href="report/2026-11-20"' in page
    code, served = _get(base + "/report/2026-11-20")
    assert code == 200 and served == (site[0] / "reports" / "2026-11-20" / "report.html").read_text("utf-8")


# -- in a real browser ----------------------------------------------------------------------------------------------
needs_chromium = pytest.mark.skipif(chromium_cdp.chromium_binary() is None,
                                    reason="chromium is not installed (apt-get install -y chromium; the Makefile's "
                                           "test setup target does it)")
_PROBE = ("[document.title, document.body ? document.body.innerText.trim().length : 0, "
          "document.querySelectorAll('#kpis tbody tr').length, document.querySelectorAll('#gates tbody tr').length]")


def assert_real_page(loaded: chromium_cdp.PageLoad, stores: int) -> None:
    """The page rendered with data: no browser error, a body, the KPI table with one row per store, gate rows."""
    assert loaded.errors == [], loaded.errors
    title, body_length, kpi_rows, gate_rows = loaded.evaluated
    assert title == "storekpi" and body_length > 300, (title, body_length)
    assert kpi_rows == stores and gate_rows > 0, (kpi_rows, gate_rows)


@needs_chromium
def test_page_opens_in_headless_chromium_without_errors(site, tmp_path):
    _, base = site
    shot = ARTIFACTS / "storekpi-page-2026-11-20.png"
    loaded = chromium_cdp.load_page(base + "/", profile_dir=tmp_path / "profile", screenshot=shot, evaluate=_PROBE)
    print(f"storekpi page screenshot: {shot}")
    assert_real_page(loaded, stores=3)
    assert loaded.requests == [base + "/"]  # self-contained: no script, style sheet or image to fetch
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and int.from_bytes(png[20:24], "big") > 900


@needs_chromium
def test_the_browser_check_fails_on_an_error_page(tmp_path):
    """Control: a server whose warehouse is missing answers with an error page, which the check rejects."""
    proc, base = _serve(tmp_path, tmp_path / "missing.duckdb", tmp_path / "reports")
    try:
        loaded = chromium_cdp.load_page(base + "/", profile_dir=tmp_path / "profile", evaluate=_PROBE)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    with pytest.raises(AssertionError):
        assert_real_page(loaded, stores=3)

"""The "storekpi" Airflow page (plugins/storekpi_page.py), loaded the way the api-server loads it.

A subprocess with its own AIRFLOW_HOME lets Airflow's plugin manager load the plugins folder, builds the real
api-server app (`airflow.api_fastapi.app.create_app`) and requests the page through FastAPI's test client with a
JWT of the simple auth manager. The warehouse is published by the real `storekpi run` from the hand-written fixture
landing; the numbers expected are worked out by hand (see tests/deploy/test_distributed.py): on 2026-11-20
maple_shop had 80 visitors, 2 orders, net sales 9.00 + 10.00 = 19.00; tea_house 40 visitors, 1 order, 1000.00, below
its target of 2 orders, so one alert for the ops role.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import E2E_DAY, FIXTURES, ROOT, copy_published, run_cli

pytestmark = pytest.mark.e2e
DAY = "2026-11-20"

_PROBE = textwrap.dedent("""
    import json
    from airflow.utils import db
    db.upgradedb()  # the api-server checks tokens against the metadata database
    from airflow import plugins_manager
    from airflow.api_fastapi.app import create_app, get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from fastapi.testclient import TestClient

    out = {"import_errors": plugins_manager.get_import_errors(),
           "apps": [[a["name"], a["url_prefix"]] for a in plugins_manager.get_fastapi_plugins()[0]],
           "views": plugins_manager._get_ui_plugins()[0]}
    app = create_app("core")
    out["mounted"] = [r.path for r in app.routes if getattr(r, "path", "").startswith("/storekpi")]
    client = TestClient(app)
    token = get_auth_manager().generate_jwt(SimpleAuthManagerUser(username="admin", role="admin"))
    auth = {"Authorization": f"Bearer {token}"}
    for name, path, headers in (("anonymous", "/storekpi/", {}), ("page", "/storekpi/", auth),
                                ("json", "/storekpi/status.json", auth),
                                ("report", "/storekpi/report/%(day)s", auth),
                                ("bad_report", "/storekpi/report/..%%2f..%%2fetc", auth)):
        response = client.get(path, headers=headers)
        out[name] = {"status": response.status_code, "type": response.headers.get("content-type"),
                     "body": response.text}
    print("PROBE " + json.dumps(out))
""") % {"day": DAY}


@pytest.fixture(scope="module")
def published(published_e2e_template, tmp_path_factory) -> Path:
    assert DAY == E2E_DAY
    return copy_published(published_e2e_template, tmp_path_factory.mktemp("page")).root


@pytest.fixture(scope="module")
def probe(published) -> dict:
    home = published / "airflow"
    home.mkdir()
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith(("AIRFLOW", "STOREKPI_"))}
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__AUTH_MANAGER":
            "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW__API_AUTH__JWT_SECRET": "page-test-secret-" + "0123456789abcdef" * 4,
        "STOREKPI_WAREHOUSE": str(published / "warehouse.duckdb"),
    })
    proc = subprocess.run([sys.executable, "-c", _PROBE], env=env, cwd=published, capture_output=True, text=True,
                          timeout=900)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("PROBE ")]
    assert proc.returncode == 0 and lines, (proc.stdout[-3000:], proc.stderr[-3000:])
    return json.loads(lines[-1][len("PROBE "):])


def test_airflow_plugin_manager_loads_the_plugin_and_mounts_its_app(probe):
    assert probe["import_errors"] == {}
    assert ["storekpi", "/storekpi"] in probe["apps"]
    assert probe["mounted"] == ["/storekpi"]
    (view,) = [v for v in probe["views"] if v["name"] == "storekpi"]
    assert view["destination"] == "nav" and view["url_route"] == "storekpi"
    assert not view["href"].startswith("/")  # relative: works behind a proxy serving Airflow under a path


def test_the_page_needs_an_airflow_login(probe):
    assert probe["anonymous"]["status"] == 401


def _kpi_rows(page: str) -> dict[str, list[str]]:
    table = re.search(r'<table id="kpis">(.*?)</table>', page, re.S).group(1)
    rows = re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>", 1)[1], re.S)
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in rows]
    return {c[0]: c[1:] for c in cells}


def test_page_shows_the_published_days_kpis_alerts_and_gates(probe):
    page = probe["page"]
    assert page["status"] == 200 and page["type"].startswith("text/html"), page["body"][:500]
    body = page["body"]
    assert f"KPIs of {DAY}" in body
    kpis = _kpi_rows(body)
    # store: visitors, orders, net sales, conversion (orders / visitors), AOV (net / orders)
    assert kpis["maple_shop"][:5] == ["80", "2", "19.00", "2.50%", "9.50"]
    assert kpis["tea_house"][:5] == ["40", "1", "1,000.00", "2.50%", "1,000.00"]
    owners = re.findall(r'<h3 id="owner-(\w+)">\w+ <span class=muted>\((\d+)\)</span>', body)
    assert owners == [("ops", "1")]
    assert "orders_below_target" in body
    assert re.search(r"Gate results of the last run: \d+ checks, \d+ not met", body)
    assert 'id="report-link" href="report/2026-11-20"' in body


def test_status_json_matches_the_page(probe):
    status = json.loads(probe["json"]["body"])
    assert status["last_run"]["status"] == "published" and status["kpi_date"] == DAY
    assert {k["store_id"]: (k["visitors"], k["orders"], k["net_sales"]) for k in status["kpis"]} == {
        "maple_shop": (80, 2, 19.0), "tea_house": (40, 1, 1000.0)}
    assert [(a["owner_role"], a["store_id"], a["rule"]) for a in status["alerts"]] == [
        ("ops", "tea_house", "orders_below_target")]


def test_the_report_link_serves_the_nights_report_and_nothing_else(probe, published):
    report = probe["report"]
    assert report["status"] == 200
    assert report["body"] == (published / "reports" / DAY / "report.html").read_text(encoding="utf-8")
    assert probe["bad_report"]["status"] == 404

"""Scorecard e-mails (targets.md) from the built role_scorecards, through a real SMTP server.

The session's dbt build has D = 2026-11-20 (a Friday), so its marts hold the ISO week starting 11-16 and the month of
November: composing for Sunday 11-22 sends the week's scorecards, for 11-30 the month's, for Wednesday 11-18 none.
Expected recipients and roles come from the stores.yml text below, read with plain YAML.
"""

from __future__ import annotations

import email
from datetime import date
from email.policy import default as default_policy

import pytest
import yaml

from storekpi import config as store_config
from storekpi import scorecards
from tests import smtp

STORES_YML = """
defaults:
  recipients:
    data: [data@example.com]
stores:
  - {id: shop, name: "Shop", platform: shopify, currency: USD,
     recipients: {ops: [boss@example.com], marketing: [boss@example.com, ads@example.com]}}
  - {id: tmall, name: "天猫旗舰店", platform: taobao, currency: CNY, recipients: {customer_service: [cs@example.com]}}
  - {id: gen, name: "Gen", platform: generic, currency: EUR, recipients: {ops: [boss@example.com]}}
  - {id: idle, name: "Idle", platform: generic, currency: EUR}
"""
ROLE_ORDER = ("ops", "merchandiser", "marketing", "customer_service", "data")


def _expected() -> dict[str, dict[str, set[str]]]:
    """address -> role -> store ids, from the YAML text."""
    doc = yaml.safe_load(STORES_YML)
    out: dict[str, dict[str, set[str]]] = {}
    for store in doc["stores"]:
        recipients = {**doc["defaults"]["recipients"], **store.get("recipients", {})}
        for role, addresses in recipients.items():
            for address in addresses:
                out.setdefault(address, {}).setdefault(role, set()).add(store["id"])
    return out


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "stores.yml"
    path.write_text(STORES_YML, encoding="utf-8")
    return store_config.load(path)


@pytest.fixture
def server(monkeypatch, tmp_path):
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    with smtp.smtp_server() as recorder:
        monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", recorder.url)
        yield recorder


def _received(server, count):
    return [(env.rcpt_tos, email.message_from_bytes(env.content, policy=default_policy))
            for env in server.wait_for(count)]


def test_sunday_sends_each_recipient_one_weekly_scorecard_with_their_roles(duckdb_build, config, server):
    wh, _, _ = duckdb_build
    expected = _expected()
    sent = scorecards.deliver(wh, date(2026, 11, 22), config, outbox=None)
    assert sent == len(expected)
    messages = _received(server, len(expected))
    by_address = {}
    for rcpt_tos, msg in messages:
        assert len(rcpt_tos) == 1 and rcpt_tos[0] not in by_address
        by_address[rcpt_tos[0]] = msg
    assert set(by_address) == set(expected)
    rows = wh.query_df("select store_id, role, kpi, actual from marts.role_scorecards "
                       "where period_type = 'week' and period_start = date '2026-11-16'")
    for address, roles in expected.items():
        msg = by_address[address]
        ordered = [r for r in ROLE_ORDER if r in roles]
        assert msg["Subject"] == f"[storekpi] week 2026-W47: scorecard for {', '.join(ordered)}"
        text = msg.get_body(("plain",)).get_content()
        html = msg.get_body(("html",)).get_content()
        assert "Scorecard week 2026-W47 (2026-11-16 to 2026-11-22)" in text and "<table" in html
        for role, stores in roles.items():
            for store_id in stores:
                assert f"({store_id})" in text
                own = rows[(rows.store_id == store_id) & (rows.role == role)]
                assert len(own) > 0 or store_id == "idle"
        # a role the address does not hold is not in its message
        for role, label in scorecards.ROLE_LABELS.items():
            assert (label in text.splitlines()) == (role in roles), (address, role)
    # the weekly orders per day of shop equal the mart's value, as shown
    shop_orders = rows[(rows.store_id == "shop") & (rows.kpi == "orders_per_day")].actual.iloc[0]
    assert f"{shop_orders:,.2f}" in by_address["boss@example.com"].get_body(("plain",)).get_content()
    assert "天猫旗舰店" in by_address["cs@example.com"].get_body(("plain",)).get_content()


def test_wednesday_sends_no_scorecard(duckdb_build, config, server):
    wh, _, _ = duckdb_build
    assert scorecards.deliver(wh, date(2026, 11, 18), config, outbox=None) == 0
    assert server.wait_for(1, seconds=0.5) == []


def test_month_end_sends_the_monthly_scorecard(duckdb_build, config, server):
    wh, _, _ = duckdb_build
    expected = _expected()
    assert scorecards.deliver(wh, date(2026, 11, 30), config, outbox=None) == len(expected)
    subjects = {msg["Subject"] for _, msg in _received(server, len(expected))}
    assert "[storekpi] 2026-11: scorecard for ops, marketing" in subjects
    assert "[storekpi] 2026-11: scorecard for data" in subjects


def test_periods_due():
    assert scorecards.periods_ending(date(2026, 11, 22)) == [("week", date(2026, 11, 16))]
    assert scorecards.periods_ending(date(2026, 11, 30)) == [("month", date(2026, 11, 1))]
    assert scorecards.periods_ending(date(2026, 5, 31)) == [("week", date(2026, 5, 25)), ("month", date(2026, 5, 1))]
    assert scorecards.periods_ending(date(2026, 11, 18)) == []
    assert scorecards.period_name("week", date(2026, 12, 28)) == "week 2026-W53"
    assert scorecards.period_name("week", date(2027, 1, 4)) == "week 2027-W01"


def test_the_alerts_task_sends_the_scorecards_on_a_sunday(duckdb_build, config, tmp_path, monkeypatch):
    """pipeline.alerts (the DAG's alerts task) sends the scorecards after the alerts, into the same outbox."""
    from storekpi import pipeline
    from storekpi.runspec import RunSpec

    wh, _, _ = duckdb_build
    monkeypatch.setenv("STOREKPI_HOME", str(tmp_path / "state"))
    spec = RunSpec(landing=tmp_path, warehouse=str(wh.target.path), date=date(2026, 11, 22), stores=config.path,
                   outbox=tmp_path / "outbox", reports=tmp_path / "reports", run_key="scorecard-test")
    result = pipeline.alerts(spec)
    assert result == {"emails": 0, "scorecard_emails": len(_expected())}  # the build has no alerts dated 11-22
    subjects = sorted(email.message_from_bytes(p.read_bytes(), policy=default_policy)["Subject"]
                      for p in (tmp_path / "outbox").glob("*.eml"))
    assert len(subjects) == len(_expected()) and all("week 2026-W47: scorecard for" in s for s in subjects)

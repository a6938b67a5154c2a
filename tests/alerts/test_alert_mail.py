"""Alert e-mails composed from a hand-filled warehouse and delivered to a real SMTP server on localhost.

Every expected address, subject and sentence below is worked out by hand from marts_fixture.py.
"""

from __future__ import annotations

import email
import logging
import math
from datetime import date, timedelta
from email.policy import default as default_policy

import pytest

import marts_fixture as mf
from storekpi import alerts
from tests import smtp

# address -> (subject, headlines that must appear, one per alert in the message)
TMALL_OPS = [
    "Orders below target: orders 150 (threshold 200)",
    "Conversion below target: conversion rate 1.6 % (threshold 2.0 %)",
    "Discount below floor — SKU TM-001: price / list price 62.0 % (threshold 70.0 %)",
]
EXPECTED = {
    "ops.cn@example.com": ("[storekpi] 2026-11-20: 3 alerts for ops", TMALL_OPS),
    "lead@example.com": ("[storekpi] 2026-11-20: 5 alerts for ops, merchandiser", TMALL_OPS + [
        "Orders below target: orders 20 (threshold 30)",
        "Low stock cover — SKU EU-9: days of cover 2.0 (threshold 7.0)",
    ]),
    "merch@example.com": ("[storekpi] 2026-11-20: 2 alerts for merchandiser", [
        "Stocked out — SKU TM-002: on hand 0 (threshold 0)",
        "Low stock cover — SKU TM-003: days of cover 3.5 (threshold 7.0)",
    ]),
    "mkt@example.com": ("[storekpi] 2026-11-20: 1 alerts for marketing", [
        "Traffic drop: visitors 600 (threshold 700)",
    ]),
    "data@example.com": ("[storekpi] 2026-11-20: 1 alerts for data", [
        "Missing data: EU <Shop> & Co has no traffic export covering D.",
    ]),
}
NOBODY = {"cs@example.com", "quiet@example.com"}  # alerts only on D-1
TMALL_BRIDGE = "net sales −17 % vs last Friday: visitors −5 %, conversion −14 %, AOV +1 %"
HISTORY = {  # last 7 days (11-14 … 11-20) worked out from the fixture's daily numbers
    "orders": "230 · 215 · 240 · 210 · 205 · 198 · 150",
    "conversion": "2.3 % · 2.2 % · 2.3 % · 2.1 % · 2.1 % · 2.1 % · 1.6 %",  # 230/10000, 215/9800, …, 150/9500
    "violations": "0 · 0 · 0 · 3 · 0 · 0 · 1",
    "on_hand": "12 · 9 · 6 · 4 · 2 · 1 · 0",
    "eu_cover": "– · – · – · – · – · – · 2.0",
}


@pytest.fixture
def warehouse(tmp_path):
    wh, config = mf.build(tmp_path)
    yield wh, config
    wh.close()


@pytest.fixture
def report(tmp_path):
    path = tmp_path / "reports" / "2026-11-20" / "report.html"
    path.parent.mkdir(parents=True)
    path.write_text("<!DOCTYPE html><title>report</title><p>天猫旗舰店</p>", encoding="utf-8")
    return path


def _parts(msg):
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    return text, html


def _check_message(address, msg):
    subject, headlines = EXPECTED[address]
    assert msg["Subject"] == subject
    assert msg["To"] == address
    text, html = _parts(msg)
    alert_lines = [line for line in text.splitlines() if line.startswith("- [")]
    assert len(alert_lines) == len(headlines), text
    for headline in headlines:
        assert any(line.endswith(headline) for line in alert_lines), (headline, text)
        assert headline.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") in html
    return text, html


def test_compose_one_message_per_address_with_its_alerts(warehouse, report):
    wh, config = warehouse
    messages = alerts.compose(wh, mf.D, config, report_path=report)
    by_address = {m["To"]: m for m in messages}
    assert len(messages) == len(by_address) == 5
    assert set(by_address) == set(EXPECTED)
    for address, msg in by_address.items():
        _check_message(address, msg)
    text, html = _parts(by_address["lead@example.com"])
    # grouped by store, in stores.yml order; both stores' names in UTF-8 in both parts
    assert text.index("天猫旗舰店 (tmall_flagship, CNY)") < text.index("EU <Shop> & Co (shopify_eu, EUR)")
    assert "天猫旗舰店" in html and "EU &lt;Shop&gt; &amp; Co" in html
    # several roles: each alert says whose it is
    assert "- [warning, merchandiser] Low stock cover — SKU EU-9" in text


def test_sales_alerts_carry_the_revenue_bridge_and_history(warehouse, report):
    wh, config = warehouse
    by_address = {m["To"]: m for m in alerts.compose(wh, mf.D, config, report_path=report)}
    ops_text, ops_html = _parts(by_address["ops.cn@example.com"])
    assert f"Revenue bridge: {TMALL_BRIDGE}" in ops_text
    assert TMALL_BRIDGE in ops_html
    assert f"last 7 days of orders (11-14 … 11-20): {HISTORY['orders']}" in ops_text
    assert f"last 7 days of conversion rate (11-14 … 11-20): {HISTORY['conversion']}" in ops_text
    assert f"last 7 days of discount violations (11-14 … 11-20): {HISTORY['violations']}" in ops_text
    merch_text, _ = _parts(by_address["merch@example.com"])
    assert "Revenue bridge" not in merch_text  # no sales alert for this person
    assert f"last 7 days of on hand (11-14 … 11-20): {HISTORY['on_hand']}" in merch_text
    lead_text, _ = _parts(by_address["lead@example.com"])
    assert f"last 7 days of days of cover (11-14 … 11-20): {HISTORY['eu_cover']}" in lead_text
    assert "Revenue bridge: no comparable day a week earlier" in lead_text  # EU has no bridge row for D


def test_report_is_attached_and_named(warehouse, report):
    wh, config = warehouse
    msg = alerts.compose(wh, mf.D, config, report_path=report)[0]
    attachment = next(msg.iter_attachments())
    assert attachment.get_filename() == "report.html"
    assert "天猫旗舰店" in attachment.get_content()
    assert str(report) in _parts(msg)[0]


def test_no_alerts_that_day_means_no_mail(warehouse):
    wh, config = warehouse
    assert alerts.compose(wh, mf.D + timedelta(days=1), config, report_path=None) == []
    # D-1 has alerts only for cs@ and quiet@, who get exactly those
    earlier = alerts.compose(wh, mf.D - timedelta(days=1), config, report_path=None)
    assert sorted((m["To"], m["Subject"]) for m in earlier) == [
        ("cs@example.com", "[storekpi] 2026-11-19: 1 alerts for customer_service"),
        ("quiet@example.com", "[storekpi] 2026-11-19: 1 alerts for ops"),
    ]


@pytest.mark.parametrize(("ratios", "day", "expected"), [
    ((0.95, 0.86, 1.01), date(2026, 11, 20), "net sales −17 % vs last Friday: visitors −5 %, conversion −14 %, "
                                             "AOV +1 %"),  # 0.95 × 0.86 × 1.01 = 0.825 → −17.5 % → −17 %
    ((1.10, 1.0, 1.0), date(2026, 11, 16), "net sales +10 % vs last Monday: visitors +10 %, conversion 0 %, "
                                           "AOV 0 %"),
])
def test_bridge_sentence(ratios, day, expected):
    v, c, a = (math.log(r) for r in ratios)
    assert alerts.bridge_sentence(v + c + a, v, c, a, day) == expected


def test_outbox_writes_numbered_eml_files_and_never_overwrites(warehouse, report, tmp_path):
    wh, config = warehouse
    outbox = tmp_path / "outbox"
    assert alerts.deliver(wh, mf.D, config, outbox=outbox, report_path=report) == 5
    assert alerts.deliver(wh, mf.D, config, outbox=outbox, report_path=report) == 5
    names = sorted(p.name for p in outbox.iterdir())
    first_run = ["1-data@example.com.eml", "2-lead@example.com.eml", "3-merch@example.com.eml",
                 "4-mkt@example.com.eml", "5-ops.cn@example.com.eml"]
    second_run = [f"{int(n.split('-')[0]) + 5}-{n.split('-', 1)[1]}" for n in first_run]
    assert names == sorted(first_run + second_run)
    raw = (outbox / "5-ops.cn@example.com.eml").read_bytes()
    assert raw.isascii()  # UTF-8 travels encoded (RFC 2047 headers, base64 parts): any relay passes it unchanged
    msg = email.message_from_bytes(raw, policy=default_policy)
    _check_message("ops.cn@example.com", msg)


def test_without_smtp_connection_or_outbox_mail_is_spooled_not_lost(warehouse, report, tmp_path, monkeypatch, caplog,
                                                                    capsys):
    wh, config = warehouse
    monkeypatch.delenv("AIRFLOW_CONN_SMTP_DEFAULT", raising=False)
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    monkeypatch.setenv("STOREKPI_HOME", str(tmp_path / "state"))
    with caplog.at_level("WARNING", logger="storekpi.mailer"):
        assert alerts.deliver(wh, mf.D, config, outbox=None, report_path=report) == 5
    spooled = sorted(p.name for p in (tmp_path / "state" / "outbox").iterdir())
    assert len(spooled) == 5 and spooled[0] == "1-data@example.com.eml"
    logged = caplog.text + capsys.readouterr().out  # Airflow's logging may take over the handlers on first import
    assert "no SMTP connection 'smtp_default'" in logged and "@example.com" not in logged


# -- a real SMTP server ---------------------------------------------------------------------------------------------
@pytest.fixture
def smtp_server(monkeypatch, tmp_path):
    with smtp.smtp_server() as recorder:
        monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
        monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", recorder.url)
        yield recorder


def test_smtp_server_receives_exactly_the_days_alerts(warehouse, report, smtp_server, caplog):
    wh, config = warehouse
    with caplog.at_level(logging.INFO):
        assert alerts.deliver(wh, mf.D, config, outbox=None, report_path=report) == 5
    received = {}
    for envelope in smtp_server.wait_for(5):
        assert len(envelope.rcpt_tos) == 1
        assert envelope.mail_from == "kpi@shop.example"  # the connection's from_email
        received[envelope.rcpt_tos[0]] = email.message_from_bytes(envelope.content, policy=default_policy)
    assert set(received) == set(EXPECTED)
    assert not NOBODY & set(received)
    for address, msg in received.items():
        _check_message(address, msg)
    text, _ = _parts(received["ops.cn@example.com"])
    assert "天猫旗舰店" in text and TMALL_BRIDGE in text
    assert "@example.com" not in caplog.text  # addresses are personal data: never logged

"""The nightly run delivers its alerts through a real SMTP server (no --outbox), exactly as kpi_alerts says.

Expected recipients come from the published `kpi_alerts` rows for D and the `recipients:` of stores.yml, read here
with plain YAML, not through storekpi's config code.
"""

from __future__ import annotations

import email
from collections import Counter
from email.policy import default as default_policy

import duckdb
import pytest
import yaml

from tests import smtp
from tests.conftest import FIXTURES, run_cli

pytestmark = pytest.mark.e2e
D = "2026-11-20"
LANDING = FIXTURES / "e2e_landing"


@pytest.fixture(scope="module")
def delivered(tmp_path_factory):
    root = tmp_path_factory.mktemp("smtp-run")
    (root / "state").mkdir()
    warehouse = root / "warehouse.duckdb"
    with smtp.smtp_server() as server:
        result = run_cli("run", "--landing", str(LANDING), "--warehouse", str(warehouse), "--date", D,
                         home=root / "state", env={"AIRFLOW_CONN_SMTP_DEFAULT": server.url})
        assert result.code == 0, result.stderr[-4000:]
        messages = [(env.rcpt_tos, email.message_from_bytes(env.content, policy=default_policy))
                    for env in server.wait_for(1)]
    return warehouse, messages, root, result


def _expected_alerts(warehouse) -> dict[str, Counter]:
    """address -> Counter of (store_id, rule) it must be told about, from kpi_alerts and stores.yml."""
    config = yaml.safe_load((LANDING / "stores.yml").read_text(encoding="utf-8"))
    defaults = config.get("defaults", {}).get("recipients", {})
    by_store = {s["id"]: {**defaults, **s.get("recipients", {})} for s in config["stores"]}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute("select store_id, rule, owner_role from marts.kpi_alerts where date = ?", [D]).fetchall()
    assert rows, "the fixture must breach at least one threshold on D"
    expected: dict[str, Counter] = {}
    for store_id, rule, role in rows:
        for address in by_store[store_id].get(role, []):
            expected.setdefault(address, Counter())[(store_id, rule)] += 1
    return expected


def test_each_recipient_gets_one_message_with_exactly_their_alerts(delivered):
    warehouse, messages, root, _ = delivered
    alert_mails = {}
    for rcpt_tos, msg in messages:
        if "alerts for" in msg["Subject"]:
            assert len(rcpt_tos) == 1 and rcpt_tos[0] not in alert_mails  # one message per address
            alert_mails[rcpt_tos[0]] = msg
    expected = _expected_alerts(warehouse)
    assert set(alert_mails) == set(expected)  # nobody without alerts gets an alert e-mail
    stores = {s["id"]: s["name"] for s in yaml.safe_load((LANDING / "stores.yml").read_text())["stores"]}
    for address, wanted in expected.items():
        msg = alert_mails[address]
        n = sum(wanted.values())
        assert msg["Subject"].startswith(f"[storekpi] {D}: {n} alerts for "), msg["Subject"]
        text = msg.get_body(("plain",)).get_content()
        for store_id, _rule in wanted:
            assert stores[store_id] in text  # UTF-8 store names survive the relay
    assert not (root / "state" / "outbox").exists()  # a configured relay is used, nothing is spooled


def test_neither_the_run_log_nor_the_warehouse_names_a_recipient(delivered):
    warehouse, messages, root, result = delivered
    log = result.stdout + result.stderr + "".join(p.read_text(errors="replace")
                                                  for p in (root / "state").rglob("*.log"))
    assert "sent 1 e-mail(s) through SMTP connection smtp_default" in log  # the log does speak of the delivery
    data = warehouse.read_bytes()
    for rcpt_tos, _ in messages:
        for address in rcpt_tos:
            assert address not in log and address.encode() not in data

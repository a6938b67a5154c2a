"""roas_below_target reaches the marketing address of stores.yml through a real SMTP server, in a real run."""

from __future__ import annotations

import email
import shutil
from email.policy import default as default_policy

import duckdb
import pytest

from tests import smtp
from tests.conftest import FIXTURES, run_cli

pytestmark = pytest.mark.e2e
D = "2026-11-20"

# Meta daily breakdown for the CAD store: 'Always on' 300.00 -> 450.00 (ROAS 1.5 < 2.0, fires); 'Brand' 49.99
# at ROAS 0 (under min_campaign_spend 50: silent); 'Winter' 100.00 -> 200.00 (exactly 2.0: silent)
META = (
    "Reporting starts,Reporting ends,Campaign name,Amount spent (CAD),Impressions,Link clicks,Purchases,"
    "Purchases conversion value\n"
    f"{D},{D},Always on,300.00,12000,240,3,450.00\n"
    f"{D},{D},Brand,49.99,900,20,0,0.00\n"
    f"{D},{D},Winter,100.00,5000,90,2,200.00\n"
)


@pytest.fixture(scope="module")
def delivered(tmp_path_factory):
    root = tmp_path_factory.mktemp("marketing-smtp")
    landing = root / "landing"
    shutil.copytree(FIXTURES / "e2e_landing", landing)
    stores = (landing / "stores.yml").read_text(encoding="utf-8")
    (landing / "stores.yml").write_text(
        stores.replace("    data: [data@example.com]\n",
                       "    data: [data@example.com]\n    marketing: [growth@example.com]\n"), encoding="utf-8")
    folder = landing / "maple_shop" / "ad_spend" / D
    folder.mkdir(parents=True)
    (folder / "meta_daily.csv").write_text(META, encoding="utf-8")
    (root / "state").mkdir()
    warehouse = root / "warehouse.duckdb"
    with smtp.smtp_server() as server:
        result = run_cli("run", "--landing", str(landing), "--warehouse", str(warehouse), "--date", D,
                         home=root / "state", env={"AIRFLOW_CONN_SMTP_DEFAULT": server.url})
        assert result.code == 0, result.stderr[-4000:]
        messages = [(env.rcpt_tos, email.message_from_bytes(env.content, policy=default_policy))
                    for env in server.wait_for(1)]
    return warehouse, messages


def test_the_marketing_address_is_told_about_the_campaign_below_target(delivered):
    warehouse, messages = delivered
    with duckdb.connect(str(warehouse), read_only=True) as con:
        alerts = con.execute("select campaign, value from marts.kpi_alerts where rule = 'roas_below_target' "
                             "and date = ?", [D]).fetchall()
    assert alerts == [("Always on", 1.5)]
    to_marketing = [msg for rcpt, msg in messages if rcpt == ["growth@example.com"]]
    assert len(to_marketing) == 1
    text = to_marketing[0].get_body(("plain",)).get_content()
    assert "ROAS below target — campaign Always on: ROAS 1.50 (threshold 2.00)" in text
    assert "Brand" not in text and "Winter" not in text
    for rcpt, msg in messages:  # nobody else hears of it
        if rcpt != ["growth@example.com"]:
            assert "Always on" not in msg.get_body(("plain",)).get_content()

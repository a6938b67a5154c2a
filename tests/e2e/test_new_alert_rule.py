"""Alert rules are data: one new row in the rules table (dbt_project.yml `alert_rules`), and no other file, gives
a rule that fires, is e-mailed to its owner and appears in the report.

The run uses a copy of the dbt project with one rule appended; which store-days must fire is worked out here from
the published kpi_store_daily with pandas, not from the rule's SQL.
"""

from __future__ import annotations

import email
import shutil
from email.policy import default as default_policy

import duckdb
import pytest
import yaml

from tests.conftest import FIXTURES, ROOT, run_cli

pytestmark = pytest.mark.e2e
D = "2026-11-20"
NEW_RULE = {
    "rule": "aov_below_floor",
    "owner_role": "ops",
    "severity": "critical",
    "label": "AOV below floor",
    "mart": "kpi_store_daily",
    "column": "aov",
    "kpi_label": "average order value",
    "unit": "money",
    "comparison": "<",
    "threshold": "1000",
    "message": "{store} had an average order value of {value:2} on {date}, below {threshold}.",
}


@pytest.fixture(scope="module")
def run_with_new_rule(tmp_path_factory):
    root = tmp_path_factory.mktemp("new-rule")
    project = root / "dbt"
    shutil.copytree(ROOT / "dbt", project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    config_file = project / "dbt_project.yml"
    config = yaml.safe_load(config_file.read_text(encoding="utf-8"))
    config["vars"]["alert_rules"].append(NEW_RULE)  # the one row
    config_file.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    (root / "state").mkdir()
    warehouse = root / "warehouse.duckdb"
    result = run_cli("run", "--landing", str(FIXTURES / "e2e_landing"), "--warehouse", str(warehouse),
                     "--date", D, "--outbox", str(root / "outbox"), "--reports", str(root / "reports"),
                     home=root / "state", env={"STOREKPI_DBT_PROJECT": str(project)})
    assert result.code == 0, result.stderr[-4000:]
    return root, warehouse, result


def test_the_new_rule_fires_exactly_where_the_mart_breaches_it(run_with_new_rule):
    _, warehouse, _ = run_with_new_rule
    with duckdb.connect(str(warehouse), read_only=True) as con:
        daily = con.execute("select store_id, date, aov from marts.kpi_store_daily").df()
        alerts = con.execute("select store_id, date, owner_role, severity, value, threshold, message "
                             "from marts.kpi_alerts where rule = 'aov_below_floor'").df()
        rules = con.execute("select rule, owner_role, severity from intermediate.alert_rules").fetchall()
    breached = daily[daily["aov"].notna() & (daily["aov"].astype(float) < 1000)]
    assert len(breached) > 0
    assert sorted(zip(alerts["store_id"], alerts["date"])) == sorted(zip(breached["store_id"], breached["date"]))
    assert set(alerts["owner_role"]) == {"ops"} and set(alerts["severity"]) == {"critical"}
    assert set(alerts["threshold"]) == {1000.0}
    one = breached.iloc[0]
    sentence = alerts[(alerts["store_id"] == one["store_id"]) & (alerts["date"] == one["date"])]["message"].iloc[0]
    assert f"on {one['date']:%Y-%m-%d}, below 1000." in sentence and f"{float(one['aov']):.2f}" in sentence
    assert ("aov_below_floor", "ops", "critical") in rules


def test_the_new_rule_is_mailed_to_its_owner_and_shown_in_the_report(run_with_new_rule):
    root, warehouse, result = run_with_new_rule
    with duckdb.connect(str(warehouse), read_only=True) as con:
        on_d = con.execute("select store_id, aov from marts.kpi_store_daily where date = ? and aov < 1000",
                           [D]).fetchall()
    assert on_d, "the fixture must breach the new rule on D"
    mails = {}
    for path in sorted((root / "outbox").glob("*.eml")):
        msg = email.message_from_bytes(path.read_bytes(), policy=default_policy)
        mails[msg["To"]] = msg.get_body(("plain",)).get_content()
    ops = mails["ops@example.com"]  # ops owns the rule (stores.yml defaults: ops@example.com)
    for _store_id, aov in on_d:
        assert f"[critical] AOV below floor: average order value {float(aov):,.2f} (threshold 1,000.00)" in ops
    assert "last 7 days of average order value" in ops
    assert "AOV below floor" not in mails.get("data@example.com", "")  # not the data role's rule
    report = (root / "reports" / D / "report.html").read_text(encoding="utf-8")
    assert "aov_below_floor" in report and "1,000.00" in report

"""E-mails to the data role: blocked runs name the failing expectations, counts and examples; warnings get their
own subject; nothing to say means no e-mail."""

from __future__ import annotations

import pytest

from storekpi.quality import CheckResult, GateResult, notification, run_gates
from storekpi.warehouse import Target, Warehouse
from tests.quality import scenario as sc

RECIPIENTS = ["data-lead@example.com", "shop-data@example.com"]  # from scenario.STORES_YML, role data


def check(expectation, *, blocking, success, table="marts.kpi_store_daily", column="net_sales", unexpected=None,
          element=None, examples=()):
    return CheckResult(suite="kpi_store_daily", expectation=expectation, table_name=table, column_name=column,
                       blocking=blocking, success=success, unexpected_count=unexpected, element_count=element,
                       details={"description": "net_sales >= 0", "examples": list(examples)})


@pytest.fixture
def config(tmp_path):
    return sc.stores_config(tmp_path)


def bodies(message):
    text = message.get_body(("plain",)).get_content()
    page = message.get_body(("html",)).get_content()
    return text, page


def test_blocked_run_mails_every_data_address_the_failures_with_counts_and_examples(config):
    failing = check("expect_column_values_to_be_between", blocking=True, success=False, unexpected=2, element=40,
                    examples=[{"store_id": "shop", "date": "2026-11-18", "net_sales": -1.0},
                              {"store_id": "shop", "date": "2026-11-19", "net_sales": -3.5}])
    warning = check("expect_no_missing_traffic_days", blocking=False, success=False, table="raw.traffic",
                    column="date", unexpected=1, examples=[{"store_id": "tmall", "date": "2026-11-19"}])
    passing = check("expect_compound_columns_to_be_unique", blocking=True, success=True, unexpected=0, element=40)

    messages = notification(GateResult([failing, warning, passing]), sc.D, config)

    assert sorted(m["To"] for m in messages) == RECIPIENTS
    for message in messages:
        assert message["Subject"] == "[storekpi] 2026-11-20: run blocked — 1 failed checks"
        text, page = bodies(message)
        for body in (text, page):
            assert "expect_column_values_to_be_between" in body
            assert "marts.kpi_store_daily.net_sales" in body
            assert "2 of 40" in body
            assert "-3.5" in body and "2026-11-19" in body and "shop" in body
            assert "expect_no_missing_traffic_days" in body  # warnings ride along
            assert "expect_compound_columns_to_be_unique" not in body  # passing checks are not news
        assert "nothing was published" in text


def test_warnings_only_get_a_warning_subject(config):
    warnings = [check("expect_exports_to_cover_run_date", blocking=False, success=False, unexpected=1),
                check("expect_no_missing_traffic_days", blocking=False, success=False, unexpected=3)]
    messages = notification(GateResult(warnings), sc.D, config)
    assert [m["Subject"] for m in messages] == ["[storekpi] 2026-11-20: 2 data warnings"] * 2
    text, _ = bodies(messages[0])
    assert "passed the quality gates" in text and "blocked" not in text
    assert messages[0]["From"] and messages[0]["Date"]  # built by storekpi.mailer.message


def test_nothing_to_say_sends_nothing(config):
    assert notification(GateResult([check("x", blocking=True, success=True)]), sc.D, config) == []
    assert notification(GateResult([]), sc.D, config) == []


def test_mail_for_a_rejected_file_names_the_expectation_the_store_and_the_file(tmp_path, config):
    path = tmp_path / "build.duckdb"
    with Warehouse(Target(str(path)), path=path) as wh:
        sc.build(wh)
        wh.execute(f"update audit.files set status = 'rejected', reason = 'undecodable' where path = '{sc.SHOP_NEW}'")
        result = run_gates(wh, run_id=sc.RUN_ID, run_date=sc.D, config=config, batch_id=sc.BATCH)

    messages = notification(result, sc.D, config)

    assert len(messages) == 2
    text, page = bodies(messages[0])
    assert messages[0]["Subject"] == "[storekpi] 2026-11-20: run blocked — 1 failed checks"
    for body in (text, page):
        assert "expect_column_values_to_be_in_set on audit.files.status failed (blocking): 1 of 5 unexpected" \
            in body.replace("\n", " ").replace("&#x27;", "'")
        assert sc.SHOP_NEW in body and "store shop" in body and "undecodable" in body

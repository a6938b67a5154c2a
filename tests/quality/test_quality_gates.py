"""The gates on a hand-built DuckDB warehouse: good data passes, each blocking check fails on one crafted bad row,
warnings never block, and every expectation lands in audit.dq_results."""

from __future__ import annotations

import json
from datetime import date

import pytest

from storekpi.quality import run_gates
from storekpi.warehouse import Target, Warehouse
from tests.quality import scenario as sc

PAIR_GT = "expect_column_pair_values_a_to_be_greater_than_b"
PAIR_EQ = "expect_column_pair_values_to_be_equal"
BETWEEN = "expect_column_values_to_be_between"
UNIQUE = "expect_compound_columns_to_be_unique"

# (suite, expectation, column) of the 26 expectations, written out from quality.md layer 3.
ALL_CHECKS = {
    ("files", "expect_column_values_to_be_in_set", "status"),
    ("files", PAIR_GT, "rows_quarantined"),
    ("kpi_store_daily", UNIQUE, "store_id, date"),
    ("kpi_store_daily", "expect_no_missing_dates", "date"),
    ("kpi_store_daily", PAIR_GT, "orders, buyers"),
    ("kpi_store_daily", BETWEEN, "buyers"),
    ("kpi_store_daily", PAIR_GT, "visitors, buyers"),
    ("kpi_store_daily", BETWEEN, "conversion_rate"),
    ("kpi_store_daily", BETWEEN, "buyer_conversion_rate"),
    ("kpi_store_daily", BETWEEN, "net_sales"),
    ("kpi_store_daily", PAIR_GT, "gross_sales, net_sales"),
    ("reconciliation", PAIR_EQ, "orders"),
    ("reconciliation", PAIR_EQ, "net_sales"),
    ("stock_cover", UNIQUE, "store_id, sku, date"),
    ("stock_cover", "expect_on_hand_to_be_integer", "on_hand"),
    ("repurchase_cohorts", PAIR_GT, "customers, repurchased_90d"),
    ("repurchase_cohorts", BETWEEN, "repurchased_90d"),
    ("freshness", "expect_exports_to_cover_run_date", "export_date"),
    ("traffic", "expect_no_missing_traffic_days", "date"),
    ("orders", "expect_shopify_total_to_match_subtotal_shipping_taxes", "total"),
    ("orders", "expect_shopify_paid_orders_to_have_paid_at", "paid_at"),
    ("orders", "expect_discounts_to_be_non_negative", "discounts"),
    ("stock", "expect_stock_skus_to_be_unique_per_location", "sku"),
    ("stock", "expect_stock_rows_to_have_a_sku", "sku"),
    ("orders", "expect_order_lines_to_agree_on_order_fields", "line_differences"),
    ("freshness", "expect_hero_skus_to_appear_in_exports", "sku"),
}
WARNING_CHECKS = {c for c in ALL_CHECKS if c[0] in ("freshness", "traffic", "orders", "stock")}


@pytest.fixture
def config(tmp_path):
    return sc.stores_config(tmp_path)


@pytest.fixture
def wh(tmp_path):
    path = tmp_path / "build.duckdb"
    with Warehouse(Target(str(path)), path=path) as handle:
        sc.build(handle)
        yield handle


def gates(wh, config, run_id=sc.RUN_ID):
    return run_gates(wh, run_id=run_id, run_date=sc.D, config=config, batch_id=sc.BATCH)


def key(result):
    return (result.suite, result.expectation, result.column_name)


def test_good_data_passes_every_check_and_records_each_one(wh, config):
    result = gates(wh, config)

    assert result.passed and result.failures == [] and result.warnings == []
    assert {key(r) for r in result.results} == ALL_CHECKS
    assert {key(r) for r in result.results if not r.blocking} == WARNING_CHECKS
    rows = wh.query("select suite, expectation, column_name, blocking, success, details from audit.dq_results "
                    "where run_id = ?", [sc.RUN_ID])
    assert {(s, e, c) for s, e, c, *_ in rows} == ALL_CHECKS and len(rows) == 26
    assert all(success for *_, success, _ in rows)
    assert all(json.loads(details)["description"] for *_, details in rows)
    # element counts worked out from the scenario: 6 files in the batch, 5 store-days, 2 stores, 3 SKUs
    counts = {key(r): r.element_count for r in result.results}
    assert counts[("files", "expect_column_values_to_be_in_set", "status")] == 5
    assert counts[("kpi_store_daily", UNIQUE, "store_id, date")] == 5
    assert counts[("reconciliation", PAIR_EQ, "net_sales")] == 2
    assert counts[("stock_cover", "expect_on_hand_to_be_integer", "on_hand")] == 3
    assert counts[("freshness", "expect_exports_to_cover_run_date", "export_date")] == 4


def test_rerun_replaces_this_runs_results_instead_of_duplicating_them(wh, config):
    gates(wh, config)
    gates(wh, config)
    gates(wh, config, run_id="another-run")
    counts = dict(wh.query("select run_id, count(*) from audit.dq_results group by run_id"))
    assert counts == {sc.RUN_ID: 26, "another-run": 26}


M = "{m}"  # replaced by the marts schema
# id, statements that break one thing, the failing (suite, expectation, column), its unexpected count, and text
# the failure's message must contain (store / file / value).
BLOCKING_CASES = [
    ("rejected_file", [f"""insert into audit.files {sc.FILES_COLUMNS} values
        ('shop/stock/2026-11-20/inventory.xlsx', 'shop', 'stock', date '2026-11-20', 'x', 'xlsx', null, 'rejected',
         'unknown_headers', 'headers match no export', 0, 0, 0,
        '{sc.BATCH}', timestamp '2026-11-20 23:00:00')"""],
     ("files", "expect_column_values_to_be_in_set", "status"), 1, ["shop/stock/2026-11-20/inventory.xlsx"]),
    ("quarantine_share_above_store_max",  # 2 of 20 = 10 % > shop's default 5 %
     [f"update audit.files set rows_quarantined = 2, rows_loaded = 18 where path = '{sc.SHOP_NEW}'"],
     ("files", PAIR_GT, "rows_quarantined"), 1, [sc.SHOP_NEW, "store shop"]),
    ("duplicate_store_date",
     [f"insert into {M}.kpi_store_daily (store_id, date, visitors, orders, buyers, gross_sales, net_sales) "
      "values ('tmall', date '2026-11-19', 1000, 0, 0, 0, 0)"],
     ("kpi_store_daily", UNIQUE, "store_id, date"), 2, ["store tmall"]),
    ("missing_first_day",  # the mart starts on 11-19, raw traffic on 11-18
     [f"delete from {M}.kpi_store_daily where store_id = 'shop' and date = date '2026-11-18'"],
     ("kpi_store_daily", "expect_no_missing_dates", "date"), 1, ["store shop"]),
    ("missing_middle_day",
     [f"delete from {M}.kpi_store_daily where store_id = 'tmall' and date = date '2026-11-19'",
      f"update {M}.kpi_store_daily set orders = 2, buyers = 2, gross_sales = 150, net_sales = 143.50 "
      "where store_id = 'tmall'"],
     ("kpi_store_daily", "expect_no_missing_dates", "date"), 1, ["store tmall"]),
    ("orders_below_buyers",
     [f"update {M}.kpi_store_daily set buyers = 2 where store_id = 'shop' and date = date '2026-11-20'"],
     ("kpi_store_daily", PAIR_GT, "orders, buyers"), 1, ["store shop"]),
    ("negative_buyers",
     [f"update {M}.kpi_store_daily set buyers = -1 where store_id = 'shop' and date = date '2026-11-18'"],
     ("kpi_store_daily", BETWEEN, "buyers"), 1, ["store shop"]),
    ("buyers_above_visitors",
     [f"update {M}.kpi_store_daily set visitors = 0 where store_id = 'tmall' and date = date '2026-11-20'"],
     ("kpi_store_daily", PAIR_GT, "visitors, buyers"), 1, ["store tmall"]),
    ("conversion_above_one",
     [f"update {M}.kpi_store_daily set conversion_rate = 1.5 where store_id = 'shop' and date = date '2026-11-19'"],
     ("kpi_store_daily", BETWEEN, "conversion_rate"), 1, ["store shop"]),
    ("buyer_conversion_below_zero",
     [f"update {M}.kpi_store_daily set buyer_conversion_rate = -0.1 where store_id = 'tmall'"],
     ("kpi_store_daily", BETWEEN, "buyer_conversion_rate"), 2, ["store tmall"]),
    ("negative_net_sales",  # -1 on 11-18 and +1 on 11-19 keep the store's total, so only this check fails
     [f"update {M}.kpi_store_daily set net_sales = -1 where store_id = 'shop' and date = date '2026-11-18'",
      f"update {M}.kpi_store_daily set net_sales = 21 where store_id = 'shop' and date = date '2026-11-19'"],
     ("kpi_store_daily", BETWEEN, "net_sales"), 1, ["store shop"]),
    ("net_above_gross",
     [f"update {M}.kpi_store_daily set gross_sales = 29.99 where store_id = 'shop' and date = date '2026-11-20'"],
     ("kpi_store_daily", PAIR_GT, "gross_sales, net_sales"), 1, ["store shop"]),
    ("reconciliation_orders",
     [f"update {M}.kpi_store_daily set orders = 2 where store_id = 'shop' and date = date '2026-11-20'"],
     ("reconciliation", PAIR_EQ, "orders"), 1, ["store shop"]),
    ("reconciliation_net_sales_off_by_a_cent",
     [f"update {M}.kpi_store_daily set net_sales = 95.51 where store_id = 'tmall' and date = date '2026-11-20'"],
     ("reconciliation", PAIR_EQ, "net_sales"), 1, ["store tmall"]),
    ("duplicate_stock_row",
     [f"insert into {M}.stock_cover (store_id, sku, date, on_hand) values ('shop', 'A', date '2026-11-20', 5)"],
     ("stock_cover", UNIQUE, "store_id, sku, date"), 2, ["store shop"]),
    ("fractional_on_hand",
     [f"alter table {M}.stock_cover alter column on_hand type double precision",
      f"update {M}.stock_cover set on_hand = 2.5 where sku = 'X'"],
     ("stock_cover", "expect_on_hand_to_be_integer", "on_hand"), 1, ["store tmall"]),
    ("repurchased_above_customers",
     [f"update {M}.repurchase_cohorts set repurchased_90d = 3 where store_id = 'tmall'"],
     ("repurchase_cohorts", PAIR_GT, "customers, repurchased_90d"), 1, ["store tmall"]),
    ("negative_repurchased",
     [f"update {M}.repurchase_cohorts set repurchased_90d = -1 where store_id = 'shop'"],
     ("repurchase_cohorts", BETWEEN, "repurchased_90d"), 1, ["store shop"]),
]


@pytest.mark.parametrize("statements, failing, unexpected, mentions",
                         [case[1:] for case in BLOCKING_CASES], ids=[case[0] for case in BLOCKING_CASES])
def test_each_blocking_check_fails_on_a_crafted_bad_row(wh, config, statements, failing, unexpected, mentions):
    for statement in statements:
        wh.execute(statement.replace(M, wh.marts_schema))

    result = gates(wh, config)

    assert not result.passed
    assert [key(r) for r in result.failures] == [failing]
    failure = result.failures[0]
    assert failure.blocking and failure.unexpected_count == unexpected
    assert failure.details["examples"], "a failure carries example rows"
    message = failure.message()
    assert failing[1] in message and "failed (blocking)" in message
    for text in mentions:
        assert text in message
    recorded = wh.query("select success, unexpected_count from audit.dq_results where run_id = ? and suite = ? "
                        "and expectation = ? and column_name = ?", [sc.RUN_ID, *failing])
    assert recorded == [(False, unexpected)]


def test_a_store_missing_from_the_mart_fails_dates_and_reconciliation(wh, config):
    wh.execute(f"delete from {wh.marts_schema}.kpi_store_daily where store_id = 'tmall'")
    failures = {key(r): r for r in gates(wh, config).failures}
    assert set(failures) == {("kpi_store_daily", "expect_no_missing_dates", "date"),
                             ("reconciliation", PAIR_EQ, "orders"), ("reconciliation", PAIR_EQ, "net_sales")}
    assert failures[("kpi_store_daily", "expect_no_missing_dates", "date")].examples == [
        {"store_id": "tmall", "date": "2026-11-19"}, {"store_id": "tmall", "date": "2026-11-20"}]
    assert failures[("reconciliation", PAIR_EQ, "orders")].examples == [
        {"store_id": "tmall", "mart_orders": 0, "raw_paid_orders": 2}]


def test_quarantine_share_equal_to_the_store_maximum_passes(wh, config):
    # 1 of 20 = 5 % for shop (default max 0.05) and 2 of 20 = 10 % for tmall (its own max 0.10)
    wh.execute(f"update audit.files set rows_quarantined = 1 where path = '{sc.SHOP_NEW}'")
    wh.execute(f"update audit.files set rows_quarantined = 2 where path = '{sc.TMALL_ORDERS}'")
    assert gates(wh, config).passed


def test_examples_show_the_offending_rows(wh, config):
    wh.execute(f"delete from {wh.marts_schema}.kpi_store_daily where store_id = 'shop' and date = '2026-11-18'")
    wh.execute(f"update {wh.marts_schema}.kpi_store_daily set net_sales = 95.51 "
               "where store_id = 'tmall' and date = '2026-11-20'")
    result = gates(wh, config)
    failures = {key(r): r for r in result.failures}
    assert failures[("kpi_store_daily", "expect_no_missing_dates", "date")].examples == [
        {"store_id": "shop", "date": "2026-11-18"}]
    assert failures[("reconciliation", PAIR_EQ, "net_sales")].examples == [
        {"store_id": "tmall", "mart_net_sales": 143.51, "raw_net_sales": 143.50}]


def test_warnings_are_recorded_but_never_block(tmp_path, wh):
    config = sc.stores_config(tmp_path, extra="""
  - id: jd_outlet
    platform: generic
    currency: CNY
    hero_skus: [GHOST-1]
""")
    # freshness: jd_outlet has no export at all, tmall's latest traffic export is dated 11-19
    wh.execute(f"update audit.files set export_date = date '2026-11-19' where path = '{sc.TMALL_TRAFFIC}'")
    # a traffic day missing inside shop's range 11-18..11-20
    wh.execute("delete from raw.traffic where _store_id = 'shop' and date = date '2026-11-19'")
    # Shopify Total 20.02 is neither Subtotal 20.00 + Shipping + Taxes (none) nor Subtotal + Shipping (warns);
    # 30.01 vs 30.00 is within 0.01 (no warning)
    wh.execute(f"update raw.orders set total = 20.02 where order_id = '#1001' and _source_file = '{sc.SHOP_NEW}'")
    wh.execute(f"update raw.orders set total = 30.01 where order_id = '#1002' and _source_file = '{sc.SHOP_NEW}'")
    # a negative order discount (#1005: gross 10, discount -1, net 11) hidden in a day whose total is fine
    sc.insert(wh, "raw.orders", sc.lineage("shop", sc.SHOP_NEW, sc.D, sc.BATCH, [
        sc.order("#1005", sc.datetime(2026, 11, 19, 15), subtotal="11.00", order_discount="-1.00")]))
    sc.insert(wh, "raw.order_lines", sc.lineage("shop", sc.SHOP_NEW, sc.D, sc.BATCH, [
        sc.line("#1005", 1, 1, "10.00")]))
    # #1006 'paid' without a Paid at counts at its Created at, 11-19: 1 x 7.00, net 7.00
    sc.insert(wh, "raw.orders", [{**row, "status": "paid", "created_at": sc.datetime(2026, 11, 19, 16)}
                                 for row in sc.lineage("shop", sc.SHOP_NEW, sc.D, sc.BATCH, [
                                     sc.order("#1006", None, subtotal="7.00", order_discount="0.00")])])
    sc.insert(wh, "raw.order_lines", sc.lineage("shop", sc.SHOP_NEW, sc.D, sc.BATCH, [
        sc.line("#1006", 1, 1, "7.00")]))
    # tmall's T2 lines were a minute apart in an order field: loaded with the first line's value, warned
    wh.execute(f"update raw.orders set line_differences = 'created_at' where order_id = 'T2'")
    wh.execute(f"update {wh.marts_schema}.kpi_store_daily set orders = 3, buyers = 3, gross_sales = 42, "
               "net_sales = 38 where store_id = 'shop' and date = date '2026-11-19'")
    # tonight's stock export lists MUG twice at Main (summed, warns) and has a row without SKU
    stock = sc.lineage("shop", "shop/stock/2026-11-20/inventory.csv", sc.D, sc.BATCH, [
        {"snapshot_date": sc.D, "sku": sku, "location": "Main", "on_hand": n}
        for sku, n in (("MUG", 2), ("MUG", 3), ("TEE", 1), (None, 4))])
    sc.insert(wh, "raw.stock", stock)

    result = gates(wh, config)

    assert result.passed and result.failures == []
    warnings = {key(r): r for r in result.warnings}
    assert set(warnings) == WARNING_CHECKS
    stale = warnings[("freshness", "expect_exports_to_cover_run_date", "export_date")]
    assert (stale.unexpected_count, stale.element_count) == (3, 6)  # shop x2, tmall x2, jd_outlet x2 expected
    assert {(e["store_id"], e["dataset"]) for e in stale.examples} == {
        ("tmall", "traffic"), ("jd_outlet", "orders"), ("jd_outlet", "traffic")}
    gap = warnings[("traffic", "expect_no_missing_traffic_days", "date")]
    assert gap.examples == [{"store_id": "shop", "date": "2026-11-19"}]
    total = warnings[("orders", "expect_shopify_total_to_match_subtotal_shipping_taxes", "total")]
    assert total.unexpected_count == 1 and total.examples[0]["order_id"] == "#1001"
    # tonight's paid orders up to D: shop #1001, #1002, #1005, #1006 and tmall T1, T2 (#1003 unpaid, #1004 paid
    # 11-21)
    assert total.element_count == 6
    assert sc.SHOP_NEW in total.message()
    differing = warnings[("orders", "expect_order_lines_to_agree_on_order_fields", "line_differences")]
    # T2, of 9 unpublished raw orders: tonight's 8 and the 11-21 export of #1002 (no published run holds it)
    assert (differing.unexpected_count, differing.element_count) == (1, 9)
    assert differing.examples[0]["order_id"] == "T2" and differing.examples[0]["line_differences"] == "created_at"
    duplicates = warnings[("stock", "expect_stock_skus_to_be_unique_per_location", "sku")]
    assert (duplicates.unexpected_count, duplicates.element_count) == (1, 2)  # MUG of 2 SKU-location pairs
    assert duplicates.examples[0]["sku"] == "MUG" and duplicates.examples[0]["stock_rows"] == 2
    unnamed = warnings[("stock", "expect_stock_rows_to_have_a_sku", "sku")]
    assert (unnamed.unexpected_count, unnamed.element_count) == (1, 4)  # one file, of 4 stock rows
    assert unnamed.examples[0]["rows_without_sku"] == 1
    by_status = warnings[("orders", "expect_shopify_paid_orders_to_have_paid_at", "paid_at")]
    assert by_status.unexpected_count == 1 and by_status.examples[0]["order_id"] == "#1006"
    assert by_status.examples[0]["paid_date"] == "2026-11-19"
    discount = warnings[("orders", "expect_discounts_to_be_non_negative", "discounts")]
    assert discount.unexpected_count == 1 and discount.examples[0]["order_id"] == "#1005"
    assert discount.examples[0]["discounts"] == -1.0
    hero = warnings[("freshness", "expect_hero_skus_to_appear_in_exports", "sku")]
    assert (hero.unexpected_count, hero.element_count) == (1, 1)
    assert hero.examples == [{"store_id": "jd_outlet", "sku": "GHOST-1"}]
    assert all("failed (warning)" in w.message() for w in result.warnings)
    flags = wh.query("select count(*) from audit.dq_results where run_id = ? and not success and not blocking",
                     [sc.RUN_ID])
    assert flags == [(9,)]


def test_orders_of_earlier_batches_do_not_warn_again(wh, config):
    # the old version of #1001 (batch of 11-19) has a mismatching Total, but tonight's version wins
    wh.execute(f"update raw.orders set total = 99 where _source_file = '{sc.SHOP_OLD}'")
    assert gates(wh, config).warnings == []


@pytest.mark.parametrize("earlier_run, blocks", [(None, True), ("blocked", True), ("published", False)])
def test_a_rejected_file_of_an_unpublished_earlier_batch_keeps_blocking(wh, config, earlier_run, blocks):
    # On PostgreSQL raw and audit are written in place: a blocked night's file is not read again when unchanged,
    # so the gate must still see it the next night; once a run that held it was published, it is history.
    wh.execute(f"update audit.files set status = 'rejected', reason = 'unknown_headers', batch_id = 'batch-x' "
               f"where path = '{sc.SHOP_TRAFFIC}'")
    if earlier_run:
        wh.execute("insert into audit.runs (run_id, date, status, started_at) "
                   "values ('batch-x', date '2026-11-19', ?, timestamp '2026-11-19 23:00:00')", [earlier_run])
    result = gates(wh, config)
    assert result.passed is not blocks
    if blocks:
        assert [c.column_name for c in result.failures] == ["status"]
        assert sc.SHOP_TRAFFIC in result.failures[0].message()


def test_exports_dated_after_the_run_date_are_ignored_by_reconciliation(wh, config):
    # the 11-21 export of #1002 carries a 30.00 discount; for D = 11-20 the 11-20 version (net 30.00) counts
    result = run_gates(wh, run_id="r", run_date=date(2026, 11, 20), config=config, batch_id=sc.BATCH)
    assert result.passed


def test_an_empty_warehouse_passes_with_freshness_warnings_only(tmp_path, config):
    path = tmp_path / "empty.duckdb"
    with Warehouse(Target(str(path)), path=path) as wh:
        sc.empty(wh, config)  # storekpi's tables, empty marts and the dbt models the gates read, over empty raw
        result = gates(wh, config)
    assert result.passed
    assert [key(r) for r in result.warnings] == [("freshness", "expect_exports_to_cover_run_date", "export_date")]
    assert result.warnings[0].unexpected_count == 4  # orders and traffic of shop and tmall


@pytest.mark.parametrize(("phase_from", "passed"), [("2026-11-20", True), ("2026-11-21", False)])
def test_quarantine_limit_is_the_one_in_force_on_d(tmp_path, wh, phase_from, passed):
    """targets.md: a `targets` phase raising shop's max_quarantine_share to 0.10 counts from its date on only."""
    from storekpi import config as config_module

    path = tmp_path / "stores.yml"
    path.write_text(sc.STORES_YML.replace(
        "    currency: USD\n", f"    currency: USD\n    targets: [{{from: {phase_from}, max_quarantine_share: 0.10}}]\n"),
        encoding="utf-8")
    wh.execute(f"update audit.files set rows_quarantined = 2 where path = '{sc.SHOP_NEW}'")  # 2 of 20 = 10 %
    assert gates(wh, config_module.load(path)).passed is passed

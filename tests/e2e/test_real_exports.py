"""End to end through Airflow on exports in the shape of real Shopify files (tests/fixtures/real_exports).

The order files carry Shopify's full 79-column header, value formats as exported (`2026-11-20 10:15:02 +0200`,
`Tax 1 Name`, `Cash on Delivery (COD)`, `not stocked`), with made-up people. Every number below is worked out
by hand from those files (issue 13; kpis.md "Order facts"); D = 2026-11-20.

vat_shop (ZAR, tax-inclusive: Total = Subtotal + Shipping while Taxes > 0)
- #ZA1001, the issue's order: Subtotal 699.00, Shipping 85.00, Taxes 91.17, Total 784.00. Merchandise tax
  = 91.17 x 699 / 784 = 81.2855 -> 81.29; net 699.00 - 81.29 = 617.71; gross 1 x 699.00 x 617.71 / 699.00 = 617.71.
- #ZA1002: 2 x 230.00 (compare at 300.00), code TEN 46.00: Subtotal 414.00 holding VAT 54.00: net 360.00; gross
  460.00 x 360 / 414 = 400.00; discounts 40.00. Effective unit price 230 x 360 / 400 = 207.00 -> 207 / 300 = 0.69,
  the same ratio as 414 / 460 x 230 / 300 with VAT left in: a discount_floor violation (< 0.70).
- #ZA1003 (guest, exported abroad, no VAT): Subtotal 100.00 + Shipping 50.00 = Total: net 100.00.
  -> 3 orders, 3 buyers, 4 units, gross 1117.71, discounts 40.00, net 1077.71; 50 visitors: conversion 0.06,
  AOV 359.2367 and 50 x 0.06 x 359.2367 = 1077.71.
shipfree_shop (USD, tax on top)
- #1001: 1 x 70.00 (compare at 100.00), Subtotal 70.00, a FREESHIP code of 11.00 inside Discount Amount: net
  70.00 (was 59.00), ratio exactly 0.70: no violation.
- #1002: 2 x 15.00 and a 3.00 Tip line without SKU: net 30.00, units 2; Total 40.10 = 30 + 5 + 2.10 + tip 3.00.
  -> 2 orders, 3 units, gross = net = 100.00.
cod_shop (INR, cash_on_delivery: true)
- #C1001 pending, fulfilled 11-20: counts on 11-20 (499.00). #C1002 pending, not fulfilled; #C1003 fulfilled then
  cancelled: never count. #C1004 'paid' without Paid at, created 11-19 21:00: counts on 11-19 (250.00). #C1005
  partially_refunded without Paid at, created 11-20: 2 x 100.00, refunded 100.00. Asha placed #C1001 and #C1005.
  -> 11-19: 1 order, 250.00; 11-20: 2 orders, 1 buyer, 3 units, 699.00, refunds 100.00.
history_shop (EUR): #H1001 paid 2024-11-11 (an 11-11 promo day two years before the export) and #H1002 paid
  2024-11-12, both 1 x 100.00 at 50.00 (ratio 0.50): only #H1002 violates the floor.
stock_shop (GBP): inventory with 'not stocked' locations, SCARF on two rows at Studio (5 + 2), a row without SKU
  and BEANIE-XL stocked nowhere -> snapshot BEANIE-L 0, BEANIE-S 9, SCARF 7; BEANIE-L sold 1 on 11-20 (#S1001,
  24.00 with 4.00 VAT inside: net 20.00): a stockout.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import duckdb
import pytest

from tests.conftest import FIXTURES

pytestmark = pytest.mark.e2e

D = Decimal
LANDING = FIXTURES / "real_exports"


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    from tests.conftest import run_cli

    root = tmp_path_factory.mktemp("real_exports")
    (root / "state").mkdir()
    warehouse = root / "warehouse.duckdb"
    result = run_cli("run", "--landing", str(LANDING), "--warehouse", str(warehouse), "--date", "2026-11-20",
                     "--outbox", str(root / "outbox"), home=root / "state")
    assert result.code == 0, result.stdout[-3000:] + result.stderr[-3000:]
    con = duckdb.connect(str(warehouse), read_only=True)
    yield con, result
    con.close()


def kpi(con, store, day):
    return con.execute("""select orders, buyers, units, gross_sales, discounts, net_sales, refunds, visitors,
                                 conversion_rate, aov
                          from marts.kpi_store_daily where store_id = ? and date = ?""", [store, day]).fetchone()


def test_every_row_loads(published):
    con, result = published
    assert result.summary["status"] == "published" and result.summary["rows_quarantined"] == 0
    assert con.execute("select count(*) from quarantine.rows").fetchone() == (0,)
    files = con.execute("select sum(rows_in), sum(rows_loaded), sum(rows_quarantined) from audit.files").fetchone()
    assert files == (29, 29, 0)  # 3 + 3 + 5 + 3 + 1 order rows, 6 traffic days, 8 stock rows


def test_tax_inclusive_net_sales_exclude_vat_to_the_cent(published):
    con, _ = published
    facts = con.execute("""select order_id, is_tax_inclusive, merchandise_tax, gross_sales, discounts, net_sales
                           from intermediate.int_order_facts where store_id = 'vat_shop' order by order_id"""
                        ).fetchall()
    assert facts == [
        ("#ZA1001", True, D("81.29"), D("617.71"), D("0.00"), D("617.71")),
        ("#ZA1002", True, D("54.00"), D("400.00"), D("40.00"), D("360.00")),
        ("#ZA1003", False, D("0.00"), D("100.00"), D("0.00"), D("100.00")),
    ]
    orders, buyers, units, gross, discounts, net, refunds, visitors, conversion, aov = kpi(
        con, "vat_shop", date(2026, 11, 20))
    assert (orders, buyers, units, gross, discounts, net, refunds, visitors) == (
        3, 3, 4, D("1117.71"), D("40.00"), D("1077.71"), D("0.00"), 50)
    assert conversion == pytest.approx(0.06) and aov == pytest.approx(1077.71 / 3)
    assert visitors * conversion * aov == pytest.approx(float(net))  # net_sales = visitors x conversion x AOV


def test_discount_floor_ratio_is_unchanged_by_vat(published):
    con, _ = published
    rows = con.execute("""select order_id, sku, quantity, effective_unit_price, list_price, price_ratio
                          from marts.discount_violations where store_id = 'vat_shop'""").fetchall()
    assert [r[:3] for r in rows] == [("#ZA1002", "MUG-STN", 2)]
    assert float(rows[0][3]) == pytest.approx(207.0) and float(rows[0][4]) == 300.0
    assert float(rows[0][5]) == pytest.approx(0.69)


def test_free_shipping_codes_and_tips_are_not_merchandise(published):
    con, _ = published
    orders, buyers, units, gross, discounts, net, *_ = kpi(con, "shipfree_shop", date(2026, 11, 20))
    assert (orders, units, gross, discounts, net) == (2, 3, D("100.00"), D("0.00"), D("100.00"))
    assert con.execute("select count(*) from marts.discount_violations where store_id = 'shipfree_shop'"
                       ).fetchone() == (0,)
    tips = con.execute("select order_id, tips, units, lines from intermediate.int_order_facts "
                       "where store_id = 'shipfree_shop' order by order_id").fetchall()
    assert tips == [("#1001", D("0.00"), 1, 1), ("#1002", D("3.00"), 2, 1)]


def test_cash_on_delivery_and_paid_without_paid_at(published):
    con, _ = published
    facts = con.execute("""select order_id, paid_date, paid_basis, net_sales from intermediate.int_order_facts
                           where store_id = 'cod_shop' order by order_id""").fetchall()
    assert facts == [
        ("#C1001", date(2026, 11, 20), "cash_on_delivery", D("499.00")),
        ("#C1004", date(2026, 11, 19), "financial_status", D("250.00")),
        ("#C1005", date(2026, 11, 20), "financial_status", D("200.00")),
    ]
    assert kpi(con, "cod_shop", date(2026, 11, 19))[:7] == (1, 1, 1, D("250.00"), D("0.00"), D("250.00"), D("0.00"))
    assert kpi(con, "cod_shop", date(2026, 11, 20))[:7] == (2, 1, 3, D("699.00"), D("0.00"), D("699.00"),
                                                            D("100.00"))


def test_mm_dd_promo_days_hold_in_older_years(published):
    con, _ = published
    rows = con.execute("select date, order_id, price_ratio from marts.discount_violations "
                       "where store_id = 'history_shop'").fetchall()
    assert [(r[0], r[1]) for r in rows] == [(date(2024, 11, 12), "#H1002")]


def test_inventory_quirks(published):
    con, _ = published
    stock = con.execute("""select sku, on_hand, stockout from marts.stock_cover
                           where store_id = 'stock_shop' and date = date '2026-11-20' order by sku""").fetchall()
    assert stock == [("BEANIE-L", 0, True), ("BEANIE-S", 9, False), ("SCARF", 7, False)]
    alerts = con.execute("select rule, sku from marts.kpi_alerts where store_id = 'stock_shop' "
                         "and rule = 'stockout'").fetchall()
    assert alerts == [("stockout", "BEANIE-L")]
    assert kpi(con, "stock_shop", date(2026, 11, 20))[:6] == (1, 1, 1, D("20.00"), D("0.00"), D("20.00"))


def test_quality_warnings_name_the_real_export_oddities(published):
    con, _ = published
    warned = dict(con.execute("""select expectation, unexpected_count from audit.dq_results
                                 where not blocking and not success""").fetchall())
    assert warned["expect_shopify_paid_orders_to_have_paid_at"] == 2  # #C1004, #C1005
    assert warned["expect_stock_skus_to_be_unique_per_location"] == 1  # SCARF at Studio
    assert warned["expect_stock_rows_to_have_a_sku"] == 1  # one file with such rows
    assert "expect_shopify_total_to_match_subtotal_shipping_taxes" not in warned  # every Total adds up
    assert not con.execute("select count(*) from audit.dq_results where blocking and not success").fetchone()[0]

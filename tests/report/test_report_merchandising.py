"""The merchandising part of the report (merchandising.md): hero SKUs, reorder list, promo readiness, dead stock
and the ABC / role table, on the hand-filled warehouse of tests/alerts/marts_fixture.py plus three marts."""

from __future__ import annotations

import re
from datetime import date

import pandas as pd

from storekpi import report
from storekpi.warehouse import Target, Warehouse

from test_report import _section, mf

D = mf.D
CLASSES = pd.DataFrame([  # tmall_flagship as of D
    # sku, units_90d, net_sales_90d, gross_profit_90d, margin_90d, sales_share, abc, units, profit, hero, on_hand,
    # last_sold_date, dead_stock, role
    ("TM-001", 400, 8000.0, 3200.0, 0.40, 0.80, "A", "A", "A", True, 300, D, False, "hero"),
    ("TM-002", 150, 1500.0, 150.0, 0.10, 0.15, "A", "A", "B", True, 0, D, False, "hero"),
    ("TM-003", 50, 500.0, None, None, 0.05, "B", "B", None, False, 14, D, False, "long_tail"),
    ("TM-004", 0, 0.0, 0.0, None, 0.0, "U", "U", "U", False, 50, date(2026, 8, 1), True, "dead_stock"),
], columns=["sku", "units_90d", "net_sales_90d", "gross_profit_90d", "margin_90d", "sales_share", "abc_class",
            "units_class", "profit_class", "is_hero", "on_hand", "last_sold_date", "dead_stock", "role"])
REORDER = pd.DataFrame([
    ("TM-001", "羊毛围巾", 300, 5.0, 40.5, 75.5, True, False, 0),
    ("TM-002", "真丝睡衣", 0, 2.0, 30.0, 44.0, True, True, 44),
    ("TM-003", "<b>Scarf & Co</b>", 14, 4.0, 35.2, 63.2, False, True, 50),
    ("TM-004", "羊绒手套", 50, 0.0, 0.0, 0.0, False, False, 0),
], columns=["sku", "product_name", "on_hand", "avg_daily_units", "reorder_point", "order_up_to", "is_hero",
            "needs_reorder", "suggested_order_qty"])
PROMO = pd.DataFrame([
    (date(2026, 11, 30), "TM-001", 10, date(2026, 11, 23), 300, 120.0, 5.0, 0),
    (date(2026, 11, 30), "TM-002", 10, date(2026, 11, 23), 0, 40.0, 3.0, 43),
    (date(2026, 11, 30), "TM-003", 10, date(2026, 11, 23), 14, 30.0, 2.0, 18),
    (date(2026, 12, 2), "TM-001", 12, date(2026, 11, 25), 300, 130.0, 5.0, 0),
], columns=["promo_date", "sku", "days_until", "decision_due", "on_hand", "expected_units", "safety_stock",
            "shortfall"])


def _write(tmp_path):
    wh, config = mf.build(tmp_path)
    wh.close()
    path = tmp_path / "warehouse.duckdb"
    with Warehouse(Target(str(path)), path=path) as rw:
        for name, frame in {"product_classes": CLASSES, "replenishment": REORDER.assign(date=D),
                            "promo_readiness": PROMO}.items():
            rw.con.register("frame", frame.assign(store_id="tmall_flagship"))
            rw.con.execute(f"create or replace table marts.{name} as select * from frame")
            rw.con.unregister("frame")
        rw.con.execute("alter table marts.replenishment alter column date type date")
    wh = Warehouse(Target(str(path)), path=path, read_only=True)
    page = report.write_report(wh, D, config, tmp_path / "reports").read_text(encoding="utf-8")
    wh.close()
    return page


def test_merchandising_section_lists_heroes_reorders_promo_readiness_dead_stock_and_roles(tmp_path):
    page = _write(tmp_path)
    merch = _section(page, "store-tmall_flagship-merchandising")
    # heroes against the minimum of 30: TM-001 (300) ok, TM-002 (0) below with its order of 44
    assert "keep at least 30 on hand" in merch
    assert re.search(r"<td>TM-002</td><td>below minimum</td><td class=\"num\">0</td>.*?"
                     r"<td class=\"num\">44</td>", merch)
    assert "<td>TM-001</td><td>ok</td>" in merch
    # the reorder list holds the two SKUs that need an order, biggest order first, names escaped
    assert "2 SKUs</h4>" in merch
    reorder = merch[merch.index("Reorder list"):merch.index("Promo readiness")]
    assert re.findall(r"<tr><td>(TM-\d+)</td>", reorder) == ["TM-003", "TM-002"]
    assert "&lt;b&gt;Scarf &amp; Co&lt;/b&gt;" in reorder and "<b>Scarf" not in reorder
    # each upcoming promo day: when to decide and which SKUs are short
    promo = merch[merch.index("Promo readiness"):merch.index("Dead stock")]
    assert "<b>2026-11-30</b> in 10 days · decide by 2026-11-23" in promo and "2 SKUs short" in promo
    assert "<b>2026-12-02</b> in 12 days · decide by 2026-11-25" in promo and "ready" in promo
    assert re.findall(r"<tr><td>(TM-\d+)</td>", promo) == ["TM-002", "TM-003"]
    # dead stock (60 days without a sale) and the role table with margins
    assert "no sale in 60 days): 1 SKUs" in merch and "2026-08-01" in merch
    roles = merch[merch.index("ABC classes"):]
    assert re.findall(r"<tr><td>(TM-\d+)</td><td>(\w+)</td>", roles) == [
        ("TM-001", "hero"), ("TM-002", "hero"), ("TM-003", "long_tail"), ("TM-004", "dead_stock")]
    assert "40.0 %" in roles and "80.0 %" in roles
    # the merchandiser's owner index links here; a store without the marts' rows says so
    assert 'href="#store-tmall_flagship-merchandising"' in page
    assert "No product sales or stock up to this day." in _section(page, "store-generic_quiet-merchandising")


def test_report_without_the_merchandising_marts_still_renders(tmp_path):
    wh, config = mf.build(tmp_path)
    wh.close()
    path = tmp_path / "warehouse.duckdb"
    with Warehouse(Target(str(path)), path=path) as rw:
        rw.execute("drop table marts.replenishment")
    wh = Warehouse(Target(str(path)), path=path, read_only=True)
    page = report.write_report(wh, D, config, tmp_path / "reports").read_text(encoding="utf-8")
    wh.close()
    assert "No product sales or stock up to this day." in _section(page, "store-tmall_flagship-merchandising")

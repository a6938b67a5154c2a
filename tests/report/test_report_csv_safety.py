"""Report CSV extracts never hand a spreadsheet a formula (issue 20, OWASP CSV injection)."""

from __future__ import annotations

import csv
import importlib.util
import sys
from pathlib import Path

import pytest

from storekpi import report
from storekpi.spreadsheet import neutralised
from storekpi.warehouse import Target, Warehouse

_FIXTURE = Path(__file__).parents[1] / "alerts" / "marts_fixture.py"
if "marts_fixture" not in sys.modules:
    _spec = importlib.util.spec_from_file_location("marts_fixture", _FIXTURE)
    sys.modules["marts_fixture"] = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(sys.modules["marts_fixture"])
mf = sys.modules["marts_fixture"]

HOSTILE = ['=HYPERLINK("http://evil.example","click")', "@SUM(A1:A9)", "+1+1", "-2+3", "\tcmd", "\rcmd"]


@pytest.mark.parametrize(("value", "written"), [
    *[(v, "'" + v) for v in HOSTILE],
    ("-5", "-5"), ("+1.50", "+1.50"), ("-0.7e3", "-0.7e3"), ("Mug - blue", "Mug - blue"), ("", ""), (None, None),
    (-12.5, -12.5),
])
def test_cells_that_would_run_as_formulas_get_a_leading_quote(value, written):
    assert neutralised(value) == written


def test_extracts_neutralise_text_and_leave_numbers(tmp_path):
    mf.build(tmp_path)[0].close()
    path = tmp_path / "warehouse.duckdb"
    wh = Warehouse(Target(str(path)), path=path)  # writable: the hostile rows are added to the fixture's marts
    try:
        for value in HOSTILE:  # one more violation row per hostile SKU, copied from the day's first
            wh.execute("insert into marts.discount_violations select * replace (? as sku) "
                       "from (select * from marts.discount_violations where date = ? limit 1)", [value, mf.D])
        wh.execute("update marts.kpi_store_daily set net_sales = -net_sales where date = ?", [mf.D])
        (tmp_path / "out").mkdir()
        paths = {p.stem: p for p in report.write_extracts(wh, mf.D, tmp_path / "out")}
        want_sales = sorted(str(v) for (v,) in wh.query("select net_sales from marts.kpi_store_daily where date = ?",
                                                          [mf.D]))
    finally:
        wh.close()
    with paths["discount_violations"].open(encoding="utf-8-sig", newline="") as fh:
        skus = {row["sku"] for row in csv.DictReader(fh)}
    assert {"'" + v for v in HOSTILE} <= skus
    assert not any(s.startswith(("=", "+", "-", "@", "\t", "\r")) for s in skus)
    with paths["kpi_store_daily"].open(encoding="utf-8-sig", newline="") as fh:
        sales = sorted(row["net_sales"] for row in csv.DictReader(fh))
    assert sales == want_sales and all(s.startswith("-") for s in sales if s not in ("0", "0.0", "0.00"))

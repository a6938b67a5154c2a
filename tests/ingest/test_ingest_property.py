"""Property: any mix of valid and invalid rows -> rows_in = rows_loaded + rows_quarantined, every invalid row has
the right reason, and the other rows of an order with an invalid row are quarantined as incomplete_order."""

import tempfile
from pathlib import Path

from ingest_support import Landing, SALT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storekpi.ingest import ingest
from storekpi.warehouse import Target, Warehouse

HEADER = "Name,Email,Financial Status,Paid at,Currency,Subtotal,Shipping,Taxes,Total,Discount Amount,Created at," \
         "Lineitem quantity,Lineitem name,Lineitem price,Lineitem sku\n"
LINE_DEFECTS = {  # defect -> (reason, how the line's cells change)
    "bad_price": ("unparseable", {"price": "1O.00"}),
    "negative_quantity": ("negative_quantity", {"quantity": "-2"}),
    "fractional_quantity": ("non_integer_quantity", {"quantity": "0.5"}),
    "no_quantity": ("missing_required", {"quantity": ""}),
}
ORDER_DEFECTS = {  # written on the order's first row, where order fields live
    "other_currency": ("currency_mismatch", {"currency": "EUR"}),
    "future": ("future_date", {"paid": "2026-11-25 10:00:00 -0800"}),
    "bad_total": ("unparseable", {"total": "12,5"}),
}

lines = st.lists(st.sampled_from([None, None, None, *LINE_DEFECTS]), min_size=1, max_size=3)
orders = st.lists(st.tuples(st.sampled_from([None, None, *ORDER_DEFECTS]), lines), min_size=0, max_size=8)


def render(spec) -> tuple[str, dict[int, str]]:
    """The CSV text, and the reason expected for each quarantined row (worked out from the defects)."""
    text, expected, row = HEADER, {}, 1
    for number, (order_defect, line_defects) in enumerate(spec, start=1001):
        order_rows = []
        for position, line_defect in enumerate(line_defects):
            row += 1
            cells = {"paid": "2026-11-20 10:00:00 -0800", "currency": "USD", "total": "20.00", "quantity": "1",
                     "price": "20.00"}
            if position == 0 and order_defect:
                reason, change = ORDER_DEFECTS[order_defect]
                cells.update(change)
                expected[row] = reason
            if line_defect and row not in expected:
                reason, change = LINE_DEFECTS[line_defect]
                cells.update(change)
                expected[row] = reason
            if position > 0:  # later rows of an order leave the order fields empty
                cells.update(paid="", currency="", total="")
            text += (f"#{number},buyer{number}@example.com,paid,{cells['paid']},{cells['currency']},20.00,0,0,"
                     f"\"{cells['total']}\",0,2026-11-20 09:00:00 -0800,{cells['quantity']},Tee,{cells['price']},T\n")
            order_rows.append(row)
        if any(r in expected for r in order_rows):
            for r in order_rows:
                expected.setdefault(r, "incomplete_order")
    return text, expected


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(orders)
def test_every_row_is_loaded_or_quarantined_with_its_reason(spec):
    text, expected = render(spec)
    total_rows = sum(len(line_defects) for _, line_defects in spec)
    with tempfile.TemporaryDirectory() as tmp:
        landing = Landing(Path(tmp) / "landing")
        relpath = landing.add("shop_us", "orders", "2026-11-20", "orders.csv", text)
        with Warehouse(Target(":memory:"), path=Path(":memory:")) as wh:  # in memory: fast examples
            wh.ensure_schema()
            summary = ingest(wh, landing.config, landing.files(), batch_id="b", salt=SALT)
            assert summary.rows_in == total_rows
            assert summary.rows_in == summary.rows_loaded + summary.rows_quarantined
            assert summary.rows_quarantined == len(expected)
            got = dict(wh.query("select _row_number, reason from quarantine.rows where _source_file = ?",
                                [relpath]))
            assert got == expected
            loaded_lines = wh.query("select count(*) from raw.order_lines")[0][0]
            assert loaded_lines == summary.rows_loaded
            audit = wh.query("select rows_in, rows_loaded, rows_quarantined from audit.files")
            assert audit == [(summary.rows_in, summary.rows_loaded, summary.rows_quarantined)]

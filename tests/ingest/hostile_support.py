"""Helpers for the hostile-input tests: real export shapes, one ingest per file, the accounting every file must keep.

The Shopify header is the admin "Export orders" CSV as shops download it (every column, in Shopify's order); the
values are made up. Generic rows use the documented snake_case layout.
"""

from __future__ import annotations

from dataclasses import dataclass

from ingest_support import Landing, run

from storekpi import config as store_config
from storekpi.warehouse import Warehouse

SHOPIFY_COLUMNS = (
    "Name,Email,Financial Status,Paid at,Fulfillment Status,Fulfilled at,Accepts Marketing,Currency,Subtotal,"
    "Shipping,Taxes,Total,Discount Code,Discount Amount,Shipping Method,Created at,Lineitem quantity,Lineitem name,"
    "Lineitem price,Lineitem compare at price,Lineitem sku,Lineitem requires shipping,Lineitem taxable,"
    "Lineitem fulfillment status,Billing Name,Billing Street,Billing Address1,Billing Address2,Billing Company,"
    "Billing City,Billing Zip,Billing Province,Billing Country,Billing Phone,Shipping Name,Shipping Street,"
    "Shipping Address1,Shipping Address2,Shipping Company,Shipping City,Shipping Zip,Shipping Province,"
    "Shipping Country,Shipping Phone,Notes,Note Attributes,Cancelled at,Payment Method,Payment Reference,"
    "Refunded Amount,Vendor,Outstanding Balance,Employee,Location,Device ID,Id,Tags,Risk Level,Source,"
    "Lineitem discount,Tax 1 Name,Tax 1 Value,Tax 2 Name,Tax 2 Value,Tax 3 Name,Tax 3 Value,Tax 4 Name,Tax 4 Value,"
    "Tax 5 Name,Tax 5 Value,Phone,Receipt Number,Duties,Billing Province Name,Shipping Province Name,Payment ID,"
    "Payment Terms Name,Next Payment Due At,Payment References"
).split(",")
SHOPIFY_HEADER = ",".join(SHOPIFY_COLUMNS) + "\n"
GENERIC_COLUMNS = ("order_id,customer_id,created_at,paid_at,cancelled_at,currency,sku,product_name,quantity,"
                   "unit_price,list_price,order_discount,shipping,refunded_amount").split(",")
GENERIC_HEADER = ",".join(GENERIC_COLUMNS) + "\n"


def csv_cell(value: str) -> str:
    """A cell as a CSV writer quotes it (only when it must)."""
    if any(c in value for c in ',"\n\r'):
        return '"' + value.replace('"', '""') + '"'
    return value


def shopify_rows(number: int, lines: list[tuple[int, str, str, str]], *, paid_at="2026-11-20 14:03:11 -0800",
                 status="paid", cells: dict | None = None, created_at: str | None = None) -> list[str]:
    """The rows of one Shopify order: (quantity, name, price, sku) per line; order fields on the first row only,
    Email, Created at and the line fields repeated, as real exports do."""
    subtotal = sum(q * float(p) for q, _, p, _ in lines)
    rows = []
    for position, (quantity, name, price, sku) in enumerate(lines):
        row = dict.fromkeys(SHOPIFY_COLUMNS, "")
        row.update({"Name": f"#{number}", "Email": f"buyer{number}@example.com",
                    "Created at": created_at or paid_at, "Lineitem quantity": str(quantity),
                    "Lineitem name": name, "Lineitem price": price, "Lineitem sku": sku,
                    "Lineitem requires shipping": "true", "Lineitem taxable": "true",
                    "Lineitem fulfillment status": "fulfilled", "Vendor": "Maple Goods"})
        if position == 0:
            row.update({"Financial Status": status, "Paid at": paid_at, "Fulfillment Status": "fulfilled",
                        "Accepts Marketing": "no", "Currency": "USD", "Subtotal": f"{subtotal:.2f}",
                        "Shipping": "0.00", "Taxes": "0.00", "Total": f"{subtotal:.2f}", "Discount Amount": "0.00",
                        "Shipping Method": "Standard", "Billing Name": "Pat Doe", "Billing Zip": "'10115",
                        "Billing Country": "US", "Refunded Amount": "0.00", "Outstanding Balance": "0.00",
                        "Id": str(5000000000000 + number), "Risk Level": "Low", "Source": "web",
                        "Payment ID": f"c{number}.1", "Payment References": f"c{number}.1"})
            row.update(cells or {})
        rows.append(",".join(csv_cell(row[c]) for c in SHOPIFY_COLUMNS) + "\n")
    return rows


def generic_row(i: int, **cells: str) -> str:
    row = {"order_id": f"A-{i}", "customer_id": f"C-{i}", "created_at": "2026-11-20 09:00:00",
           "paid_at": "2026-11-20 09:01:00", "cancelled_at": "", "currency": "EUR", "sku": "SKU-1",
           "product_name": "Widget", "quantity": "1", "unit_price": "10.00", "list_price": "", "order_discount": "0",
           "shipping": "0", "refunded_amount": "0"}
    row.update(cells)
    return ",".join(csv_cell(row[c]) for c in GENERIC_COLUMNS) + "\n"


def generic_file(n: int, **changes: dict) -> str:
    """`n` one-line orders; `changes` maps 'row<N>' (the editor line, header = 1) to changed cells."""
    return GENERIC_HEADER + "".join(generic_row(i, **changes.get(f"row{i + 1}", {})) for i in range(1, n + 1))


@dataclass
class Outcome:
    relpath: str
    status: str
    reason: str | None
    message: str | None
    rows_in: int
    rows_loaded: int
    rows_quarantined: int
    quarantine: dict  # row number (None for the whole file) -> (reason, column, message)


def ingest_one(wh: Warehouse, landing: Landing, store: str, dataset: str, name: str, content: bytes | str,
               day: str = "2026-11-20") -> Outcome:
    relpath = landing.add(store, dataset, day, name, content)
    run(wh, landing)
    return outcome(wh, relpath)


def outcome(wh: Warehouse, relpath: str) -> Outcome:
    [(status, reason, message, rows_in, loaded, quarantined)] = wh.query(
        "select status, reason, message, rows_in, rows_loaded, rows_quarantined from audit.files where path = ?",
        [relpath])
    found = {r: (reason, column, message) for r, reason, column, message in wh.query(
        "select _row_number, reason, column_name, message from quarantine.rows where _source_file = ?", [relpath])}
    result = Outcome(relpath, status, reason, message, rows_in, loaded, quarantined, found)
    assert_accounted(wh, result)
    return result


def assert_accounted(wh: Warehouse, o: Outcome) -> None:
    """What every file keeps, whatever it holds: rows_in = loaded + quarantined; every quarantined row is on record
    with a message naming the file and its row; a rejected file loads nothing and says why."""
    assert o.rows_in == o.rows_loaded + o.rows_quarantined
    raw_rows = sum(wh.query(f"select count(*) from raw.{t} where _source_file = ?", [o.relpath])[0][0]
                   for t in ("order_lines", "traffic", "reviews", "stock", "products"))
    if o.status == "rejected":
        assert (o.rows_in, raw_rows) == (0, 0)
        assert o.reason and o.message.startswith((o.relpath + ":", o.relpath + " row "))
        assert list(o.quarantine) == [None] and o.quarantine[None][0] == o.reason
        return
    assert o.status == "loaded"
    assert raw_rows == o.rows_loaded
    assert len(o.quarantine) == o.rows_quarantined
    for row, (_, _, message) in o.quarantine.items():
        assert message.startswith(f"{o.relpath} row {row}"), message


def use_stores(landing: Landing, extra: str) -> None:
    """Add keys to every store of the test landing's stores.yml (as `key: value` lines of `defaults`)."""
    path = landing.root / "stores.yml"
    path.write_text("defaults:\n" + "".join(f"  {line}\n" for line in extra.splitlines()) + path.read_text())
    landing.config = store_config.load(path)

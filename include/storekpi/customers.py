"""`storekpi customers`: from a segment back to the shop's own identifiers, without storing them anywhere.

The warehouse holds only `customer_key`. Customer service brings the shop's own order exports (`--match`); each is
read by the same reader and layouts as ingest, every identifier is hashed with the warehouse's salt by
`pii.customer_key` (the function ingest's SQL is built from), and the identities whose key is in the asked segments
of `marts.customer_segments` are written as CSV to `--out` or stdout. The identifiers live only in this process:
nothing is written to the warehouse (opened read-only), to `$STOREKPI_HOME` or to the logs, whose lines name
files and counts only.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from storekpi import pii
from storekpi.adapters import layouts, parsing, reading
from storekpi.config import PLATFORMS
from storekpi.errors import ConfigError
from storekpi.warehouse import Target, exists, open_published

log = logging.getLogger(__name__)

SEGMENTS = ("new", "loyal", "at_risk", "lapsed", "one_off", "regular")  # customers.md, in rule order
COLUMNS = ("store_id", "identifier", "segment", "last_paid_date", "orders_365d", "net_sales_365d")
ORDER_LAYOUTS = tuple(layout for platform in PLATFORMS for layout in layouts(platform, "orders"))


@dataclass(frozen=True)
class Export:
    """The identities of one order export: its platform and (identifier as written, customer_key) pairs."""

    path: Path
    platform: str
    identities: list[tuple[str, str]]


def parse_segments(text: str) -> list[str]:
    """`loyal,at_risk` -> ["loyal", "at_risk"]; an unknown name is a usage error naming --segment."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in SEGMENTS]
    if unknown or not names:
        raise ConfigError(f"--segment: unknown segment {', '.join(map(repr, unknown)) or repr(text)} "
                          f"(known: {', '.join(SEGMENTS)})")
    return list(dict.fromkeys(names))


def read_exports(paths: list[Path], salt: str) -> list[Export]:
    """Identifiers of each orders export of any platform (sources.md), each with its customer_key. One DuckDB
    connection reads every file and one `pii.customer_key` call hashes every identifier."""
    import duckdb

    read: list[tuple[Path, str, list[str]]] = []
    with duckdb.connect() as con:
        parsing.install(con)
        for index, path in enumerate(paths):
            if not path.is_file():
                raise ConfigError(f"--match: file not found: {path}")
            name = f"_sk_match{index}"
            try:
                rows = reading.load(con, path, ORDER_LAYOUTS, str(path), name)
            except reading.FileRejected as exc:
                raise ConfigError(f"--match: {path} is not an orders export ({exc.reason}): {exc.message}") \
                    from None
            layout = rows.layout
            identity = next((f.name for f in layout.fields if f.kind == "identity"), None)
            identifiers = []
            if identity is not None:  # a Taobao line report is orders, but names no buyer
                # cleaned as ingest cleans a cell before hashing it (="…" unwrapped, trimmed); first appearance wins
                identifiers = [row[0] for row in con.execute(f"""
                    select identifier from (
                        select sk_clean("{identity}") as identifier, min(_row_number) as first_row
                        from {name} group by 1
                    ) where identifier is not null order by first_row""").fetchall()]
            reading.release(con, name)
            read.append((path, layout.platform, identifiers))
            log.info("customers: %s (%s): %d identities", path, layout.name, len(identifiers))
    keys = iter(pii.customer_key([value for _, _, values in read for value in values], salt))
    return [Export(path, platform, [(value, next(keys)) for value in values]) for path, platform, values in read]


def find(warehouse: str, segments: str, files: list[str], *, store: str | None = None,
         out: str | None = None) -> int:
    """Write the matching identities as CSV to `out` (or stdout); returns how many were written."""
    wanted = parse_segments(segments)
    target = Target(warehouse)
    target.validate()
    if not exists(target):
        raise ConfigError(f"--warehouse {target.display} does not exist: run `storekpi run` first")
    salt = pii.existing_salt(target)
    if not salt:
        raise ConfigError(f"--warehouse {target.display} has no personal-data salt (set {pii.SALT_ENV} to the "
                          "salt its runs used, or restore the .salt file kept beside it): customer keys cannot "
                          "be matched")
    stores = _stores(target, store)
    exports = read_exports([Path(name) for name in files], salt)
    for export in exports:
        if export.platform not in stores.values():
            where = f"--store {store} is on {stores[store]}" if store else "no store of the warehouse is on it"
            raise ConfigError(f"--match: {export.path} is a {export.platform} orders export, but {where}")
    rows = _matches(target, wanted, stores, exports)
    _write(rows, out)
    log.info("customers: %d customers in %s written to %s", len(rows), ", ".join(wanted), out or "stdout")
    return len(rows)


def _stores(target: Target, store: str | None) -> dict[str, str]:
    """store_id -> platform of the stores to match against (all, or --store)."""
    with open_published(target) as wh:
        if not wh.table_exists("marts", "customer_segments"):
            raise ConfigError(f"--warehouse {target.display} has no marts.customer_segments: "
                              "run `storekpi run` first")
        stores = dict(wh.query("select store_id, platform from raw.stores order by store_id"))
    if store is None:
        return stores
    if store not in stores:
        raise ConfigError(f"--store: unknown store {store!r} (known: {', '.join(stores)})")
    return {store: stores[store]}


def _matches(target: Target, wanted: list[str], stores: dict[str, str], exports: list[Export]) -> list[tuple]:
    """One row per store and customer_key in the segments, with the identifier first seen for that key."""
    placeholders = ", ".join("?" for _ in wanted)
    with open_published(target) as wh:
        segment_rows = wh.query(
            "select store_id, customer_key, segment, last_paid_date, orders_365d, net_sales_365d "
            f"from marts.customer_segments where segment in ({placeholders})", wanted)
    by_key: dict[str, list[tuple]] = {}
    for row in segment_rows:
        if row[0] in stores:
            by_key.setdefault(row[1], []).append(row)
    found: dict[tuple[str, str], tuple] = {}
    for export in exports:
        for identifier, key in export.identities:
            for store_id, _, segment, last_paid, orders_365d, net_sales_365d in by_key.get(key, ()):
                if stores[store_id] == export.platform:
                    found.setdefault((store_id, key), (store_id, identifier, segment, last_paid, orders_365d,
                                                       net_sales_365d))
    order = {name: i for i, name in enumerate(wanted)}
    return sorted(found.values(), key=lambda r: (r[0], order[r[2]], -r[3].toordinal(), r[1]))


def _write(rows: list[tuple], out: str | None) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for store_id, identifier, segment, last_paid, orders_365d, net_sales_365d in rows:
        writer.writerow([store_id, identifier, segment, last_paid.isoformat(), orders_365d, net_sales_365d])
    if out is None:
        sys.stdout.write(buffer.getvalue())
        sys.stdout.flush()
        return
    # personal data: readable by its owner only; a BOM so spreadsheet programs show Chinese nicknames
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as fh:
        fh.write(buffer.getvalue())

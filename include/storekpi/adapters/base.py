"""What an adapter is: data describing one export layout, not code.

A `Layout` lists the `Field`s of one known export (header + aliases, how to parse the cell, whether it is required,
personal, or belongs to the order rather than the line). The shared reader finds the header row and maps columns
onto fields by these names; `canonical` types, checks and maps the fields onto the raw model. A platform module is
therefore a table of layouts per dataset.
"""

from __future__ import annotations

import dataclasses
import fnmatch
from dataclasses import dataclass

# How a cell is parsed (see `parsing.py`).
KINDS = (
    "text",
    "identity",  # personal identifier (e-mail, buyer nickname, customer id): hashed into customer_key, never stored
    "currency",  # ISO code, checked against the store's currency
    "amount",  # money: currency signs and thousands separators allowed
    "count",  # whole number: thousands separators allowed
    "quantity",  # whole, non-negative number (reasons non_integer_quantity / negative_quantity)
    "stock_level",  # whole number that may be negative (oversold stock: the marts treat on_hand <= 0 as stockout);
    #               Shopify's 'not stocked' (the SKU is not carried at that location) reads as NULL, adding nothing
    "timestamp",  # with or without offset; converted to store-local wall-clock time
    "date",
    "rating",  # 1..5
    "rating_word",  # Taobao 好评 / 中评 / 差评
)


def normalise_header(header: str) -> str:
    """Header comparison ignores a byte-order mark, surrounding whitespace and case."""
    return header.replace("\ufeff", "").strip().lower()


@dataclass(frozen=True)
class Field:
    name: str  # canonical name (a raw column name where one exists)
    headers: tuple[str, ...]  # header and aliases; the first one present in a file wins
    kind: str = "text"
    required: bool = False  # every row must carry a value (missing_required)
    optional: bool = False  # the header may be absent from the file
    personal: bool = False  # never stored, never shown in quarantine raw_values or messages
    order_level: bool = False  # line-grain order exports: belongs to the order, taken from its first row
    future_check: bool = False  # future_date when dated more than one day after the export date
    fallback: str | None = None  # field whose cell is used when this one is empty (or its column absent)
    signed: bool = False  # an amount that may be negative (a discount); other money below 0 is unparseable
    non_negative: bool = False  # a negative value is `unparseable` (clicks, impressions; amounts always are,
    # unless `signed`)
    same_day_as: str | None = None  # `not_daily` when this date differs from that field's (Meta reporting ends)
    from_header: str | None = None  # the value is in the header, not the cells: regex group 1 of the header as
    #                                 written ('Amount spent (EUR)' -> EUR); the cells are not read for it

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown field kind {self.kind!r}")


@dataclass(frozen=True)
class Spread:
    """A wide layout: every column after the header `after` is one value of `name`, its cells `value` (Shopify's
    older inventory export has one column per location after `COO`). Each such column becomes a field of the file's
    layout (`Layout.resolve`), and each row one raw row per column."""

    after: str  # the last fixed header
    name: str  # raw column that takes the header as written ('location')
    value: Field  # how a cell reads; its `name` is the raw column ('on_hand'), its `headers` are unused
    long_headers: tuple[str, ...]  # headers of the one-row-per-value layout: present, the file is not this one

    def field(self, number: int, header: str) -> Field:
        return dataclasses.replace(self.value, name=f"{self.value.name}#{number}", headers=(header,))


@dataclass(frozen=True)
class Summary:
    """Rows a report adds that add up its other rows (Google Ads' `Total: Account`, Meta's summary row). They are
    skipped and counted (the log and `audit.files.message` say how many), never loaded nor quarantined: loading one
    would count the spend twice. Either kind of rule, or both:
    - `label`: a regular expression (lower case) that the row's label matches, in the file's first column or in a
      field of `label_in`, while `undated` (a date field) is empty or not a date;
    - `unnamed` / `sums`: the row leaves `unnamed` empty and its `sums` amount is the sum of every other row's,
      within a cent per row (rounding)."""

    label: str | None = None
    label_in: tuple[str, ...] = ()
    undated: str | None = None
    unnamed: str | None = None
    sums: str | None = None


SUMMARY_LABEL = "summary_label"  # the field `resolve` adds for the first column when a label rule needs it


@dataclass(frozen=True)
class Layout:
    """One known export file layout of a platform's dataset."""

    platform: str
    dataset: str
    name: str  # human name used in messages, e.g. "order report (ExportOrderList)"
    fields: tuple[Field, ...]
    key: tuple[str, ...]  # fields identifying the entity (duplicate_conflict, review_id)
    entity: str  # how the entity is named in messages: "order", "day", "SKU", ...
    role: str = "rows"  # taobao orders: "order_report" | "line_report"; line-grain orders: "order_lines"
    hash_key: bool = False  # the key contains personal data: review_id becomes its salted hash
    advice: tuple[tuple[str, str], ...] = ()  # (header, what to do): said when a rejected file carries that header
    near_timestamps_agree: bool = False  # order timestamps less than a day apart between lines are one value
    #                                      (the first line's), not a duplicate_conflict (generic exports)
    sums_rows: bool = False  # rows of one key in a file add up instead of conflicting (stock: Shopify allows
    #                          duplicate SKUs, so a SKU and location can appear twice)
    # A row with all of these fields empty describes no entity (Shopify products' image and option rows): it is
    # counted as loaded, but neither checked nor written to raw.
    blank_when_empty: tuple[str, ...] = ()
    first_row: tuple[str, ...] = ()  # line-grain orders: fields an order's first row always fills (one suffices)
    none_values: tuple[str, ...] = ()  # cells meaning "no value" (Google Ads '--', 生意参谋 '-')
    constants: tuple[tuple[str, str], ...] = ()  # raw columns fixed by the layout, e.g. ad_platform
    spread: Spread | None = None  # a wide layout: see `Spread`
    summary: Summary | None = None  # rows adding up the others, skipped: see `Summary`
    spread_fields: tuple[Field, ...] = ()  # set by `resolve`: the file's spread columns, in file order

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)

    def resolve(self, headers: list[str]) -> tuple[Layout, dict[str, int]] | None:
        """This layout as it applies to a file with `headers`, and field name -> column index; None when the file
        is not of this layout. A wide layout gains one field per column after `Spread.after`; a summary label rule
        gains a field for the first column, where the label may sit when no field reads it."""
        matched = self.match(headers)
        if matched is None:
            return None
        layout, found = self, [normalise_header(h) for h in headers]
        spread = self.spread
        if spread is not None:
            after = spread.after.lower()
            if after not in found or any(h.lower() in found for h in spread.long_headers):
                return None
            columns = [(i, _as_written(headers[i])) for i in range(found.index(after) + 1, len(headers))
                       if headers[i].strip()]
            if not columns:
                return None
            extra = tuple(spread.field(n, header) for n, (_, header) in enumerate(columns, start=1))
            layout = dataclasses.replace(layout, fields=layout.fields + extra, spread_fields=extra)
            matched = {**matched, **{f.name: i for f, (i, _) in zip(extra, columns)}}
        if self.summary and self.summary.label and headers and 0 not in matched.values():
            label = Field(SUMMARY_LABEL, (_as_written(headers[0]),), optional=True)
            layout = dataclasses.replace(layout, fields=layout.fields + (label,))
            matched = {**matched, SUMMARY_LABEL: 0}
        return layout, matched

    def match(self, headers: list[str]) -> dict[str, int] | None:
        """Field name -> column index, or None when a non-optional field has no column."""
        positions: dict[str, int] = {}
        for index, header in enumerate(headers):
            positions.setdefault(normalise_header(header), index)
        matched: dict[str, int] = {}
        for field in self.fields:
            index = next((i for h in field.headers for i in _find(positions, h.lower())), None)
            if index is not None:
                matched[field.name] = index
            elif not field.optional:
                return None
        return matched

    def advise(self, headers: list[str]) -> list[str]:
        """What to do about a rejected file with these headers, where its headers reveal a known mistake."""
        found = {normalise_header(h) for h in headers}
        return [text for header, text in self.advice if header.lower() in found]

    def describe(self) -> str:
        """The expected headers, for the message of a rejected file."""
        required = ", ".join(_with_aliases(f) for f in self.fields if not f.optional)
        if self.spread:
            required += f", {self.spread.after}, then one column per {self.spread.name}"
        optional = ", ".join(_with_aliases(f) for f in self.fields if f.optional)
        return f"{self.name}: {required}" + (f" (optional: {optional})" if optional else "")


def _as_written(header: str) -> str:
    return header.replace("\ufeff", "").strip()


def _find(positions: dict[str, int], header: str) -> list[int]:
    """Columns named `header`; a `*` in it stands for any text (Meta's 'Amount spent (*)')."""
    if "*" not in header:
        return [positions[header]] if header in positions else []
    return [i for name, i in positions.items() if fnmatch.fnmatchcase(name, header)][:1]


def _with_aliases(field: Field) -> str:
    first, *aliases = field.headers
    return first + (f" [or {' / '.join(aliases)}]" if aliases else "")

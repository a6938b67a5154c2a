"""Reading one export file into text columns, whatever its format and encoding.

Content decides the format, never the name: gzip is unwrapped first, then a zip container is xlsx, `PAR1` is
Parquet, anything else is delimited text (comma or tab, told by the header row). Text is decoded as UTF-8 (with or
without BOM), UTF-16 with BOM, or GB18030 (a superset of GBK), and re-encoded as UTF-8 for Arrow's CSV reader.

`load` puts a file's cells into a DuckDB connection for `canonical`. The common case, a plain CSV (uncompressed
UTF-8, header on the first line, one record per line), is read by DuckDB's own parallel CSV reader: the cells never
pass through Python. `prepare` leaves it unread, so `canonical` can type it straight from the reader and read its
cells into a temporary table (`materialise`) only when it needs them. Every
other file (gzip, xlsx, Parquet, GB18030, title lines, values spanning lines, malformed rows) is read by
`read_source` into Arrow and registered as a view.

Only columns mapped onto a layout field are read: unlisted columns (billing names, phones, addresses …) never leave
the file. Cells stay text here; `canonical` cleans and types them in SQL.

`_row_number` is the line an editor shows, header included (1-based): for CSV the line where the record starts,
so quoted values spanning lines, title lines and blank lines are accounted for; for xlsx the worksheet row number;
for Parquet the record index + 1, as if the table were exported to CSV with a header line.

Hostile input is accounted for against the file's physical lines (docs/decisions.md "Hostile input"):
- text is normalised first: NUL and other control characters are removed (tab, CR and LF stay), a byte-order mark
  in the middle of a file (two exports pasted together) is removed, lone CR line endings become LF;
- a row a spreadsheet re-saved wrapped whole in one quoted field (`"#1001,…,""Mug, blue"",…";`) is unwrapped;
- a quote that is never closed rejects the file (`unreadable`, naming the row where it opened);
- a quoted value that swallowed lines which are records of their own is a `BrokenRow` per line it spans, so each
  of those lines is one row in, quarantined;
- a file larger than `MAX_FILE_BYTES` (on disk or once decompressed) is rejected `too_large` without being read.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import logging
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from storekpi.adapters.base import Layout, normalise_header

log = logging.getLogger(__name__)

MAX_TITLE_LINES = 20  # lines that may precede the header row (生意参谋 exports put a few there)
DELIMITERS = (",", "\t", ";")
ROW_NUMBER = "_row_number"
HEAD_BYTES = 1 << 18  # where the header row is looked for
SCAN_CHUNK = 1 << 22
CSV_BUFFER = 1 << 26  # DuckDB's CSV reader spends about 20 % less CPU on a large file than with its default (32 MiB)
BATCH_BUFFER = 1 << 21  # several small files in one read: DuckDB's buffer per file need not be large
MAX_FILE_BYTES = 768 << 20  # one export file, on disk or decompressed: read whole into memory, so it is bounded
CONTROL = bytes(b for b in range(32) if b not in (9, 10, 13)) + b"\x7f"  # removed from text (tab, CR, LF stay)
_LONE_CR = re.compile(rb"\r(?!\n)")
_WRAPPED = re.compile(rb'"((?:[^"]|"")*)"(;*)\r?')  # a whole row quoted once by a spreadsheet, maybe with `;`s
_CLOSING = re.compile(rb'(?:[^"]|"")*"(?!")')  # inside a quoted value: up to and including its closing quote


class FileRejected(Exception):
    """The file as a whole cannot be read: recorded in audit.files, nothing loaded."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class BrokenRow:
    """A line that could not be read as a record: quarantined `unparseable` with `problem` as its message."""

    line: int
    problem: str
    cells: dict[str, str]  # mapped field -> cell, as far as the line alone can be split (finds the row's order)


@dataclass
class SourceRows:
    """The mapped columns of one file as text, plus where each row came from."""

    layout: Layout
    table: pa.Table | None  # one string column per matched field, plus _row_number (int32); None when DuckDB read it
    headers: dict[str, str]  # field -> header as written in the file (messages name it)
    format: str
    encoding: str | None
    broken: list[BrokenRow] = field(default_factory=list)  # lines not read as records (few)
    expected_fields: int = 0
    simple_cells: bool = False  # cells need only spaces trimmed: no tab, lone CR, no-break/ideographic space, ="…"
    deferred: _PlainCsv | None = None  # a plain CSV `prepare` did not read yet (`cells_sql`, `materialise`)
    sample: pa.Table | None = None  # with `deferred`: the cells of its first records, read from the file's head

    def cells_sql(self) -> str:
        """With `deferred`: a SELECT of the file's cells in file order, as `materialise` would read them, without
        `_row_number` (the records are the lines after the header, checked by their count)."""
        return plain_select(self.deferred)


def load(con, path: Path, layouts: tuple[Layout, ...], label: str, name: str) -> SourceRows:
    """Make the file's cells the relation `name` of DuckDB connection `con`: `_row_number` plus one text column per
    matched field, as read. Raises FileRejected like `read_source`; `release` drops what this created."""
    rows = prepare(con, path, layouts, label, name)
    return materialise(con, rows, name) if rows.deferred else rows


def prepare(con, path: Path, layouts: tuple[Layout, ...], label: str, name: str,
            read: _PlainCsv | SourceRows | None = None) -> SourceRows:
    """Like `load`, except that a plain CSV is not read yet: its `deferred` says how DuckDB reads it, so `canonical`
    can type its cells straight from the file (one copy fewer) and `materialise` them only when it needs them.
    `read`: what `probe_plain` or `read_source` already made of this file with these layouts (a batch handed the
    file back), so it is not scanned or decoded twice."""
    check_size(path, label)
    plain = read if isinstance(read, _PlainCsv) else _plain_csv(path, layouts, label) if read is None else None
    if plain is not None:
        plain.path, plain.layouts = path, layouts
        plain.rows.deferred = plain
        if plain.rows.sample is None:
            plain.rows.sample = _sample(path, plain)
        return plain.rows
    rows = read if read is not None else read_source(path, layouts, label)
    con.register(name, rows.table)
    return rows


def materialise(con, rows: SourceRows, name: str) -> SourceRows:
    """The cells of a `prepare`d plain CSV as the relation `name`; the rows now behind it (`read_source`'s when the
    file is not plain after all)."""
    plain = rows.deferred
    if _load_plain(con, plain.path, plain, name):
        rows.deferred = None
        return rows
    rows = read_source(plain.path, plain.layouts, plain.label)
    con.register(name, rows.table)
    return rows


def release(con, name: str) -> None:
    """Drop what `load` made under `name`."""
    con.unregister(name)
    con.execute(f"drop view if exists {name}; drop table if exists {name}_cells")


def check_size(path: Path, label: str) -> None:
    """Rejects a file above the size limit before anything of it is read."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise FileRejected("too_large", _too_large(label, size, ""))


def _too_large(label: str, size: int, state: str) -> str:
    return (f"{label}: the file is {size / (1 << 20):,.0f} MiB{state}, above the limit of "
            f"{MAX_FILE_BYTES >> 20} MiB for one export file; export a shorter date range (several files are fine)")


def read_source(path: Path, layouts: tuple[Layout, ...], label: str) -> SourceRows:
    """Read `path` for one of `layouts`; `label` (the landing-relative path) names the file in messages."""
    check_size(path, label)
    data = path.read_bytes()
    compressed = data[:2] == b"\x1f\x8b"
    if compressed:
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as unzipped:
                data = unzipped.read(MAX_FILE_BYTES + 1)
        except (OSError, EOFError, zlib.error) as exc:
            raise FileRejected("unreadable", f"{label}: damaged gzip file ({exc}); export it again") from None
        if len(data) > MAX_FILE_BYTES:
            raise FileRejected("too_large", _too_large(label, len(data), " or more once decompressed"))
    if data[:4] == b"PK\x03\x04":
        return _read_xlsx(data, layouts, label)
    if data[:4] == b"PAR1":
        return _read_parquet(data, layouts, label)
    text, encoding = _to_utf8(data, label)
    return _read_delimited(text, encoding, layouts, label, compressed)


# -- text -------------------------------------------------------------------------------------------------------
def _to_utf8(data: bytes, label: str) -> tuple[bytes, str]:
    if data.startswith(codecs.BOM_UTF8):
        data, encoding = data[len(codecs.BOM_UTF8):], "utf-8-sig"
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16").encode("utf-8"), "utf-16"
        except UnicodeDecodeError as exc:
            raise FileRejected("undecodable", _undecodable(label, data, exc)) from None
    else:
        encoding = "utf-8"
    try:
        data.decode("utf-8")
        return data, encoding
    except UnicodeDecodeError:
        if encoding == "utf-8-sig":  # a BOM promises UTF-8
            raise FileRejected("undecodable", f"{label}: starts with a UTF-8 byte-order mark but is not UTF-8") \
                from None
    try:
        return data.decode("gb18030").encode("utf-8"), "gb18030"
    except UnicodeDecodeError as exc:
        raise FileRejected("undecodable", _undecodable(label, data, exc)) from None


def _undecodable(label: str, data: bytes, exc: UnicodeDecodeError) -> str:
    line = data.count(b"\n", 0, exc.start) + 1
    return (f"{label} row {line}: cannot be decoded as UTF-8 or GB18030/GBK (invalid bytes at offset {exc.start}): "
            f"the file is damaged or not a text export; export it again as CSV, xlsx or Parquet")


def _normalised(text: bytes) -> bytes:
    """Control characters and mid-file byte-order marks removed, lone CRs made line ends (editors show them so).
    Each step copies only when the file needs it."""
    if len(text.translate(None, CONTROL)) != len(text):
        text = text.translate(None, CONTROL)
    if codecs.BOM_UTF8 in text:
        text = text.replace(codecs.BOM_UTF8, b"")
    if b"\r" in text and text.count(b"\r") != text.count(b"\r\n"):
        text = _LONE_CR.sub(b"\n", text)
    return text


def _fields(line: str | bytes, delimiter: str) -> list[str]:
    """The cells of one line read on its own ([] when it cannot be split, e.g. a quote left open)."""
    if isinstance(line, bytes):
        line = line.decode("utf-8", errors="replace")
    try:
        return next(csv.reader([line.rstrip("\r")], delimiter=delimiter, strict=True), [])
    except csv.Error:
        return []


def _unwrapped(line: bytes) -> bytes | None:
    """The row inside a line that a spreadsheet wrapped whole in one quoted field, else None."""
    match = _WRAPPED.fullmatch(line)
    return match.group(1).replace(b'""', b'"') if match else None


def _head(text: bytes, size: int) -> list[bytes]:
    """The lines the header row is looked for in; `text` starts the file's `size` bytes."""
    head = text[:HEAD_BYTES].split(b"\n")[: MAX_TITLE_LINES + 1]
    if size > HEAD_BYTES and len(head) <= MAX_TITLE_LINES:
        head = head[:-1]  # the chunk may have cut the last line
    return head


def _lines(head: list[bytes]) -> list[str]:
    return [line.decode("utf-8", errors="replace").rstrip("\r") for line in head]


def _read_delimited(text: bytes, encoding: str, layouts: tuple[Layout, ...], label: str,
                    compressed: bool) -> SourceRows:
    text = _normalised(text)
    head = _head(text, len(text))
    lines = _lines(head)
    if not any(line.strip() for line in lines):  # a zero-byte or blank file: loaded, zero rows
        return _empty(layouts[0], "csv.gz" if compressed else "csv", encoding)
    header_index, delimiter, headers, layout, columns = _find_header(lines, layouts, label)
    fmt = ("tsv" if delimiter == "\t" else "csv") + (".gz" if compressed else "")
    offset = sum(len(line) + 1 for line in head[: header_index + 1])
    body = text[offset:] if offset <= len(text) else b""
    first_line = header_index + 2
    required = [columns[f.name] for f in layout.fields if f.required and f.name in columns]
    table, broken = _parse_body(body, delimiter, len(headers), columns, first_line, label, required)
    return SourceRows(layout, table, {f: headers[i] for f, i in columns.items()}, fmt, encoding, broken,
                      len(headers))


def _find_header(lines: list[str], layouts: tuple[Layout, ...], label: str):
    """The first line that holds the headers of a known layout (title lines may come before it)."""
    for index, line in enumerate(lines):
        inner = _unwrapped(line.encode())  # a header row a spreadsheet wrapped in quotes
        line = inner.decode() if inner is not None else line
        for delimiter in DELIMITERS:
            if delimiter not in line:
                continue
            cells = _fields(line, delimiter)
            layout, columns = _best_layout(cells, layouts)
            if layout is not None:
                return index, delimiter, cells, layout, columns
    raise FileRejected("unknown_headers", _unknown_headers(label, layouts, lines))


def _best_layout(headers: list[str], layouts: tuple[Layout, ...]):
    matches = [m for m in (layout.resolve(headers) for layout in layouts) if m is not None]
    if not matches:
        return None, None
    return max(matches, key=lambda m: len(m[1]))


def _unknown_headers(label: str, layouts: tuple[Layout, ...], lines: list[str]) -> str:
    """Lists what was expected, and what was found only if that line looks like a header (shares a known name):
    a headerless file's first line is data, possibly personal."""
    known = {h.lower() for layout in layouts for f in layout.fields for h in f.headers}
    expected = "; ".join(layout.describe() for layout in layouts)
    dataset = f"{layouts[0].platform} {layouts[0].dataset}"
    message = f"{label}: headers match no known {dataset} export. Expected {expected}"
    for line in lines:
        for delimiter in DELIMITERS:
            cells = _fields(line, delimiter) if line else []
            if len(cells) > 1 and any(normalise_header(c) in known for c in cells):
                advice = "".join(f". {a}" for layout in layouts for a in layout.advise(cells))
                return message + f". Found: {', '.join(c.strip() for c in cells[:40])}" + advice
    return message + f". None of the first {len(lines)} lines holds known headers"


def _parse_body(body: bytes, delimiter: str, width: int, columns: dict[str, int], first_line: int, label: str,
                required: list[int]):
    if not body or body.isspace():  # a header-only file: zero rows
        out = {name: pa.array([], pa.string()) for name in columns}
        out[ROW_NUMBER] = pa.array([], pa.int32())
        return pa.table(out), []
    body = _unwrap_rows(body, delimiter, width)
    names = [f"c{i}" for i in range(width)]
    include = [names[i] for i in sorted(set(columns.values()))]
    try:
        # multi-threaded first; Arrow numbers malformed records only when reading on one thread
        table, ragged_records = _arrow_csv(body, delimiter, names, include, threads=True)
        if ragged_records:
            table, ragged_records = _arrow_csv(body, delimiter, names, include, threads=False)
    except (pa.ArrowInvalid, pa.ArrowException) as exc:
        raise FileRejected("unreadable", f"{label}: not a readable delimited file ({exc})") from None
    bad = [(number or 0) - 1 for number, _, _ in ragged_records]  # Arrow numbers non-empty records from 1

    def maps(starts) -> bool:
        return len(starts) - len(bad) == table.num_rows and all(0 <= i < len(starts) for i in bad)

    starts, ends = record_spans(body, first_line)  # quote parity: exact unless a quote sits inside a value
    if body.count(b'"') % 2 or not maps(starts):
        starts, ends, opened = _field_spans(body, delimiter, first_line)
        if opened is not None:
            raise FileRejected("unreadable", (
                f"{label} row {opened}: a quote (\") opened on this row is never closed, so the rest of the file "
                f"cannot be split into rows; close or remove that quote (or export the file again)"))
    if not maps(starts):  # cannot happen for a file Arrow and the scan read alike: row numbers then count records
        log.warning("%s: cannot map records to lines exactly; row numbers count records", label)
        starts = first_line + np.arange(table.num_rows + len(bad))
        ends = starts
    lines = np.delete(starts, bad)
    ragged = {int(starts[i]): (found, text) for i, (_, found, text) in zip(bad, ragged_records)}
    split = {line: _fields(text, delimiter) for line, (found, text) in ragged.items() if found > width}
    padded = {line: cells[:width] for line, cells in split.items() if not any(c.strip() for c in cells[width:])}
    if padded:  # trailing delimiters (empty cells after the last column): the row is whole, as a spreadsheet shows
        extra = pa.table({f"c{i}": pa.array([cells[i] for cells in padded.values()], pa.string())
                          for i in sorted(set(columns.values()))})
        order = np.argsort(np.concatenate((lines, list(padded))), kind="stable")
        table = pa.concat_tables([table.select(extra.column_names), extra]).take(pa.array(order))
        lines = np.concatenate((lines, list(padded)))[order]
    broken = [BrokenRow(line, _problem(text, found, width, delimiter), _cells(text, delimiter, columns))
              for line, (found, text) in ragged.items() if line not in padded]
    swallowing = _swallowing(body, starts, ends, first_line, Shape(delimiter, width, columns, required), set(ragged))
    if swallowing:
        taken = {row.line for row in swallowing}
        keep = ~np.isin(lines, list(taken))
        table, lines = table.filter(pa.array(keep)), lines[keep]
        broken = [row for row in broken if row.line not in taken] + swallowing
    out = {name: table.column(f"c{i}") for name, i in columns.items()}
    out[ROW_NUMBER] = pa.array(lines, pa.int32())
    return pa.table(out), sorted(broken, key=lambda row: row.line)


def _arrow_csv(body: bytes, delimiter: str, names: list[str], include: list[str], *, threads: bool):
    import pyarrow.csv as pacsv

    ragged: list[tuple[int | None, int, str]] = []

    def on_invalid(row) -> str:  # called only for malformed records, not per row
        ragged.append((row.number, row.actual_columns, row.text))
        return "skip"

    table = pacsv.read_csv(
        io.BytesIO(body),
        read_options=pacsv.ReadOptions(column_names=names, use_threads=threads, block_size=1 << 24),
        parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True, invalid_row_handler=on_invalid),
        convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names}, strings_can_be_null=False,
                                             include_columns=include),
    )
    return table, ragged


def _cells(text: str | bytes, delimiter: str, columns: dict[str, int]) -> dict[str, str]:
    """The mapped cells of a line that is not a whole record, as far as it splits: unwrapped if a spreadsheet
    wrapped it, quotes taken literally if one is left open."""
    line = (text.encode() if isinstance(text, str) else text).split(b"\n")[0].rstrip(b"\r")
    line = _unwrapped(line) or line
    cells = _fields(line, delimiter) or next(
        csv.reader([line.decode("utf-8", errors="replace")], delimiter=delimiter, quoting=csv.QUOTE_NONE), [])
    return {name: cells[i] for name, i in columns.items() if i < len(cells)}


def _problem(text: str, found: int, width: int, delimiter: str) -> str:
    """Why a record with the wrong number of fields was not read, in words that say what to do."""
    inner = _unwrapped(text.encode().rstrip(b"\r")) if found == 1 else None
    if inner is not None:
        return (f"is one quoted value holding {len(_fields(inner, delimiter))} fields where the header has {width} "
                f"(a row a spreadsheet re-saved and cut short?); export the file again from the shop")
    return f"has {found} fields where the header has {width}"


def _unwrap_rows(body: bytes, delimiter: str, width: int) -> bytes:
    """Rows a spreadsheet wrapped whole in one quoted field, unwrapped where the inside is a row of the file
    (line numbers do not move: unwrapping keeps every newline)."""
    if not (body.startswith(b'"') or b'\n"' in body):
        return body
    parts, last = [], 0
    for match in re.finditer(rb'(?m)^"[^\n]*', body):
        inner = _unwrapped(match.group())
        if inner is None or len(_fields(inner, delimiter)) != width:
            continue
        parts += [body[last:match.start()], inner]
        last = match.end()
    return b"".join([*parts, body[last:]]) if parts else body


@dataclass(frozen=True)
class Shape:
    """What a whole row of the file looks like."""

    delimiter: str
    width: int  # fields, as in the header
    columns: dict[str, int]  # mapped field -> column index
    required: list[int]  # columns a row always fills

    def is_row(self, line: bytes) -> bool:
        cells = _fields(line, self.delimiter)
        return len(cells) == self.width and all(cells[i].strip() for i in self.required)


def _swallowing(body: bytes, starts: np.ndarray, ends: np.ndarray, first_line: int, shape: Shape,
                ragged: set[int]) -> list[BrokenRow]:
    """Records spanning lines that are themselves whole rows of the file (a quote left open by mistake, closed
    by a later one): one BrokenRow per line they span. A record is taken for such when a line inside it (neither
    its first nor its last) is a whole row, or when it is malformed and its last line is one. Legitimate
    multi-line text (a review body, a note) keeps its record: a line inside a value is text, not a row of the
    file's width with its required cells filled."""
    delimiter, columns = shape.delimiter, shape.columns
    multi = np.flatnonzero(ends > starts)
    if not len(multi):
        return []
    newlines = _positions(np.frombuffer(body, dtype=np.uint8), ord("\n"))

    def line(number: int) -> bytes:
        k = number - first_line
        return body[(newlines[k - 1] + 1 if k else 0):(newlines[k] if k < len(newlines) else len(body))]

    broken: list[BrokenRow] = []
    for i in multi:
        first, last = int(starts[i]), int(ends[i])
        spanned = [n for n in range(first, last + 1) if line(n).strip(b"\r")]
        rows = [n for n in spanned[1:] if shape.is_row(line(n))]
        if not any(n < last or first in ragged for n in rows):
            continue
        shown = ", ".join(map(str, rows[:10])) + (" …" if len(rows) > 10 else "")
        broken.append(BrokenRow(first, (
            f"a quoted value opens on this row and closes only on row {last}, taking in rows {shown}, which read as "
            f"rows of their own (an unbalanced quote); none of these rows was read: fix the quote and export again"),
            _cells(line(first), delimiter, columns)))
        broken += [BrokenRow(n, f"read as part of a quoted value that opens on row {first} (an unbalanced "
                                f"quote); this row was not read", _cells(line(n), delimiter, columns))
                   for n in spanned[1:]]
    return broken


def record_start_lines(body: bytes, first_line: int) -> np.ndarray:
    """The editor line on which each non-blank CSV record of `body` starts (see `record_spans`)."""
    return record_spans(body, first_line)[0]


def record_spans(body: bytes, first_line: int) -> tuple[np.ndarray, np.ndarray]:
    """The editor lines on which each non-blank CSV record of `body` starts and ends.

    A newline ends a record unless it sits inside a quoted value, i.e. after an odd number of quote characters.
    Vectorised over the positions of newlines and quotes; blank lines are skipped, as the CSV reader skips them.
    """
    data = np.frombuffer(body, dtype=np.uint8)
    newlines, quotes = _positions(data, ord("\n")), _positions(data, ord('"'))
    ends = newlines[np.searchsorted(quotes, newlines) % 2 == 0]
    starts = np.concatenate(([0], ends + 1)).astype(np.int64)
    stops = np.concatenate((ends, [len(data)])).astype(np.int64)
    length = stops - starts
    first_byte = data[np.minimum(starts, max(len(data) - 1, 0))] if len(data) else np.zeros(len(starts), np.uint8)
    blank = (length == 0) | ((length == 1) & (first_byte == ord("\r")))
    starts, stops = starts[~blank], stops[~blank]
    return first_line + np.searchsorted(newlines, starts), first_line + np.searchsorted(newlines, stops)


def _field_spans(body: bytes, delimiter: str, first_line: int):
    """Like `record_spans`, but reading quotes as the CSV reader does: a quote opens a quoted value only at the
    start of a field, elsewhere it is a character. Line by line in Python, so only for files that need it (a
    quote inside a value, or an odd number of quotes). Also returns the line of a quote never closed, or None."""
    sep = delimiter.encode()
    starts: list[int] = []
    ends: list[int] = []
    in_quote, start, opened = False, 0, 0
    for number, line in enumerate(body.split(b"\n"), start=first_line):
        pos: int | None = 0
        if in_quote:
            match = _CLOSING.match(line)
            if not match:
                continue
            in_quote, pos = False, _after_delimiter(line, match.end(), sep)
        elif not line.strip(b"\r"):
            continue  # blank line: not a record
        else:
            start = number
        while pos is not None and b'"' in line[pos:]:
            if line[pos:pos + 1] == b'"':
                match = _CLOSING.match(line, pos + 1)
                if not match:
                    in_quote, opened = True, number
                    break
                pos = _after_delimiter(line, match.end(), sep)
            else:
                pos = _after_delimiter(line, pos, sep)
        if not in_quote:
            starts.append(start)
            ends.append(number)
    return np.array(starts, np.int64), np.array(ends, np.int64), (opened if in_quote else None)


def _after_delimiter(line: bytes, pos: int, sep: bytes) -> int | None:
    found = line.find(sep, pos)
    return None if found < 0 else found + len(sep)


def _positions(data: np.ndarray, byte: int, chunk: int = 1 << 26) -> np.ndarray:
    """Offsets of one byte value, in chunks so a large file never needs a full-size temporary."""
    parts = [np.flatnonzero(data[i:i + chunk] == byte) + i for i in range(0, len(data), chunk)]
    return np.concatenate(parts) if parts else np.empty(0, np.int64)


def _empty(layout: Layout, fmt: str, encoding: str | None) -> SourceRows:
    columns = {f.name: pa.array([], pa.string()) for f in layout.fields}
    columns[ROW_NUMBER] = pa.array([], pa.int32())
    return SourceRows(layout, pa.table(columns), {}, fmt, encoding)


# -- plain CSV, read by DuckDB -----------------------------------------------------------------------------------
@dataclass
class _PlainCsv:
    rows: SourceRows  # what `load` returns once DuckDB has read the file as promised
    delimiter: str
    columns: dict[str, int]  # field -> column index
    width: int
    records: int  # data records, if every record is one line
    label: str = ""
    path: Path | None = None  # set by `prepare`, with the layouts it was given
    layouts: tuple[Layout, ...] = ()


READ_CSV_GLOB = set("*?[]{}")  # characters DuckDB's read_csv expands in a path, with no way to escape them


def _plain_csv(path: Path, layouts: tuple[Layout, ...], label: str) -> _PlainCsv | None:
    """The file when it is a plain CSV: not compressed or binary, UTF-8 throughout, a known header on line 1.
    None otherwise, and `read_source` decides what it is (and which error to raise); None as well for a path
    DuckDB's `read_csv` would take for a pattern (it expands `*?[]{}`: `t[ab].csv` reads ta.csv and tb.csv)."""
    if READ_CSV_GLOB & set(str(path)):
        return None
    with path.open("rb") as fh:
        text = fh.read(HEAD_BYTES)
    if text[:2] == b"\x1f\x8b" or text[:4] in (b"PK\x03\x04", b"PAR1") \
            or text.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # Google Ads' UTF-16 "Excel" CSV
        return None
    encoding = "utf-8-sig" if text.startswith(codecs.BOM_UTF8) else "utf-8"
    lines = _lines(_head(text.removeprefix(codecs.BOM_UTF8), path.stat().st_size))
    if not any(line.strip() for line in lines):
        return None
    try:
        header_index, delimiter, headers, layout, columns = _find_header(lines, layouts, label)
    except FileRejected:
        return None
    scanned = _scan(path) if header_index == 0 else None
    if scanned is None:
        return None
    newlines, ends_with_newline, simple = scanned
    rows = SourceRows(layout, None, {f: headers[i] for f, i in columns.items()},
                      "tsv" if delimiter == "\t" else "csv", encoding, expected_fields=len(headers),
                      simple_cells=simple)
    return _PlainCsv(rows, delimiter, columns, len(headers), newlines - ends_with_newline, label)


def _scan(path: Path) -> tuple[int, bool, bool] | None:
    """One pass in chunks: newlines, whether the file ends with one, whether cells need only spaces trimmed.
    None when the file is not UTF-8 (`read_source` then tries GB18030) or needs `_normalised` (control
    characters, a byte-order mark after the start)."""
    newlines, simple, tail, rest = 0, True, b"", b""
    with path.open("rb") as fh:
        for index, chunk in enumerate(iter(lambda: fh.read(SCAN_CHUNK), b"")):
            lf = _newlines_if_clean(chunk, tail, first=index == 0)
            if lf is None:
                return None
            newlines += lf
            simple = simple and not _special(tail + chunk[:2]) and not _special(chunk)
            tail = (tail + chunk[-2:])[-2:]
            block = rest + chunk if rest else chunk
            cut = _utf8_boundary(block)
            if not _valid_utf8(memoryview(block)[:cut]):
                return None
            rest = block[cut:]
    if not _valid_utf8(rest):
        return None
    return newlines, tail.endswith(b"\n"), simple


def _newlines_if_clean(chunk: bytes, tail: bytes, first: bool) -> int | None:
    """The newlines in `chunk`, or None when it holds what `_normalised` removes: a byte of CONTROL, or a
    byte-order mark after the file's start (`tail`: the previous chunk's last two bytes). Vectorised comparisons
    run at memory speed where `bytes.count` and `bytes.find` do not; the slower steps run only when needed."""
    data = np.frombuffer(chunk, np.uint8)
    lf = int(np.count_nonzero(data == 10))
    below = np.count_nonzero(data < 32)
    if below != lf and below != lf + np.count_nonzero(data == 9) + np.count_nonzero(data == 13):
        return None
    if np.count_nonzero(data == 0x7F):
        return None
    if np.count_nonzero(data == 0xEF) and (chunk.find(codecs.BOM_UTF8, 3 if first else 0) >= 0
                                            or not first and codecs.BOM_UTF8 in tail + chunk[:2]):
        return None
    return lf


def _utf8_boundary(data: bytes) -> int:
    """A position in the last four bytes where no UTF-8 sequence is cut."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte < 0x80:  # ASCII: cut after it
            return len(data) - back + 1
        if byte >= 0xC0:  # a lead byte: cut before it
            return len(data) - back
    return len(data)  # no boundary: the check fails on its own


def _valid_utf8(data) -> bool:
    """Arrow's vectorised check: Python's decode would build a string only to throw it away."""
    offsets = pa.py_buffer(np.array([0, len(data)], np.int32))
    try:
        pa.StringArray.from_buffers(1, offsets, pa.py_buffer(data)).validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def _special(data: bytes) -> bool:
    """Bytes that make a cell need more than trimming spaces (single-byte tests first: they run at memchr speed)."""
    return (b"\t" in data or b"\xa0" in data and b"\xc2\xa0" in data or b"\xe3" in data and b"\xe3\x80\x80" in data
            or b"=" in data and b'="' in data
            or b"\r" in data and _lone_cr(data))


def _lone_cr(data: bytes) -> bool:
    """A CR not followed by LF, except at the very end (the next chunk may start with the LF). Vectorised: counting
    b"\r\n" with `bytes.count` takes several times longer on a CRLF file."""
    values = np.frombuffer(data, np.uint8)
    cr = np.flatnonzero(values[:-1] == 13)
    return bool(len(cr) and np.any(values[cr + 1] != 10))


def _load_plain(con, path: Path, plain: _PlainCsv, name: str) -> bool:
    """DuckDB reads the file into `<name>_cells`; `name` adds the line numbers. False (nothing left behind) when the
    file is not plain after all: a malformed row, or a record spanning lines or a blank line (the record count then
    differs from the line count), which `read_source` maps exactly."""
    import duckdb

    try:
        records = con.execute(f"create temp table {name}_cells as {plain_select(plain)}").fetchall()[0][0]
        plain_after_all = records == plain.records
    except duckdb.Error:
        plain_after_all = False
    if not plain_after_all:
        con.execute(f"drop table if exists {name}_cells")
        return False
    con.execute(f"create temp view {name} as select cast(rowid + 2 as integer) as {ROW_NUMBER}, * "  # header: 1
                f"from {name}_cells")
    return True


def plain_select(plain: _PlainCsv, paths: list[str] | None = None, extra: str = "") -> str:
    """DuckDB's read of a plain CSV: the mapped columns as text, in file order. Empty cells read as '' like Arrow's
    reader, so quarantine's raw values do not depend on the path taken. With `paths` (`batched`), those files (all
    shaped like `plain`: same header and delimiter) one after the other, in the order given, each row with its
    `filename` (the path as given); `extra` adds columns."""
    from storekpi.adapters.parsing import literal

    types = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(plain.width))
    select = ", ".join(f'c{i} as "{field_name}"' for field_name, i in plain.columns.items())
    # every column: DuckDB applies force_not_null by position among the columns it reads
    keep = ", ".join(f"'c{i}'" for i in range(plain.width))
    files = f"[{', '.join(map(literal, paths))}], filename=true" if paths else literal(str(plain.path))
    buffer = CSV_BUFFER if not paths else BATCH_BUFFER
    return f"""select {select}{extra}
        from read_csv({files}, columns={{{types}}}, header=true, auto_detect=false,
                      delim={literal(plain.delimiter)}, quote='"', escape='"', strict_mode=true,
                      force_not_null=[{keep}], buffer_size={buffer})"""


def probe_plain(path: Path, layouts: tuple[Layout, ...], label: str) -> _PlainCsv | None:
    """What `prepare` finds out about a plain CSV (with its number sample), without reading it into DuckDB; None
    when the file is not plain (or too large to be read at all): `batched` leaves such a file to `prepare`."""
    if path.stat().st_size > MAX_FILE_BYTES:
        return None
    plain = _plain_csv(path, layouts, label)
    if plain is not None:
        plain.path, plain.layouts = path, layouts
        plain.rows.sample = _sample(path, plain)
    return plain


def _sample(path: Path, plain: _PlainCsv, records: int = 1_000) -> pa.Table:
    """The mapped cells of a plain CSV's first `records` records, from its head (a record cut by the end of the head
    is left out): the sample that picks number parsers (`canonical.Workbench._stage_direct`)."""
    with path.open("rb") as fh:
        head = fh.read(HEAD_BYTES).removeprefix(codecs.BOM_UTF8)
    lines = head.split(b"\n")[1:records + 1]
    if len(head) == HEAD_BYTES and len(lines) <= records:
        lines = lines[:-1]
    text = b"\n".join(lines).decode("utf-8", errors="replace")
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=plain.delimiter))
    except csv.Error:  # a lone CR inside a cell: no sample (the plain parsers give the same values, a bit slower)
        rows = []
    return pa.table({name: pa.array([r[i] if i < len(r) else "" for r in rows], pa.string())
                     for name, i in plain.columns.items()})


# -- xlsx -------------------------------------------------------------------------------------------------------
def _read_xlsx(data: bytes, layouts: tuple[Layout, ...], label: str) -> SourceRows:
    """First worksheet. openpyxl walks rows in Python; Excel's own limit (1,048,576 rows) bounds the cost."""
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise FileRejected("unreadable", f"{label}: not a readable xlsx workbook ({exc})") from None
    try:
        rows = workbook.worksheets[0].iter_rows(values_only=True)
        head: list[list[str]] = []
        found = None
        for number, values in enumerate(rows, start=1):
            cells = ["" if v is None else _xlsx_text(v) for v in values]
            head.append(cells)
            layout, columns = _best_layout(cells, layouts)
            if layout is not None:
                found = (number, cells, layout, columns)
                break
            if number > MAX_TITLE_LINES:
                break
        if found is None:
            if not any(any(c.strip() for c in cells) for cells in head):
                return _empty(layouts[0], "xlsx", None)
            raise FileRejected("unknown_headers", _unknown_headers(label, layouts, [",".join(c) for c in head]))
        header_number, headers, layout, columns = found
        values: dict[str, list] = {name: [] for name in columns}
        numbers: list[int] = []
        for number, row in enumerate(rows, start=header_number + 1):
            if row is None or all(v is None or (isinstance(v, str) and not v.strip()) for v in row):
                continue  # blank rows are not records, as in CSV
            numbers.append(number)
            for name, index in columns.items():
                cell = row[index] if index < len(row) else None
                values[name].append(None if cell is None else _xlsx_text(cell))
    finally:
        workbook.close()
    out = {name: pa.array(v, pa.string()) for name, v in values.items()}
    out[ROW_NUMBER] = pa.array(numbers, pa.int32())
    return SourceRows(layout, pa.table(out), {f: headers[i] for f, i in columns.items()}, "xlsx", None,
                      expected_fields=len(headers))


def _xlsx_text(value: object) -> str:
    if hasattr(value, "isoformat"):
        return value.isoformat(sep=" ") if hasattr(value, "hour") else value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# -- parquet ----------------------------------------------------------------------------------------------------
def _read_parquet(data: bytes, layouts: tuple[Layout, ...], label: str) -> SourceRows:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(io.BytesIO(data))
        headers = parquet.schema_arrow.names
        layout, columns = _best_layout(headers, layouts)
        if layout is None:
            raise FileRejected("unknown_headers", _unknown_headers(label, layouts, [",".join(headers)]))
        table = parquet.read(columns=[headers[i] for i in columns.values()])
        out = {name: _without_controls(_arrow_text(table.column(headers[i]))) for name, i in columns.items()}
    except (pa.ArrowException, OSError) as exc:
        raise FileRejected("unreadable", f"{label}: not a readable Parquet file ({exc})") from None
    out[ROW_NUMBER] = pa.array(np.arange(2, table.num_rows + 2), pa.int32())
    return SourceRows(layout, pa.table(out), {f: headers[i] for f, i in columns.items()}, "parquet", None,
                      expected_fields=len(headers))


def _without_controls(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Text without CONTROL characters, as `_normalised` leaves delimited text (a Parquet string may hold a NUL)."""
    pattern = "[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]"
    if not pc.any(pc.match_substring_regex(column, pattern)).as_py():
        return column
    return pc.replace_substring_regex(column, pattern, "")


def _arrow_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Typed Parquet values as text the SQL parsers read back: timestamps keep their offset, to the second."""
    kind = column.type
    if pa.types.is_timestamp(kind):
        seconds = pc.cast(column, pa.timestamp("s", kind.tz), safe=False)
        return pc.strftime(seconds, format="%Y-%m-%dT%H:%M:%S%z" if kind.tz else "%Y-%m-%d %H:%M:%S")
    return pc.cast(column, pa.string())

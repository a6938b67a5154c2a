"""Reading one export file into text columns, whatever its format and encoding.

Content decides the format, never the name: gzip is unwrapped first, then a zip container is xlsx, `PAR1` is
Parquet, anything else is delimited text (comma or tab, told by the header row). Text is decoded as UTF-8 (with or
without BOM), UTF-16 with BOM, or GB18030 (a superset of GBK), and re-encoded as UTF-8 for Arrow's CSV reader.

Only columns mapped onto a layout field are read: unlisted columns (billing names, phones, addresses …) never leave
the file. Cells stay text here; `canonical` types them in SQL.

`_row_number` is the line an editor shows, header included (1-based): for CSV the line where the record starts,
so quoted values spanning lines, title lines and blank lines are accounted for; for xlsx the worksheet row number;
for Parquet the record index + 1, as if the table were exported to CSV with a header line.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import logging
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


class FileRejected(Exception):
    """The file as a whole cannot be read: recorded in audit.files, nothing loaded."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass
class SourceRows:
    """The mapped columns of one file as text, plus where each row came from."""

    layout: Layout
    table: pa.Table  # one string column per matched field, plus _row_number (int32)
    headers: dict[str, str]  # field -> header as written in the file (messages name it)
    format: str
    encoding: str | None
    ragged: list[tuple[int, int]] = field(default_factory=list)  # (row number, fields found) of malformed rows
    expected_fields: int = 0


def read_source(path: Path, layouts: tuple[Layout, ...], label: str) -> SourceRows:
    """Read `path` for one of `layouts`; `label` (the landing-relative path) names the file in messages."""
    data = path.read_bytes()
    compressed = data[:2] == b"\x1f\x8b"
    if compressed:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise FileRejected("unreadable", f"{label}: damaged gzip file ({exc})") from None
    if data[:4] == b"PK\x03\x04":
        return _read_xlsx(data, layouts, label)
    if data[:4] == b"PAR1":
        return _read_parquet(data, layouts, label)
    text, encoding = _to_utf8(data, label)
    return _read_delimited(text, encoding, layouts, label, compressed)


# -- cells ------------------------------------------------------------------------------------------------------
# trimmed around every cell: whitespace, Taobao's trailing tab, CR/LF, no-break and ideographic space
TRIMMED = " \t\r\n\u00a0\u3000"


def clean_cells(column: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """Cell text as the parsers want it: Excel-safe `="…"` unwrapped, trimmed, empty -> NULL (vectorised)."""
    if pc.any(pc.match_substring(column, '="')).as_py():
        column = pc.replace_substring_regex(column, r'^\s*="(.*)"\s*$', r"\1")
    column = pc.utf8_trim(column, characters=TRIMMED)
    return pc.if_else(pc.equal(column, ""), pa.scalar(None, pa.string()), column)


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
    return f"{label} row {line}: cannot be decoded as UTF-8 or GB18030/GBK (invalid bytes at offset {exc.start})"


def _read_delimited(text: bytes, encoding: str, layouts: tuple[Layout, ...], label: str,
                    compressed: bool) -> SourceRows:
    head = text[: 1 << 18].split(b"\n")[: MAX_TITLE_LINES + 1]
    if len(text) > 1 << 18 and len(head) <= MAX_TITLE_LINES:
        head = head[:-1]  # the chunk may have cut the last line
    lines = [line.decode("utf-8", errors="replace").rstrip("\r") for line in head]
    if not any(line.strip() for line in lines):  # a zero-byte or blank file: loaded, zero rows
        return _empty(layouts[0], "csv.gz" if compressed else "csv", encoding)
    header_index, delimiter, headers, layout, columns = _find_header(lines, layouts, label)
    fmt = ("tsv" if delimiter == "\t" else "csv") + (".gz" if compressed else "")
    offset = sum(len(line) + 1 for line in head[: header_index + 1])
    body = text[offset:] if offset <= len(text) else b""
    first_line = header_index + 2
    table, ragged = _parse_body(body, delimiter, len(headers), columns, first_line, label)
    return SourceRows(layout, table, {f: headers[i] for f, i in columns.items()}, fmt, encoding, ragged,
                      len(headers))


def _find_header(lines: list[str], layouts: tuple[Layout, ...], label: str):
    """The first line that holds the headers of a known layout (title lines may come before it)."""
    for index, line in enumerate(lines):
        for delimiter in DELIMITERS:
            if delimiter not in line:
                continue
            cells = next(csv.reader([line], delimiter=delimiter))
            layout, columns = _best_layout(cells, layouts)
            if layout is not None:
                return index, delimiter, cells, layout, columns
    raise FileRejected("unknown_headers", _unknown_headers(label, layouts, lines))


def _best_layout(headers: list[str], layouts: tuple[Layout, ...]):
    matches = [(layout, layout.match(headers)) for layout in layouts]
    matches = [(layout, cols) for layout, cols in matches if cols is not None]
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
            cells = next(csv.reader([line], delimiter=delimiter)) if line else []
            if len(cells) > 1 and any(normalise_header(c) in known for c in cells):
                return message + f". Found: {', '.join(c.strip() for c in cells[:40])}"
    return message + f". None of the first {len(lines)} lines holds known headers"


def _parse_body(body: bytes, delimiter: str, width: int, columns: dict[str, int], first_line: int, label: str):
    if not body.strip():  # a header-only file: zero rows
        out = {name: pa.array([], pa.string()) for name in columns}
        out[ROW_NUMBER] = pa.array([], pa.int32())
        return pa.table(out), []
    names = [f"c{i}" for i in range(width)]
    include = [names[i] for i in sorted(set(columns.values()))]
    try:
        # multi-threaded first; Arrow numbers malformed records only when reading on one thread
        table, ragged_records = _arrow_csv(body, delimiter, names, include, threads=True)
        if ragged_records:
            table, ragged_records = _arrow_csv(body, delimiter, names, include, threads=False)
    except (pa.ArrowInvalid, pa.ArrowException) as exc:
        raise FileRejected("unreadable", f"{label}: not a readable delimited file ({exc})") from None
    starts = record_start_lines(body, first_line)
    bad = [(number or 0) - 1 for number, _ in ragged_records]  # Arrow numbers non-empty records from 1
    if len(starts) - len(bad) == table.num_rows and all(0 <= i < len(starts) for i in bad):
        ragged = [(int(starts[i]), found) for i, (_, found) in zip(bad, ragged_records)]
        lines = np.delete(starts, bad)
    else:  # stray quotes inside unquoted values: fall back to one line per record
        log.warning("%s: cannot map records to lines exactly; row numbers count records", label)
        ragged = [(first_line + (n or 1) - 1, found) for n, found in ragged_records]
        lines = np.delete(first_line + np.arange(table.num_rows + len(bad)), bad)
    out = {name: table.column(f"c{i}") for name, i in columns.items()}
    out[ROW_NUMBER] = pa.array(lines, pa.int32())
    return pa.table(out), ragged


def _arrow_csv(body: bytes, delimiter: str, names: list[str], include: list[str], *, threads: bool):
    import pyarrow.csv as pacsv

    ragged: list[tuple[int | None, int]] = []

    def on_invalid(row) -> str:  # called only for malformed records, not per row
        ragged.append((row.number, row.actual_columns))
        return "skip"

    table = pacsv.read_csv(
        io.BytesIO(body),
        read_options=pacsv.ReadOptions(column_names=names, use_threads=threads, block_size=1 << 24),
        parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True, invalid_row_handler=on_invalid),
        convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names}, strings_can_be_null=False,
                                             include_columns=include),
    )
    return table, ragged


def record_start_lines(body: bytes, first_line: int) -> np.ndarray:
    """The editor line on which each non-blank CSV record of `body` starts.

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
    starts = starts[~blank]
    return first_line + np.searchsorted(newlines, starts)


def _positions(data: np.ndarray, byte: int, chunk: int = 1 << 26) -> np.ndarray:
    """Offsets of one byte value, in chunks so a large file never needs a full-size temporary."""
    parts = [np.flatnonzero(data[i:i + chunk] == byte) + i for i in range(0, len(data), chunk)]
    return np.concatenate(parts) if parts else np.empty(0, np.int64)


def _empty(layout: Layout, fmt: str, encoding: str | None) -> SourceRows:
    columns = {f.name: pa.array([], pa.string()) for f in layout.fields}
    columns[ROW_NUMBER] = pa.array([], pa.int32())
    return SourceRows(layout, pa.table(columns), {}, fmt, encoding)


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
        out = {name: _arrow_text(table.column(headers[i])) for name, i in columns.items()}
    except (pa.ArrowException, OSError) as exc:
        raise FileRejected("unreadable", f"{label}: not a readable Parquet file ({exc})") from None
    out[ROW_NUMBER] = pa.array(np.arange(2, table.num_rows + 2), pa.int32())
    return SourceRows(layout, pa.table(out), {f: headers[i] for f, i in columns.items()}, "parquet", None,
                      expected_fields=len(headers))


def _arrow_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Typed Parquet values as text the SQL parsers read back: timestamps keep their offset, to the second."""
    kind = column.type
    if pa.types.is_timestamp(kind):
        seconds = pc.cast(column, pa.timestamp("s", kind.tz), safe=False)
        return pc.strftime(seconds, format="%Y-%m-%dT%H:%M:%S%z" if kind.tz else "%Y-%m-%d %H:%M:%S")
    return pc.cast(column, pa.string())

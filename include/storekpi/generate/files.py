"""Byte-for-byte reproducible file containers: gzip without a timestamp, xlsx and parquet without wall-clock
metadata. Same input, same bytes — so `storekpi generate` is deterministic per seed."""

from __future__ import annotations

import gzip
import io
import re
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

FIXED_ZIP_TIME = (2026, 1, 1, 0, 0, 0)
FIXED_CORE_TIME = "2026-01-01T00:00:00Z"
BOM = "\ufeff".encode("utf-8")


def encode(csv_utf8: bytes, encoding: str) -> bytes:
    """'utf-8', 'utf-8-sig' (with a byte-order mark) or 'gb18030' (what Taobao's seller centre writes)."""
    if encoding == "utf-8":
        return csv_utf8
    if encoding == "utf-8-sig":
        return BOM + csv_utf8
    return csv_utf8.decode("utf-8").encode(encoding)


def gzip_writer(path: Path, mode: str = "wb") -> gzip.GzipFile:
    """A gzip stream with no timestamp and no file name in its header."""
    return gzip.GzipFile(filename="", mode=mode, fileobj=open(path, mode), mtime=0)


def gzipped(data: bytes) -> bytes:
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0) as fh:
        fh.write(data)
    return buffer.getvalue()


def xlsx(header: Sequence[str], rows: Sequence[Sequence[object]], sheet: str = "Sheet1") -> bytes:
    """One-sheet workbook; openpyxl stamps the current time into docProps and the zip entries, both fixed here."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    ws = book.create_sheet(sheet)
    ws.append(list(header))
    for row in rows:
        ws.append(list(row))
    raw = io.BytesIO()
    book.save(raw)
    return _normalised_zip(raw.getvalue())


def parquet(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="snappy")
    return buffer.getvalue()


def write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _normalised_zip(data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*", rb"\g<1>" + FIXED_CORE_TIME.encode(),
                                 content)
            entry = zipfile.ZipInfo(info.filename, FIXED_ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            dst.writestr(entry, content)
    return out.getvalue()

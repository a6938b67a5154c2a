"""The shared reader: line numbers, encodings, header detection."""

import numpy as np
import pytest

from storekpi.adapters import layouts
from storekpi.adapters.reading import FileRejected, read_source, record_start_lines


def test_record_start_lines_follow_quoted_newlines_and_blank_lines():
    body = b'a,b\n"multi\nline",c\n\nd,"x ""quoted""\n"\r\n\r\ne,f'
    assert record_start_lines(body, 2).tolist() == [2, 3, 6, 9]


def test_record_start_lines_of_an_empty_body():
    assert record_start_lines(b"", 2).tolist() == []


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "utf-16"])
def test_encodings(tmp_path, encoding):
    path = tmp_path / "stock.csv"
    path.write_bytes("商家编码,商品名称,库存\nA-1,保温杯,\"1,200\"\n".encode(encoding))
    rows = read_source(path, layouts("taobao", "stock"), "s.csv")
    assert rows.encoding == encoding
    assert rows.table.column("product_name").to_pylist() == ["保温杯"]
    assert rows.table.column("_row_number").to_pylist() == [2]


def test_header_aliases_are_case_and_whitespace_insensitive(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(" DAY ,sessions,online_store_visitors\n2026-11-20,1,1\n")
    rows = read_source(path, layouts("shopify", "traffic"), "t.csv")
    assert rows.headers == {"date": " DAY ", "sessions": "sessions", "visitors": "online_store_visitors"}


def test_garbage_is_rejected_as_unknown_headers(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes(np.arange(256, dtype=np.uint8).tobytes()[32:127])
    with pytest.raises(FileRejected) as caught:
        read_source(path, layouts("generic", "stock"), "x.csv")
    assert caught.value.reason == "unknown_headers"
    assert "Expected stock: sku, on_hand (optional: product_name)" in caught.value.message

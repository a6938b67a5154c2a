"""File checks (quality.md layer 2): rejected files, empty files, and what audit.files records."""

import pytest
from ingest_support import run

from storekpi.errors import ConfigError


def audit(wh):
    return wh.query("""select status, reason, message, rows_in, rows_loaded, rows_quarantined
                       from audit.files order by path""")


def test_unknown_headers_are_rejected_listing_the_expected_ones(wh, landing):
    path = landing.add("shop_us", "traffic", "2026-11-20", "t.csv", "Datum,Besucher\n2026-11-20,5\n")
    summary = run(wh, landing)
    assert (summary.files_rejected, summary.files_loaded, summary.rows_in) == (1, 0, 0)
    [(status, reason, message, *numbers)] = audit(wh)
    assert (status, reason, numbers) == ("rejected", "unknown_headers", [0, 0, 0])
    assert message.startswith(f"{path}: headers match no known shopify traffic export. Expected ")
    assert "Day, Sessions, Online store visitors [or online_store_visitors]" in message
    assert wh.query("select count(*) from raw.traffic") == [(0,)]
    assert wh.query("select _row_number, reason from quarantine.rows") == [(None, "unknown_headers")]


def test_found_headers_are_listed_only_when_they_look_like_headers(wh, landing):
    landing.add("shop_us", "orders", "2026-11-20", "a.csv", "Name,Total,Something\n#1,2,3\n")
    landing.add("shop_us", "orders", "2026-11-20", "b.csv", "#1,x@example.com,Jane Doe\n")
    run(wh, landing)
    (_, _, with_headers, *_), (_, _, headerless, *_) = audit(wh)
    assert "Found: Name, Total, Something" in with_headers
    assert "x@example.com" not in headerless and "Jane" not in headerless


def test_undecodable_file_is_rejected(wh, landing):
    path = landing.add("tmall_flagship", "stock", "2026-11-20", "s.csv", "商家编码,库存\nA,1\n".encode("gb18030")
                       + b"\xff\xff\xff\n")
    run(wh, landing)
    [(status, reason, message, *_)] = audit(wh)
    assert (status, reason) == ("rejected", "undecodable")
    assert message.startswith(f"{path} row 3: cannot be decoded")


def test_empty_and_header_only_files_load_zero_rows(wh, landing):
    landing.add("shop_us", "traffic", "2026-11-20", "empty.csv", b"")
    landing.add("shop_us", "traffic", "2026-11-20", "header.csv", "Day,Sessions,Online store visitors\n")
    summary = run(wh, landing)
    assert (summary.files_loaded, summary.files_rejected, summary.rows_in) == (2, 0, 0)
    assert audit(wh) == [("loaded", None, None, 0, 0, 0), ("loaded", None, None, 0, 0, 0)]


def test_malformed_rows_are_quarantined_not_dropped(wh, landing):
    path = landing.add("shop_us", "traffic", "2026-11-20", "t.csv",
                       "Day,Sessions,Online store visitors\n2026-11-19,1,1\n\n2026-11-20,2\n2026-11-21,3,3\n")
    summary = run(wh, landing)
    assert (summary.rows_in, summary.rows_loaded, summary.rows_quarantined) == (3, 2, 1)
    assert wh.query("select _row_number, reason, message from quarantine.rows") == [
        (4, "unparseable", f"{path} row 4: has 2 fields where the header has 3")]
    assert wh.query("select _row_number from raw.traffic order by 1") == [(2,), (5,)]  # blank line 3 counted


def test_store_folder_not_in_stores_yml_stops_the_run_naming_it(wh, landing):
    """The only guard against an unlisted store (ingest no longer has a branch of its own for it)."""
    landing.add("shop_us", "traffic", "2026-11-20", "t.csv", "Day,Sessions\n2026-11-20,5\n")
    landing.add("shop_xx", "traffic", "2026-11-20", "t.csv", "Day,Sessions\n2026-11-20,5\n")
    with pytest.raises(ConfigError, match=r"shop_xx: store folder 'shop_xx' is not listed in .*stores\.yml"):
        run(wh, landing)
    assert wh.query("select count(*) from audit.files") == [(0,)]

"""A large plain CSV is typed by its raw insert itself (`canonical.Workbench._unchecked_view`), then checked by count
and key; a file that fails the check is rolled back and read the usual way. Both must give the warehouse the usual
path gives, row numbers included, and the values worked out here."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from ingest_support import Landing, run

from storekpi.adapters import canonical
from storekpi.warehouse import Target, Warehouse

HEADER = ("Reporting starts,Reporting ends,Campaign name,Campaign delivery,Amount spent (USD),Impressions,"
          "Link clicks,Purchases,Purchases conversion value\n")
ROWS = 15_000  # above canonical.UNCHECKED_MIN_BYTES, and alone in its night: read on its own
FIRST = date(2026, 10, 1)


def _day(i: int) -> str:
    return (FIRST + timedelta(days=i % 50)).isoformat()


def _line(i: int) -> str:
    """Record i (line i + 2): campaign C<i // 50>, a thousands separator in the spend from i = 1,000 on."""
    return f'{_day(i)},{_day(i)},C{i // 50:04d},active,"{i:,}.25",{i * 10},{i},{i % 7},"{i * 3:,}.00"\n'


def _report(lines: dict[int, str] | None = None) -> str:
    body = [_line(i) for i in range(ROWS)]
    for i, text in (lines or {}).items():
        body[i] = text
    text = HEADER + "".join(body)
    assert len(text.encode()) > canonical.UNCHECKED_MIN_BYTES
    return text


def _warehouse(wh) -> tuple[list, list, list]:
    return (wh.query("select * exclude (_loaded_at) from raw.ad_spend order by _row_number"),
            wh.query("select * exclude (_loaded_at) from quarantine.rows order by _row_number"),
            wh.query("select path, rows_in, rows_loaded, rows_quarantined from audit.files"))


@pytest.fixture
def paths(monkeypatch):
    """Counts the files typed by their raw insert, and those of them rolled back."""
    seen = {"unchecked": 0, "not_clean": 0}
    view, check = canonical.Workbench._unchecked_view, canonical.Workbench._check_unchecked

    def counted_view(self, *args):
        seen["unchecked"] += 1
        return view(self, *args)

    def counted_check(self, *args):
        try:
            return check(self, *args)
        except canonical.NotClean:
            seen["not_clean"] += 1
            raise

    monkeypatch.setattr(canonical.Workbench, "_unchecked_view", counted_view)
    monkeypatch.setattr(canonical.Workbench, "_check_unchecked", counted_check)
    return seen


def _usual(tmp_path, monkeypatch, text: str):
    """The same file ingested the usual way (typed rows table, row checks, then the insert), in its own warehouse."""
    landing = Landing(tmp_path / "usual")
    landing.add("shop_us", "ad_spend", "2026-11-19", "meta.csv", text)
    path = tmp_path / "usual.duckdb"
    with monkeypatch.context() as patch, Warehouse(Target(str(path)), path=path) as other:
        patch.setattr(canonical.Workbench, "_may_type_unchecked", lambda self, staged: False)
        other.ensure_schema()
        run(other, landing)
        return _warehouse(other)


def test_a_clean_report_goes_straight_into_raw_in_file_order(wh, landing, paths):
    path = landing.add("shop_us", "ad_spend", "2026-11-19", "meta.csv", _report())
    summary = run(wh, landing)
    assert paths == {"unchecked": 1, "not_clean": 0}
    assert (summary.rows_in, summary.rows_loaded, summary.rows_quarantined) == (ROWS, ROWS, 0)
    got = wh.query("select _row_number, cast(date as varchar), campaign, spend, impressions, clicks, "
                   "attributed_orders, attributed_sales, _source_file, _export_date from raw.ad_spend "
                   "order by _row_number")
    assert got == [(i + 2, _day(i), f"C{i // 50:04d}", Decimal(f"{i}.25"), i * 10, i, Decimal(i % 7),
                    Decimal(i * 3), path, date(2026, 11, 19)) for i in range(ROWS)]
    assert wh.query("select rows_in, rows_loaded, rows_quarantined from audit.files") == [(ROWS, ROWS, 0)]


@pytest.mark.parametrize("case, lines, quarantined", [
    ("negative spend", {7_000: _line(7_000).replace('"7,000.25"', '"-7,000.25"')},
     [(7_002, "unparseable", "Amount spent (USD)")]),
    ("not daily", {9_999: _line(9_999).replace(f",{_day(9_999)},C", ",2026-12-31,C", 1)},
     [(10_001, "not_daily", "Reporting ends")]),
    ("duplicate conflict", {12_000: _line(50).replace('"50.25"', '"51.25"')},
     [(52, "duplicate_conflict", "Amount spent (USD)"), (12_002, "duplicate_conflict", "Amount spent (USD)")]),
    ("identical repeat", {12_000: _line(50)}, []),
    ("summary row", {14_999: f'{_day(0)},{_day(0)},,active,"1.00",1,1,0,"0.00"\n'},
     [(15_001, "missing_required", "Campaign name")]),
])
def test_a_file_that_fails_the_check_is_rolled_back_and_read_the_usual_way(wh, landing, paths, tmp_path,
                                                                           monkeypatch, case, lines, quarantined):
    text = _report(lines)
    path = landing.add("shop_us", "ad_spend", "2026-11-19", "meta.csv", text)
    summary = run(wh, landing)
    assert paths == {"unchecked": 1, "not_clean": 1}
    assert [(r, reason, column) for r, reason, column in wh.query(
        "select _row_number, reason, column_name from quarantine.rows order by 1")] == quarantined
    loaded = ROWS - len(quarantined)
    assert (summary.rows_in, summary.rows_loaded, summary.rows_quarantined) == (ROWS, loaded, len(quarantined))
    assert wh.query("select count(*) from raw.ad_spend") == [(loaded,)]
    raw, quarantine, audit = _warehouse(wh)
    assert audit == [(path, ROWS, loaded, len(quarantined))]
    assert (raw, quarantine, audit) == _usual(tmp_path, monkeypatch, text)


@pytest.mark.parametrize("large", [False, True])
def test_a_large_write_checkpoints_at_its_commit_instead_of_filling_the_wal(wh, landing, monkeypatch, large):
    from storekpi import ingest

    monkeypatch.setattr(ingest, "CHECKPOINT_ROWS", ROWS if large else ROWS + 1)
    threshold = wh.query("select current_setting('checkpoint_threshold')")
    landing.add("shop_us", "ad_spend", "2026-11-19", "meta.csv", _report())
    run(wh, landing)
    wal = wh.path.with_name(wh.path.name + ".wal")
    assert (wal.exists() and wal.stat().st_size > 1 << 20) == (not large)  # the rows are in the file, or the WAL
    assert wh.query("select current_setting('checkpoint_threshold')") == threshold
    wh.close()
    assert wh.query("select count(*), sum(clicks) from raw.ad_spend") == [(ROWS, ROWS * (ROWS - 1) // 2)]


def test_a_corrected_large_report_replaces_its_rows(wh, landing, paths):
    landing.add("shop_us", "ad_spend", "2026-11-19", "meta.csv", _report())
    run(wh, landing)
    landing.add("shop_us", "ad_spend", "2026-11-19", "meta.csv", _report({3: _line(3).replace(",3,", ",4,")}))
    run(wh, landing)  # the same batch id: only the rows of the new content stay
    assert paths == {"unchecked": 2, "not_clean": 0}
    assert wh.query("select count(*), sum(clicks) from raw.ad_spend") == [(ROWS, ROWS * (ROWS - 1) // 2 + 1)]
    assert wh.query("select clicks from raw.ad_spend where _row_number = 5") == [(4,)]
    assert wh.query("select count(*), sum(rows_loaded) from audit.files") == [(1, ROWS)]

"""Small plain CSVs of one store, dataset and header are typed in one statement (`adapters.batched`); what is not
certainly clean is read on its own. Either way every row is loaded or quarantined exactly as file by file."""

from ingest_support import FIXTURES, quarantine, rows, run

from storekpi.adapters import batched, canonical

HEADER = "Day,Sessions,Online store visitors"
ORDERS = (FIXTURES / "shopify" / "orders_export_1.csv").read_text()


def traffic(landing, days: dict[str, str]) -> list[str]:
    return [landing.add("shop_us", "traffic", day, "sessions.csv", f"{HEADER}\n{body}") for day, body in days.items()]


def statements(monkeypatch) -> list[list[str]]:
    """The files of each batch typed from now on."""
    seen: list[list[str]] = []
    stage = batched.stage

    def spy(bench, members):
        seen.append([m.relpath for m in members])
        return stage(bench, members)

    monkeypatch.setattr(batched, "stage", spy)
    return seen


def test_files_of_one_shape_are_typed_together_with_their_own_lines_and_dates(landing, wh, monkeypatch):
    paths = traffic(landing, {"2026-11-18": "2026-11-18,5,4\n", "2026-11-19": "2026-11-18,6,5\n2026-11-19,7,6\n",
                              "2026-11-20": ""})
    seen = statements(monkeypatch)
    summary = run(wh, landing)
    assert seen == [paths]
    assert (summary.files_loaded, summary.rows_in, summary.rows_loaded, summary.rows_quarantined) == (3, 3, 3, 0)
    got = rows(wh, "select date, sessions, _source_file, _row_number, _export_date from raw.traffic order by 3, 4")
    assert [(str(r["date"])[:10], r["sessions"], r["_source_file"], r["_row_number"], str(r["_export_date"])[:10])
            for r in got] == [("2026-11-18", 5, paths[0], 2, "2026-11-18"),
                              ("2026-11-18", 6, paths[1], 2, "2026-11-19"),
                              ("2026-11-19", 7, paths[1], 3, "2026-11-19")]
    assert wh.query("select path, rows_in, rows_loaded, rows_quarantined, format from audit.files order by 1") == [
        (paths[0], 1, 1, 0, "csv"), (paths[1], 2, 2, 0, "csv"), (paths[2], 0, 0, 0, "csv")]


def test_a_file_with_a_failing_row_is_read_on_its_own_and_quarantined_as_before(landing, wh, monkeypatch):
    paths = traffic(landing, {"2026-11-18": "2026-11-18,5,4\n", "2026-11-19": "2026-11-18,7,6\n2026-11-19,x,5\n",
                              "2026-11-20": "2026-11-20,1,1\n", "2026-11-21": "2026-11-30,1,1\n"})  # a future date
    loads: list[str] = []
    load = canonical.Workbench.load
    monkeypatch.setattr(canonical.Workbench, "load",
                        lambda self, path, found, rel, *read: loads.append(rel) or load(self, path, found, rel, *read))
    summary = run(wh, landing)
    assert loads == [paths[1], paths[3]]  # the others were batched
    assert quarantine(wh, paths[1]) == {3: ("unparseable", "Sessions")}
    assert quarantine(wh, paths[3]) == {2: ("future_date", "Day")}
    assert (summary.rows_in, summary.rows_loaded, summary.rows_quarantined) == (5, 3, 2)
    assert wh.query("select path, rows_in, rows_loaded, rows_quarantined from audit.files order by 1") == [
        (paths[0], 1, 1, 0), (paths[1], 2, 1, 1), (paths[2], 1, 1, 0), (paths[3], 1, 0, 1)]


def test_a_malformed_file_fails_the_batch_statement_and_is_found_by_splitting(landing, wh, monkeypatch):
    days = {f"2026-10-{d:02d}": f"2026-10-{d:02d},{d},1\n" for d in range(1, 21)}
    days["2026-10-07"] = "2026-10-07,7\n"  # a row one cell short: DuckDB's reader refuses the whole statement
    paths = traffic(landing, days)
    seen = statements(monkeypatch)
    summary = run(wh, landing)
    assert len(seen) > 1 and seen[0] == paths  # split and tried again
    assert quarantine(wh, paths[6]) == {2: ("unparseable", None)}
    assert (summary.files_loaded, summary.rows_in, summary.rows_loaded, summary.rows_quarantined) == (20, 20, 19, 1)
    assert wh.query("select count(*), count(distinct _source_file) from raw.traffic") == [(19, 19)]


def test_orders_keep_per_file_groups_and_a_conflicting_file_is_read_on_its_own(landing, wh):
    header, first, second = ORDERS.splitlines()[:3]  # order #1001: a full first row and a continuation line
    body = [first, second, first.replace("#1001", "#1002"), second.replace("#1001", "#1002")]
    clean = [landing.add("shop_us", "orders", f"2026-11-{d}", "orders_export_1.csv", "\n".join([header, *body]))
             for d in (20, 21)]
    # the same order with another Financial Status on its continuation line: a duplicate_conflict, found on its own path
    conflicting = "\n".join([header, first, second.replace(",,", ",refunded,", 1)]) + "\n"
    bad = landing.add("shop_us", "orders", "2026-11-22", "orders_export_1.csv", conflicting)
    summary = run(wh, landing)
    assert wh.query("select _source_file, order_id, _row_number from raw.orders order by 1, 2") == [
        (clean[0], "#1001", 2), (clean[0], "#1002", 4), (clean[1], "#1001", 2), (clean[1], "#1002", 4)]
    assert wh.query("select _source_file, order_id, line_number, _row_number from raw.order_lines order by 1, 4") == [
        (path, order, line, row) for path in clean for order, line, row in
        (("#1001", 1, 2), ("#1001", 2, 3), ("#1002", 1, 4), ("#1002", 2, 5))]
    assert quarantine(wh, bad) == {row: ("duplicate_conflict", "Financial Status") for row in (2, 3)}
    assert (summary.rows_in, summary.rows_loaded, summary.rows_quarantined) == (10, 8, 2)


def test_a_corrected_file_in_a_batch_replaces_its_rows(landing, wh):
    paths = traffic(landing, {"2026-11-18": "2026-11-18,5,4\n", "2026-11-19": "2026-11-19,6,5\n"})
    run(wh, landing)
    traffic(landing, {"2026-11-18": "2026-11-18,50,40\n", "2026-11-19": "2026-11-19,60,50\n"})
    run(wh, landing, batch="b2")
    assert wh.query("select _source_file, sessions, _batch_id from raw.traffic order by 1") == [
        (paths[0], 50, "b2"), (paths[1], 60, "b2")]


def test_files_read_by_read_source_are_batched_with_their_own_row_numbers(landing, wh, monkeypatch):
    import gzip

    paths = [landing.add("shop_us", "traffic", "2026-11-18", "s.csv", f"Sessions report\n{HEADER}\n2026-11-18,5,4\n"),
             landing.add("shop_us", "traffic", "2026-11-19", "s.csv", f"Sessions report\n{HEADER}\n2026-11-19,6,5\n")]
    zipped = gzip.compress(f"{HEADER}\n2026-11-20,7,6\n".encode())
    gz = landing.add("shop_us", "traffic", "2026-11-20", "s.csv.gz", zipped)
    seen = statements(monkeypatch)
    run(wh, landing)
    assert seen == [[*paths, gz]]  # a title line or gzip: read by read_source, one shape
    assert wh.query("select _source_file, _row_number, sessions from raw.traffic order by 1") == [
        (paths[0], 3, 5), (paths[1], 3, 6), (gz, 2, 7)]
    assert wh.query("select path, format from audit.files order by 1") == [
        (paths[0], "csv"), (paths[1], "csv"), (gz, "csv.gz")]


def test_a_file_handed_back_by_its_batch_is_not_scanned_or_decoded_again(landing, wh, monkeypatch):
    import gzip

    from storekpi.adapters import reading

    plain = traffic(landing, {"2026-11-18": "2026-11-18,5,4\n", "2026-11-19": "2026-11-19,x,5\n"})  # x: quarantined
    zipped = [landing.add("shop_us", "traffic", day, "s.csv.gz", gzip.compress(f"{HEADER}\n{body}".encode()))
              for day, body in (("2026-11-20", "2026-11-20,7,6\n"), ("2026-11-21", "2026-11-21,y,6\n"))]
    scans, decodes = [], []
    scan, read_source = reading._scan, reading.read_source
    monkeypatch.setattr(reading, "_scan", lambda path: scans.append(path.name) or scan(path))
    monkeypatch.setattr(reading, "read_source",
                        lambda path, found, label: decodes.append(label) or read_source(path, found, label))
    summary = run(wh, landing)
    assert len(scans) == 2 and decodes == zipped  # each file once, though the 2nd and 4th were read again alone
    assert quarantine(wh, plain[1]) == {2: ("unparseable", "Sessions")}
    assert quarantine(wh, zipped[1]) == {2: ("unparseable", "Sessions")}
    assert (summary.files_loaded, summary.rows_in, summary.rows_loaded, summary.rows_quarantined) == (4, 4, 2, 2)


def test_files_up_to_the_size_limit_batch_and_a_larger_one_is_read_alone(landing, wh, monkeypatch):
    paths = traffic(landing, {"2026-11-18": "2026-11-18,5,4\n", "2026-11-19": "2026-11-19,6,5\n",
                              "2026-11-20": "2026-11-20,70,6\n"})  # one byte longer than the others
    sizes = [(landing.root / p).stat().st_size for p in paths]
    assert sizes[0] == sizes[1] == sizes[2] - 1
    monkeypatch.setattr(batched, "BATCH_FILE_BYTES", sizes[0])
    seen = statements(monkeypatch)
    summary = run(wh, landing)
    assert seen == [paths[:2]]
    assert (summary.files_loaded, summary.rows_loaded) == (3, 3)

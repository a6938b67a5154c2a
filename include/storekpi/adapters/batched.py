"""Many small plain CSVs of one store, dataset and header, typed and checked in ONE statement.

A small file's time is mostly fixed cost: planning the typing statement (the parsers are macros, pasted in for
every column) and a dozen further statements. A backfill of years of daily exports is thousands of such files, so
`batch` reads files that share a shape (`shape`: layout, header, delimiter) with one `read_csv` over the list of
their paths and types them in one pass, each row carrying its file (`_file`, the landing-relative path) and
export date (the file's date folder); its line is its place among its file's rows plus 2 (the header is line 1),
as on the one-file path (`Workbench._stage_direct`), since DuckDB's reader keeps the files' order and theirs.

Only what is certainly clean stays in the batch: a file whose record count differs from its line count (a value
spanning lines, a blank line), with a row failing a row check, a possible summary row, a repeated entity key (a
possible duplicate_conflict), or, for orders, a conflicting or headless order, is handed back and read on its own
by `Workbench.load`, which quarantines exactly as before. So every batched file is loaded whole, rows_in =
rows_loaded, and no quarantine row comes from here. A statement that fails (a malformed record) hands the whole
batch back (ingest splits it and tries again).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa

from storekpi.adapters import reading
from storekpi.adapters.canonical import Built, Staged, Workbench
from storekpi.adapters.parsing import literal

# A larger file is typed alone. Batching saves a file's fixed cost (~120 ms CPU: planning, a dozen statements, a
# commit) but types a file with a failing row once more (~65 ms CPU per MB); at 8 MiB a batch of BATCH_BYTES still
# holds 8 files (`ingest` splits a failed batch down to 8). Daily orders of a 10,000-order shop (~2 MB) batch.
BATCH_FILE_BYTES = 8 << 20
BATCH_FILES = 400  # files per statement: the fixed cost is spread over many, a failing batch is not too dear
BATCH_BYTES = 64 << 20
TYPED = "_sk_b"


@dataclass
class Member:
    """One file of a batch."""

    relpath: str
    path: Path
    export_date: date
    plain: reading._PlainCsv | None  # a plain CSV, read by DuckDB in the batch statement
    read: reading.SourceRows | None = None  # else the file as `read_source` read it (no broken row)

    @property
    def rows(self) -> reading.SourceRows:
        return self.plain.rows if self.plain is not None else self.read

    @property
    def prepared(self) -> reading._PlainCsv | reading.SourceRows:
        """What `reading.prepare` reuses when the batch hands the file back."""
        return self.plain if self.plain is not None else self.read

    @property
    def records(self) -> int:
        return self.plain.records if self.plain is not None else self.read.table.num_rows

    def cells(self) -> pa.Table:
        """The cells `read_source` read, with the file's path and export date on every row."""
        n = self.read.table.num_rows
        return (self.read.table.append_column("_file", pa.array([self.relpath] * n, pa.string()))
                .append_column("_export_date", pa.array([self.export_date] * n, pa.date32())))


def candidate(path: Path, relpath: str, export_date: date, size: int | None) -> bool:
    """Whether a file may be read in a batch, as far as its name and size (bytes, from ingest's stat) tell: at most
    BATCH_FILE_BYTES, named plainly, its path ending in its landing path (not reached through a link) and its date
    folder its export date."""
    text = str(path)
    return (size is not None and size <= BATCH_FILE_BYTES and not reading.READ_CSV_GLOB & set(text)
            and text.endswith("/" + relpath) and relpath.count("/") == 3
            and relpath.split("/")[2] == export_date.isoformat())


def shape(member: Member) -> tuple:
    """Files of one shape are typed by one statement."""
    rows, plain = member.rows, member.plain
    if plain is None:
        return "read", repr(rows.layout), tuple(rows.headers.items()), tuple(rows.table.column_names)
    return ("plain", repr(rows.layout), tuple(rows.headers.items()), tuple(plain.columns.items()), plain.width,
            plain.delimiter, rows.simple_cells, rows.encoding)


class Failed(Exception):
    """The batch's statement failed (a malformed record in one of its files)."""


def stage(bench: Workbench, members: list[Member]) -> tuple[Built | None, list[Member], list[Member]]:
    """Type `members` (one shape, one store and dataset; `bench.start(…, batch=True)` done) in one statement.
    Returns what to write (None: nothing), the members it holds, and the members handed back; raises Failed."""
    import duckdb

    con, first = bench.con, members[0]
    layout = first.rows.layout
    staged = Staged("(batch)", layout, "", TYPED, first.rows.headers,
                    "sk_clean_plain" if first.rows.simple_cells else "sk_clean", repeats=False, batch=True)
    bench.staged.append(staged)
    cells = f"{TYPED}_cells"  # the cells read by `read_source`; for plain CSVs, the samples of their heads
    con.register(cells, pa.concat_tables([m.rows.sample if m.plain else m.cells() for m in members]))
    try:
        bench._day_first, bench._messy = None, bench._number_traits(staged, cells, limit=None)
        if first.plain is not None:
            con.unregister(cells)
            cut = len(str(first.path)) - len(first.relpath) + 1  # substr() counts from 1
            file = f"substr(filename, {cut})"
            source = "(" + reading.plain_select(
                first.plain, [str(m.path) for m in members],
                f", {file} as _file, cast(split_part({file}, '/', 3) as date) as _export_date") + ")"
        else:
            source = cells
        bench._temp.append(f"{TYPED}_rows")
        con.execute(f"create temp table {TYPED}_rows as "
                    + bench._typing(staged, bench._row_checks(staged), source, numbered=first.plain is None,
                                    carry="_file, _export_date, "))
    except duckdb.Error as exc:
        raise Failed(str(exc)) from None
    finally:
        if first.plain is None:
            con.unregister(cells)
    stats = {row[0]: row[1:] for row in con.execute(
        f"select _file, count(*), max(rowid) - min(rowid) + 1, {bench.stat_columns(staged)} "
        f"from {TYPED}_rows group by _file").fetchall()}
    if set(stats) - {m.relpath for m in members}:  # a path DuckDB wrote otherwise: nothing is trusted
        return None, [], members
    keep = [m for m in members if _clean(stats.get(m.relpath), m, layout.sums_rows, bench.ctx.dataset)]
    keep = _typed(bench, staged, members, keep, numbered=first.plain is None)
    if not keep:
        return None, [], members
    if bench.ctx.dataset == "orders":
        keep = _whole_orders(bench, staged, layout, keep)
        tables = {"orders": bench._orders([staged]), "order_lines": bench._lines([staged])}
    else:
        tables = bench._build_entities()
    counts = {m.relpath: (m.records, m.records, 0) for m in keep}
    held = {m.relpath for m in keep}
    built = Built({t: sql for t, sql in tables.items() if sql}, None, counts) if keep else None
    return built, keep, [m for m in members if m.relpath not in held]


def _clean(stat: tuple | None, member: Member, sums_rows: bool, dataset: str) -> bool:
    """A file's rows are all there, in one block, and pass every check that needs no other file."""
    if stat is None:
        return member.records == 0
    rows, span, failed, repeats, summaries = stat
    return (rows == member.records and (span == rows or member.plain is None) and not failed and not summaries
            and not (repeats and dataset != "orders" and not sums_rows))


def _typed(bench: Workbench, staged: Staged, members: list[Member], keep: list[Member], numbered: bool) -> list[Member]:
    """The typed rows of the files kept, numbered by line (unless `numbered` already), in file order (the table
    raw rows are selected from)."""
    dropped = [m.relpath for m in members if m not in keep]
    where = f" where _file not in ({', '.join(map(literal, dropped))})" if dropped else ""
    line = "" if numbered else "cast(rowid - min(rowid) over (partition by _file) + 2 as integer) as _row_number, "
    if keep:
        bench.con.execute(f"""
            create temp table {staged.typed} as
            select {line}* from {TYPED}_rows{where} order by _file, _row_number""")
    bench.con.execute(f"drop table {TYPED}_rows")
    return keep


def _whole_orders(bench: Workbench, staged: Staged, layout, keep: list[Member]) -> list[Member]:
    """Orders: groups per file and order (`Workbench._order_groups`); a file with a conflicting order or one
    whose first row is missing is handed back."""
    con = bench.con
    _, conflicts, close = bench._conflict_sql(staged, [f for f in layout.fields if f.order_level])
    found = bench._order_groups(staged, conflicts, close)
    bad = {f for (f,) in con.execute(f"select distinct _file from {found}").fetchall()}
    empty = bench._headless(staged)
    if empty:
        bad |= {f for (f,) in con.execute(f"select distinct _file from {staged.typed} "
                                          f"group by _file, order_id having {empty}").fetchall()}
    if bad:
        listed = ", ".join(map(literal, sorted(bad)))
        con.execute(f"delete from {staged.typed} where _file in ({listed}); "
                    f"delete from {staged.groups} where _file in ({listed})")
    return [m for m in keep if m.relpath not in bad]

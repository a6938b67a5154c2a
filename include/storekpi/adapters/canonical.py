"""From the cells of one or more files to canonical raw rows and quarantine rows, in SQL.

One `Workbench` serves a whole ingest run: a DuckDB connection (the warehouse's own on DuckDB, a private in-memory
one for PostgreSQL) with the parsers installed once, as temporary macros. Per unit of work (a single file, or the
files of a Taobao orders folder, whose order and line reports are checked against each other) it keeps temporary
tables, dropped when the next unit `start`s. Steps:

1. `stage` each file (a clean plain CSV is typed while `load`ing it, straight from DuckDB's reader:
   `_stage_direct`; a large one of an entity dataset only by its raw insert, checked after it: `_unchecked_view`):
   `reading.prepare` puts its cells in the connection; one statement cleans them, types them with
   the parsers of `parsing`, hashes personal identifiers into customer_key, computes the entity key and finds each
   row's first failing row check; only when some row failed, a second one writes the failures to `errors`.
2. `build`: checks across rows (duplicate_conflict, orphan_line / order_without_lines, incomplete_order), then each
   quarantined row keeps its most important reason. The result is SQL selecting the raw rows and quarantine rows,
   which `insert` writes to the warehouse: straight from the temporary tables on DuckDB, through Arrow on PostgreSQL.

`errors` may hold several reasons for a row; the lowest priority number wins (row checks in column order, then
currency, future dates, duplicates, orphans, and incomplete_order last).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from storekpi import config, schema
from storekpi.adapters import parsing, reading
from storekpi.adapters.base import SUMMARY_LABEL, Field, Layout
from storekpi.adapters.parsing import literal
from storekpi.adapters.reading import SourceRows
from storekpi.config import Store
from storekpi.pii import customer_key_sql

PRIORITY_RAGGED, PRIORITY_ROW = 0, 10
PRIORITY_DUPLICATE, PRIORITY_ORPHAN, PRIORITY_INCOMPLETE = 1000, 1500, 2000
MESSY_SAMPLE = 1_000  # rows of a file that decide which number parser its columns take (`_file_traits`)
ERRORS, BAD, ORDER_ROWS = "_sk_errors", "_sk_bad", "_sk_order_rows"  # temporary: never in the warehouse file
BROKEN = "_sk_broken"  # lines not read as records, with the order id their first cells name (incomplete_order)
ORDER_FIELDS = tuple(c for c in schema.RAW["orders"] if c not in ("order_id", "customer_key"))
UNCHECKED_MIN_BYTES = 1 << 20  # a smaller file is typed into a table first (measured for issue 14)


@dataclass(frozen=True)
class Context:
    store: Store
    dataset: str
    export_date: date
    batch_id: str
    loaded_at: datetime  # UTC, naive
    salt: str


@dataclass
class Staged:
    relpath: str
    layout: Layout
    src: str  # relation of the file's cells as read (quarantine's raw_values)
    typed: str  # table of typed values per field, _row_number, _key, and the priority of the first failed check (_p)
    headers: dict[str, str]  # field -> header as written
    clean: str = "sk_clean"  # the cleaning macro its cells need (see `reading.SourceRows.simple_cells`)
    rows_in: int = 0
    groups: str | None = None  # table of entity keys (see `Workbench._duplicate_conflicts`)
    skipped: list[tuple[int, str | None]] = field(default_factory=list)  # summary rows: (row number, label)
    repeats: bool = True  # some entity key appears on more than one typed row (`Workbench._stats`)
    direct: bool = False  # typed straight from the file (`Workbench._stage_direct`): `typed` is a view
    unchecked: bool = False  # with `direct`: its rows are typed only by the raw insert, then checked (`insert`)
    deferred: SourceRows | None = None  # with `direct`, until `src` is read (only when needed: `_cells`)
    batch: bool = False  # the rows of several files (`batched`): each row names its file in `_file`

    def note(self) -> str | None:
        """What `audit.files.message` says about a loaded file: the summary rows skipped, if any."""
        if not self.skipped:
            return None
        shown = ", ".join(f"row {n}" + (f" ({label.strip()})" if label else "") for n, label in self.skipped[:10])
        more = " …" if len(self.skipped) > 10 else ""
        return (f"{len(self.skipped)} summary row{'s' if len(self.skipped) > 1 else ''} skipped, not loaded: "
                f"{shown}{more}; they add up the {self.layout.entity} rows, which are loaded")

    def header(self, name: str) -> str:
        """The column that names `name` in messages: as written in the file, else the layout's first header."""
        fld = self.layout.field(name)
        if name not in self.headers and fld is not None and fld.fallback in self.headers:
            return self.headers[fld.fallback]
        return self.headers.get(name) or (fld.headers[0] if fld else name)

    @property
    def file(self) -> str:
        """SQL naming the file of a row: a literal, or the `_file` column of a batch."""
        return "_file" if self.batch else literal(self.relpath)


class NotClean(Exception):
    """A file typed straight into its raw table (`Staged.unchecked`) did not arrive whole and unique: some row
    failed a check, may be a summary, or repeats an entity key. Its transaction is rolled back; the unit is read
    again without `Workbench.unchecked`, the usual way, which says which rows and why."""


@dataclass
class Built:
    tables: dict[str, str]  # raw table name -> SELECT of its new rows (raw columns and lineage)
    quarantine: str | None  # SELECT of the new quarantine.rows; None when there are none
    counts: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # relpath -> (in, loaded, quarantined)
    notes: dict[str, str] = field(default_factory=dict)  # relpath -> what audit.files.message says of it


class Workbench:
    def __init__(self, con, *, private: bool):
        self.con = con
        self.private = private  # a connection of its own (closed at the end), not the warehouse's
        self.ctx: Context | None = None
        self.staged: list[Staged] = []
        self.errors = 0  # rows in ERRORS for the current unit: most units have none, and skip the steps about them
        self._day_first: bool | None = None  # how the file being staged writes d/m/yyyy dates (`_file_traits`)
        self._messy: set[str] = set()  # fields of the file being staged whose numbers carry separators or signs
        self._relations: list[str] = []  # loaded files of the current unit, released by `start`
        self._pending: Staged | None = None  # typed by `load` (`_stage_direct`), handed out by `stage`
        self._part = ""  # columns naming a row's file and export date, before every key grouped on (a batch's)
        self._temp: list[str] = []  # further temporary tables of the current unit
        self.unchecked = not private  # may type a clean-looking file straight into raw (`_unchecked_view`)
        parsing.install(con)
        con.execute(f"""create or replace temp table {ERRORS} (_file varchar, _row_number integer,
                        priority integer, reason varchar, column_name varchar, message varchar)""")
        con.execute(f"create or replace temp table {BROKEN} (_file varchar, _row_number integer, order_id varchar)")

    @classmethod
    def open(cls, wh) -> Workbench:
        """On DuckDB, work inside the warehouse connection: raw rows go in with INSERT … SELECT, never copied out."""
        con, private = wh.duckdb_workspace()
        return cls(con, private=private)

    def start(self, ctx: Context, *, batch: bool = False) -> None:
        """A new unit of work: the previous unit's tables go. With `batch`, the unit's rows come from several files
        and carry `_file` and `_export_date` (`batched.stage`)."""
        self._clear()
        self.ctx = ctx
        self._part = "_file, _export_date, " if batch else ""
        if self.errors:
            self.con.execute(f"delete from {ERRORS}; delete from {BROKEN}")
        self.errors = 0

    def close(self) -> None:
        if self.private:
            self.con.close()
            return
        self._clear()
        self.con.execute(f"drop table if exists {ERRORS}; drop table if exists {BROKEN}")

    def _clear(self) -> None:
        for name in self._relations:
            reading.release(self.con, name)
        staged = self.staged + ([self._pending] if self._pending else [])
        direct = [s.typed for s in staged if s.direct]  # a view over `<typed>_rows` (`_stage_direct`)
        tables = [t for s in staged for t in (s.typed, s.groups) if t and t not in direct]
        self.con.execute("".join(f"drop view if exists {t}; drop table if exists {t}_rows; " for t in direct)
                         + "".join(f"drop table if exists {t}; " for t in (*tables, *self._temp, BAD))
                         + f"drop view if exists {ORDER_ROWS}")
        self._relations, self.staged, self._pending, self._temp = [], [], None, []

    def _run(self, sql: str) -> int:
        """Execute; the statement's count (rows created or inserted, or a count(*))."""
        return self.con.execute(sql).fetchall()[0][0]

    def insert(self, wh, table: str, select: str) -> None:
        """Append the rows of `select` (a `Built` query) to `table` of the warehouse. Raises `NotClean` when a
        file typed by this statement (`Staged.unchecked`) fails its check; the caller's transaction rolls back."""
        import duckdb

        if self.private:
            wh.append(table, self.con.sql(select).to_arrow_table())
            return
        unchecked = [s for s in self.staged if s.unchecked] if table == f"raw.{self.ctx.dataset}" else []
        try:
            self.con.execute(f"insert into {table} by name {select}")
        except duckdb.Error as exc:  # a malformed record (strict_mode): the usual read says where
            if unchecked:
                raise NotClean(", ".join(s.relpath for s in unchecked)) from exc
            raise
        for staged in unchecked:
            self._check_unchecked(staged, table)

    def _check_unchecked(self, staged: Staged, table: str) -> None:
        """Every record of the file went in (so every row passed its checks, none may be a summary) and no entity
        key repeats. The key is computed over the raw columns, each a cast of its typed value: a key that repeats
        among typed rows repeats among raw rows too, so 'no repeat' here is 'no repeat' there."""
        ctx = self.ctx
        rows, keys = self.con.execute(f"""
            select count(*), count(distinct {self._key(staged.layout)}) from {table}
            where _source_file = ? and _batch_id = ? and _loaded_at = ?
        """, [staged.relpath, ctx.batch_id, ctx.loaded_at]).fetchall()[0]
        if rows != staged.rows_in or keys != rows:
            raise NotClean(staged.relpath)

    # -- 1. per file ------------------------------------------------------------------------------------------
    def load(self, path: Path, layouts: tuple[Layout, ...], relpath: str, read=None) -> SourceRows:
        """The file's cells, ready to `stage` (raises `reading.FileRejected`); `read`: see `reading.prepare`."""
        name = f"_sk_src{len(self._relations)}"
        self._relations.append(name)
        rows = reading.prepare(self.con, path, layouts, relpath, name, read)
        if rows.deferred is not None:  # a plain CSV: typed now, straight from the file, when it is clean
            self._pending = self._stage_direct(rows, relpath)
            if self._pending is None:
                rows = reading.materialise(self.con, rows, name)
        return rows

    def stage(self, rows: SourceRows, relpath: str) -> Staged:
        if self._pending is not None and self._pending.relpath == relpath:
            staged, self._pending = self._pending, None
            self.staged.append(staged)
            return staged
        index = len(self.staged)
        staged = Staged(relpath, rows.layout, self._relations[-1], f"_sk_t{index}", rows.headers,
                        "sk_clean_plain" if rows.simple_cells else "sk_clean")
        self.staged.append(staged)
        self._day_first, self._messy = self._file_traits(staged)
        checks = self._row_checks(staged)
        read = self._run(f"create temp table {staged.typed} as {self._typing(staged, checks, staged.src)}")
        failed, staged.repeats, summaries = self._stats(staged)
        if summaries:
            read -= self._skip_summaries(staged)
            failed, staged.repeats, _ = self._stats(staged)
        if checks and failed:
            self._row_check_errors(staged, checks)
        if rows.broken:  # lines not read as records are few
            self.con.executemany(f"insert into {ERRORS} values (?, ?, {PRIORITY_RAGGED}, 'unparseable', null, ?)",
                                 [[relpath, row.line, f"{relpath} row {row.line}: {row.problem}"]
                                  for row in rows.broken])
            self.con.executemany(f"insert into {BROKEN} values (?, ?, ?)",
                                 [[relpath, row.line, row.cells.get("order_id")] for row in rows.broken])
            self.errors += len(rows.broken)
        staged.rows_in = read + len(rows.broken)
        return staged

    def _typing(self, staged: Staged, checks: list, source: str, numbered: bool = True, carry: str = "",
                keyed: bool = True) -> str:
        """The SELECT of the typed rows from the cells in `source`: typed fields, `_key` (when `keyed`), the
        priority of the first failed row check (`_p`), `_blank` and the summary label; `_row_number` first when
        `numbered`; `carry` (columns, each followed by ', ') passed through."""
        layout = staged.layout
        first_failed = "case " + " ".join(f"when {cond} then {p}" for p, _, _, cond, _ in checks) + " end" \
            if checks else "cast(null as integer)"
        blank = " and ".join(f"{_q(_text_column(layout.field(n)))} is null" for n in layout.blank_when_empty) \
            or "false"
        if layout.blank_when_empty:
            first_failed = f"case when {blank} then null else {first_failed} end"
        cells = ", ".join(f"{self._cell(fld, staged)} as {_q(fld.name)}" for fld in layout.fields)
        number = ("_row_number, " if numbered else "") + carry
        return f"""
            with cells as (select {number}{cells} from {source}),
                 typed as (select {number}{", ".join(self._typed(f) for f in layout.fields)} from cells)
            select {number}{", ".join(_q(f.name) for f in layout.fields)},
                   {f"{self._key(layout)} as _key, " if keyed else ""}{first_failed} as _p,
                   {blank} as _blank{self._labelled(layout)}
            from typed
        """

    def _stage_direct(self, rows: SourceRows, relpath: str) -> Staged | None:
        """A plain CSV (`reading.prepare`) typed straight from DuckDB's reader, without a table of its cells: the
        usual case costs one copy of the file fewer. Kept when the file is all it promised (one record per line, no
        malformed row), every row passes its row checks and no row may be a summary; otherwise nothing is left
        behind, None is returned and the file is staged from its cells like any other. The messy-number sample is
        the file's first records (`SourceRows.sample`); the order of d/m/yyyy dates needs every row, and is not
        decided here: such a date fails its check when typed as if the file had none (day_first None), so a file
        holding one is always staged the usual way. The typed rows are numbered by their order in the table, which
        is the file's (no row of it is ever deleted: summary rows send the file the usual way too)."""
        import duckdb

        index = len(self.staged)
        staged = Staged(relpath, rows.layout, self._relations[-1], f"_sk_t{index}", rows.headers,
                        "sk_clean_plain" if rows.simple_cells else "sk_clean", direct=True, deferred=rows)
        sample = f"{staged.typed}_sample"
        self.con.register(sample, rows.sample)
        try:
            self._day_first, self._messy = None, self._number_traits(staged, sample, limit=None)
        finally:
            self.con.unregister(sample)
        checks = self._row_checks(staged)
        if self._may_type_unchecked(staged):
            return self._unchecked_view(staged, checks)
        try:
            read = self._run(f"create temp table {staged.typed}_rows as "
                             f"{self._typing(staged, checks, f'({rows.cells_sql()})', numbered=False)}")
        except duckdb.Error:  # a malformed record: read the usual way, which says where
            return None
        self.con.execute(f"create temp view {staged.typed} as select cast(rowid + 2 as integer) as _row_number, * "
                         f"from {staged.typed}_rows")  # the header is line 1
        failed, staged.repeats, summaries = self._stats(staged)
        if read != rows.deferred.records or failed or summaries:
            self.con.execute(f"drop view {staged.typed}; drop table {staged.typed}_rows")
            return None
        staged.rows_in = read
        return staged

    def _may_type_unchecked(self, staged: Staged) -> bool:
        """Whether the raw insert may type the file itself (`_unchecked_view`): on DuckDB, for a file too large to
        be batched or alone in its night (not one a batch statement handed back: `ingest._Reader.write_unit`;
        UNCHECKED_MIN_BYTES: below it the table costs little), of a dataset whose raw rows are the typed rows one to
        one (not orders, no wide or summing layout) and whose entity key is made of raw columns of the same name, so
        `_check_unchecked` can test it on the raw rows."""
        layout, dataset = staged.layout, self.ctx.dataset
        if not self.unchecked or dataset == "orders" or layout.spread or layout.sums_rows or layout.hash_key \
                or staged.deferred.deferred.path.stat().st_size <= UNCHECKED_MIN_BYTES:
            return False
        return all(k in schema.RAW[dataset] and self._entity_column(staged, k) == _q(k) for k in layout.key)

    def _unchecked_view(self, staged: Staged, checks: list) -> Staged:
        """The file's typed rows as a view of its clean rows, typed once, by the raw insert, with no table between
        the reader and raw: a row that fails a check, may be a summary (`stat_columns`) or is blank is left out,
        which `_check_unchecked` finds by the count. Rows are numbered in file order by a streaming window over
        the reader (order-preserving; the header is line 1)."""
        rule = staged.layout.summary
        summary = ["_summary_label is not null"] if rule and rule.label else []
        summary += [f"{_q(rule.unnamed)} is null"] if rule and rule.unnamed and rule.sums else []
        keep = " and ".join(["_p is null", "not _blank", *(f"not ({t})" for t in summary)])
        self.con.execute(f"""
            create temp view {staged.typed} as
            select * from (select cast(row_number() over () + 1 as integer) as _row_number, *
                           from ({self._typing(staged, checks, f'({staged.deferred.cells_sql()})', numbered=False,
                                               keyed=False)}))
            where {keep}""")
        staged.rows_in, staged.repeats, staged.unchecked = staged.deferred.deferred.records, False, True
        return staged

    def _cells(self, staged: Staged) -> str:
        """The relation of a staged file's cells, read now if it was typed without them (`_stage_direct`)."""
        if staged.deferred is not None:
            rows = reading.materialise(self.con, staged.deferred, staged.src)
            if rows.deferred is not None or rows.table is not None:
                raise RuntimeError(f"{staged.relpath}: changed while it was being read; run again")
            staged.deferred = None
        return staged.src

    def _skip_summaries(self, staged: Staged) -> int:
        """Removes the report's summary rows (`base.Summary`) from the typed rows before any check: they are not
        rows of the file's entity, and are neither loaded nor quarantined. Their number and labels go to
        `Staged.skipped`; returns how many."""
        rule, layout = staged.layout.summary, staged.layout
        conditions = []
        if rule.label:
            conditions.append("_summary_label is not null")
        if rule.unnamed and rule.sums:
            amount = _q(rule.sums)
            totals = f"(select sum({amount}) as total, count(*) as n from {staged.typed})"
            conditions.append(f"{_q(rule.unnamed)} is null and {amount} is not null and "
                              f"abs(2 * {amount} - t.total) <= 0.01 * greatest(t.n - 1, 1)")
            using = f" using {totals} t"
        else:
            using = ""
        found = self.con.execute(f"""
            delete from {staged.typed}{using} where {" or ".join(f"({c})" for c in conditions)}
            returning _row_number, {"_summary_label" if rule.label else "null"}
        """).fetchall()
        staged.skipped = sorted(found)
        return len(found)

    @staticmethod
    def _labelled(layout: Layout) -> str:
        """The `_summary_label` column of the typed rows: the label of a summary row by its label rule (the cell
        that carries it), else NULL. Computed with the cells' text, which the typed table does not keep."""
        rule = layout.summary
        if rule is None or not rule.label:
            return ""
        cells = [_q(_text_column(layout.field(n))) for n in (SUMMARY_LABEL, *rule.label_in) if layout.field(n)]
        found = " ".join(f"when regexp_matches(lower({c}), {literal(rule.label)}) then {c}" for c in cells)
        return f", case when {_q(rule.undated)} is null then case {found} end end as _summary_label"

    def _file_traits(self, staged: Staged) -> tuple[bool | None, set[str]]:
        """What the file's cells look like, in one statement. How its d/m/yyyy dates read: day first when the store
        says `date_order: dmy` or a value proves it (a first number above 12), else month first, None when no date
        cell is written so; this needs every row. And which numeric fields carry thousands separators or currency
        signs in the first rows: those are typed with the `_messy` parsers (`parsing.typed_expr`), a choice of
        speed only (both parsers give the same value for every cell), so a sample decides."""
        dates = [_q(f.name) for f in staged.layout.fields
                 if f.kind in ("timestamp", "date") and f.name in staged.headers]
        numbers = self._numeric_fields(staged)
        if not dates and not numbers:
            return None, set()
        parts = []  # one statement, two scans: every row's dates (filtered first), the first rows' numbers
        if dates:
            first = ", ".join(f"coalesce(try_cast(regexp_extract({c}, {literal(parsing.SHORT_DATE)}, 1) "
                              f"as integer), 0)" for c in dates)
            slashed = " or ".join(f"contains({c}, '/') or contains({c}, '.')" for c in dates)
            parts.append(f"(select max(greatest({first}, 0)) from {staged.src} where {slashed})")
        if numbers:
            parts.append(self._messy_sample(staged, numbers, staged.src, MESSY_SAMPLE))
        found = list(self.con.execute(f"select {', '.join(parts)}").fetchall()[0])
        largest = found.pop(0) if dates else None
        flags = found.pop(0) if numbers else []
        messy = {f.name for f, flag in zip(numbers, flags) if flag}
        if not largest:
            return None, messy
        order = self.ctx.store.date_order
        return (order == "dmy" if order else largest > 12), messy

    @staticmethod
    def _numeric_fields(staged: Staged) -> list[Field]:
        return [f for f in staged.layout.fields if f.kind in parsing.NUMERIC and not f.from_header
                and (f.name in staged.headers or f.fallback in staged.headers)]

    @staticmethod
    def _messy_sample(staged: Staged, numbers: list[Field], source: str, limit: int | None) -> str:
        """A subquery: per numeric field, whether a cell of the sample carries a thousands separator or a sign."""
        tests = [" or ".join(parsing.messy_test(_q(n)) for n in (f.name, f.fallback) if n in staged.headers)
                 for f in numbers]
        columns = sorted({_q(n) for f in numbers for n in (f.name, f.fallback) if n in staged.headers})
        cut = f" limit {limit}" if limit else ""
        return f"""(select [{", ".join(f"coalesce(bool_or({t}), false)" for t in tests)}]
                    from (select {", ".join(columns)} from {source}{cut}))"""

    def _number_traits(self, staged: Staged, sample: str, limit: int | None) -> set[str]:
        """The numeric fields typed with the `_messy` parsers, from a sample relation (see `_file_traits`)."""
        numbers = self._numeric_fields(staged)
        if not numbers:
            return set()
        flags = self.con.execute(f"select {self._messy_sample(staged, numbers, sample, limit)}").fetchall()[0][0]
        return {f.name for f, flag in zip(numbers, flags) if flag}

    def _stats(self, staged: Staged) -> tuple[int, bool, int]:
        """Typed rows with a failed row check; whether an entity key repeats (else no duplicate can conflict);
        rows that may be summaries (`base.Summary`)."""
        failed, repeats, summaries = self.con.execute(
            f"select {self.stat_columns(staged)} from {staged.typed}").fetchall()[0]
        return failed, bool(repeats), summaries

    def stat_columns(self, staged: Staged) -> str:
        """The aggregates of `_stats` (also per file of a batch)."""
        rule = staged.layout.summary
        candidates = "0"
        if rule is not None:
            tests = (["_summary_label is not null"] if rule.label else []) + \
                    ([f"{_q(rule.unnamed)} is null"] if rule.unnamed and rule.sums else [])
            candidates = f"count(*) filter (where {' or '.join(tests)})"
        # orders check their keys their own way (`_build_order_lines`, `_build_order_pair`)
        repeats = "true" if self.ctx.dataset == "orders" else "count(_key) > count(distinct _key)"
        return f"count(*) filter (where _p is not null), {repeats}, {candidates}"

    def _row_check_errors(self, staged: Staged, checks: list[tuple[int, str, str, str, str]]) -> None:
        """The failed row check of each failing row, with its message (which needs the cleaned text again)."""
        def case(item: int) -> str:
            return "case _p " + " ".join(f"when {check[0]} then {check[item]}" for check in checks) + " end"

        texts = "".join(f", {self._cell(f, staged, 's.')} as {_q(_text_column(f))}" for f in staged.layout.fields
                        if _text_column(f) != f.name)
        self.errors += self._run(f"""
            insert into {ERRORS}
            select {staged.file}, _row_number, _p, {case(1)}, {case(2)}, {case(4)}
            from (select t.*{texts} from {staged.typed} t join {self._cells(staged)} s using (_row_number)
                  where t._p is not null)
        """)

    @staticmethod
    def _cell(fld: Field, staged: Staged, source: str = "") -> str:
        """A field's cleaned text: NULL when the file lacks its column, the fallback field's when empty."""
        def clean(name: str) -> str:
            return f"{staged.clean}({source}{_q(name)})"

        if fld.from_header:  # the value is written in the header ('Amount spent (EUR)'), the same on every row
            found = re.search(fld.from_header, staged.headers.get(fld.name, ""))
            return f"cast({literal(found.group(1).strip()) if found else 'null'} as varchar)"
        cell = clean(fld.name) if fld.name in staged.headers else "cast(null as varchar)"
        if fld.fallback in staged.headers:
            cell = f"coalesce({cell}, {clean(fld.fallback)})"
        if staged.layout.none_values and fld.name in staged.headers:
            cell = f"list_transform([{cell}], lambda c: case when c in " \
                   f"({', '.join(map(literal, staged.layout.none_values))}) then null else c end)[1]"
        return cell

    def _typed(self, fld: Field) -> str:
        """Columns of one field in the typed rows: the value, and the cleaned text when it differs (the checks and
        messages need it). A personal identifier keeps only its hash."""
        name = _q(fld.name)
        if fld.kind == "identity":
            return f"{customer_key_sql(name, self.ctx.salt)} as {name}"
        if fld.kind == "text":
            return name
        value = parsing.typed_expr(fld.kind, name, self.ctx.store.timezone, self._day_first,
                                   messy=fld.name in self._messy)
        return f"{name} as {_q(_text_column(fld))}, {value} as {name}"

    def _key(self, layout: Layout) -> str:
        parts = [f"coalesce(cast({_q(k)} as varchar), '')" for k in layout.key]
        if layout.hash_key:  # the identity holds personal data (a reviewer's e-mail): keep only a salted hash
            return f"sha256({literal(self.ctx.salt)} || ':' || concat_ws(chr(31), {', '.join(parts)}))"
        if len(parts) == 1:
            return f"cast({_q(layout.key[0])} as varchar)"
        return f"concat_ws('|', {', '.join(parts)})"

    def _row_checks(self, staged: Staged) -> list[tuple[int, str, str, str, str]]:
        """(priority, reason, column name, condition, message) of every row check as SQL, in priority order."""
        checks = []
        for fld in staged.layout.fields:
            header = staged.header(fld.name)
            where = f"{literal(staged.relpath + ' row ')} || _row_number || {literal(f', column {header}: ')}"
            has_column = fld.name in staged.headers or fld.fallback in staged.headers
            for reason, condition, message in self._checks_for(fld, has_column):
                checks.append((PRIORITY_ROW + len(checks), f"'{reason}'", literal(header), condition,
                               f"{where} || {message}"))
        return checks

    def _checks_for(self, fld: Field, has_column: bool = True) -> list[tuple[str, str, str]]:
        """(reason, condition, message SQL) of the row checks of one field, most important first. A required
        field whose optional column is absent has a default instead (a file without a date covers its folder date)."""
        text, value = _q(_text_column(fld)), _q(fld.name)
        shown = f"'''' || left({text}, 60) || ''''"
        checks = []
        if fld.required and (has_column or not fld.optional or fld.fallback):
            checks.append(("missing_required", f"{text} is null", "'required value is missing'"))
        if fld.kind in parsing.NOUN:
            readable = f" and lower({text}) <> {literal(parsing.NOT_STOCKED)}" if fld.kind == "stock_level" else ""
            checks.append(("unparseable", f"{text} is not null and {value} is null{readable}",
                           f"'cannot parse ' || {shown} || ' as {parsing.NOUN[fld.kind]}'"))
        if fld.kind == "amount":
            checks.append(("unparseable", f"abs({value}) >= {parsing.MAX_AMOUNT}",
                           f"{shown} || ' is out of range (less than {parsing.MAX_AMOUNT:,})'"))
        elif fld.kind in ("count", "quantity", "stock_level"):
            most = parsing.MAX_QUANTITY if fld.kind == "quantity" else parsing.MAX_WHOLE
            checks.append(("unparseable", f"abs({value}) > {most}",
                           f"{shown} || ' is out of range (at most {most:,})'"))
        if fld.kind in ("timestamp", "date"):
            earliest = self.ctx.store.earliest_date
            why = "the store's history_start" if earliest > config.EARLIEST_DATE else "a placeholder date?"
            checks.append(("implausible_date", f"cast({value} as date) < date {literal(earliest.isoformat())}",
                           f"cast(cast({value} as date) as varchar) || {literal(f' is before {earliest} ({why})')}"))
        if fld.kind in ("quantity", "stock_level"):
            checks.append(("non_integer_quantity", f"{value} <> trunc({value})",
                           f"'quantity ' || {shown} || ' is not a whole number'"))
        if fld.kind == "quantity":
            checks.append(("negative_quantity", f"{value} < 0", f"'quantity ' || {shown} || ' is negative'"))
        if fld.non_negative or fld.kind == "amount" and not fld.signed:  # a refund is never a negative price
            checks.append(("unparseable", f"{value} < 0", f"{shown} || ' is negative'"))
        if fld.same_day_as:
            checks.append(("not_daily", f"{value} <> {_q(fld.same_day_as)}",
                           f"'the row covers ' || cast({_q(fld.same_day_as)} as varchar) || ' to ' || "
                           f"cast({value} as varchar) || '; only daily rows are accepted (break the report "
                           f"down by day)'"))
        if fld.kind in ("rating", "rating_word"):
            checks.append(("rating_out_of_range", f"{value} not in (1, 2, 3, 4, 5)",
                           f"'rating ' || {shown} || ' is outside 1 to 5'"))
        if fld.kind == "currency":
            currency = self.ctx.store.currency
            checks.append(("currency_mismatch", f"{value} <> {literal(currency)}",
                           f"'currency ' || {shown} || ' differs from the store currency {currency}'"))
        if fld.future_check:
            limit = self.ctx.export_date.isoformat()
            checks.append(("future_date", f"cast({value} as date) > {self._export_date()} + 1",
                           f"cast(cast({value} as date) as varchar) || ' is more than one day after the export "
                           f"date {limit}'"))
        return checks

    # -- 2. across rows and files -----------------------------------------------------------------------------
    def build(self) -> Built:
        roles = {s.layout.role for s in self.staged}
        if self.ctx.dataset == "orders" and roles & {"order_report", "line_report"}:
            tables = self._build_order_pair()
        elif self.ctx.dataset == "orders":
            tables = self._build_order_lines()
        else:
            tables = self._build_entities()
        notes = {s.relpath: s.note() for s in self.staged if s.skipped}
        return Built({t: sql for t, sql in tables.items() if sql}, self._quarantine(), self._counts(), notes)

    def _build_entities(self) -> dict[str, str | None]:
        for s in self.staged:
            if not s.layout.sums_rows:
                self._duplicate_conflicts(s, [f for f in s.layout.fields if f.name not in s.layout.key])
        self._settle()
        dataset = self.ctx.dataset
        parts = [self._select_raw(s, dataset, column, source=f"(select * from {self._clean_rows(s)} where not _blank)")
                 for s in self.staged for column in self._entity_columns(s)]
        return {dataset: _union(parts)}

    def _entity_columns(self, staged: Staged) -> list:
        """How each raw column is filled: once per row, or, for a wide layout, once per spread column (the header
        names the `Spread.name`, the cell is the `Spread.value`)."""
        spread = staged.layout.spread
        if spread is None:
            return [lambda col: self._entity_column(staged, col)]

        def spread_column(fld: Field):
            def column(col: str) -> str | None:
                if col == spread.name:
                    return literal(fld.headers[0])
                return _q(fld.name) if col == spread.value.name else self._entity_column(staged, col)
            return column

        return [spread_column(fld) for fld in staged.layout.spread_fields]

    def _export_date(self) -> str:
        """SQL of a row's export date: the unit's folder date, or the row's own in a batch."""
        return "_export_date" if self._part else f"date {literal(self.ctx.export_date.isoformat())}"

    def _entity_column(self, staged: Staged, column: str) -> str | None:
        if column in ("snapshot_date", "valid_from") or (column == "date" and staged.layout.field("date")
                                                          and "date" not in staged.headers):
            return self._export_date()  # a file without dates covers its folder date
        constant = dict(staged.layout.constants).get(column)
        if constant is not None:
            return literal(constant)
        if column == "review_id":
            return "_key"
        return _q(column) if staged.layout.field(column) else None

    def _build_order_lines(self) -> dict[str, str | None]:
        """Shopify and generic: one row per line; order fields from the order's first row that has them."""
        for s in self.staged:
            self._duplicate_conflicts(s, [f for f in s.layout.fields if f.order_level], orders=True)
        self._incomplete_orders(self.staged)
        for s in self.staged:
            self._headless_orders(s)
        self._settle()
        return {"orders": self._orders(self.staged), "order_lines": self._lines(self.staged)}

    def _build_order_pair(self) -> dict[str, str | None]:
        """Taobao: the order reports and line reports of one folder, checked against each other."""
        reports = [s for s in self.staged if s.layout.role == "order_report"]
        lines = [s for s in self.staged if s.layout.role == "line_report"]
        for s in reports:
            self._duplicate_conflicts(s, [f for f in s.layout.fields if f.name not in s.layout.key], orders=True)
        for s in lines:
            self._orphans(s, reports, "orphan_line", "has no row in the order report of this folder")
        for s in reports:
            self._orphans(s, lines, "order_without_lines", "has no line in the line report of this folder")
        self._incomplete_orders(self.staged)
        self._settle()
        return {"orders": self._orders(reports), "order_lines": self._lines(lines)}

    def _duplicate_conflicts(self, staged: Staged, fields: list[Field], *, orders: bool = False) -> None:
        """The same entity twice in one file with different values: all its rows are quarantined.

        With `orders`, the pass over the rows that finds the conflicts also fills `Staged.groups`: one row per order
        with its first row number and the order fields from the first row that has them (`_orders` reads the raw
        orders from there). A key on one row needs no aggregate: most orders have one line."""
        if not fields and not orders:
            return
        differs, conflicts, close = self._conflict_sql(staged, fields)
        if orders:
            found = self._order_groups(staged, conflicts, close)
        else:
            if not staged.repeats:
                return  # every key once (the usual file): no aggregate over every field needed
            found = f"""(select _key, {conflicts} as _conflicts from {staged.typed} where _key is not null
                         group by _key having {' or '.join(cond for cond, _ in differs)})"""
        if not self._run(f"select count(*) from {found}"):
            return
        layout = staged.layout
        entity = literal(layout.entity) if layout.hash_key else f"{literal(layout.entity + ' ')} || _key"
        self.errors += self._run(f"""
            insert into {ERRORS}
            select {staged.file}, _row_number, {PRIORITY_DUPLICATE}, 'duplicate_conflict',
                   split_part(columns, ', ', 1),
                   {literal(staged.relpath + ' row ')} || _row_number || ': ' || {entity}
                   || ' appears on rows ' || rows || ' of this file with different values in ' || columns
            from (select t._key, t._row_number, d._conflicts as columns,
                         string_agg(t._row_number::varchar, ', ' order by t._row_number)
                             over (partition by t._key) as rows
                  from {staged.typed} t join {found} d using (_key))
        """)

    @staticmethod
    def _conflict_sql(staged: Staged, fields: list[Field]) -> tuple[list[tuple[str, str]], str, str]:
        """(condition, header) per field for two different values of one key; the aggregates naming the fields
        that conflict, and those whose values are less than a day apart (`_close`)."""
        near = [f for f in fields if f.kind == "timestamp" and staged.layout.near_timestamps_agree]
        differs = [(f"min({_q(f.name)}) <> max({_q(f.name)})"  # two different non-NULL values
                    + (f" and max({_q(f.name)}) - min({_q(f.name)}) >= interval 1 day" if f in near else ""),
                    staged.header(f.name)) for f in fields]
        conflicts = ", ".join(f"case when {cond} then {literal(header)} end" for cond, header in differs)
        conflicts = f"concat_ws(', ', {conflicts or 'null'})"
        # less than a day apart: the first line's value is taken, and the order keeps the names of those fields
        close = ", ".join(f"case when min({_q(f.name)}) <> max({_q(f.name)}) then {literal(staged.header(f.name))} "
                          f"end" for f in near)
        return differs, conflicts, f"concat_ws(', ', {close or 'null'})"

    def _order_groups(self, staged: Staged, conflicts: str, close: str) -> str:
        """Fills `Staged.groups` (see `_duplicate_conflicts`); returns the relation of the conflicting orders."""
        firsts = [_q(c) for c in (*ORDER_FIELDS, "customer") if staged.layout.field(c)]
        staged.groups = f"_sk_g{self.staged.index(staged)}"
        part = self._part
        self.con.execute(f"""
            create temp table {staged.groups} as
            with n as (select {part}_key, count(*) as n from {staged.typed} where _key is not null
                       group by {part}_key)
            select {part}_key, min(_row_number) as _row_number,
                   {"".join(f"min_by({c}, _row_number) as {c}, " for c in firsts)} {conflicts} as _conflicts,
                   {close} as _close
            from {staged.typed} semi join (select {part}_key from n where n > 1) m using ({part}_key)
            group by {part}_key
            union all
            select {part}_key, _row_number, {"".join(f"{c}, " for c in firsts)} '' as _conflicts, '' as _close
            from {staged.typed} semi join (select {part}_key from n where n = 1) s using ({part}_key)
            order by {part}_row_number  -- else raw.orders gets part-filled row groups, merged at the next checkpoint
        """)
        return f"(select {part}_key, _conflicts from {staged.groups} where _conflicts <> '')"

    def _orphans(self, staged: Staged, others: list[Staged], reason: str, text: str) -> None:
        known = " union all ".join(f"select order_id from {o.typed}" for o in others) or \
            "select cast(null as varchar) as order_id where false"
        header = staged.header("order_id")
        self.errors += self._run(f"""
            insert into {ERRORS}
            select {staged.file}, _row_number, {PRIORITY_ORPHAN}, '{reason}', {literal(header)},
                   {literal(staged.relpath + ' row ')} || _row_number || {literal(f', column {header}: order ')}
                   || order_id || {literal(' ' + text)}
            from {staged.typed} t
            where order_id is not null and not exists (select 1 from ({known}) k where k.order_id = t.order_id)
        """)

    def _incomplete_orders(self, staged: list[Staged]) -> None:
        """An order is all or nothing: one quarantined row takes the order's other rows with it."""
        if not staged or not self.errors:
            return
        rows = " union all ".join(f"select {s.file} as _file, _row_number, order_id from {s.typed}" for s in staged)
        rows += f" union all select _file, _row_number, {staged[0].clean}(order_id) from {BROKEN}"
        self.con.execute(f"create or replace temp view {ORDER_ROWS} as {rows}")
        self.errors += self._run(f"""
            insert into {ERRORS}
            select r._file, r._row_number, {PRIORITY_INCOMPLETE}, 'incomplete_order', null,
                   r._file || ' row ' || r._row_number || ': order ' || r.order_id || ' is incomplete: '
                   || b.first_file || ' row ' || b.first_row || ' was quarantined (' || b.first_reason || ')'
            from {ORDER_ROWS} r
            join (select o.order_id,
                         first(e._file order by e._file, e._row_number, e.priority) as first_file,
                         first(e._row_number order by e._file, e._row_number, e.priority) as first_row,
                         first(e.reason order by e._file, e._row_number, e.priority) as first_reason
                  from {ERRORS} e join {ORDER_ROWS} o using (_file, _row_number)
                  where o.order_id is not null group by o.order_id) b using (order_id)
            where not exists (select 1 from {ERRORS} e where e._file = r._file and e._row_number = r._row_number)
        """)

    def _headless_orders(self, staged: Staged) -> None:
        """Continuation rows whose first row is missing (a re-saved file that lost it) are never an order of their
        own: when no row of an order fills any of the layout's `first_row` fields, all its rows are
        incomplete_order."""
        empty = self._headless(staged)
        if not empty:
            return
        fields = [f for f in staged.layout.first_row if f in staged.headers]
        named = literal(", ".join(staged.header(f) for f in fields))
        self.errors += self._run(f"""
            insert into {ERRORS}
            select {staged.file}, _row_number, {PRIORITY_INCOMPLETE}, 'incomplete_order', null,
                   {literal(staged.relpath + ' row ')} || _row_number || ': order ' || order_id
                   || ' is incomplete: no row of this file fills its order fields (' || {named}
                   || '), so its first row is missing'
            from {staged.typed} t
            semi join (select order_id from {staged.typed} group by order_id having {empty}) h using (order_id)
            where not exists (select 1 from {ERRORS} e where e._file = {staged.file} and e._row_number = t._row_number)
        """)

    @staticmethod
    def _headless(staged: Staged) -> str | None:
        """The HAVING condition of an order none of whose rows fills a `first_row` field (None: no such field)."""
        fields = [f for f in staged.layout.first_row if f in staged.headers]
        return " and ".join(f"count({_q(f)}) = 0" for f in fields) or None

    def _settle(self) -> None:
        """Each quarantined row keeps its most important reason."""
        if not self.errors:
            return
        self.con.execute(f"""
            create temp table {BAD} as
            select distinct on (_file, _row_number) * from {ERRORS} order by _file, _row_number, priority
        """)

    # -- 3. canonical rows ------------------------------------------------------------------------------------
    def _orders(self, staged: list[Staged]) -> str | None:
        """One row per order of each file, from `Staged.groups`. An order is all or nothing, so it is clean when
        its first row is."""
        parts = []
        for s in staged:
            def column(col: str, s: Staged = s) -> str | None:
                if col == "order_id":
                    return "_key"
                if col == "customer_key":
                    return "customer" if s.layout.field("customer") else None
                if col == "line_differences":
                    return "nullif(_close, '')"
                if col == "currency":
                    currency = "currency" if s.layout.field("currency") else "null"
                    return f"coalesce({currency}, {literal(self.ctx.store.currency)})"
                return _q(col) if s.layout.field(col) else None

            parts.append(self._select_raw(s, "orders", column, source=self._clean_rows(s, s.groups)))
        return _union(parts)

    def _lines(self, staged: list[Staged]) -> str | None:
        parts = []
        for s in staged:
            def column(col: str, s: Staged = s) -> str | None:
                if col == "line_number":
                    return f"row_number() over (partition by {self._part}order_id order by _row_number)"
                if col == "unit_price" and not s.layout.field("unit_price"):
                    return "list_price"  # Taobao 价格: the list unit price is what the line charges
                return _q(col) if s.layout.field(col) else None

            parts.append(self._select_raw(s, "order_lines", column))
        return _union(parts)

    def _clean_rows(self, staged: Staged, table: str | None = None) -> str:
        """The file's typed rows (or rows of `table`) that are not quarantined."""
        if not self.errors:
            return table or staged.typed
        return (f"(select * from {table or staged.typed} anti join (select _row_number from {BAD} "
                f"where _file = {staged.file}) b using (_row_number))")

    def _select_raw(self, staged: Staged, table: str, column, source: str | None = None) -> str:
        """SELECT producing `raw.<table>` columns (typed as the schema says) plus lineage, from clean rows."""
        columns = []
        for name, sql_type in schema.RAW[table].items():
            expr = column(name) or "null"
            columns.append(f"cast({expr} as {sql_type.replace(' NOT NULL', '')}) as {_q(name)}")
        ctx = self.ctx
        lineage = (f"{literal(ctx.store.id)} as _store_id, {staged.file} as _source_file, _row_number, "
                   f"{self._export_date()} as _export_date, "
                   f"{literal(ctx.batch_id)} as _batch_id, "
                   f"timestamp {literal(ctx.loaded_at.isoformat(sep=' '))} as _loaded_at")
        return f"select {', '.join(columns)}, {lineage} from {source or self._clean_rows(staged)}"

    def _quarantine(self) -> str | None:
        if not self.errors:
            return None
        raw_values = []
        files = {f for (f,) in self.con.execute(f"select distinct _file from {BAD}").fetchall()}
        for s in (s for s in self.staged if s.relpath in files):  # raw values of the quarantined rows only
            pairs = [f"{literal(s.headers[f.name])}, {_q(f.name)}" for f in s.layout.fields
                     if not f.personal and not f.from_header and f.name in s.headers]
            json = f"cast(json_object({', '.join(pairs)}) as varchar)" if pairs else "cast(null as varchar)"
            raw_values.append(f"select {s.file} as _file, _row_number, {json} as raw_values from {self._cells(s)} "
                              f"semi join (select _row_number from {BAD} where _file = {s.file}) b using (_row_number)")
        raw_json = " union all ".join(raw_values) or \
            "select null::varchar as _file, null::integer as _row_number, null::varchar as raw_values"
        ctx = self.ctx
        return f"""
            select {literal(ctx.store.id)} as _store_id, e._file as _source_file, e._row_number,
                   date {literal(ctx.export_date.isoformat())} as _export_date,
                   {literal(ctx.batch_id)} as _batch_id,
                   timestamp {literal(ctx.loaded_at.isoformat(sep=' '))} as _loaded_at,
                   {literal(ctx.dataset)} as dataset, e.reason, e.column_name,
                   sk_mask(e.message) as message, sk_mask(j.raw_values) as raw_values
            from {BAD} e left join ({raw_json}) j using (_file, _row_number)
            order by e._file, e._row_number
        """

    def _counts(self) -> dict[str, tuple[int, int, int]]:
        quarantined = dict(self.con.execute(f"select _file, count(*) from {BAD} group by _file").fetchall()) \
            if self.errors else {}
        counts = {}
        for s in self.staged:
            bad = quarantined.get(s.relpath, 0)
            counts[s.relpath] = (s.rows_in, s.rows_in - bad, bad)
        return counts


def _union(parts: list[str]) -> str | None:
    return " union all ".join(parts) or None


def _text_column(fld: Field) -> str:
    return fld.name if fld.kind in ("text", "identity") else fld.name + "__text"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'

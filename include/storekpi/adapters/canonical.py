"""From the text columns of one or more files to canonical raw rows and quarantine rows, in SQL.

A `Workbench` is an in-memory DuckDB connection that processes one unit of work: a single file, or the files of a
Taobao orders folder (order report + line report must be checked against each other). Steps:

1. `stage` each file: cells cleaned (`="…"`, tabs, whitespace), typed with the parsers of `parsing`, personal
   identifiers hashed into customer_key, the entity key computed; row checks write `errors`.
2. `build`: checks across rows (duplicate_conflict, orphan_line / order_without_lines, incomplete_order), then
   each quarantined row keeps its most important reason and every other row is mapped onto `schema.RAW`.

`errors` may hold several reasons for a row; the lowest priority number wins (row checks in column order, then
currency, future dates, duplicates, orphans, and incomplete_order last).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from storekpi import schema
from storekpi.adapters import parsing
from storekpi.adapters.base import Field, Layout
from storekpi.adapters.parsing import literal
from storekpi.adapters.reading import ROW_NUMBER, SourceRows, clean_cells
from storekpi.config import Store
from storekpi.pii import customer_key_sql

PRIORITY_RAGGED, PRIORITY_ROW = 0, 10
PRIORITY_DUPLICATE, PRIORITY_ORPHAN, PRIORITY_INCOMPLETE = 1000, 1500, 2000


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
    src: str  # table of the file's cells as read
    typed: str  # table of typed values ("<field>"), cleaned text where it differs ("<field>__text"), _key
    headers: dict[str, str]  # field -> header as written
    ragged: int

    def header(self, name: str) -> str:
        """The column that names `name` in messages: as written in the file, else the layout's first header."""
        fld = self.layout.field(name)
        if name not in self.headers and fld is not None and fld.fallback in self.headers:
            return self.headers[fld.fallback]
        return self.headers.get(name) or (fld.headers[0] if fld else name)


@dataclass
class Built:
    tables: dict[str, pa.Table]  # raw table name -> rows
    quarantine: pa.Table
    counts: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # relpath -> (in, loaded, quarantined)


class Workbench:
    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.con = duckdb.connect()
        self.con.execute("set preserve_insertion_order = true")
        parsing.install(self.con)
        self.con.execute("""create table errors (_file varchar, _row_number integer, priority integer,
                            reason varchar, column_name varchar, message varchar)""")
        self.staged: list[Staged] = []

    def close(self) -> None:
        self.con.close()

    # -- 1. per file ------------------------------------------------------------------------------------------
    def stage(self, rows: SourceRows, relpath: str) -> Staged:
        index = len(self.staged)
        staged = Staged(relpath, rows.layout, f"src_{index}", f"t_{index}", rows.headers, len(rows.ragged))
        self.con.register(staged.src, rows.table)  # cells as read, zero-copy: only quarantine's raw_values need them
        self.con.register("cleaned", self._cleaned(rows))
        typed = ", ".join(self._typed(f) for f in rows.layout.fields)
        self.con.execute(f"""
            create table {staged.typed} as
            with typed as (select {literal(relpath)} as _file, _row_number, {typed} from cleaned)
            select *, {self._key(rows.layout)} as _key from typed
        """)
        self.con.unregister("cleaned")
        self._row_checks(staged)
        for line, found in rows.ragged:  # malformed records are few: one statement each
            self.con.execute("insert into errors values (?, ?, ?, 'unparseable', null, ?)", [
                relpath, line, PRIORITY_RAGGED,
                f"{relpath} row {line}: has {found} fields where the header has {rows.expected_fields}"])
        self.staged.append(staged)
        return staged

    @staticmethod
    def _cleaned(rows: SourceRows) -> pa.Table:
        """One cleaned text column per layout field (NULL when the file lacks it), fallbacks applied."""
        nulls = pa.nulls(rows.table.num_rows, pa.string())
        cells = {name: clean_cells(rows.table.column(name)) for name in rows.table.column_names
                 if name != ROW_NUMBER}
        columns = {ROW_NUMBER: rows.table.column(ROW_NUMBER)}
        for fld in rows.layout.fields:
            column = cells.get(fld.name, nulls)
            if fld.fallback in cells:
                column = pc.coalesce(column, cells[fld.fallback])
            columns[fld.name] = column
        return pa.table(columns)

    def _typed(self, fld: Field) -> str:
        """Columns of one field in the typed table: the value, and the cleaned text when it differs (the
        checks and messages need it). A personal identifier keeps only its hash."""
        name = _q(fld.name)
        if fld.kind == "identity":
            return f"{customer_key_sql(name, self.ctx.salt)} as {name}"
        if fld.kind == "text":
            return name
        value = parsing.typed_expr(fld.kind, name, self.ctx.store.timezone)
        return f"{name} as {_q(_text_column(fld))}, {value} as {name}"

    def _key(self, layout: Layout) -> str:
        parts = [f"coalesce(cast({_q(k)} as varchar), '')" for k in layout.key]
        if layout.hash_key:  # the identity holds personal data (a reviewer's e-mail): keep only a salted hash
            return f"sha256({literal(self.ctx.salt)} || ':' || concat_ws(chr(31), {', '.join(parts)}))"
        if len(parts) == 1:
            return f"cast({_q(layout.key[0])} as varchar)"
        return f"concat_ws('|', {', '.join(parts)})"

    def _row_checks(self, staged: Staged) -> None:
        priority = PRIORITY_ROW
        for fld in staged.layout.fields:
            for reason, condition, message in self._checks_for(fld):
                header = staged.header(fld.name)
                where = f"{literal(staged.relpath + ' row ')} || _row_number || {literal(f', column {header}: ')}"
                self.con.execute(f"""
                    insert into errors
                    select _file, _row_number, {priority}, '{reason}', {literal(header)}, {where} || {message}
                    from {staged.typed} where {condition}
                """)
                priority += 1

    def _checks_for(self, fld: Field) -> list[tuple[str, str, str]]:
        """(reason, condition, message SQL) of the row checks of one field, most important first."""
        text, value = _q(_text_column(fld)), _q(fld.name)
        shown = f"'''' || left({text}, 60) || ''''"
        checks = []
        if fld.required:
            checks.append(("missing_required", f"{text} is null", "'required value is missing'"))
        if fld.kind in parsing.NOUN:
            checks.append(("unparseable", f"{text} is not null and {value} is null",
                           f"'cannot parse ' || {shown} || ' as {parsing.NOUN[fld.kind]}'"))
        if fld.kind in ("quantity", "stock_level"):
            checks.append(("non_integer_quantity", f"{value} <> trunc({value})",
                           f"'quantity ' || {shown} || ' is not a whole number'"))
        if fld.kind == "quantity":
            checks.append(("negative_quantity", f"{value} < 0", f"'quantity ' || {shown} || ' is negative'"))
        if fld.kind in ("rating", "rating_word"):
            checks.append(("rating_out_of_range", f"{value} not in (1, 2, 3, 4, 5)",
                           f"'rating ' || {shown} || ' is outside 1 to 5'"))
        if fld.kind == "currency":
            currency = self.ctx.store.currency
            checks.append(("currency_mismatch", f"{value} <> {literal(currency)}",
                           f"'currency ' || {shown} || ' differs from the store currency {currency}'"))
        if fld.future_check:
            limit = self.ctx.export_date.isoformat()
            checks.append(("future_date", f"cast({value} as date) > date {literal(limit)} + 1",
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
        return Built(tables, self._quarantine(), self._counts())

    def _build_entities(self) -> dict[str, pa.Table]:
        for s in self.staged:
            self._duplicate_conflicts(s, [f for f in s.layout.fields if f.name not in s.layout.key])
        self._settle()
        dataset = self.ctx.dataset
        parts = [self._select_raw(s, dataset, lambda col, s=s: self._entity_column(s, col)) for s in self.staged]
        return {dataset: self._arrow(parts, dataset)}

    def _entity_column(self, staged: Staged, column: str) -> str | None:
        if column in ("snapshot_date", "valid_from"):
            return f"date {literal(self.ctx.export_date.isoformat())}"
        if column == "review_id":
            return "_key"
        return _q(column) if staged.layout.field(column) else None

    def _build_order_lines(self) -> dict[str, pa.Table]:
        """Shopify and generic: one row per line; order fields from the order's first row that has them."""
        for s in self.staged:
            self._duplicate_conflicts(s, [f for f in s.layout.fields if f.order_level])
        self._incomplete_orders(self.staged)
        self._settle()
        return {"orders": self._orders(self.staged), "order_lines": self._lines(self.staged)}

    def _build_order_pair(self) -> dict[str, pa.Table]:
        """Taobao: the order reports and line reports of one folder, checked against each other."""
        reports = [s for s in self.staged if s.layout.role == "order_report"]
        lines = [s for s in self.staged if s.layout.role == "line_report"]
        for s in reports:
            self._duplicate_conflicts(s, [f for f in s.layout.fields if f.name not in s.layout.key])
        for s in lines:
            self._orphans(s, reports, "orphan_line", "has no row in the order report of this folder")
        for s in reports:
            self._orphans(s, lines, "order_without_lines", "has no line in the line report of this folder")
        self._incomplete_orders(self.staged)
        self._settle()
        return {"orders": self._orders(reports), "order_lines": self._lines(lines)}

    def _duplicate_conflicts(self, staged: Staged, fields: list[Field]) -> None:
        """The same entity twice in one file with different values: all its rows are quarantined."""
        if not fields:
            return
        differs = [(f"min({_q(f.name)}) <> max({_q(f.name)})", staged.header(f.name))
                   for f in fields]  # two different non-NULL values; cheaper than count(distinct)
        columns = ", ".join(f"case when {cond} then {literal(header)} end" for cond, header in differs)
        layout = staged.layout
        entity = literal(layout.entity) if layout.hash_key else f"{literal(layout.entity + ' ')} || t._key"
        self.con.execute(f"""
            insert into errors
            select t._file, t._row_number, {PRIORITY_DUPLICATE}, 'duplicate_conflict',
                   split_part(d.columns, ', ', 1),
                   {literal(staged.relpath + ' row ')} || t._row_number || ': ' || {entity}
                   || ' appears on rows ' || d.rows || ' of this file with different values in ' || d.columns
            from {staged.typed} t
            join (select _key, string_agg(_row_number::varchar, ', ' order by _row_number) as rows,
                         concat_ws(', ', {columns}) as columns
                  from {staged.typed} where _key is not null
                  group by _key having {' or '.join(cond for cond, _ in differs)}) d using (_key)
        """)

    def _orphans(self, staged: Staged, others: list[Staged], reason: str, text: str) -> None:
        known = " union all ".join(f"select order_id from {o.typed}" for o in others) or \
            "select cast(null as varchar) as order_id where false"
        header = staged.header("order_id")
        self.con.execute(f"""
            insert into errors
            select _file, _row_number, {PRIORITY_ORPHAN}, '{reason}', {literal(header)},
                   {literal(staged.relpath + ' row ')} || _row_number || {literal(f', column {header}: order ')}
                   || order_id || {literal(' ' + text)}
            from {staged.typed} t
            where order_id is not null and not exists (select 1 from ({known}) k where k.order_id = t.order_id)
        """)

    def _incomplete_orders(self, staged: list[Staged]) -> None:
        """An order is all or nothing: one quarantined row takes the order's other rows with it."""
        if not staged:
            return
        rows = " union all ".join(f"select _file, _row_number, order_id from {s.typed}" for s in staged)
        self.con.execute(f"create or replace temp view order_rows as {rows}")
        self.con.execute(f"""
            insert into errors
            select r._file, r._row_number, {PRIORITY_INCOMPLETE}, 'incomplete_order', null,
                   r._file || ' row ' || r._row_number || ': order ' || r.order_id || ' is incomplete: '
                   || b.first_file || ' row ' || b.first_row || ' was quarantined (' || b.first_reason || ')'
            from order_rows r
            join (select o.order_id,
                         first(e._file order by e._file, e._row_number, e.priority) as first_file,
                         first(e._row_number order by e._file, e._row_number, e.priority) as first_row,
                         first(e.reason order by e._file, e._row_number, e.priority) as first_reason
                  from errors e join order_rows o using (_file, _row_number)
                  where o.order_id is not null group by o.order_id) b using (order_id)
            where not exists (select 1 from errors e where e._file = r._file and e._row_number = r._row_number)
        """)

    def _settle(self) -> None:
        """Each quarantined row keeps its most important reason."""
        self.con.execute("""
            create table bad as
            select distinct on (_file, _row_number) * from errors order by _file, _row_number, priority
        """)

    # -- 3. canonical rows ------------------------------------------------------------------------------------
    def _orders(self, staged: list[Staged]) -> pa.Table:
        parts = []
        for s in staged:
            def column(col: str, s: Staged = s) -> str | None:
                if col == "customer_key":
                    return "min_by(customer, _row_number)" if s.layout.field("customer") else None
                if col == "currency":
                    currency = "min_by(currency, _row_number)" if s.layout.field("currency") else "null"
                    return f"coalesce({currency}, {literal(self.ctx.store.currency)})"
                return f"min_by({_q(col)}, _row_number)" if s.layout.field(col) else None

            grouped = ", ".join(f"{column(c) or 'null'} as {_q(c)}" for c in schema.RAW["orders"] if c != "order_id")
            parts.append(self._select_raw(
                s, "orders", lambda col: "order_id" if col == "order_id" else _q(col),
                source=f"""(select _file, order_id, min(_row_number) as _row_number, {grouped}
                           from {s.typed} anti join bad using (_file, _row_number) group by _file, order_id)"""))
        return self._arrow(parts, "orders")

    def _lines(self, staged: list[Staged]) -> pa.Table:
        parts = []
        for s in staged:
            def column(col: str, s: Staged = s) -> str | None:
                if col == "line_number":
                    return "row_number() over (partition by _file, order_id order by _row_number)"
                if col == "unit_price" and not s.layout.field("unit_price"):
                    return "list_price"  # Taobao 价格: the list unit price is what the line charges
                return _q(col) if s.layout.field(col) else None

            parts.append(self._select_raw(s, "order_lines", column))
        return self._arrow(parts, "order_lines")

    def _select_raw(self, staged: Staged, table: str, column, source: str | None = None) -> str:
        """SELECT producing `raw.<table>` columns (typed as the schema says) plus lineage, from clean rows."""
        columns = []
        for name, sql_type in schema.RAW[table].items():
            expr = column(name) or "null"
            columns.append(f"cast({expr} as {sql_type.replace(' NOT NULL', '')}) as {_q(name)}")
        ctx = self.ctx
        lineage = (f"{literal(ctx.store.id)} as _store_id, _file as _source_file, _row_number, "
                   f"date {literal(ctx.export_date.isoformat())} as _export_date, "
                   f"{literal(ctx.batch_id)} as _batch_id, "
                   f"timestamp {literal(ctx.loaded_at.isoformat(sep=' '))} as _loaded_at")
        source = source or f"(select * from {staged.typed} anti join bad using (_file, _row_number))"
        return f"select {', '.join(columns)}, {lineage} from {source}"

    def _arrow(self, parts: list[str], table: str) -> pa.Table:
        if not parts:
            columns = {**schema.RAW[table], **schema.LINEAGE}
            parts = ["select " + ", ".join(f"cast(null as {t.replace(' NOT NULL', '')}) as {_q(c)}"
                                           for c, t in columns.items()) + " where false"]
        return self.con.sql(" union all ".join(parts) + " order by _source_file, _row_number").to_arrow_table()

    def _quarantine(self) -> pa.Table:
        raw_values = []
        for s in self.staged:
            pairs = [f"{literal(s.headers[f.name])}, {_q(f.name)}" for f in s.layout.fields
                     if not f.personal and f.name in s.headers]
            json = f"cast(json_object({', '.join(pairs)}) as varchar)" if pairs else "cast(null as varchar)"
            raw_values.append(f"select {literal(s.relpath)} as _file, _row_number, {json} as raw_values from {s.src}")
        raw_json = " union all ".join(raw_values) or \
            "select null::varchar as _file, null::integer as _row_number, null::varchar as raw_values"
        ctx = self.ctx
        return self.con.sql(f"""
            select {literal(ctx.store.id)} as _store_id, e._file as _source_file, e._row_number,
                   date {literal(ctx.export_date.isoformat())} as _export_date,
                   {literal(ctx.batch_id)} as _batch_id,
                   timestamp {literal(ctx.loaded_at.isoformat(sep=' '))} as _loaded_at,
                   {literal(ctx.dataset)} as dataset, e.reason, e.column_name,
                   sk_mask(e.message) as message, sk_mask(j.raw_values) as raw_values
            from bad e left join ({raw_json}) j using (_file, _row_number)
            order by e._file, e._row_number
        """).to_arrow_table()

    def _counts(self) -> dict[str, tuple[int, int, int]]:
        counts = {}
        for s in self.staged:
            read = self.con.execute(f"select count(*) from {s.src}").fetchone()[0]
            quarantined = self.con.execute("select count(*) from bad where _file = ?", [s.relpath]).fetchone()[0]
            rows_in = read + s.ragged
            counts[s.relpath] = (rows_in, rows_in - quarantined, quarantined)
        return counts


def _text_column(fld: Field) -> str:
    return fld.name if fld.kind in ("text", "identity") else fld.name + "__text"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'

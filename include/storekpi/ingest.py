"""Ingest: new or changed landing files -> raw.*, quarantine.rows and audit.files.

The manifest is `audit.files` (one row per landing path, with its sha256):
- same path and sha256 as recorded -> skipped (a forgotten file stays forgotten; a rejected one stays rejected);
  a file whose size, mtime and ctime are those recorded when it was read has its recorded sha256 without being read
  again (a stat cache, as rsync and git keep; any difference -> hashed), so a night does not read all history;
- new path, or same path with a new sha256 (a correction) -> the rows it contributed before are deleted from raw
  and quarantine, and the file is read again;
- Taobao orders are read per folder (order report + line report are checked against each other), so when one
  file of such a folder is new or changed, every file of the folder is read again.
Raw keeps every version of every entity across files; "latest export wins" is resolved in dbt.

Each unit of work (a file, or a Taobao orders folder) is written in one transaction: a crash never leaves half a
file in raw. One `Workbench` (its DuckDB connection and parsers) serves every unit of the run, so the fixed cost of a
file is a handful of SQL statements. For every file rows_in = rows_loaded + rows_quarantined (rows_loaded counts
accepted input rows, not the rows written: a Shopify order's lines become one raw.orders row plus one
raw.order_lines row per line). A rejected file also gets one quarantine.rows entry with _row_number NULL, so
operators find every problem there.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pyarrow as pa

from storekpi import schema
from storekpi.adapters import batched, layouts, reading
from storekpi.adapters.canonical import Built, Context, NotClean, Workbench
from storekpi.adapters.reading import FileRejected
from storekpi.config import StoreConfig
from storekpi.landing import LandingFile
from storekpi.warehouse import Warehouse

log = logging.getLogger(__name__)

RAW_TABLES = tuple(f"raw.{name}" for name in schema.RAW)


@dataclass
class IngestSummary:
    files_seen: int = 0
    files_loaded: int = 0  # new or changed files read this run (an empty file counts)
    files_unchanged: int = 0
    files_rejected: int = 0
    rows_in: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0


Stat = tuple[int, int, int] | None  # (size, mtime_ns, ctime_ns) of a file that may be trusted next run; None: never
STAT_COLUMNS = ("file_size", "file_mtime_ns", "file_ctime_ns")
# a write of this many rows checkpoints at its commit: its WAL would be about as large as the rows in the file
CHECKPOINT_ROWS = 50_000
RACY_NS = 2_000_000_000  # a file changed this close to the run's start may change again within the same timestamp


@dataclass
class _FileResult:
    file: LandingFile
    status: str  # loaded | rejected
    sha256: str = ""  # set with `stat` when written
    stat: Stat = None
    format: str | None = None
    encoding: str | None = None
    reason: str | None = None
    message: str | None = None
    rows: tuple[int, int, int] = (0, 0, 0)  # in, loaded, quarantined


def ingest(wh: Warehouse, config: StoreConfig, files: list[LandingFile], *, batch_id: str,
           salt: str) -> IngestSummary:
    summary = IngestSummary(files_seen=len(files))
    manifest = {path: (sha, status) for path, sha, status in
                wh.query("select path, sha256, status from audit.files")}
    recorded_stats = {path: (size, mtime, ctime) for path, size, mtime, ctime in wh.query(
        "select path, file_size, file_mtime_ns, file_ctime_ns from audit.files where file_size is not null")}
    loaded_at = datetime.now(UTC).replace(tzinfo=None)
    trusted_before = time.time_ns() - RACY_NS
    refresh: list[tuple[str, Stat]] = []  # unchanged content, new stat (touched, or recorded by an older storekpi)
    reads: list[list[LandingFile]] = []  # units with a file to read, in discovery order
    digests: dict[str, str] = {}
    stats: dict[str, Stat] = {}
    sizes: dict[str, int | None] = {}
    for unit in _units(files, config):
        for f in unit:
            stats[f.relpath], sizes[f.relpath] = _stat(f, trusted_before)  # taken before any read
        digests.update({f.relpath: _digest(f, stats[f.relpath], manifest, recorded_stats) for f in unit})
        if all(manifest.get(f.relpath, (None,))[0] == digests[f.relpath] for f in unit):
            summary.files_unchanged += len(unit)
            refresh += _stale_stats(unit, stats, recorded_stats)
            continue
        to_read = [f for f in unit if manifest.get(f.relpath) != (digests[f.relpath], "forgotten")]
        summary.files_unchanged += len(unit) - len(to_read)
        refresh += _stale_stats([f for f in unit if f not in to_read], stats, recorded_stats)
        reads.append(to_read)
    bench = Workbench.open(wh)

    def write(results: list[_FileResult], built) -> None:
        for result in results:
            result.sha256, result.stat = digests[result.file.relpath], stats[result.file.relpath]
        _write(wh, bench, results, built, manifest, batch_id, loaded_at)
        for result in results:
            _account(summary, result)

    reader = _Reader(bench, config, batch_id, salt, loaded_at, write)
    try:
        for files_, several in _batches(reads, config, sizes):
            units = reader.read_batch(files_, sizes) if several else [(files_, {})]
            for unit, read in units:
                reader.write_unit(unit, read)
    finally:
        bench.close()
    _record_stats(wh, refresh)
    log.info("ingest: %d files seen, %d loaded, %d unchanged, %d rejected; %d rows in, %d loaded, %d quarantined",
             summary.files_seen, summary.files_loaded, summary.files_unchanged, summary.files_rejected,
             summary.rows_in, summary.rows_loaded, summary.rows_quarantined)
    return summary


def forget(wh: Warehouse, relpath: str) -> int:
    """Remove one landing file's rows from raw and quarantine and mark it forgotten: it stays out of the warehouse
    until its content changes. Returns the number of rows removed."""
    relpath = relpath.strip().removeprefix("./")
    with wh.transaction():
        removed = _delete_rows(wh, relpath)
        entry = wh.query("select store_id, dataset from audit.files where path = ?", [relpath])
        if not entry:
            log.warning("forget: %s is not in audit.files (never loaded); %d rows removed", relpath, removed)
            return removed
        wh.execute("""update audit.files set status = 'forgotten', reason = null,
                      message = 'removed by storekpi forget', rows_in = 0, rows_loaded = 0, rows_quarantined = 0
                      where path = ?""", [relpath])
        store_id, dataset = entry[0]
        if dataset == "orders":  # a Taobao order report and line report depend on each other: re-read the others
            folder = "/".join(relpath.split("/")[:3]) + "/"
            wh.execute("""update audit.files set sha256 = '', file_size = null, file_mtime_ns = null,
                          file_ctime_ns = null where substr(path, 1, ?) = ? and path <> ?
                          and status <> 'forgotten'""", [len(folder), folder, relpath])
    log.info("forget: store %s, dataset %s, file %s: %d rows removed", store_id, dataset, relpath, removed)
    return removed


# -- the stat cache ---------------------------------------------------------------------------------------------
def _stat(f: LandingFile, trusted_before: int) -> tuple[Stat, int | None]:
    """From one stat() of the file: what may vouch for its content next run, (size, mtime_ns, ctime_ns), and its
    size now (which decides whether it may be read in a batch). The first is None for a file changed within
    RACY_NS of the run's start (a write in the same clock tick after the read would keep the same stat: git's
    "racy clean" case); both are None for a link out of the landing folder (never read: its digest costs
    nothing)."""
    if f.outside:
        return None, None
    st = f.path.stat()
    if max(st.st_mtime_ns, st.st_ctime_ns) >= trusted_before:
        return None, st.st_size
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns), st.st_size


def _digest(f: LandingFile, stat: Stat, manifest: dict, recorded_stats: dict) -> str:
    """The recorded sha256 when the file's stat is the one recorded with it; otherwise the content is hashed."""
    if stat is not None and recorded_stats.get(f.relpath) == stat and f.relpath in manifest:
        return manifest[f.relpath][0]
    return f.sha256()


def _stale_stats(unit: Iterable[LandingFile], stats: dict, recorded_stats: dict) -> list[tuple[str, Stat]]:
    return [(f.relpath, stats[f.relpath]) for f in unit
            if stats[f.relpath] is not None and recorded_stats.get(f.relpath) != stats[f.relpath]]


def _record_stats(wh: Warehouse, refresh: list[tuple[str, Stat]]) -> None:
    """Record new stats of files whose content was hashed and found unchanged, in one statement (after an upgrade
    or a restore from backup every file is in this list once)."""
    if not refresh:
        return
    frame = pa.table({"path": [p for p, _ in refresh],
                      **{c: pa.array([st[i] for _, st in refresh], pa.int64()) for i, c in enumerate(STAT_COLUMNS)}})
    with wh.transaction():
        wh.execute("create temp table if not exists storekpi_stats (path varchar, file_size bigint, "
                   "file_mtime_ns bigint, file_ctime_ns bigint)")
        wh.execute("delete from storekpi_stats")
        wh.append("storekpi_stats", frame)
        wh.execute("update audit.files as f set " + ", ".join(f"{c} = s.{c}" for c in STAT_COLUMNS)
                   + " from storekpi_stats as s where f.path = s.path")
        wh.execute("drop table storekpi_stats")


# -- units of work ----------------------------------------------------------------------------------------------
def _units(files: Iterable[LandingFile], config: StoreConfig) -> list[list[LandingFile]]:
    """One file per unit, except Taobao orders: all files of one <store>/orders/<date>/ folder together."""
    platforms = {s.id: s.platform for s in config.stores}
    units: dict[str, list[LandingFile]] = {}
    for f in files:
        if f.dataset == "orders" and platforms.get(f.store_id) == "taobao":
            key = "/".join(f.relpath.split("/")[:3]) + "/"
        else:
            key = f.relpath
        units.setdefault(key, []).append(f)
    return list(units.values())


def _batches(reads: list[list[LandingFile]], config: StoreConfig,
             sizes: dict[str, int | None]) -> Iterator[tuple[list[LandingFile], bool]]:
    """The units to read: (files, True) for a store's and dataset's single files that may be read several per
    statement (`batched.candidate`); (unit, False) for any other unit (a Taobao orders folder, a linked file, a
    file above `batched.BATCH_FILE_BYTES`)."""
    platforms = {s.id: s.platform for s in config.stores}
    groups: dict[tuple[str, str], list[LandingFile]] = {}
    for unit in reads:
        f = unit[0]
        if len(unit) == 1 and not f.outside and not (f.dataset == "orders" and platforms.get(f.store_id) == "taobao") \
                and batched.candidate(f.path, f.relpath, f.export_date, sizes[f.relpath]):
            groups.setdefault((f.store_id, f.dataset), []).append(f)
        else:
            yield unit, False
    for group in groups.values():
        yield group, True


# what a batch read of the files it hands back, by landing path: `reading.prepare` reuses it
Reads = dict[str, reading._PlainCsv | reading.SourceRows]


@dataclass
class _Reader:
    """Reads units of one ingest run with one `Workbench`; `write` writes each unit's results in one transaction."""

    bench: Workbench
    config: StoreConfig
    batch_id: str
    salt: str
    loaded_at: datetime
    write: Callable[[list[_FileResult], Built | None], None]
    handed_back: set[str] = field(default_factory=set)  # files a batch statement found not clean

    def _start(self, f: LandingFile, *, batch: bool = False) -> StoreConfig:
        store = self.config.get(f.store_id)  # discover() refuses store folders stores.yml does not list
        self.bench.start(Context(store, f.dataset, f.export_date, self.batch_id, self.loaded_at, self.salt),
                         batch=batch)
        return store

    def read_batch(self, files: list[LandingFile], sizes: dict[str, int | None]) \
            -> Iterator[tuple[list[LandingFile], Reads]]:
        """Reads and writes what it can of one store's and dataset's files, several per statement (`batched`);
        yields the files left to read one by one, each as a unit with what was read of it."""
        found = layouts(self.config.get(files[0].store_id).platform, files[0].dataset)
        by_path = {f.relpath: f for f in files}
        shapes: dict[tuple, tuple[list[batched.Member], list[int]]] = {}
        for f in files:
            member = _member(f, found)
            if member is None:
                yield [f], {}
                continue
            members, size = shapes.setdefault(batched.shape(member), ([], [0]))
            members.append(member)
            size[0] += member.read.table.nbytes if member.read else sizes[f.relpath]
            if len(members) >= batched.BATCH_FILES or size[0] >= batched.BATCH_BYTES:
                yield from self._stage_batch(members, by_path)
                members.clear()
                size[0] = 0
        for members, _ in shapes.values():
            yield from self._stage_batch(members, by_path)

    def _stage_batch(self, members: list[batched.Member], by_path: dict[str, LandingFile]) \
            -> Iterator[tuple[list[LandingFile], Reads]]:
        """One statement for `members`, written in one transaction; yields the files to read on their own. A batch
        whose statement fails is split in two and tried again (below 8 files, each is read on its own)."""
        if len(members) < 2:  # one file: read the usual way
            yield from (([by_path[m.relpath]], {m.relpath: m.prepared}) for m in members)
            return
        self._start(by_path[members[0].relpath], batch=True)
        try:
            built, held, rest = batched.stage(self.bench, members)
        except batched.Failed:
            if len(members) < 8:
                self.handed_back.update(m.relpath for m in members)
                yield from (([by_path[m.relpath]], {m.relpath: m.prepared}) for m in members)
                return
            half = len(members) // 2
            for part in (members[:half], members[half:]):
                yield from self._stage_batch(part, by_path)
            return
        if held:
            self.write([_FileResult(by_path[m.relpath], "loaded", format=m.rows.format, encoding=m.rows.encoding,
                                    rows=built.counts[m.relpath]) for m in held], built)
        self.handed_back.update(m.relpath for m in rest)
        yield from (([by_path[m.relpath]], {m.relpath: m.prepared}) for m in rest)

    def write_unit(self, unit: list[LandingFile], read: Reads) -> None:
        """Reads and writes one unit. A large clean-looking file may be typed straight into raw; when it turns out
        not clean (rolled back), or a batch statement already failed on it, it is read the usual way."""
        may_skip_table = self.bench.unchecked
        try:
            self.bench.unchecked = may_skip_table and not any(f.relpath in self.handed_back for f in unit)
            try:
                self.write(*self.read_unit(unit, read))
            except NotClean:
                self.bench.unchecked = False
                self.write(*self.read_unit(unit, read))
        finally:
            self.bench.unchecked = may_skip_table

    def read_unit(self, unit: list[LandingFile], read: Reads) -> tuple[list[_FileResult], Built]:
        """Reads one unit (`read`: what a batch already read of its files) into one `Built`."""
        results = [_FileResult(f, "rejected") for f in unit]
        store = self._start(unit[0])
        for result in results:
            f = result.file
            if f.outside:
                result.reason, result.message = "outside_landing", (
                    f"{f.relpath}: is a link to a {'folder' if f.path.is_dir() else 'file'} outside the landing "
                    f"folder, so it is not read; copy the export itself into the landing folder")
                continue
            try:
                rows = self.bench.load(f.path, layouts(store.platform, f.dataset), f.relpath, read.get(f.relpath))
            except FileRejected as exc:
                result.reason, result.message = exc.reason, exc.message
                continue
            except Exception as exc:  # a library choking on a malformed file must not stop the run
                log.exception("store %s, dataset %s, file %s: unexpected read error", f.store_id, f.dataset,
                              f.relpath)
                result.reason, result.message = "unreadable", (
                    f"{f.relpath}: cannot be read as an export ({type(exc).__name__}); export it again from the "
                    f"shop, and if it is rejected again, send the log of this run to the data role")
                continue
            self.bench.stage(rows, f.relpath)
            result.status, result.format, result.encoding = "loaded", rows.format, rows.encoding
        built = self.bench.build()
        for result in results:
            if result.status == "loaded":
                result.rows = built.counts[result.file.relpath]
                result.message = built.notes.get(result.file.relpath)
        return results, built


def _member(f: LandingFile, found) -> batched.Member | None:
    """The file as a batch member: a plain CSV (read later, by DuckDB), else its cells as `read_source` reads
    them; None when it has lines that are not records, or cannot be read (its own read says why)."""
    try:
        plain = reading.probe_plain(f.path, found, f.relpath)
        if plain is not None:
            return batched.Member(f.relpath, f.path, f.export_date, plain)
        rows = reading.read_source(f.path, found, f.relpath)
    except Exception:
        return None
    if rows.broken or rows.table is None:
        return None
    return batched.Member(f.relpath, f.path, f.export_date, None, rows)


# -- writing ----------------------------------------------------------------------------------------------------
def _write(wh: Warehouse, bench: Workbench, results: list[_FileResult], built, manifest: dict, batch_id: str,
           loaded_at: datetime) -> None:
    large = sum(r.rows[0] for r in results) >= CHECKPOINT_ROWS
    with wh.transaction(checkpoint=large):
        for result in results:
            if result.file.relpath in manifest:  # only a file recorded before can have rows to replace
                _delete_rows(wh, result.file.relpath)
                wh.execute("delete from audit.files where path = ?", [result.file.relpath])
        if built is not None:
            for table, select in built.tables.items():
                bench.insert(wh, f"raw.{table}", select)
            if built.quarantine:
                bench.insert(wh, "quarantine.rows", built.quarantine)
        rejected = [r for r in results if r.status == "rejected"]
        if rejected:
            wh.append("quarantine.rows", _rejection_rows(rejected, batch_id, loaded_at))
        wh.append("audit.files", _audit_rows(results, batch_id, loaded_at))
    for r in results:
        f = r.file
        if r.status == "rejected":
            log.warning("store %s, dataset %s, file %s rejected (%s): %s", f.store_id, f.dataset, f.relpath,
                        r.reason, r.message, extra={"landing_file": f.relpath})
        else:
            log.info("store %s, dataset %s, file %s (%s, %s): %d rows in, %d loaded, %d quarantined%s",
                     f.store_id, f.dataset, f.relpath, r.format, r.encoding or "-", *r.rows,
                     f"; {r.message}" if r.message else "",
                     extra={"landing_file": f.relpath})  # the console's ingest progress counts these


def _audit_rows(results: list[_FileResult], batch_id: str, loaded_at: datetime) -> pa.Table:
    """The audit.files rows of `results`, in one table (a batch of files is one statement)."""
    def column(values, kind=pa.string()):
        return pa.array(values, kind)

    stats = [r.stat or (None, None, None) for r in results]
    return pa.table({
        "path": column([r.file.relpath for r in results]),
        "store_id": column([r.file.store_id for r in results]),
        "dataset": column([r.file.dataset for r in results]),
        "export_date": column([r.file.export_date for r in results], pa.date32()),
        "sha256": column([r.sha256 for r in results]),
        "format": column([r.format for r in results]),
        "encoding": column([r.encoding for r in results]),
        "status": column([r.status for r in results]),
        "reason": column([r.reason for r in results]),
        "message": column([r.message for r in results]),
        **{name: column([r.rows[i] for r in results], pa.int32())
           for i, name in enumerate(("rows_in", "rows_loaded", "rows_quarantined"))},
        "batch_id": column([batch_id] * len(results)),
        "loaded_at": column([loaded_at] * len(results), pa.timestamp("us")),
        **{name: column([st[i] for st in stats], pa.int64()) for i, name in enumerate(STAT_COLUMNS)},
    })


def _rejection_rows(rejected: list[_FileResult], batch_id: str, loaded_at: datetime) -> pa.Table:
    return pa.table({
        "_store_id": [r.file.store_id for r in rejected],
        "_source_file": [r.file.relpath for r in rejected],
        "_row_number": pa.array([None] * len(rejected), pa.int32()),
        "_export_date": [r.file.export_date for r in rejected],
        "_batch_id": [batch_id] * len(rejected),
        "_loaded_at": [loaded_at] * len(rejected),
        "dataset": [r.file.dataset for r in rejected],
        "reason": [r.reason for r in rejected],
        "column_name": pa.array([None] * len(rejected), pa.string()),
        "message": [r.message for r in rejected],
        "raw_values": pa.array([None] * len(rejected), pa.string()),
    })


def _delete_rows(wh: Warehouse, relpath: str) -> int:
    removed = 0
    for table in (*RAW_TABLES, "quarantine.rows"):
        removed += wh.query(f"select count(*) from {table} where _source_file = ?", [relpath])[0][0]
        wh.execute(f"delete from {table} where _source_file = ?", [relpath])
    return removed


def _account(summary: IngestSummary, result: _FileResult) -> None:
    if result.status == "rejected":
        summary.files_rejected += 1
        return
    summary.files_loaded += 1
    rows_in, loaded, quarantined = result.rows
    summary.rows_in += rows_in
    summary.rows_loaded += loaded
    summary.rows_quarantined += quarantined

"""`storekpi status`: what an operator asks first — did last night publish, how fresh is each store, what was
quarantined, what blocks — read from `audit.*`, never written.

Read-only and non-blocking by construction: on DuckDB the published file is opened read-only (a run works in its
own build file and replaces the published one by rename, so a reader never holds it up); on PostgreSQL the session
is read-only with short lock and statement timeouts, and every query commits at once. A blocked or failed DuckDB
run is recorded in the build kept beside the warehouse (`<name>.failed.duckdb`), so that file is read too.
"""

from __future__ import annotations

import json
from contextlib import suppress
from datetime import date, datetime
from pathlib import Path
from typing import Any

from storekpi import warehouse
from storekpi.errors import ConfigError
from storekpi.quality.frames import DAILY_DATASETS, OCCASIONAL_DATASETS
from storekpi.warehouse import Target, Warehouse

RUNS_SHOWN = 5
_RUN_COLUMNS = ("run_id", "date", "status", "started_at", "finished_at", "stores", "files_loaded", "rows_loaded",
                "rows_quarantined", "alerts", "task_seconds", "message")


open_read_only = warehouse.open_read_only  # the status page reads through it too


def sources(target: Target) -> list[tuple[str, Path | None]]:
    """(label, DuckDB path) of every database holding runs: the published one, then a kept failed build."""
    found = warehouse.run_records(target)
    if not found:
        raise ConfigError(f"--warehouse {target.path} does not exist (no run has published or kept a build there)")
    return found


def collect(target: Target, runs_shown: int = RUNS_SHOWN) -> dict[str, Any]:
    """Everything `storekpi status` shows, as a JSON-able dict."""
    runs: dict[str, dict] = {}
    for label, path in sources(target):
        with open_read_only(target, path) as wh:
            if not wh.table_exists("audit", "runs"):
                continue
            for row in wh.query(f"select {', '.join(_RUN_COLUMNS)} from audit.runs"):
                run = _run(dict(zip(_RUN_COLUMNS, row)), label, path)
                runs.setdefault(run["run_id"], run)  # the published record wins over the build's copy
    ordered = sorted(runs.values(), key=lambda r: (r["started_at"] or "", r["run_id"]), reverse=True)
    status: dict[str, Any] = {
        "warehouse": target.display,
        "run_in_progress": run_in_progress(target),
        "runs": ordered[:runs_shown],
        "last_run": ordered[0] if ordered else None,
        "freshness": [],
        "quarantine": [],
        "blocking": [],
    }
    last = status["last_run"]
    if last is None:
        return status
    with open_read_only(target, recorded_path(last)) as wh:
        status["freshness"] = freshness(wh, date.fromisoformat(last["date"]))
        status["quarantine"] = query_dicts(wh, "quarantine", "rows", """
select reason, count(*) as rows from quarantine.rows where _batch_id = ? group by reason order by rows desc, reason""",
                                     [last["run_id"]])
        if last["status"] == "blocked":
            status["blocking"] = query_dicts(wh, "audit", "dq_results", """
select suite, expectation, table_name, column_name, unexpected_count, element_count, details
from audit.dq_results where run_id = ? and blocking and not success order by suite, expectation""",
                                       [last["run_id"]])
    return status


def freshness(wh: Warehouse, run_date: date) -> list[dict]:
    """Per configured store and dataset: the latest export date loaded and whether it covers `run_date`.

    Orders and traffic are expected from every store every day, reviews and stock once a store has sent them (the
    freshness gate's expectation); other datasets (a product catalogue) are shown with `covers_run_date` None.
    """
    if not wh.table_exists("audit", "files"):
        return []
    delivered = {(s, d): last for s, d, last in wh.query(
        "select store_id, dataset, max(export_date) from audit.files where status = 'loaded' "
        "group by store_id, dataset")}
    stores = [r[0] for r in wh.query("select store_id from raw.stores order by store_id")] \
        if wh.table_exists("raw", "stores") else []
    stores = stores or sorted({s for s, _ in delivered})
    pairs = sorted({(s, d) for s in stores for d in DAILY_DATASETS} | {k for k in delivered if k[0] in stores})
    out = []
    for store_id, dataset in pairs:
        last = _day(delivered.get((store_id, dataset)))
        expected = dataset in DAILY_DATASETS or dataset in OCCASIONAL_DATASETS
        out.append({"store_id": store_id, "dataset": dataset, "last_export_date": last and last.isoformat(),
                    "covers_run_date": (last is not None and last >= run_date) if expected else None})
    return out


def run_in_progress(target: Target) -> bool | None:
    """Whether a run or `forget` holds the warehouse lock right now (None when the platform cannot tell)."""
    return warehouse.is_locked(target)


def _run(row: dict, label: str, path: Path | None) -> dict:
    started, finished = row["started_at"], row["finished_at"]
    steps = {}
    with suppress(TypeError, ValueError):
        steps = json.loads(row["task_seconds"] or "{}")
    return {
        "run_id": row["run_id"], "date": _day(row["date"]).isoformat(), "status": row["status"],
        "started_at": _iso(started), "finished_at": _iso(finished),
        "seconds": round((finished - started).total_seconds(), 1) if started and finished else None,
        "steps": steps,
        **{k: row[k] for k in ("stores", "files_loaded", "rows_loaded", "rows_quarantined", "alerts", "message")},
        "recorded_in": label, "recorded_file": str(path) if path else None,
    }


def recorded_path(run: dict) -> Path | None:
    """The DuckDB file a run's record came from (None on PostgreSQL)."""
    return Path(run["recorded_file"]) if run["recorded_file"] else None


def query_dicts(wh: Warehouse, schema: str, table: str, sql: str, params: list) -> list[dict]:
    """Rows of `sql` as JSON-able dicts ([] when `schema.table` does not exist yet)."""
    if not wh.table_exists(schema, table):
        return []
    frame = wh.query_df(sql, params).astype(object)
    return [{k: _plain(v) for k, v in row.items()} for row in frame.where(frame.notna(), None).to_dict("records")]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if type(value).__name__ == "Decimal":
        return float(value)
    return value


def _day(value: Any) -> date | None:
    if value is None or isinstance(value, date) and not isinstance(value, datetime):
        return value
    return value.date() if isinstance(value, datetime) else date.fromisoformat(str(value)[:10])


def _iso(value: Any) -> str | None:
    return value.isoformat(sep=" ", timespec="seconds") if isinstance(value, datetime) else value


# -- text -----------------------------------------------------------------------------------------------------------
def render_text(status: dict) -> str:
    """The plain-text view `storekpi status` prints (no colours: it is read in logs and over ssh too)."""
    lines = [f"storekpi status — {status['warehouse']}"]
    progress = status["run_in_progress"]
    lines.append({True: "a run is in progress now", False: "no run in progress",
                  None: "run in progress: unknown"}[progress])
    if not status["runs"]:
        return "\n".join([*lines, "", "no runs recorded yet"])
    lines += ["", "last runs"]
    table = [("date", "status", "started (UTC)", "seconds", "files", "rows", "quarantined", "alerts", "run")]
    table += [(r["date"], r["status"], r["started_at"] or "", _num(r["seconds"]), _num(r["files_loaded"]),
               _num(r["rows_loaded"]), _num(r["rows_quarantined"]), _num(r["alerts"]), r["run_id"])
              for r in status["runs"]]
    lines += _table(table)
    last = status["last_run"]
    if last["steps"]:
        lines.append("  steps of the last run: " + ", ".join(f"{k} {v:.1f}s" for k, v in last["steps"].items()))
    if last.get("message"):
        lines.append(f"  message: {last['message']}")
    lines += ["", f"freshness for the last run's date {last['date']}"]
    lines += _table([("store", "dataset", "latest export", "covers D")] + [
        (f["store_id"], f["dataset"], f["last_export_date"] or "never", covers_word(f["covers_run_date"]))
        for f in status["freshness"]])
    lines += ["", f"quarantined rows of the last run: {sum(q['rows'] for q in status['quarantine'])}"]
    lines += _table([("reason", "rows")] + [(q["reason"], str(q["rows"])) for q in status["quarantine"]]) \
        if status["quarantine"] else []
    if last["status"] == "blocked":
        lines += ["", f"blocking reasons of the blocked run {last['run_id']} (nothing was published)"]
        lines += [f"  - {b['suite']}: {b['expectation']} on {b['table_name'] or '-'}"
                  f"{'.' + b['column_name'] if b['column_name'] else ''}: {b['unexpected_count']} unexpected"
                  for b in status["blocking"]] or ["  (see the message above)"]
    return "\n".join(lines)


def covers_word(value: bool | None) -> str:
    return "not expected daily" if value is None else "yes" if value else "NO"


def _num(value: Any) -> str:
    return "–" if value is None else f"{value:,}" if isinstance(value, int) else f"{value:,.1f}"


def _table(rows: list[tuple]) -> list[str]:
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    return ["  " + "  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]

"""The nightly run's steps, one function per DAG task, callable without Airflow, and `finish`, which decides the
run's status.

Each step takes the run's `RunSpec` and the results of the steps before it (`upstream`: step name → its result,
the tasks' XComs in Airflow), does its stage against the build warehouse (write-audit-publish, see `warehouse.py`)
and returns a small JSON-able dict. `run_step` adds the step's own seconds; a failing step's error is kept by the
caller (`step_error`) and handed to `finish`, which writes `audit.runs` for a blocked or failed run, abandons its
build and returns the run's summary. Nothing is kept in files beside the warehouse: the DAG run is the run's state.
Steps are idempotent, so an Airflow retry of any step is safe.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path

from storekpi import config as store_config
from storekpi import landing, warehouse
from storekpi.errors import BlockedError
from storekpi.runspec import RunSpec, public_summary

log = logging.getLogger(__name__)
Results = Mapping[str, "dict | None"]  # step name → its result (XCom); None for a step that did not succeed


def run_step(spec: RunSpec, name: str, upstream: Results | None = None) -> dict:
    """Run one step with the results of the steps before it; returns its result plus its own `seconds`."""
    started = time.perf_counter()
    log.info("step=%s status=started run=%s date=%s", name, spec.run_key, spec.date)
    result = STEPS_BY_NAME[name](spec, upstream or {})
    seconds = round(time.perf_counter() - started, 3)
    log.info("step=%s status=done run=%s seconds=%.2f", name, spec.run_key, seconds)
    return {**result, "seconds": seconds}


def step_error(name: str, exc: BaseException) -> dict:
    """What `finish` needs to know of a failed step (the DAG task pushes it as its `error` XCom)."""
    if isinstance(exc, BlockedError):
        return {"blocked": True, "message": str(exc)}
    return {"blocked": False, "message": f"{name} failed: {type(exc).__name__}: {exc}"}


def facts(spec: RunSpec, upstream: Results) -> dict:
    """The run's summary fields so far, from its steps' results."""
    found, loaded = upstream.get("discover") or {}, upstream.get("ingest") or {}
    return {
        "date": spec.date.isoformat(), "stores": found.get("stores", 0),
        "files_loaded": loaded.get("files_loaded", 0), "rows_loaded": loaded.get("rows_loaded", 0),
        "rows_quarantined": loaded.get("rows_quarantined", 0),
        "alerts": (upstream.get("publish") or {}).get("alerts", 0), "warehouse": spec.target.display,
        "report": (upstream.get("report") or {}).get("report"), "started_at": found.get("started_at"),
        "task_seconds": {step: result["seconds"] for step, result in upstream.items()
                         if isinstance(result, dict) and "seconds" in result},
    }


def _inputs(spec: RunSpec):
    config = store_config.load(spec.stores)
    return config, landing.discover(spec.landing, config, spec.date)


def discover(spec: RunSpec, upstream: Results | None = None) -> dict:
    """Validate the configuration and landing folder, then start a build from the published state."""
    started_at = _now()
    config, files = _inputs(spec)
    for store_id in landing.missing_store_folders(spec.landing, config):
        log.warning("store=%s has no landing folder (freshness warning)", store_id)
    for store in open_days(config, spec.date):
        log.warning("store=%s: its day %s has not closed yet (local midnight is still ahead): D's numbers "
                    "will be partial; rerun the date after it closes", store.id, spec.date)
    # Runs of one warehouse never overlap (CLI lock, max_active_runs=1): other build schemas are a killed run's.
    for schema in warehouse.drop_stale_builds(spec.target):
        log.warning("dropped the build schema %s a killed run left behind", schema)
    first_year = store_config.EARLIEST_DATE.year  # MM-DD promo days hold in every year data can cover
    with warehouse.open_build(spec.target, fresh=True) as wh:
        wh.ensure_schema()
        _write_store_config(wh, config, first_year, spec.date.year + 1)
    return {"stores": len(config.stores), "files": len(files), "started_at": started_at}


def open_days(config: store_config.StoreConfig, day, now: datetime | None = None) -> list:
    """Stores whose business day `day` has not ended yet in their own timezone."""
    now = now or datetime.now(timezone.utc)
    return [s for s in config.stores
            if now < datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=s.tz)]


def _write_store_config(wh: warehouse.Warehouse, config: store_config.StoreConfig, first_year: int,
                        last_year: int) -> None:
    """stores.yml → raw.stores, raw.store_thresholds, raw.monthly_targets and raw.promo_days: the one path
    thresholds, targets and promo days reach dbt by."""
    from datetime import date
    from statistics import NormalDist

    import pandas as pd

    from storekpi.schema import CONFIG, PHASE_START

    stores = pd.DataFrame([
        {"store_id": s.id, "name": s.name, "platform": s.platform, "timezone": s.timezone,
         "currency": s.currency, **s.thresholds, "service_level_z": s.service_level_z,
         "prices_include_tax": s.prices_include_tax, "cash_on_delivery": s.cash_on_delivery,
         "goal_daily_orders": s.goals.get("daily_orders")}
        for s in config.stores
    ])
    phases = []
    for s in config.stores:
        starts = [start or date.fromisoformat(PHASE_START) for start, _ in s.phases]
        for i, (_, values) in enumerate(s.phases):
            phases.append({"store_id": s.id, "valid_from": starts[i],
                           "valid_to": starts[i + 1] if i + 1 < len(starts) else None, **values,
                           "service_level_z": NormalDist().inv_cdf(values["service_level"])})
    phases = pd.DataFrame(phases, columns=list(CONFIG["store_thresholds"]))
    monthly = pd.DataFrame(
        [{"store_id": s.id, "month": date.fromisoformat(f"{month}-01"), "metric": metric, "target": target}
         for s in config.stores for month, metrics in sorted(s.monthly_targets.items())
         for metric, target in metrics.items()],
        columns=list(CONFIG["monthly_targets"]))
    heroes = pd.DataFrame([{"store_id": s.id, "sku": sku} for s in config.stores for sku in s.hero_skus],
                          columns=["store_id", "sku"])
    promo = pd.DataFrame(
        [{"store_id": s.id, "date": d} for s in config.stores for d in s.promo_dates(first_year, last_year)],
        columns=["store_id", "date"],
    )
    channels = pd.DataFrame(  # marketing.md: stores.yml `channels:`
        [{"store_id": s.id, "match_value": v, "channel": c} for s in config.stores for v, c in s.channels.items()],
        columns=["store_id", "match_value", "channel"])
    with wh.transaction():
        wh.execute("DELETE FROM raw.stores")
        wh.execute("DELETE FROM raw.promo_days")
        wh.execute("DELETE FROM raw.store_channels")
        wh.execute("DELETE FROM raw.hero_skus")
        wh.execute("DELETE FROM raw.store_thresholds")
        wh.execute("DELETE FROM raw.monthly_targets")
        wh.append("raw.stores", stores)
        wh.append("raw.store_thresholds", phases)
        wh.append("raw.monthly_targets", monthly)
        wh.append("raw.promo_days", promo)
        wh.append("raw.store_channels", channels)
        wh.append("raw.hero_skus", heroes)


def ingest(spec: RunSpec, upstream: Results | None = None) -> dict:
    """Load new and changed landing files into raw (bad rows to quarantine)."""
    from storekpi import ingest as ingest_stage
    from storekpi import pii

    config, files = _inputs(spec)
    with warehouse.open_build(spec.target) as wh:
        result = ingest_stage.ingest(wh, config, files, batch_id=spec.run_key, salt=pii.salt_for(spec.target))
    return {"files_loaded": result.files_loaded, "rows_loaded": result.rows_loaded,
            "rows_quarantined": result.rows_quarantined, "files_rejected": result.files_rejected}


def dbt_build(spec: RunSpec, upstream: Results | None = None) -> dict:
    """Build staging → intermediate → marts in the build warehouse."""
    from storekpi import dbt_runner

    wh = warehouse.open_build(spec.target)
    return dbt_runner.build(wh, spec.date, work_dir=spec.work_dir / "dbt")


def quality_gate(spec: RunSpec, upstream: Results | None = None) -> dict:
    """Validate the build; a blocking failure e-mails the data role and raises `BlockedError` (`finish` records
    the blocked run and discards its build)."""
    from storekpi import mailer, quality

    config = store_config.load(spec.stores)
    with warehouse.open_build(spec.target) as wh:
        result = quality.run_gates(wh, run_id=spec.run_key, run_date=spec.date, config=config,
                                   batch_id=spec.run_key)
    mailer.send(quality.notification(result, spec.date, config), outbox=spec.outbox)
    if not result.passed:
        reasons = "; ".join(check.message() for check in result.failures)
        raise BlockedError(f"blocked by {len(result.failures)} failed checks: {reasons}")
    return {"checks": len(result.results), "warnings": len(result.warnings)}


def publish(spec: RunSpec, upstream: Results | None = None) -> dict:
    """Swap the build in atomically, recording the run in audit.runs (from the earlier steps' results) in the
    same step."""
    run = facts(spec, upstream or {})
    with warehouse.open_build(spec.target) as wh:
        alerts = wh.query(f"select count(*) from {wh.marts_schema}.kpi_alerts where date = ?", [spec.date])[0][0]
    run["alerts"] = alerts
    warehouse.publish(spec.target, record=lambda wh: _record_run(wh, spec, run, "published"))
    return {"alerts": alerts}


def _record_run(wh: warehouse.Warehouse, spec: RunSpec, run: dict, status: str, message: str | None = None) -> None:
    """The run's row in audit.runs (replacing an earlier attempt's), from its facts (`facts`)."""
    import json

    wh.execute("DELETE FROM audit.runs WHERE run_id = ?", [spec.run_key])
    wh.execute(
        "INSERT INTO audit.runs (run_id, date, status, started_at, finished_at, stores, files_loaded, "
        "rows_loaded, rows_quarantined, alerts, task_seconds, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [spec.run_key, spec.date, status, run.get("started_at") or _now(), _now(), run.get("stores"),
         run.get("files_loaded"), run.get("rows_loaded"), run.get("rows_quarantined"), run.get("alerts"),
         json.dumps(run.get("task_seconds", {})), message],
    )


def _record_unpublished(spec: RunSpec, run: dict, status: str, message: str) -> None:
    """Keep a blocked or failed run in audit.runs where operators look: in place on PostgreSQL, in the build
    kept for inspection on DuckDB (the published file is never touched). Best effort: it must not hide the
    failure it records."""
    if not warehouse.has_build(spec.target):
        return
    try:
        with warehouse.open_build(spec.target) as wh, wh.transaction():
            _record_run(wh, spec, run, status, message)
    except Exception as exc:  # noqa: BLE001 - e.g. the run failed before the audit schema existed
        log.warning("could not record the %s run %s in audit.runs: %s", status, spec.run_key, exc)


def report(spec: RunSpec, upstream: Results | None = None) -> dict:
    """Write the night's HTML report and CSV extracts from the published marts."""
    from storekpi import report as report_stage

    config = store_config.load(spec.stores)
    summary = {"status": "published", **facts(spec, upstream or {})}
    with warehouse.open_published(spec.target) as wh:
        path = report_stage.write_report(wh, spec.date, config, spec.reports, summary)
    return {"report": str(path)}


def alerts(spec: RunSpec, upstream: Results | None = None) -> dict:
    """E-mail each recipient the alerts of date D they own (or write them to the outbox)."""
    from storekpi import alerts as alert_stage
    from storekpi import scorecards

    config = store_config.load(spec.stores)
    report_path = facts(spec, upstream or {})["report"]
    with warehouse.open_published(spec.target) as wh:
        sent = alert_stage.deliver(wh, spec.date, config, outbox=spec.outbox,
                                   report_path=Path(report_path) if report_path else None)
        # targets.md: Sundays and month ends also send each recipient the scorecards of the roles they hold
        scorecard_mails = scorecards.deliver(wh, spec.date, config, outbox=spec.outbox)
    return {"emails": sent, "scorecard_emails": scorecard_mails}


def finish(spec: RunSpec, results: Results, errors: Mapping[str, dict | None] | None = None,
           ended: str | None = None) -> dict:
    """Decide the run's status from its steps' results and errors, once every step has ended; returns its summary.

    published: every step succeeded. blocked: the quality gate blocked it. failed: anything else — then the build is
    abandoned (dropped; kept for inspection on DuckDB) and the run recorded in audit.runs beside it; a failure after
    publish (report or alerts) leaves the new marts published, and the run still counts as failed. `ended` explains
    a step that neither succeeded nor left an error (killed, or Airflow itself failed). Idempotent.
    """
    errors = errors or {}
    run = facts(spec, results)
    names = [step.__name__ for step in STEPS]
    pending = next((name for name in names if not results.get(name)), None)
    error = next((errors[name] for name in names if errors.get(name)), None)
    if pending is None:
        return _summary("published", run)
    if error is None:
        error = {"blocked": False, "message": ended or f"{pending} did not finish; see its task log"}
    if results.get("publish"):
        return _summary("failed", run, f"marts were published, then {error['message']}")
    status = "blocked" if error["blocked"] else "failed"
    _record_unpublished(spec, run, status, error["message"])
    kept = warehouse.discard(spec.target)
    note = f" (the {status} build is kept for inspection at {kept})" if kept else ""
    return _summary(status, run, error["message"] + note)


def unresolved(message: str) -> dict:
    """The summary of a run whose params name no valid landing folder, warehouse or date (a scheduled run's
    configuration error): failed, nothing recorded, since there is no warehouse to record it in."""
    return _summary("failed", {"task_seconds": {}}, message)


def _summary(status: str, run: dict, message: str | None = None) -> dict:
    """The spec's JSON summary, then the message and the steps' seconds for operators."""
    out = public_summary({**run, "status": status, "message": message})
    out["task_seconds"] = run["task_seconds"]
    return out


STEPS = (discover, ingest, dbt_build, quality_gate, publish, report, alerts)
STEPS_BY_NAME = {step.__name__: step for step in STEPS}


def _now() -> str:
    return datetime.now(timezone.utc).replace(tzinfo=None).isoformat(timespec="seconds")

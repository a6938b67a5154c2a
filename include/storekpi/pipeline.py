"""The nightly run's steps, one function per DAG task, callable without Airflow.

Each step takes the run's `RunSpec`, does its stage against the build warehouse (write-audit-publish, see
`warehouse.py`), records counts and its own duration in the run summary, and returns a small JSON-able dict (the
task's XCom). Steps are idempotent, so an Airflow retry of any step is safe.
"""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

from storekpi import config as store_config
from storekpi import landing, warehouse
from storekpi.errors import BlockedError
from storekpi.runspec import RunSpec, RunSummary

log = logging.getLogger(__name__)


@contextmanager
def _timed(spec: RunSpec, step: str):
    started = time.perf_counter()
    log.info("step=%s status=started run=%s date=%s", step, spec.run_key, spec.date)
    yield
    seconds = round(time.perf_counter() - started, 3)
    RunSummary(spec).update(task_seconds={step: seconds})
    log.info("step=%s status=done run=%s seconds=%.2f", step, spec.run_key, seconds)


def _inputs(spec: RunSpec):
    config = store_config.load(spec.stores)
    return config, landing.discover(spec.landing, config, spec.date)


def discover(spec: RunSpec) -> dict:
    """Validate the configuration and landing folder, then start a build from the published state."""
    with _timed(spec, "discover"):
        config, files = _inputs(spec)
        for store_id in landing.missing_store_folders(spec.landing, config):
            log.warning("store=%s has no landing folder (freshness warning)", store_id)
        for store in open_days(config, spec.date):
            log.warning("store=%s: its day %s has not closed yet (local midnight is still ahead): D's numbers "
                        "will be partial; rerun the date after it closes", store.id, spec.date)
        clean_up_killed_runs(spec)  # runs of one warehouse never overlap (CLI lock, max_active_runs=1)
        summary = RunSummary(spec)
        summary.update(status="running", stores=len(config.stores), started_at=_now(),
                       files_seen=len(files))
        first_year = store_config.EARLIEST_DATE.year  # MM-DD promo days hold in every year data can cover
        with warehouse.open_build(spec.target, spec.run_key, fresh=True) as wh:
            wh.ensure_schema()
            _write_store_config(wh, config, first_year, spec.date.year + 1)
        return {"stores": len(config.stores), "files": len(files)}


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


def ingest(spec: RunSpec) -> dict:
    """Load new and changed landing files into raw (bad rows to quarantine)."""
    from storekpi import ingest as ingest_stage
    from storekpi import pii

    with _timed(spec, "ingest"):
        config, files = _inputs(spec)
        with warehouse.open_build(spec.target, spec.run_key) as wh:
            result = ingest_stage.ingest(wh, config, files, batch_id=spec.run_key,
                                         salt=pii.salt_for(spec.target))
        RunSummary(spec).update(files_loaded=result.files_loaded, rows_loaded=result.rows_loaded,
                                rows_quarantined=result.rows_quarantined, files_rejected=result.files_rejected,
                                files_unchanged=result.files_unchanged)
        return {"files_loaded": result.files_loaded, "rows_loaded": result.rows_loaded,
                "rows_quarantined": result.rows_quarantined, "files_rejected": result.files_rejected}


def dbt_build(spec: RunSpec) -> dict:
    """Build staging → intermediate → marts in the build warehouse."""
    from storekpi import dbt_runner

    with _timed(spec, "dbt_build"):
        wh = warehouse.open_build(spec.target, spec.run_key)
        return dbt_runner.build(wh, spec.date, work_dir=spec.work_dir / "dbt")


def quality_gate(spec: RunSpec) -> dict:
    """Validate the build; a blocking failure discards it, e-mails the data role and raises `BlockedError`."""
    from storekpi import mailer, quality

    with _timed(spec, "quality_gate"):
        config = store_config.load(spec.stores)
        with warehouse.open_build(spec.target, spec.run_key) as wh:
            result = quality.run_gates(wh, run_id=spec.run_key, run_date=spec.date, config=config,
                                       batch_id=spec.run_key)
        mailer.send(quality.notification(result, spec.date, config), outbox=spec.outbox)
        if not result.passed:
            reasons = "; ".join(check.message() for check in result.failures)
            message = f"blocked by {len(result.failures)} failed checks: {reasons}"
            _record_unpublished(spec, "blocked", message)
            kept = warehouse.discard(spec.target, spec.run_key)
            if kept:
                message += f" (the blocked build is kept for inspection at {kept})"
            RunSummary(spec).update(status="blocked", message=message, finished_at=_now())
            raise BlockedError(message)
        return {"checks": len(result.results), "warnings": len(result.warnings)}


def publish(spec: RunSpec) -> dict:
    """Swap the build in atomically, recording the run in audit.runs in the same step."""
    with _timed(spec, "publish"):
        with warehouse.open_build(spec.target, spec.run_key) as wh:
            alerts = wh.query(f"select count(*) from {wh.marts_schema}.kpi_alerts where date = ?",
                              [spec.date])[0][0]
        RunSummary(spec).update(alerts=alerts)
        warehouse.publish(spec.target, spec.run_key, record=lambda wh: _record_run(wh, spec, "published"))
        RunSummary(spec).update(status="published")
        return {"alerts": alerts}


def _record_run(wh: warehouse.Warehouse, spec: RunSpec, status: str, message: str | None = None) -> None:
    """The run's row in audit.runs (replacing an earlier attempt's), from the run summary."""
    import json

    data = RunSummary(spec).read()
    wh.execute("DELETE FROM audit.runs WHERE run_id = ?", [spec.run_key])
    wh.execute(
        "INSERT INTO audit.runs (run_id, date, status, started_at, finished_at, stores, files_loaded, "
        "rows_loaded, rows_quarantined, alerts, task_seconds, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [spec.run_key, spec.date, status, data.get("started_at") or _now(), _now(), data.get("stores"),
         data.get("files_loaded"), data.get("rows_loaded"), data.get("rows_quarantined"), data.get("alerts"),
         json.dumps(data.get("task_seconds", {})), message],
    )


def _record_unpublished(spec: RunSpec, status: str, message: str) -> None:
    """Keep a blocked or failed run in audit.runs where operators look: in place on PostgreSQL, in the build
    kept for inspection on DuckDB (the published file is never touched). Best effort: it must not hide the
    failure it records."""
    if not warehouse.has_build(spec.target):
        return
    try:
        with warehouse.open_build(spec.target, spec.run_key) as wh, wh.transaction():
            _record_run(wh, spec, status, message)
    except Exception as exc:  # noqa: BLE001 - e.g. the run failed before the audit schema existed
        log.warning("could not record the %s run %s in audit.runs: %s", status, spec.run_key, exc)


def report(spec: RunSpec) -> dict:
    """Write the night's HTML report and CSV extracts from the published marts."""
    from storekpi import report as report_stage

    with _timed(spec, "report"):
        config = store_config.load(spec.stores)
        with warehouse.open_published(spec.target) as wh:
            path = report_stage.write_report(wh, spec.date, config, spec.reports, RunSummary(spec).read())
        RunSummary(spec).update(report=str(path))
        return {"report": str(path)}


def alerts(spec: RunSpec) -> dict:
    """E-mail each recipient the alerts of date D they own (or write them to the outbox)."""
    from storekpi import alerts as alert_stage
    from storekpi import scorecards

    with _timed(spec, "alerts"):
        config = store_config.load(spec.stores)
        report_path = RunSummary(spec).read().get("report")
        with warehouse.open_published(spec.target) as wh:
            sent = alert_stage.deliver(wh, spec.date, config, outbox=spec.outbox,
                                       report_path=Path(report_path) if report_path else None)
            # targets.md: Sundays and month ends also send each recipient the scorecards of the roles they hold
            scorecard_mails = scorecards.deliver(wh, spec.date, config, outbox=spec.outbox)
        RunSummary(spec).update(emails=sent, scorecard_emails=scorecard_mails, finished_at=_now(),
                                outbox=str(spec.outbox) if spec.outbox else None)
        return {"emails": sent, "scorecard_emails": scorecard_mails}


def record_error(spec: RunSpec, step: str, exc: BaseException) -> None:
    """Keep a failing step's error in the run summary (the last attempt's error wins)."""
    RunSummary(spec).update(error=f"{step} failed: {type(exc).__name__}: {exc}")


def abandon(spec: RunSpec, error: str | None = None) -> None:
    """After a failed run: drop the build (kept for inspection on DuckDB) and record the failure.

    A failure after publish (report or alerts) leaves the new marts published; the run still counts as failed.
    """
    summary = RunSummary(spec)
    data = summary.read()
    status = data.get("status")
    error = data.get("error") or error or "a task failed"
    if status == "blocked":
        return
    if status == "published":
        summary.update(status="failed", message=f"marts were published, then {error}", finished_at=_now())
        return
    _record_unpublished(spec, "failed", error)
    kept = warehouse.discard(spec.target, spec.run_key)
    message = error + (f" (the failed build is kept for inspection at {kept})" if kept else "")
    summary.update(status="failed", message=message, finished_at=_now())


def clean_up_killed_runs(spec: RunSpec) -> None:
    """At the start of a run: a run of this warehouse still `running` was killed, so its record is marked failed,
    and the build schemas killed runs left are dropped."""
    for path in sorted(RunSummary.folder().glob("*.json")):
        data = RunSummary.load(path)
        if (data.get("status") == "running" and data.get("warehouse") == spec.target.display
                and path.stem != spec.run_key):
            message = f"the run stopped before it finished (killed?); found by run {spec.run_key}"
            RunSummary.save(path, {**data, "status": "failed", "message": message, "finished_at": _now()})
            log.warning("run %s of %s was left running: marked failed", path.stem, spec.target.display)
    for schema in warehouse.drop_stale_builds(spec.target, spec.run_key):
        log.warning("dropped the build schema %s a killed run left behind", schema)


STEPS = (discover, ingest, dbt_build, quality_gate, publish, report, alerts)


def _now() -> str:
    return datetime.now(timezone.utc).replace(tzinfo=None).isoformat(timespec="seconds")

"""The quality-gate task: validate this run's build, record every result, decide whether it may publish."""

from __future__ import annotations

import logging
from datetime import date

from storekpi.config import StoreConfig
from storekpi.quality.results import GateResult, store_results
from storekpi.warehouse import Warehouse

log = logging.getLogger(__name__)


def run_gates(wh: Warehouse, *, run_id: str, run_date: date, config: StoreConfig, batch_id: str) -> GateResult:
    """Validate `wh.marts_schema` marts, raw and this batch's audit.files; write every result to audit.dq_results.

    Blocking failures make `GateResult.passed` false: the caller must not publish (exit 3). Warnings never block.
    """
    from storekpi.quality.gx_runner import evaluate
    from storekpi.quality.sql_checks import expand
    from storekpi.quality.suites import build_batches

    batches = expand(wh, build_batches(wh, run_date=run_date, config=config, batch_id=batch_id))
    result = GateResult(evaluate(batches))
    written = store_results(wh, run_id, result.results)
    for check in result.failures:
        log.error("quality gate, run %s for %s: %s", run_id, run_date, check.message())
    for check in result.warnings:
        log.warning("quality gate, run %s for %s: %s", run_id, run_date, check.message())
    log.info("quality gate, run %s for %s: %d expectations, %d blocking failures, %d warnings recorded in "
             "audit.dq_results", run_id, run_date, written, len(result.failures), len(result.warnings))
    return result

"""Run the batches through Great Expectations and turn its results into `CheckResult`s.

GX is imported here, inside the call, never at module import: it takes seconds and the DAG file must parse fast.
One ephemeral context per call validates every batch (GX cannot read DuckDB as a SQL source; frames can). Checks
on the marts arrive counted in SQL, each with a frame of its offending rows (`sql_checks`).
"""

from __future__ import annotations

import functools
import logging
import os
from typing import Any

from storekpi.quality.results import CheckResult, jsonable
from storekpi.quality.suites import Batch, Check

EXAMPLES = 5
# Observed values worth keeping from a GX result; the long lists of unexpected values are not.
KEPT_RESULT_KEYS = ("observed_value", "element_count", "unexpected_count", "unexpected_percent", "missing_count")


def evaluate(batches: list[Batch]) -> list[CheckResult]:
    """Validate every batch in one GX context; results come back in the order the checks were declared."""
    os.environ["GX_ANALYTICS_ENABLED"] = "false"
    gx_log = logging.getLogger("great_expectations")
    if gx_log.level == logging.NOTSET:  # GX logs its own set-up at INFO: keep task logs about the data
        gx_log.setLevel(logging.WARNING)
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_pandas("storekpi")
    results: list[CheckResult] = []
    for batch in batches:
        if batch.source:
            raise ValueError(f"table batch {batch.name} must be counted in SQL first (sql_checks.expand)")
        name = batch.name
        definition = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe(name)
        suite = context.suites.add(gx.ExpectationSuite(name=name))
        for index, check in enumerate(batch.checks):
            suite.add_expectation(gx_expectation(check, index))
        validation = context.validation_definitions.add(gx.ValidationDefinition(name=name, data=definition,
                                                                                suite=suite))
        outcome = validation.run(batch_parameters={"dataframe": batch.frame},
                                 result_format={"result_format": "SUMMARY", "partial_unexpected_count": EXAMPLES})
        by_index = {r.expectation_config.meta["check"]: r for r in outcome.results}
        results += [to_check_result(batch, check, by_index[i]) for i, check in enumerate(batch.checks)]
    return results


def gx_expectation(check: Check, index: int) -> Any:
    """The GX expectation object for a check, looked up by type in GX's registry (built-in or row-free)."""
    from great_expectations.expectations.registry import get_expectation_impl

    row_free_expectations()  # registers the named row-free expectations before the lookup
    expectation_class = get_expectation_impl(check.expectation)
    return expectation_class(**check.kwargs, description=check.description, meta={"check": index})


@functools.cache
def row_free_expectations() -> dict[str, type]:
    """Named expectations for query checks: the frame holds the offending rows, and there must be none.

    Subclasses of the built-in `ExpectTableRowCountToEqual`; GX derives the type name from the class name, so
    audit.dq_results says `expect_no_missing_dates` instead of an anonymous row count. Defined once per process
    because GX registers expectation classes globally.
    """
    import great_expectations.expectations as gxe

    class ExpectNoMissingDates(gxe.ExpectTableRowCountToEqual):
        """Rows are store-days missing from kpi_store_daily."""

        value: int = 0

    class ExpectOnHandToBeInteger(gxe.ExpectTableRowCountToEqual):
        """Rows are stock_cover rows whose on_hand is not a whole number."""

        value: int = 0

    class ExpectExportsToCoverRunDate(gxe.ExpectTableRowCountToEqual):
        """Rows are configured (store, dataset) pairs without a loaded export dated on or after D."""

        value: int = 0

    class ExpectNoMissingTrafficDays(gxe.ExpectTableRowCountToEqual):
        """Rows are store-days missing inside a store's range of traffic days."""

        value: int = 0

    class ExpectShopifyTotalToMatchSubtotalShippingTaxes(gxe.ExpectTableRowCountToEqual):
        """Rows are Shopify orders whose Total (tips aside) is neither Subtotal + Shipping + Taxes nor, tax-inclusive,
        Subtotal + Shipping within 0.01."""

        value: int = 0

    class ExpectShopifyPaidOrdersToHavePaidAt(gxe.ExpectTableRowCountToEqual):
        """Rows are Shopify orders counted as paid by their Financial Status, without a Paid at."""

        value: int = 0

    class ExpectStockSkusToBeUniquePerLocation(gxe.ExpectTableRowCountToEqual):
        """Rows are SKU-location pairs of a stock export listed on more than one row (summed)."""

        value: int = 0

    class ExpectStockRowsToHaveASku(gxe.ExpectTableRowCountToEqual):
        """Rows are stock export files with rows without SKU, and how many."""

        value: int = 0

    class ExpectOrderLinesToAgreeOnOrderFields(gxe.ExpectTableRowCountToEqual):
        """Rows are orders whose lines differed by less than a day in an order field (first line's value taken)."""

        value: int = 0

    class ExpectDiscountsToBeNonNegative(gxe.ExpectTableRowCountToEqual):
        """Rows are orders whose discounts (gross_sales - net_sales) are negative."""

        value: int = 0

    class ExpectTrafficSourcesToMapToAChannel(gxe.ExpectTableRowCountToEqual):
        """Rows are traffic sources that no channel rule maps (marketing.md): they count as `other`."""

        value: int = 0

    class ExpectHeroSkusToAppearInExports(gxe.ExpectTableRowCountToEqual):
        """Rows are configured hero SKUs that no export of their store names."""

        value: int = 0

    classes = (ExpectTrafficSourcesToMapToAChannel, ExpectNoMissingDates, ExpectOnHandToBeInteger,
               ExpectExportsToCoverRunDate, ExpectNoMissingTrafficDays,
               ExpectShopifyTotalToMatchSubtotalShippingTaxes, ExpectShopifyPaidOrdersToHavePaidAt,
               ExpectDiscountsToBeNonNegative, ExpectStockSkusToBeUniquePerLocation, ExpectStockRowsToHaveASku,
               ExpectOrderLinesToAgreeOnOrderFields, ExpectHeroSkusToAppearInExports)
    return {_snake(cls.__name__): cls for cls in classes}


def raised_message(exception_info: dict | None) -> str | None:
    """The message of an exception GX caught while validating, if any. GX 1.x keys `exception_info` by the metric
    that raised (one entry per metric); a flat `{raised_exception, exception_message}` is read as well."""
    info = exception_info or {}
    entries = [info] if "raised_exception" in info else [v for v in info.values() if isinstance(v, dict)]
    messages = [str(e.get("exception_message") or "exception without a message") for e in entries
                if e.get("raised_exception")]
    return "; ".join(dict.fromkeys(messages)) or None


def to_check_result(batch: Batch, check: Check, result: Any) -> CheckResult:
    raw = result.result or {}
    details: dict[str, Any] = {"description": check.description}
    details.update({k: jsonable(raw[k]) for k in KEPT_RESULT_KEYS if k in raw})
    if check.kwargs:
        details["kwargs"] = {k: jsonable(v) for k, v in check.kwargs.items()}
    error = raised_message(result.exception_info)
    if error:
        details["error"] = error
    if batch.counts is not None:  # counted in SQL (sql_checks): GX validated the offending rows only
        details.update(batch.counts.details())
        unexpected = batch.counts.unexpected
        element = batch.counts.element
        # every row of the frame is offending (or, for uniqueness, of a duplicated key), in the whole table's order
        rows = list(raw.get("partial_unexpected_index_list") or range(len(batch.frame)))[:EXAMPLES]
        if bool(result.success) != (unexpected == 0) and not details.get("error"):
            details["error"] = (f"SQL counted {unexpected} unexpected rows, GX found "
                                f"{raw.get('unexpected_count')} among the {len(batch.frame)} it was given")
    elif check.expectation in row_free_expectations():
        unexpected = len(batch.frame)
        element = batch.population
        rows = list(range(min(unexpected, EXAMPLES)))
    else:
        unexpected = raw.get("unexpected_count")
        element = raw.get("element_count")
        rows = list(raw.get("partial_unexpected_index_list") or [])[:EXAMPLES]
    details["examples"] = examples(batch, check, rows)
    return CheckResult(
        suite=batch.suite,
        expectation=check.expectation,
        table_name=check.table_name,
        column_name=check.column_name,
        blocking=check.blocking,
        success=bool(result.success) and not details.get("error"),
        unexpected_count=None if unexpected is None else int(unexpected),
        element_count=None if element is None else int(element),
        details=details,
    )


def examples(batch: Batch, check: Check, rows: list[Any]) -> list[dict]:
    """The offending rows as plain JSON values: the batch's keys and the columns the check reads."""
    if not rows or batch.frame.empty:
        return []
    wanted = list(dict.fromkeys(c for c in [*batch.keys, *check.columns] if c in batch.frame.columns))
    picked = batch.frame.loc[[r for r in rows if r in batch.frame.index], wanted]
    return [{k: jsonable(v) for k, v in record.items()} for record in picked.to_dict("records")]


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")

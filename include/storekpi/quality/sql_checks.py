"""Built-in GX column checks on a mart, evaluated in SQL so the gate's memory follows the failures, not the marts.

A table batch (`Batch.source`, a query of the rows to check) is never read into pandas. For each of its checks one
scan counts the rows, the rows GX would count missing (ignored) and the unexpected ones, with GX's own rules for
nulls; then only the first offending rows in key order (what a result keeps as examples) are fetched. Each check
becomes a batch of its own whose frame holds those rows and whose `counts` hold the SQL figures: GX validates the
offending rows with the same expectation, the result keeps SQL's counts (see `gx_runner.to_check_result`).
The SQL runs unchanged on DuckDB and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pandas as pd

from storekpi.quality.frames import read
from storekpi.quality.suites import Batch, Check, Counts
from storekpi.warehouse import Warehouse

EXAMPLES = 5  # offending rows fetched per check: the examples a result keeps (gx_runner.EXAMPLES)
COMPARISONS = {"expect_column_pair_values_a_to_be_greater_than_b": None,  # >= or >, by or_equal
               "expect_column_pair_values_to_be_equal": "="}
# Arguments of the checks the compiler knows; anything else (mostly, strict bounds, ...) must not pass silently.
KNOWN_KWARGS = {"column", "min_value", "max_value", "value_set", "column_A", "column_B", "or_equal",
                "ignore_row_if", "column_list"}


def expand(wh: Warehouse, batches: list[Batch]) -> list[Batch]:
    """Replace every table batch by one batch per check, holding its offending rows and SQL counts."""
    expanded: list[Batch] = []
    for batch in batches:
        expanded += evaluate_table(wh, batch) if batch.source else [batch]
    return expanded


def evaluate_table(wh: Warehouse, batch: Batch) -> list[Batch]:
    """One scan for every check's counts, then one small query per failing check for its first offending rows."""
    predicates = [predicate(check) for check in batch.checks]
    sums = []
    params: list[Any] = []
    for missing, unexpected, values in predicates:
        sums += [f"sum(case when {missing} then 1 else 0 end)", f"sum(case when {unexpected} then 1 else 0 end)"]
        params += values
    source = f"({batch.source}) as checked"
    totals = wh.query(f"select count(*), {', '.join(sums)} from {source}", params)[0]
    element = int(totals[0])
    result = []
    for index, (check, (missing, unexpected, values)) in enumerate(zip(batch.checks, predicates)):
        counts = Counts(element=element, missing=int(totals[1 + 2 * index] or 0))
        if check.expectation == "expect_compound_columns_to_be_unique":
            counts.unexpected = duplicated_rows(wh, source, check)
            rows = duplicate_examples(wh, batch, check) if counts.unexpected else None
        else:
            counts.unexpected = int(totals[2 + 2 * index] or 0)
            rows = offending(wh, batch, check, unexpected, values) if counts.unexpected else None
        frame = pd.DataFrame(columns=wanted(batch, check)) if rows is None else rows
        result.append(replace(batch, name=f"{batch.name}__{index}", frame=frame, checks=[check], source=None,
                              counts=counts))
    return result


def predicate(check: Check) -> tuple[str, str, list[Any]]:
    """(missing, unexpected, parameters) as SQL conditions on one row, with GX's handling of nulls: GX ignores
    missing rows (its missing_count) and counts unexpected only among the others."""
    kwargs = check.kwargs
    unknown = set(kwargs) - KNOWN_KWARGS
    if unknown:
        raise ValueError(f"{check.expectation}: no SQL for the arguments {sorted(unknown)}")
    kind = check.expectation
    if kind == "expect_column_values_to_be_between":
        column = quoted(kwargs["column"])
        bounds, values = [], []
        if kwargs.get("min_value") is not None:
            bounds.append(f"{column} < ?")
            values.append(kwargs["min_value"])
        if kwargs.get("max_value") is not None:
            bounds.append(f"{column} > ?")
            values.append(kwargs["max_value"])
        return f"{column} is null", f"({column} is not null and ({' or '.join(bounds) or 'false'}))", values
    if kind == "expect_column_values_to_be_in_set":
        column = quoted(kwargs["column"])
        members = list(kwargs["value_set"])
        marks = ", ".join("?" for _ in members)
        return f"{column} is null", f"({column} is not null and {column} not in ({marks}))", members
    if kind in COMPARISONS:
        a, b = quoted(kwargs["column_A"]), quoted(kwargs["column_B"])
        operator = COMPARISONS[kind] or (">=" if kwargs.get("or_equal") else ">")
        ignore = kwargs.get("ignore_row_if", "both_values_are_missing")
        missing = {"both_values_are_missing": f"({a} is null and {b} is null)",
                   "either_value_is_missing": f"({a} is null or {b} is null)", "neither": "false"}[ignore]
        # a comparison with one null side is unexpected unless the row is ignored (GX compares NaN as False)
        return missing, f"(not {missing} and not coalesce({a} {operator} {b}, false))", []
    if kind == "expect_compound_columns_to_be_unique":
        return all_missing(check), "false", []  # unexpected rows: duplicated_rows
    raise ValueError(f"no SQL for {kind}")


def duplicated_rows(wh: Warehouse, source: str, check: Check) -> int:
    """Rows whose column_list values appear on more than one row (GX counts every copy), all-null rows ignored."""
    columns = ", ".join(quoted(c) for c in check.kwargs["column_list"])
    rows = wh.query(f"select coalesce(sum(copies), 0) from (select count(*) as copies from {source} "
                    f"where not {all_missing(check)} group by {columns} having count(*) > 1) as duplicated")
    return int(rows[0][0])


def duplicate_examples(wh: Warehouse, batch: Batch, check: Check):
    """Every row of the first duplicated keys: GX, seeing only them, flags each one as a duplicate."""
    names = check.kwargs["column_list"]
    columns = ", ".join(quoted(c) for c in names)
    same = " and ".join(f"c.{quoted(c)} is not distinct from d.{quoted(c)}" for c in names)
    return read(wh, f"""
with checked as ({batch.source}),
duplicated as (
  select {columns} from checked where not {all_missing(check)} group by {columns} having count(*) > 1
  order by {columns} limit {EXAMPLES}
)
select {', '.join(f'c.{quoted(c)}' for c in wanted(batch, check))}
from checked as c
inner join duplicated as d on {same}
order by {', '.join(f'c.{quoted(k)}' for k in batch.keys)}""")


def offending(wh: Warehouse, batch: Batch, check: Check, unexpected: str, values: list[Any]):
    """The first offending rows in the batch's key order, as the whole frame's order put them before."""
    columns = ", ".join(quoted(c) for c in wanted(batch, check))
    order = ", ".join(quoted(k) for k in batch.keys)
    return read(wh, f"select {columns} from ({batch.source}) as checked where {unexpected} order by {order} "
                    f"limit {EXAMPLES}", values)


def wanted(batch: Batch, check: Check) -> list[str]:
    """The columns GX needs for the check and the examples show: the batch's keys, then the check's columns."""
    return list(dict.fromkeys([*batch.keys, *check.columns]))


def all_missing(check: Check) -> str:
    return "(" + " and ".join(f"{quoted(c)} is null" for c in check.kwargs["column_list"]) + ")"


def quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'

"""Checks counted in SQL (sql_checks) give the results GX gives on the whole frame: same success, counts, percent,
missing rows and example rows, with nulls, duplicates and more offending rows than a result keeps."""

from __future__ import annotations

import pandas as pd
import pytest

from storekpi.quality.gx_runner import evaluate
from storekpi.quality.sql_checks import expand
from storekpi.quality.suites import Batch, Check, a_at_least_b, between, table, unique
from storekpi.warehouse import Target, Warehouse

NAN = float("nan")
# 14 rows in key order; x and y hold nulls and one sign error after another; keys a, b, c, d, g twice, e three times
# (more duplicated keys than a result keeps examples of).
ROWS = pd.DataFrame({
    "k": ["a", "a", "b", "b", "c", "c", "d", "d", "e", "e", "e", "f", "g", "g"],
    "j": ["1"] * 14,
    "x": [1.0, NAN, -1.0, 2.0, NAN, -3.0, -4.0, -5.0, -6.0, 0.5, 7.0, NAN, 0.0, -2.0],
    "y": [0.0, 1.0, NAN, 5.0, NAN, 0.0, -4.0, 1.0, NAN, 0.5, 8.0, 2.0, NAN, -1.0],
    "s": ["loaded", None, "rejected", "loaded", "x", "loaded", "y", "z", "w", "loaded", "v", None, "u", "loaded"],
})
CHECKS = [
    between("x", "t", True, "x >= 0", min_value=0),
    between("x", "t", True, "x within [0, 1]", min_value=0, max_value=1),
    between("y", "t", True, "y <= 1", max_value=1),
    a_at_least_b("x", "y", "t", True, "x >= y"),
    a_at_least_b("x", "y", "t", True, "x >= y where both known", ignore_row_if="either_value_is_missing"),
    Check("expect_column_pair_values_a_to_be_greater_than_b", {"column_A": "x", "column_B": "y", "or_equal": False},
          "t", "x, y", True, "x > y"),
    Check("expect_column_pair_values_to_be_equal", {"column_A": "x", "column_B": "y"}, "t", "x", True, "x = y"),
    unique(["k", "j"], "t", "one row per k and j"),
    Check("expect_column_values_to_be_in_set", {"column": "s", "value_set": ["loaded"]}, "t", "s", True,
          "loaded only", ("x",)),
]


@pytest.fixture
def wh(tmp_path):
    path = tmp_path / "w.duckdb"
    with Warehouse(Target(str(path)), path=path) as handle:
        handle.execute("create table t (k varchar, j varchar, x double, y double, s varchar)")
        yield handle


def _load(wh, frame):
    wh.append("t", frame.astype(object).where(frame.notna(), None))


def _fields(result):
    return (result.suite, result.expectation, result.column_name, result.blocking, result.success,
            result.unexpected_count, result.element_count, result.details)


@pytest.mark.parametrize("rows", [slice(None), slice(0, 0), slice(0, 1)], ids=["offending", "empty", "clean"])
def test_sql_counts_and_examples_equal_gx_on_the_whole_frame(wh, rows):
    frame = ROWS.iloc[rows].reset_index(drop=True)
    _load(wh, frame)
    whole = evaluate([Batch("s", "whole", frame, ["k", "j"], CHECKS)])
    counted = evaluate(expand(wh, [table("s", "t", "select k, j, x, y, s from t", ["k", "j"], CHECKS)]))
    assert [_fields(r) for r in counted] == [_fields(r) for r in whole]
    if rows == slice(None):  # the scenario breaks every check, some on more rows than a result keeps
        assert not any(r.success for r in counted)
        assert max(r.unexpected_count for r in counted) > 5
        assert all(len(r.examples) == min(r.unexpected_count, 5) for r in counted)


def test_gx_still_judges_the_rows_sql_picked(wh, monkeypatch):
    """A SQL predicate that disagrees with GX fails closed with an error, instead of passing GX's verdict on."""
    from storekpi.quality import sql_checks

    _load(wh, ROWS)
    monkeypatch.setattr(sql_checks, "predicate", lambda check: ("false", '"x" >= 0', []))
    [result] = evaluate(expand(wh, [table("s", "t", "select k, j, x from t", ["k"], [CHECKS[0]])]))
    assert not result.success and "GX found 0" in result.details["error"]


def test_an_exception_inside_gx_fails_the_check_and_says_why():
    """GX catches what a metric raises and keys it by metric: the result must fail and carry the message."""
    [result] = evaluate([Batch("s", "missing", ROWS[["k", "x"]], ["k"], [CHECKS[2]])])  # column y is absent
    assert not result.success
    assert 'The column "y" in BatchData does not exist' in result.details["error"]

"""Tables as comparable frames: the same values whatever the backend, floats compared to 1e-12 (a float sum
depends on the order rows are added in, which neither backend fixes)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def normalised(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Same shape whatever the backend: text for dates, money and strings; float64 for numbers."""
    frame = frame.sort_values(keys).reset_index(drop=True)
    out = {}
    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_bool_dtype(values) or pd.api.types.is_datetime64_any_dtype(values):
            out[column] = values.astype(str)
        elif pd.api.types.is_numeric_dtype(values):
            out[column] = values.astype("float64")
        else:
            out[column] = values.map(lambda v: None if v is None or v is pd.NA else str(v)).astype(object)
    return pd.DataFrame(out)


def fetch(wh, schema: str, mart: str) -> pd.DataFrame:
    columns = [r[0] for r in wh.query(
        "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
        "order by ordinal_position", [schema, mart])]
    # dates, booleans and decimals as text so both drivers hand back the same Python values
    select = []
    types = dict(wh.query("select column_name, data_type from information_schema.columns "
                          "where table_schema = ? and table_name = ?", [schema, mart]))
    for column in columns:
        kind = types[column].lower()
        if kind.startswith(("date", "numeric", "decimal", "boolean")):
            select.append(f'cast("{column}" as varchar) as "{column}"')
        else:
            select.append(f'"{column}"')
    return wh.query_df(f"select {', '.join(select)} from {schema}.{mart}")


def assert_same_rows(left: pd.DataFrame, right: pd.DataFrame, what: str) -> None:
    """Same columns and rows (both normalised and sorted the same way); floats equal to 1e-12."""
    assert list(left.columns) == list(right.columns), what
    assert len(left) == len(right), what
    for column in left.columns:
        a, b = left[column], right[column]
        if a.dtype == "float64":
            assert np.allclose(a.to_numpy(), b.astype("float64").to_numpy(), rtol=1e-12, atol=1e-12,
                               equal_nan=True), (what, column)
        else:
            assert a.tolist() == b.tolist(), (what, column)

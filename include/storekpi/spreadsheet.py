"""CSV cells a spreadsheet program would run as a formula, neutralised (OWASP "CSV injection").

A text cell beginning with `=`, `+`, `-`, `@`, tab or carriage return gets a leading `'`, which spreadsheet
programs show as text and do not evaluate. Numbers are left alone: a numeric column is never touched, and neither
is a text cell that is just a number (`-5`, `+1.50`), which a spreadsheet reads as that number anyway.
"""

from __future__ import annotations

import re

import pandas as pd

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def neutralised(value: object) -> object:
    """`value` as safe to open in a spreadsheet."""
    if isinstance(value, str) and value.startswith(TRIGGERS) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def neutralised_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` whose text columns are neutralised; numeric and date columns stay as they are."""
    text = [c for c in frame.columns if frame[c].dtype == object or pd.api.types.is_string_dtype(frame[c])]
    if not text:
        return frame
    out = frame.copy()
    for column in text:
        out[column] = out[column].map(neutralised)
    return out

"""Cell parsers as DuckDB macros: every file is typed in one vectorised SQL pass, never row by row in Python.

Cells are cleaned first (`sk_clean`: `="…"` unwrapped, trimmed, empty -> NULL). Each parser returns NULL when the
text cannot be read, so "text present, value NULL" is exactly `unparseable`. Plain values take a cheap cast; regular
expressions run only on what the cast refuses (currency signs, separators, offsets).

The macros are temporary: they live as long as the connection that `install` was given (the warehouse's own, during
ingest), and are never written into the warehouse file.
"""

from __future__ import annotations

_SIGNS = r"[￥¥$€£元\s]"
_NUMBER = r"[+-]?(\d{1,3}(,\d{3})+|\d*)(\.\d+)?"  # thousands separators only in groups of three
_GROUPED = r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?"  # a plain number with thousands separators, nothing else
# what a number DuckDB's cast reads can start with: a digit, '+', '-', '.', or white space
_PLAIN_START = "ascii({0}) between 48 and 57 or ascii({0}) in (43, 45, 46, 32) or ascii({0}) between 9 and 13"
_OFFSET = r"(Z|UTC|GMT|[+-]\d\d(?::?\d\d)?)$"
# trimmed around every cell: whitespace, Taobao's trailing tab, CR/LF, no-break and ideographic space
TRIMMED = " \t\r\n\u00a0\u3000"
# The largest values the warehouse takes (docs/decisions.md "Hostile input"): beyond them a cell is unparseable,
# so no dbt model can overflow on a typo. Money is DECIMAL(18, 2): a line's quantity times its price stays below
# its limit of 10^16.
MAX_AMOUNT = 10 ** 10  # amounts are less than ten billion in the shop's currency
MAX_QUANTITY = 10 ** 6  # units on one order line
MAX_WHOLE = 2 ** 31 - 1  # counts and stock levels: INTEGER
# d/m/yyyy or m/d/yyyy (a spreadsheet's re-save): group 1 is the day when any value of the file has it above 12
SHORT_DATE = r"^\s*(\d{1,2})[/.](\d{1,2})[/.](\d{4})"

MACROS = (
    # Excel-safe ="…" unwrapped (a cheap test first: the regular expression is for the few cells that need it)
    f"""create or replace macro sk_clean(s) as
        nullif(trim(case when contains(s, '="') then regexp_replace(s, '^\\s*="(.*)"\\s*$', '\\1') else s end,
                    '{TRIMMED}'), '')""",
    # the same for a file known to hold none of those characters (`reading.SourceRows.simple_cells`); trim only
    # the cells that need it (trim copies every string)
    """create or replace macro sk_clean_plain(s) as
        nullif(case when s like ' %' or s like '% ' then trim(s) else s end, '')""",
    # `list_transform([x], lambda v: …)[1]` names a value used twice: a macro argument is pasted in wherever it is
    # used, and the planner pays for every copy (small files are dominated by planning time).
    f"""create or replace macro sk_number_slow(s) as
        list_transform([regexp_replace(s, '{_SIGNS}', '', 'g')], lambda c:
            case when regexp_full_match(c, '{_NUMBER}') then try_cast(replace(c, ',', '') as decimal(18, 6)) end)[1]""",
    # fast path: a plain number; regular expressions only for currency signs and thousands separators
    # CASE, not COALESCE, in front of slow paths: DuckDB evaluates every COALESCE argument on every row.
    # 64-bit decimals: 128-bit ones are several times slower.
    "create or replace macro sk_fast(v, slow) as case when v is not null then v else slow end",
    "create or replace macro sk_number(s) as sk_fast(try_cast(s as decimal(18, 6)), sk_number_slow(s))",
    """create or replace macro sk_amount(s) as
        sk_fast(try_cast(s as decimal(18, 2)), try_cast(sk_number_slow(s) as decimal(18, 2)))""",
    "create or replace macro sk_whole(n) as case when n = trunc(n) then try_cast(n as bigint) end",
    "create or replace macro sk_count(s) as sk_whole(sk_number(s))",
    # The same values for columns whose numbers carry thousands separators or currency signs ('1,234.56',
    # '$800.00'): a cast that fails costs DuckDB more than a regular expression, so these cells are told apart
    # before any cast. `messy_columns` picks these macros per column; on plain numbers they cost twice the plain
    # ones, on messy ones a third, and both give the same value for every cell (tests/ingest check it).
    f"""create or replace macro sk_grouped(s) as
        case when regexp_full_match(s, '{_GROUPED}') then try_cast(replace(s, ',', '') as decimal(18, 6))
             else sk_number_slow(s) end""",
    f"""create or replace macro sk_number_messy(s) as
        case when contains(s, ',') then sk_grouped(s) when {_PLAIN_START.format('s')} then sk_number(s)
             else sk_number_slow(s) end""",
    f"""create or replace macro sk_amount_messy(s) as
        case when contains(s, ',') then try_cast(sk_grouped(s) as decimal(18, 2))
             when {_PLAIN_START.format('s')} then sk_amount(s)
             else try_cast(sk_number_slow(s) as decimal(18, 2)) end""",
    "create or replace macro sk_count_messy(s) as sk_whole(sk_number_messy(s))",
    # dates: 20261120 and 2026/11/20 become 2026-11-20
    r"""create or replace macro sk_ts_text(s) as
        regexp_replace(regexp_replace(s, '^(\d{4})(\d{2})(\d{2})(\s|T|$)', '\1-\2-\3\4'),
                       '^(\d{4})/(\d{1,2})/(\d{1,2})', '\1-\2-\3')""",
    f"""create or replace macro sk_ts_offset(t) as
        regexp_extract(t, '\\d:\\d\\d(?::\\d\\d(?:\\.\\d+)?)?\\s*{_OFFSET}', 1)""",
    # '+0800' / '+08' / 'Z' -> '+08:00' / '+00:00', the forms DuckDB's TIMESTAMPTZ cast reads
    """create or replace macro sk_offset_iso(o) as
        case when o in ('Z', 'UTC', 'GMT') then '+00:00'
             when length(replace(o, ':', '')) = 3 then o || ':00'
             else left(o, 3) || ':' || right(replace(o, ':', ''), 2) end""",
    # with an offset: converted to the store's zone; without: already store-local. Result: naive local time.
    f"""create or replace macro sk_ts_slow(s, tz) as
        list_transform([sk_ts_text(s)], lambda t: list_transform([sk_ts_offset(t)], lambda o:
            case when o <> '' then timezone(tz, try_cast(regexp_replace(t, '\\s*{_OFFSET}', '') || sk_offset_iso(o)
                                                         as timestamptz))
                 else try_cast(t as timestamp) end)[1])[1]""",
    # fast paths first: no offset possible (no '+', no third '-', no Z/UTC/GMT), then Shopify's own format
    """create or replace macro sk_ts(s, tz) as
        case when not contains(s, '+') and s not like '%-%-%-%' and not contains(s, 'Z') and not contains(s, 'z')
                  and not contains(s, 'UTC') and not contains(s, 'GMT')
             then sk_fast(try_cast(s as timestamp), try_cast(sk_ts_text(s) as timestamp))
             when try_strptime(s, '%Y-%m-%d %H:%M:%S %z') is not null
             then timezone(tz, try_strptime(s, '%Y-%m-%d %H:%M:%S %z'))
             else sk_ts_slow(s, tz) end""",
    """create or replace macro sk_date(s) as
        sk_fast(try_cast(s as date), coalesce(cast(try_cast(sk_ts_text(s) as timestamp) as date),
                                              cast(try_strptime(s, '%b %d, %Y') as date)))""",
    """create or replace macro sk_rating_word(s) as
        case s when '好评' then 5 when '中评' then 3 when '差评' then 1 else sk_whole(sk_number(s)) end""",
    # e-mail addresses never leave ingest, even inside a value that landed in the wrong column
    r"""create or replace macro sk_mask(s) as
        regexp_replace(s, '[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+', '<e-mail>', 'g')""",
)


NOT_STOCKED = "not stocked"  # Shopify inventory: the SKU is not carried at that location


def install(con) -> None:
    """Define the parsers on a DuckDB connection, as temporary macros."""
    con.execute(";\n".join(statement.replace("create or replace macro", "create or replace temp macro", 1)
                           for statement in MACROS))  # one call: the statements are planned one by one anyway


def literal(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def short_dates(column: str, day_first: bool) -> str:
    """A column's d/m/yyyy (or m/d/yyyy) dates rewritten as yyyy-mm-dd, the rest of the text kept."""
    order = r"\3-\2-\1" if day_first else r"\3-\1-\2"
    return f"regexp_replace({column}, '{SHORT_DATE}', '{order}')"


NUMERIC = ("amount", "count", "quantity", "stock_level")  # kinds with a `_messy` variant of their parser


def messy_test(column: str) -> str:
    """SQL true for a raw cell that the `_messy` parsers read faster: a thousands separator, or a first character
    that no plain number starts with (a currency sign)."""
    return f"(contains({column}, ',') or not ({_PLAIN_START.format(column)}))"


def typed_expr(kind: str, column: str, timezone: str, day_first: bool | None = None, messy: bool = False) -> str:
    """SQL giving the typed value of a cleaned text column; `day_first` (None: the file has no d/m/yyyy dates)
    says how its short dates read; `messy` picks the parsers for numbers written with separators or signs (the
    same values, faster on such cells)."""
    if day_first is not None and kind in ("timestamp", "date"):
        column = short_dates(column, day_first)
    number = "sk_number_messy" if messy else "sk_number"
    return {
        "text": column,
        "currency": f"upper({column})",
        "amount": f"{'sk_amount_messy' if messy else 'sk_amount'}({column})",
        "count": f"{'sk_count_messy' if messy else 'sk_count'}({column})",
        "quantity": f"{number}({column})",  # checked for whole/non-negative, then cast
        "stock_level": f"case when lower({column}) = {literal(NOT_STOCKED)} then null else {number}({column}) end",
        "timestamp": f"sk_ts({column}, {literal(timezone)})",
        "date": f"sk_date({column})",
        "rating": f"sk_number({column})",
        "rating_word": f"sk_rating_word({column})",
    }[kind]


NOUN = {  # "cannot parse 'x' as <noun>"
    "amount": "an amount", "count": "a whole number", "quantity": "a quantity",
    "stock_level": "a stock level", "timestamp": "a timestamp",
    "date": "a date", "rating": "a rating", "rating_word": "a rating (好评, 中评 or 差评)",
}

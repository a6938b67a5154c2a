"""Personal data: customers become `customer_key`, everything else personal is never read into the warehouse.

customer_key = hex SHA-256 of `salt + ":" + normalised identifier`, the identifier being the Shopify e-mail, the
Taobao buyer nickname (买家会员名) or the generic customer_id; normalised = surrounding whitespace trimmed and
lower-cased (e-mail addresses are case-insensitive in practice, and a nickname differing only by case is taken for
the same buyer). An empty identifier gives NULL: an anonymous one-off customer.

The salt makes keys useless outside this warehouse (an unsalted hash of an e-mail is reversible by guessing). It
must stay the same for the warehouse's life, or returning customers look new:
- `STOREKPI_PII_SALT` when set (every backend);
- DuckDB: else a random salt in `<warehouse file>.salt` beside the published file, created on first use (mode 0600);
- PostgreSQL: else a random salt stored in table `audit.settings` (key 'pii_salt'), created on first use: the
  database is the only place every worker and scheduler of a Postgres deployment shares.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from typing import Any

from storekpi.warehouse import Target, stored_salt

log = logging.getLogger(__name__)

SALT_ENV = "STOREKPI_PII_SALT"
_TRIM = "' ' || chr(9) || chr(13) || chr(10) || chr(160) || chr(12288)"


def salt_for(target: Target) -> str:
    salt = os.environ.get(SALT_ENV)
    if salt:
        return salt
    return stored_salt(target)


def normalised_sql(column: str) -> str:
    """SQL normalising an identifier column (NULL when empty)."""
    return f"nullif(lower(trim({column}, {_TRIM})), '')"


def customer_key_sql(column: str, salt: str) -> str:
    """SQL computing customer_key from an identifier column, inside DuckDB (vectorised)."""
    salt_literal = "'" + salt.replace("'", "''") + "'"
    return f"sha256({salt_literal} || ':' || {normalised_sql(column)})"


def customer_key(values: Iterable[Any], salt: str) -> list[str | None]:
    """customer_key for each identifier (None for empty ones); hashed once per distinct value, in DuckDB."""
    import duckdb
    import pyarrow as pa

    column = values if isinstance(values, (pa.Array, pa.ChunkedArray)) else pa.array(
        [None if v is None else str(v) for v in values], pa.string())
    table = pa.table({"identifier": column, "position": pa.array(range(len(column)), pa.int64())})
    with duckdb.connect() as con:
        con.register("identifiers", table)
        rows = con.execute(f"""
            with keys as (
                select identifier, {customer_key_sql('identifier', salt)} as customer_key
                from (select distinct identifier from identifiers)
            )
            select keys.customer_key
            from identifiers
            left join keys on keys.identifier is not distinct from identifiers.identifier
            order by position
        """).fetchall()
    return [row[0] for row in rows]

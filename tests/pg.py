"""A throwaway PostgreSQL database on the machine's server (127.0.0.1:5432, trust auth)."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

import pytest

SERVER = os.environ.get("STOREKPI_TEST_PG", "postgresql://postgres@127.0.0.1:5432")


def server_available() -> str | None:
    """None when the server answers, else the reason it does not."""
    try:
        import psycopg2

        psycopg2.connect(f"{SERVER}/postgres", connect_timeout=3).close()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means: no server to test against
        return f"PostgreSQL at {SERVER} is not reachable: {exc}".strip()


@contextlib.contextmanager
def temp_database(prefix: str = "storekpi_test", *, icu_locale: str | None = None) -> Iterator[str]:
    """Create a fresh database, yield its URL, drop it afterwards. `icu_locale` ('en-US') gives it that language
    collation, as a server initialised with the postgres image's en_US.utf8 default has."""
    import psycopg2

    reason = server_available()
    if reason:
        pytest.skip(reason)
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(f"{SERVER}/postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        locale = f" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE '{icu_locale}'" if icu_locale else ""
        cur.execute(f'CREATE DATABASE "{name}"{locale}')
    try:
        yield f"{SERVER}/{name}"
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()

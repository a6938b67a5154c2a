"""One demo landing folder per test session: 45 days at default volumes, so it spans two months and 11-11."""

from __future__ import annotations

from pathlib import Path

import pytest

from storekpi.generate import generate

DAYS = 45


@pytest.fixture(scope="session")
def generated(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("landing")
    return out, generate(out, stores=3, days=DAYS, seed=7)


@pytest.fixture(scope="session")
def landing(generated) -> Path:
    return generated[0]


@pytest.fixture(scope="session")
def summary(generated) -> dict:
    return generated[1]

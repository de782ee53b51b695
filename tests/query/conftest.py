"""Fixtures of the query tests: a seeded bank graph on each backend (see `seed.py`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from query.seed import BankGraph, seed_url


@pytest.fixture
def bank(database_url: str) -> BankGraph:
    return seed_url(database_url)


@pytest.fixture
def qs(bank: BankGraph, session_factory: sessionmaker[Session]) -> Iterator[Session]:
    """A read session over the seeded graph."""
    with session_factory() as s:
        yield s

"""Helpers shared by the store modules: bounded IN-lists, Core tables, row counts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar, cast

from sqlalchemy import (
    Table,
)
from sqlalchemy.orm import Session

from finlineage.store.models import (
    Base,
)

CHUNK = 500
"""Max bound parameters per IN-list (SQLite's limit is 32766 variables; keep statements small)."""

T = TypeVar("T")


def _chunks(items: Sequence[T], size: int = CHUNK) -> Iterable[Sequence[T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _table(model: type[Base]) -> Table:
    return cast(Table, model.__table__)


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def is_sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"

"""Several processes migrating one fresh database at once (workers starting together) all succeed."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from finlineage.store import db


def _migrate(url: str) -> None:
    db.migrate(url)


def _migrate_concurrently(url: str, processes: int = 4) -> list[int | None]:
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_migrate, args=(url,)) for _ in range(processes)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=120)
    return [proc.exitcode for proc in procs]


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_concurrent_sqlite_migrations(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    assert _migrate_concurrently(url) == [0, 0, 0, 0]
    assert {"objects", "column_edges", "activity_events"} <= _tables(url)
    assert db.current_revision(url) is not None


@pytest.mark.postgres
def test_concurrent_postgres_migrations(pg_empty_database: str) -> None:
    assert _migrate_concurrently(pg_empty_database) == [0, 0, 0, 0]
    assert {"objects", "column_edges", "activity_events"} <= _tables(pg_empty_database)

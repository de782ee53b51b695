from __future__ import annotations

import pytest
from sqlalchemy import inspect

from finlineage.store import db


def _tables(url: str) -> set[str]:
    eng = db.create_engine_for(url)
    try:
        return set(inspect(eng).get_table_names())
    finally:
        eng.dispose()


def _head(url: str) -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(db._alembic_config(url)).get_current_head()
    assert head is not None
    return head


def test_downgrade_to_base_and_upgrade_again(database_url):
    head = _head(database_url)
    assert head != "0001"  # later revisions exist and are applied
    assert {"objects", "column_edges", "table_edges", "api_keys"} <= _tables(database_url)
    assert db.current_revision(database_url) == head
    db.downgrade(database_url, "base")
    assert _tables(database_url) <= {"alembic_version"}
    assert db.current_revision(database_url) is None
    db.migrate(database_url)
    assert {"objects", "columns", "column_edges", "code_chunks", "stats_snapshots"} <= _tables(database_url)
    assert db.current_revision(database_url) == head
    db.migrate(database_url)  # idempotent


def test_fresh_sqlite_file_pragmas(tmp_path):
    url = f"sqlite:///{tmp_path / 'sub' / 'x.db'}"
    db.migrate(url)
    eng = db.create_engine_for(url)
    try:
        with eng.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1
    finally:
        eng.dispose()


@pytest.mark.postgres
def test_fresh_postgres_database_gets_extensions(pg_empty_database):
    db.migrate(pg_empty_database)
    eng = db.create_engine_for(pg_empty_database)
    try:
        with eng.connect() as conn:
            exts = {r[0] for r in conn.exec_driver_sql("SELECT extname FROM pg_extension")}
            assert {"vector", "pg_trgm"} <= exts
            cols = {c["name"] for c in inspect(conn).get_columns("objects")}
            assert "search_tsv" in cols
    finally:
        eng.dispose()

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


def test_0002_keeps_existing_data_and_widens_run_statuses(database_url):
    """Edges written before 0002 get statement rows from their spans; run links survive; a run
    can end `completed_with_errors`."""
    from sqlalchemy import text

    db.downgrade(database_url, "0001")
    eng = db.create_engine_for(database_url)
    now = "2026-01-01 00:00:00"
    try:
        with eng.begin() as c:
            c.execute(text(f"INSERT INTO projects (id, name, created_at) VALUES (1, 'p', '{now}')"))
            c.execute(
                text(
                    "INSERT INTO repositories (id, project_id, name, kind, created_at) "
                    f"VALUES (1, 1, 'r', 'upload', '{now}')"
                )
            )
            c.execute(
                text(
                    "INSERT INTO runs (id, project_id, repository_id, ingestion_id, status, created_at, "
                    "files_processed, files_failed, files_skipped_duplicate, nodes_created, edges_created) "
                    f"VALUES (1, 1, 1, 'run-1', 'completed', '{now}', 1, 0, 0, 2, 1)"
                )
            )
            c.execute(
                text(
                    "INSERT INTO files (id, repository_id, path, sha256, size, version, status, run_id, "
                    f"created_at) VALUES (1, 1, 'a.sql', '{'0' * 64}', 10, 1, 'active', 1, '{now}')"
                )
            )
            for oid, name in ((1, "s.a"), (2, "s.b")):
                c.execute(
                    text(
                        "INSERT INTO objects (id, project_id, schema, name, canonical_id, kind, created_at, "
                        f"updated_at) VALUES ({oid}, 1, 's', '{name[2:]}', '{name}', 'table', '{now}', '{now}')"
                    )
                )
            c.execute(
                text(
                    "INSERT INTO table_edges (project_id, source_object_id, target_object_id, kind, "
                    "statement_index, line_start, line_end, confidence, origin, status, file_id, run_id, "
                    f"created_at) VALUES (1, 1, 2, 'direct', 0, 3, 7, 1.0, 'parser', 'proposed', 1, 1, '{now}')"
                )
            )
    finally:
        eng.dispose()
    db.migrate(database_url)
    eng = db.create_engine_for(database_url)
    try:
        with eng.begin() as c:
            spans = c.execute(
                text("SELECT file_id, statement_index, line_start, line_end FROM statements")
            ).all()
            assert [tuple(r) for r in spans] == [(1, 0, 3, 7)]
            assert c.execute(text("SELECT run_id FROM files WHERE id = 1")).scalar() == 1
            assert c.execute(text("SELECT run_id FROM table_edges")).scalar() == 1
            c.execute(
                text("UPDATE runs SET status = 'completed_with_errors', files_removed = 2 WHERE id = 1")
            )
            assert c.execute(text("SELECT status FROM runs WHERE id = 1")).scalar() == "completed_with_errors"
    finally:
        eng.dispose()

"""Migration 0003 on existing data (both backends) and validity ranges in the store."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from finlineage.store import db as store_db

from .conftest import PROC_V1, PROC_V2, Server, corpus


@pytest.fixture
def empty_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'old.db'}"
    return str(request.getfixturevalue("pg_empty_database"))


def test_migration_turns_parsed_edges_observed_and_versions_existing_facts(empty_url: str) -> None:
    store_db.migrate(empty_url, "0002")
    eng = store_db.create_engine_for(empty_url)
    try:
        with eng.begin() as c:
            c.execute(
                text("INSERT INTO projects (id, name, created_at) VALUES (1, 'old', CURRENT_TIMESTAMP)")
            )
            c.execute(
                text(
                    "INSERT INTO objects (id, project_id, name, canonical_id, kind, created_at, updated_at) VALUES "
                    "(1, 1, 'a', 'm.a', 'table', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),"
                    "(2, 1, 'b', 'm.b', 'view', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                )
            )
            c.execute(
                text(
                    "INSERT INTO table_edges (project_id, source_object_id, target_object_id, kind, confidence,"
                    " origin, status, created_at) VALUES"
                    " (1, 1, 2, 'direct', 1, 'parser', 'proposed', CURRENT_TIMESTAMP),"
                    " (1, 2, 1, 'indirect', 0.5, 'llm', 'rejected', CURRENT_TIMESTAMP),"
                    " (1, 2, 1, 'direct', 1, 'manual', 'approved', CURRENT_TIMESTAMP)"
                )
            )
    finally:
        eng.dispose()
    store_db.migrate(empty_url)
    eng = store_db.create_engine_for(empty_url)
    try:
        with eng.connect() as c:
            rows = c.execute(
                text(
                    "SELECT origin, status, created_by, version_from, version_to FROM table_edges ORDER BY id"
                )
            ).all()
            versions = c.execute(
                text("SELECT version, objects, edges, finalized_at IS NOT NULL FROM graph_versions")
            ).all()
            presence = c.execute(
                text("SELECT count(*) FROM object_presence WHERE version_to IS NULL")
            ).scalar()
    finally:
        eng.dispose()
    assert [tuple(r) for r in rows] == [
        ("parser", "observed", "parser", 1, None),
        ("inferred", "rejected", None, 1, None),
        ("manual", "approved", None, 1, None),
    ]
    assert [tuple(r) for r in versions] == [(1, 2, 3, True)]
    assert presence == 2
    store_db.downgrade(empty_url, "0002")
    eng = store_db.create_engine_for(empty_url)
    try:
        with eng.connect() as c:
            back = c.execute(text("SELECT origin, status FROM table_edges ORDER BY id")).all()
    finally:
        eng.dispose()
    assert [tuple(r) for r in back] == [("parser", "proposed"), ("llm", "rejected"), ("manual", "approved")]


def _rows(server: Server, sql: str) -> list[tuple[object, ...]]:
    eng = store_db.create_engine_for(server.settings.effective_database_url)
    try:
        with eng.connect() as c:
            return [tuple(r) for r in c.execute(text(sql))]
    finally:
        eng.dispose()


def test_reingest_closes_and_opens_facts_instead_of_copying(server: Server) -> None:
    server.upload(corpus(PROC_V1))
    total_v1 = _rows(server, "SELECT count(*) FROM column_edges")[0][0]
    from_file = _rows(
        server,
        "SELECT count(*) FROM column_edges e JOIN files f ON f.id = e.file_id WHERE f.path = 'etl/load_balances.sql'",
    )[0][0]
    server.upload(corpus(PROC_V2))
    closed = _rows(server, "SELECT version_from, version_to FROM column_edges WHERE version_to IS NOT NULL")
    assert closed and set(closed) == {(1, 2)}
    assert len(closed) == from_file  # only the changed file's facts were closed
    opened = _rows(server, "SELECT count(*) FROM column_edges WHERE version_from = 2")[0][0]
    total_v2 = _rows(server, "SELECT count(*) FROM column_edges")[0][0]
    assert total_v2 == total_v1 + opened  # unchanged files' facts were not copied
    assert _rows(server, "SELECT count(*) FROM column_edges WHERE version_from IS NULL")[0][0] == 0


def test_edge_history_is_append_only_in_the_database(database_url: str) -> None:
    eng = store_db.create_engine_for(database_url)
    try:
        with eng.begin() as c:
            c.execute(text("INSERT INTO projects (id, name, created_at) VALUES (7, 'h', CURRENT_TIMESTAMP)"))
            c.execute(
                text(
                    "INSERT INTO edge_events (project_id, granularity, edge_id, action, actor, ts, comment)"
                    " VALUES (7, 'column', 1, 'created', 'maker', CURRENT_TIMESTAMP, 'x')"
                )
            )
        with pytest.raises(Exception, match="append-only"), eng.begin() as c:
            c.execute(text("UPDATE edge_events SET actor = 'someone else'"))
        with eng.begin() as c:
            assert c.execute(text("SELECT actor FROM edge_events")).scalar() == "maker"
            c.execute(text("DELETE FROM projects WHERE id = 7"))  # history goes with its project
            assert c.execute(text("SELECT count(*) FROM edge_events")).scalar() == 0
    finally:
        eng.dispose()

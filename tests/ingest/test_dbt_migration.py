"""Migration 0006 (dbt docs) keeps existing data on both backends: descriptions and the parsed
text's digest are added empty, and the downgrade drops them again without touching the rows."""

from __future__ import annotations

from sqlalchemy import inspect, text

from finlineage.store import db

NOW = "2026-01-01 00:00:00"


def _columns(url: str, table: str) -> set[str]:
    eng = db.create_engine_for(url)
    try:
        return {c["name"] for c in inspect(eng).get_columns(table)}
    finally:
        eng.dispose()


def test_0006_adds_descriptions_and_keeps_rows(database_url: str) -> None:
    db.downgrade(database_url, "0005")
    assert "description" not in _columns(database_url, "objects")
    eng = db.create_engine_for(database_url)
    try:
        with eng.begin() as c:
            c.execute(text(f"INSERT INTO projects (id, name, created_at) VALUES (1, 'p', '{NOW}')"))
            c.execute(
                text(
                    "INSERT INTO repositories (id, project_id, name, kind, created_at) "
                    f"VALUES (1, 1, 'r', 'upload', '{NOW}')"
                )
            )
            c.execute(
                text(
                    "INSERT INTO files (id, repository_id, path, sha256, size, version, status, created_at) "
                    f"VALUES (1, 1, 'a.sql', '{'0' * 64}', 10, 1, 'active', '{NOW}')"
                )
            )
            c.execute(
                text(
                    "INSERT INTO objects (id, project_id, schema, name, canonical_id, kind, file_id, created_at, "
                    f"updated_at) VALUES (1, 1, 's', 'a', 's.a', 'table', 1, '{NOW}', '{NOW}')"
                )
            )
            c.execute(text("INSERT INTO columns (id, object_id, name, data_type) VALUES (1, 1, 'x', 'INT')"))
    finally:
        eng.dispose()
    db.migrate(database_url)
    eng = db.create_engine_for(database_url)
    try:
        with eng.begin() as c:
            assert c.execute(text("SELECT canonical_id, description FROM objects")).all() == [("s.a", None)]
            assert c.execute(text("SELECT name, data_type, description FROM columns")).all() == [
                ("x", "INT", None)
            ]
            assert c.execute(text("SELECT path, parse_sha256 FROM files")).all() == [("a.sql", None)]
            c.execute(text("UPDATE columns SET description = 'the x' WHERE id = 1"))
    finally:
        eng.dispose()
    db.downgrade(database_url, "0005")
    for table in ("objects", "columns"):
        assert "description" not in _columns(database_url, table)
    assert "parse_sha256" not in _columns(database_url, "files")
    eng = db.create_engine_for(database_url)
    try:
        with eng.begin() as c:
            assert c.execute(text("SELECT name, data_type FROM columns")).all() == [("x", "INT")]
            assert c.execute(text("SELECT canonical_id, file_id FROM objects")).all() == [("s.a", 1)]
    finally:
        eng.dispose()
    db.migrate(database_url)
    assert "description" in _columns(database_url, "columns")

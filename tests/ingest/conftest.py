"""Ingestion tests run against a real app (TestClient with lifespan) on both store backends."""

from __future__ import annotations

import io
import tarfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from finlineage.store import db as store_db
from support import client_factory


@pytest.fixture
def roots(tmp_path: Path) -> Path:
    path = tmp_path / "roots"
    path.mkdir()
    return path


@pytest.fixture
def make_client(tmp_path: Path, database_url: str, roots: Path) -> Iterator[Callable[..., TestClient]]:
    yield from client_factory(tmp_path, database_url, parse_workers=2, ingest_roots=[str(roots)])


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()


class Graph:
    """Read the stored graph back with plain SQL (independent of the query layer)."""

    def __init__(self, url: str) -> None:
        self.engine = store_db.create_engine_for(url)

    def rows(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql), params)]

    def nodes(self) -> set[tuple[str, str]]:
        """Objects in the current graph: defined ones and endpoints of current edges (objects
        only closed, historical edges point at stay stored for point-in-time answers)."""
        return {
            (r[0], r[1])
            for r in self.rows(
                "SELECT canonical_id, kind FROM objects o WHERE o.kind <> 'external' "
                "OR EXISTS (SELECT 1 FROM table_edges e WHERE e.version_to IS NULL "
                "           AND (e.source_object_id = o.id OR e.target_object_id = o.id)) "
                "OR EXISTS (SELECT 1 FROM column_edges e JOIN columns c "
                "           ON c.id = e.source_column_id OR c.id = e.target_column_id "
                "           WHERE e.version_to IS NULL AND c.object_id = o.id)"
            )
        }

    def table_edges(self) -> set[tuple[str, str, str]]:
        return {
            (r[0], r[1], r[2])
            for r in self.rows(
                "SELECT s.canonical_id, t.canonical_id, e.kind FROM table_edges e "
                "JOIN objects s ON s.id = e.source_object_id JOIN objects t ON t.id = e.target_object_id "
                "WHERE e.version_to IS NULL"  # the current graph (closed edges are history)
            )
        }

    def column_edges(self) -> set[tuple[str, str]]:
        return {
            (r[0], r[1])
            for r in self.rows(
                "SELECT so.canonical_id || '.' || sc.name, tob.canonical_id || '.' || tc.name "
                "FROM column_edges e "
                "JOIN columns sc ON sc.id = e.source_column_id JOIN objects so ON so.id = sc.object_id "
                "JOIN columns tc ON tc.id = e.target_column_id JOIN objects tob ON tob.id = tc.object_id "
                "WHERE e.version_to IS NULL"
            )
        }

    def columns(self, canonical: str) -> list[str]:
        return [
            r[0]
            for r in self.rows(
                "SELECT c.name FROM columns c JOIN objects o ON o.id = c.object_id "
                "WHERE o.canonical_id = :c AND (c.ordinal IS NOT NULL OR EXISTS ("
                "  SELECT 1 FROM column_edges e WHERE e.version_to IS NULL"
                "  AND (e.source_column_id = c.id OR e.target_column_id = c.id))) "
                "ORDER BY c.ordinal, c.name",
                c=canonical,
            )
        ]

    def snapshot(self) -> tuple[Any, ...]:
        return (self.nodes(), self.table_edges(), self.column_edges())

    def close(self) -> None:
        self.engine.dispose()


@pytest.fixture
def graph(database_url: str) -> Iterator[Graph]:
    g = Graph(database_url)
    yield g
    g.close()


def upload(
    client: TestClient,
    files: list[tuple[str, bytes]],
    *,
    project: str = "p",
    repository: str = "r",
    dialect: str = "tsql",
    wait: bool = True,
    **form: str,
) -> Any:
    multipart = [("files", (name, io.BytesIO(data), "application/octet-stream")) for name, data in files]
    data = {
        "project_id": project,
        "repository_name": repository,
        "dialect": dialect,
        "create_project": "true",
        **form,
    }
    return client.post(f"/api/v1/files/upload?wait={str(wait).lower()}", files=multipart, data=data)


def by_path(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["path"]: r for r in result["results"]}


def make_zip(members: list[tuple[str, bytes]], *, symlinks: tuple[str, ...] = ()) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            if name in symlinks:
                info.external_attr = 0o120777 << 16
            zf.writestr(info, data)
    return buf.getvalue()


def make_targz(members: list[tuple[str, bytes]], *, links: dict[str, str] | None = None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tf.addfile(info)
    return buf.getvalue()

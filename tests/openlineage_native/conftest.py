"""OpenLineage tests: a real app on both store backends, the official spec schemas, corpora."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from finlineage.api.app import create_app
from openlineage_native.spec import SpecValidator, spec_dir
from realtime.conftest import ThreadServer
from support import app_settings, client_factory, ingest_path

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def spec() -> SpecValidator:
    return SpecValidator(spec_dir())


@pytest.fixture
def roots(tmp_path: Path) -> Path:
    path = tmp_path / "roots"
    path.mkdir()
    return path


@pytest.fixture
def make_client(tmp_path: Path, database_url: str, roots: Path) -> Iterator[Callable[..., TestClient]]:
    yield from client_factory(tmp_path, database_url, ingest_roots=[str(roots)])


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    return root


def ingest_dir(client: TestClient, path: Path, project: str, repository: str) -> dict[str, Any]:
    return ingest_path(client, path, project, repository, allow_errors=True)


def repository_id(client: TestClient, project_id: int, name: str) -> int:
    items = client.get(f"/api/v1/projects/{project_id}/repositories").json()["items"]
    return int(next(i["id"] for i in items if i["name"] == name))


# A small multi-dialect warehouse (names of our own).
LEDGER = {
    "finlineage.toml": '[dialects]\n"mssql/**" = "tsql"\n"snow/**" = "snowflake"\n"pg/**" = "postgres"\n',
    "mssql/tables.sql": (
        "CREATE TABLE src.fills (fill_id INT, qty DECIMAL(18,2), px DECIMAL(18,6), venue VARCHAR(10), book_id INT);\n"
        "GO\n"
        "CREATE TABLE rpt.book_volume (book_id INT, gross_qty DECIMAL(18,2), notional DECIMAL(28,6));\n"
        "GO\n"
    ),
    "mssql/load_book_volume.sql": (
        "CREATE PROCEDURE rpt.load_book_volume\n"
        "AS\n"
        "BEGIN\n"
        "    INSERT INTO rpt.book_volume (book_id, gross_qty, notional)\n"
        "    SELECT f.book_id, SUM(f.qty), SUM(f.qty * f.px)\n"
        "    FROM src.fills f\n"
        "    WHERE f.venue <> 'DARK'\n"
        "    GROUP BY f.book_id;\n"
        "END\n"
        "GO\n"
    ),
    "mssql/v_large_fills.sql": (
        "CREATE VIEW rpt.large_fills AS\nSELECT fill_id, qty AS quantity FROM src.fills WHERE qty > 1000;\nGO\n"
    ),
    "snow/marks.sql": "CREATE TABLE mart.marks (instrument VARCHAR, mark_px NUMBER(18,6));\n",
    "snow/refresh_marks.sql": (
        "CREATE TABLE mart.mark_history (instrument VARCHAR, mark_px NUMBER(18,6), taken_at TIMESTAMP_NTZ);\n"
        "INSERT INTO mart.mark_history (instrument, mark_px, taken_at)\n"
        "SELECT instrument, mark_px, CURRENT_TIMESTAMP() FROM mart.marks;\n"
    ),
    "pg/rollup.sql": (
        "CREATE TABLE ops.positions (acct TEXT, qty NUMERIC);\n"
        "CREATE TABLE ops.acct_totals (acct TEXT, total_qty NUMERIC);\n"
        "INSERT INTO ops.acct_totals (acct, total_qty) SELECT acct, SUM(qty) FROM ops.positions GROUP BY acct;\n"
    ),
}


# ---------------------------------------------------------------------------------------
# a real uvicorn server on 127.0.0.1 (the openlineage-python HTTP transport talks to it)
# ---------------------------------------------------------------------------------------


@pytest.fixture
def make_server(tmp_path: Path, database_url: str, roots: Path) -> Iterator[Callable[..., ThreadServer]]:
    servers: list[ThreadServer] = []

    def _make(**overrides: Any) -> ThreadServer:
        values: dict[str, Any] = {"ingest_roots": [str(roots)], "auth": "on", **overrides}
        server = ThreadServer(create_app(app_settings(tmp_path, database_url, **values))).start()
        servers.append(server)
        return server

    yield _make
    for server in servers:
        server.stop()


def make_key(database_url: str, name: str, role: str) -> str:
    from finlineage.store import db as store_db
    from finlineage.store.keys import create_api_key

    engine = store_db.create_engine_for(database_url)
    try:
        with store_db.session_factory(engine).begin() as s:
            _, plain = create_api_key(s, name, role)
    finally:
        engine.dispose()
    return plain

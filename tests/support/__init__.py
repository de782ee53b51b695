"""Helpers shared by the test folders that start a real app (TestClient or uvicorn).

Imported the way the tests already import `realtime.conftest` (tests/ is on sys.path).
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from finlineage.api.app import create_app
from finlineage.settings import Settings


def app_settings(tmp_path: Path, database_url: str, /, **overrides: Any) -> Settings:
    """Settings of a test app on `database_url`: data and logs under `tmp_path`, no demo, no
    embeddings, one parse worker, auth off; `overrides` (database_url too) replace any of these
    or add others."""
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "log_dir": tmp_path / "logs",
        "database_url": database_url,
        "load_demo": False,
        "embeddings_enabled": False,
        "parse_workers": 1,
        "auth": "off",
    }
    values.update(overrides)
    return Settings(**values)


def client_factory(
    tmp_path: Path, database_url: str, /, **defaults: Any
) -> Iterator[Callable[..., TestClient]]:
    """Body of a `make_client` fixture (`yield from client_factory(...)`): a factory of entered
    TestClients (lifespan run) on `app_settings(tmp_path, database_url, **defaults, **overrides)`,
    all closed at teardown."""
    clients: list[TestClient] = []

    def _make(**overrides: Any) -> TestClient:
        settings = app_settings(tmp_path, database_url, **{**defaults, **overrides})
        client = TestClient(create_app(settings), raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        return client

    yield _make
    for client in clients:
        client.__exit__(None, None, None)


@contextlib.contextmanager
def closed_port() -> Iterator[int]:
    """A loopback port that refuses connections for as long as the block runs: bound but never
    listening, so no server started meanwhile (ours included) can be handed the same port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as held:
        held.bind(("127.0.0.1", 0))
        yield int(held.getsockname()[1])


def ingest_path(
    client: Any,
    path: Path,
    project: str,
    repository: str,
    *,
    dialect: str = "auto",
    allow_errors: bool = False,
) -> dict[str, Any]:
    """Ingest the folder or file ``path`` on the server (``wait=true``) into ``project`` (created
    when missing) as ``repository``, through a TestClient or an httpx client; the run's summary.
    The run must complete (``allow_errors``: some files may fail)."""
    r = client.post(
        "/api/v1/ingest?wait=true",
        json={
            "path": str(path),
            "project_id": project,
            "repository_name": repository,
            "dialect": dialect,
            "create_project": True,
        },
    )
    assert r.status_code in (200, 201, 202), r.text
    body: dict[str, Any] = r.json()
    assert body["status"] in (("completed", "completed_with_errors") if allow_errors else ("completed",)), (
        body
    )
    return body

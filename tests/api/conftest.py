"""Apps built on a real store (SQLite file or embedded PostgreSQL via the `database_url` fixture)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from finlineage.api.app import create_app
from finlineage.settings import Settings


@pytest.fixture
def make_client(tmp_path: Path, database_url: str) -> Iterator[Callable[..., TestClient]]:
    clients: list[TestClient] = []

    def _make(**overrides: Any) -> TestClient:
        settings = Settings(
            data_dir=tmp_path / "data",
            log_dir=tmp_path / "logs",
            database_url=database_url,
            load_demo=False,
            embeddings_enabled=False,
            **overrides,
        )
        client = TestClient(create_app(settings), raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        return client

    yield _make
    for client in clients:
        client.__exit__(None, None, None)

"""Evidence tests: a bank-warehouse corpus of our own (`corpus/`) ingested into a real server
(uvicorn on a loopback port, the realtime tests' `ThreadServer`) on each store backend (SQLite and
embedded PostgreSQL through the shared `database_url` fixture), read back over HTTP.

corpus/
  finlineage.toml              tsql/** → tsql, pg/** → postgres
  tsql/ddl.sql                 ledger.holdings, ledger.quotes, ledger.fx_spot, solvency.book_value
  tsql/usp_value_books.sql     BOM + CRLF; a procedure: SELECT … INTO #valued, MERGE with a USING
                               subquery over #valued, UPDATE buffer_eur = …, UPDATE buffer_eur += 250
  tsql/broken_load.sql         one good INSERT, then `SELEC` on line 4 (a parse error at 4:1)
  tsql/limits.sql, tsql/limits_restated.sql   both define solvency.limits
  tsql/scratch.sql             sandbox.scratch_book, referenced by nothing
  pg/layers.sql                mart.layer_01 … mart.layer_20, each view reading the one before
  pg/capped.sql                mart.capped_books reads solvency.limits and solvency.book_value
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from finlineage.api.app import create_app
from realtime.conftest import ThreadServer
from support import app_settings

Client = httpx.Client

CORPUS = Path(__file__).parent / "corpus"


def corpus_files(*, without: tuple[str, ...] = ()) -> list[tuple[str, bytes]]:
    return [
        (p.relative_to(CORPUS).as_posix(), p.read_bytes())
        for p in sorted(CORPUS.rglob("*"))
        if p.is_file() and p.relative_to(CORPUS).as_posix() not in without
    ]


def file_lines(path: str) -> list[str]:
    """The file's true lines: BOM dropped, CRLF or LF ends."""
    data = (CORPUS / path).read_bytes().removeprefix(b"\xef\xbb\xbf").decode("utf-8")
    return data.replace("\r\n", "\n").split("\n")


def original(path: str, line_start: int, line_end: int) -> str:
    return "\n".join(file_lines(path)[line_start - 1 : line_end])


@pytest.fixture
def make_client(tmp_path: Path, database_url: str) -> Iterator[Callable[..., Client]]:
    """An HTTP client of a real server started with these settings (overrides allowed)."""
    started: list[tuple[ThreadServer, Client]] = []

    def _make(**overrides: Any) -> Client:
        server = ThreadServer(create_app(app_settings(tmp_path, database_url, **overrides))).start()
        client = httpx.Client(base_url=server.http, timeout=300)
        started.append((server, client))
        return client

    yield _make
    for server, client in started:
        client.close()
        server.stop()


def upload(
    client: Client, files: list[tuple[str, bytes]], *, mode: str = "add", project: str = "bank"
) -> dict[str, Any]:
    res = client.post(
        "/api/v1/files/upload?wait=true",
        files=[("files", (name, io.BytesIO(data), "application/octet-stream")) for name, data in files],
        data={"project_id": project, "create_project": "true", "repository_name": "warehouse", "mode": mode},
    )
    assert res.status_code == 200, res.text
    body: dict[str, Any] = res.json()
    return body


@pytest.fixture
def bank(make_client: Callable[..., Client]) -> tuple[Client, dict[str, Any]]:
    client = make_client()
    return client, upload(client, corpus_files())

"""After a run the API embeds the project's new code chunks in the background, with the real model."""

from __future__ import annotations

import threading
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

SQL = """CREATE TABLE stg.fx_rates (ccy VARCHAR(3), usd_rate DECIMAL(18, 8));
CREATE TABLE stg.positions (book VARCHAR(20), ccy VARCHAR(3), mv_local DECIMAL(18, 2));
CREATE VIEW rpt.positions_usd AS
SELECT p.book, p.mv_local * f.usd_rate AS mv_usd FROM stg.positions p JOIN stg.fx_rates f ON f.ccy = p.ccy;
"""


def _counts(url: str) -> tuple[int, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            total = conn.execute(text("SELECT count(*) FROM code_chunks")).scalar_one()
            embedded = conn.execute(
                text("SELECT count(*) FROM code_chunks WHERE embedding IS NOT NULL")
            ).scalar_one()
        return int(total), int(embedded)
    finally:
        engine.dispose()


def test_chunks_are_embedded_after_a_run(make_client: Callable[..., TestClient], database_url: str) -> None:
    client = make_client(embeddings_enabled=True)
    res = client.post(
        "/api/v1/ingest/sql?wait=true",
        json={
            "sql": SQL,
            "project_id": "emb",
            "create_project": True,
            "dialect": "postgres",
            "path": "positions.sql",
        },
    )
    assert res.status_code == 200, res.text
    service = client.app.state.ctx.services["ingestion"]  # type: ignore[attr-defined]
    done = threading.Event()
    service._after_runner.submit(done.set)  # queued behind the embedding job: set when it has run
    assert done.wait(120), "after-run embedding did not finish"
    total, embedded = _counts(database_url)
    assert total > 0 and embedded == total


def test_no_embedding_when_disabled(make_client: Callable[..., TestClient], database_url: str) -> None:
    client = make_client(embeddings_enabled=False)
    res = client.post(
        "/api/v1/ingest/sql?wait=true",
        json={
            "sql": SQL,
            "project_id": "emb",
            "create_project": True,
            "dialect": "postgres",
            "path": "positions.sql",
        },
    )
    assert res.status_code == 200, res.text
    assert client.app.state.ctx.services["ingestion"].after_run is None  # type: ignore[attr-defined]
    total, embedded = _counts(database_url)
    assert total > 0 and embedded == 0


def test_server_start_embeds_chunks_left_unembedded(
    make_client: Callable[..., TestClient], database_url: str
) -> None:
    first = make_client(embeddings_enabled=False)  # like `finlineage ingest` without --embed
    res = first.post(
        "/api/v1/ingest/sql?wait=true",
        json={
            "sql": SQL,
            "project_id": "emb",
            "create_project": True,
            "dialect": "postgres",
            "path": "positions.sql",
        },
    )
    assert res.status_code == 200, res.text
    assert _counts(database_url)[1] == 0
    first.__exit__(None, None, None)

    second = make_client(embeddings_enabled=True)
    service = second.app.state.ctx.services["ingestion"]  # type: ignore[attr-defined]
    done = threading.Event()
    service._after_runner.submit(done.set)  # runs after the start-up embedding job
    assert done.wait(120), "start-up embedding did not finish"
    total, embedded = _counts(database_url)
    assert total > 0 and embedded == total

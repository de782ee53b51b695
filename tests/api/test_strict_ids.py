"""A JSON boolean is never an id: pydantic's lax int reads `true` as 1, which would act on
project 1 (found by schemathesis on the chat context)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient


def test_booleans_are_not_project_or_repository_ids(make_client: Callable[..., TestClient]) -> None:
    c = make_client()
    pid = c.post("/api/v1/projects", json={"name": "desk"}).json()["id"]
    assert pid == 1  # so `true` would have named it
    sql = {"sql": "CREATE TABLE t (a INT);", "project_id": True}
    r = c.post("/api/v1/ingest/sql", json=sql)
    assert r.status_code == 422, r.text
    r = c.post("/api/v1/ingest/sql", json={**sql, "project_id": pid, "repository_id": True})
    assert r.status_code == 422, r.text
    r = c.post("/api/chat/text", json={"query": "what feeds t?", "context": {"project_id": True}})
    assert r.status_code == 422, r.text
    # real ids and names still work
    ok = c.post("/api/v1/ingest/sql", json={**sql, "project_id": pid})
    assert ok.status_code in (200, 201, 202), ok.text
    ok = c.post("/api/v1/ingest/sql", json={**sql, "project_id": "desk"})
    assert ok.status_code in (200, 201, 202), ok.text

"""Accepted OpenLineage events are kept as their producers sent them and served newest first at
GET /api/v1/events/lineage (the Marquez web UI's events page); rejected events are not kept."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.serde import Serde
from openlineage.client.transport.http import ApiKeyTokenProvider, HttpCompression, HttpConfig, HttpTransport
from sqlalchemy import text

from finlineage.store import db as store_db
from openlineage_native.conftest import make_key

PRODUCER = "https://example.invalid/settlement-batch"


def _event(state: RunState, run_id: str, when: str) -> RunEvent:
    return RunEvent(
        eventType=state,
        eventTime=when,
        run=Run(runId=run_id),
        job=Job(namespace="batch://settle", name="net_positions"),
        producer=PRODUCER,
        inputs=[],
        outputs=[OutputDataset(namespace="postgres://clearing-db", name="settle.net_position")],
    )


def _client(url: str, key: str, *, gzip: bool = False) -> OpenLineageClient:
    config = HttpConfig(url=url, auth=ApiKeyTokenProvider({"apiKey": key}), timeout=30, retry={"total": 0})
    if gzip:
        config.compression = HttpCompression.GZIP
    return OpenLineageClient(transport=HttpTransport(config))


def test_events_are_kept_as_sent_and_listed_like_marquez(make_server: Any, database_url: str) -> None:
    server = make_server()
    editor = make_key(database_url, "batch", "editor")
    viewer = make_key(database_url, "reader", "viewer")
    run_id = str(uuid.uuid4())
    start = _event(RunState.START, run_id, "2026-12-06T09:00:00Z")
    done = _event(RunState.COMPLETE, run_id, "2026-12-06T09:30:00Z")
    _client(server.http, editor).emit(start)
    _client(server.http, editor, gzip=True).emit(done)  # kept decompressed

    with httpx.Client(base_url=server.http, headers={"Authorization": f"Bearer {editor}"}) as http:
        bad = json.loads(Serde.to_json(done))
        bad["run"]["runId"] = "not-a-uuid"
        assert http.post("/api/v1/lineage", json=bad).status_code == 400

    with httpx.Client(base_url=server.http, headers={"Authorization": f"Bearer {viewer}"}) as http:
        page = http.get("/api/v1/events/lineage").json()
        assert page["totalCount"] == 2 and page["truncated"] is False
        # newest first, each exactly the JSON the client sent
        assert page["events"] == [json.loads(Serde.to_json(done)), json.loads(Serde.to_json(start))]
        oldest = http.get("/api/v1/events/lineage", params={"sortDirection": "asc", "limit": 1}).json()
        assert [e["eventType"] for e in oldest["events"]] == ["START"]
        assert oldest["totalCount"] == 2 and oldest["truncated"] is True
        before = http.get("/api/v1/events/lineage", params={"before": "2026-12-06T09:10:00Z"}).json()
        assert [e["eventType"] for e in before["events"]] == ["START"]
        after = http.get("/api/v1/events/lineage", params={"after": "2026-12-06T09:10:00Z"}).json()
        assert [e["eventType"] for e in after["events"]] == ["COMPLETE"]
        assert http.get("/api/v1/events/lineage", params={"sortDirection": "up"}).status_code == 422
    with httpx.Client(base_url=server.http) as anonymous:
        assert anonymous.get("/api/v1/events/lineage").status_code == 401

    engine = store_db.create_engine_for(database_url)
    try:
        with engine.connect() as c:
            rows = c.execute(
                text("SELECT kind, event_type, run_id, job_name FROM ol_events ORDER BY id")
            ).all()
    finally:
        engine.dispose()
    assert [tuple(r) for r in rows] == [
        ("RunEvent", "START", run_id, "net_positions"),
        ("RunEvent", "COMPLETE", run_id, "net_positions"),
    ]

"""Accepted OpenLineage events are kept as their producers sent them and served newest first at
GET /api/v1/events/lineage (the Marquez web UI's events page); rejected events are not kept."""

from __future__ import annotations

import itertools
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


def test_marquez_dashboard_stats(make_server: Any, database_url: str, roots: Any) -> None:
    """The dashboard charts: events received this hour by state; jobs, datasets and sources
    counted cumulatively per interval (a new job appears in the last interval only)."""
    server = make_server()
    editor = make_key(database_url, "batch", "editor")
    run_id = str(uuid.uuid4())
    client = _client(server.http, editor)
    client.emit(_event(RunState.START, run_id, "2026-12-06T09:00:00Z"))
    client.emit(_event(RunState.FAIL, run_id, "2026-12-06T09:05:00Z"))
    with httpx.Client(base_url=server.http, headers={"Authorization": f"Bearer {editor}"}) as http:
        day = http.get("/api/v1/stats/lineage-events", params={"period": "DAY"}).json()
        assert len(day) == 24
        assert all(a["endInterval"] == b["startInterval"] for a, b in itertools.pairwise(day))
        # received just now: inside the window (the hour it falls in depends on the clock)
        totals = {k: sum(x[k] for x in day) for k in ("start", "complete", "fail", "abort")}
        assert totals == {"start": 1, "complete": 0, "fail": 1, "abort": 0}
        week = http.get("/api/v1/stats/lineage-events", params={"period": "WEEK", "timezone": "Asia/Tokyo"})
        assert week.status_code == 200 and len(week.json()) == 7
        assert sum(x["start"] for x in week.json()) == 1
        assert all(x["startInterval"].endswith("T15:00:00Z") for x in week.json())  # Tokyo midnights
        # WEEK needs a time zone for events, the period is required, an unknown zone is refused
        no_zone = http.get("/api/v1/stats/lineage-events", params={"period": "WEEK"})
        assert no_zone.status_code == 422 and "time zone" in no_zone.json()["message"]
        assert http.get("/api/v1/stats/jobs").status_code == 422
        mars = http.get("/api/v1/stats/jobs", params={"period": "WEEK", "timezone": "Mars/Olympus"})
        assert mars.status_code == 422 and "Mars/Olympus" in mars.json()["message"]
        jobs = http.get("/api/v1/stats/jobs", params={"period": "DAY"}).json()
        assert [x["count"] for x in jobs][-1] == 1 and jobs[0]["count"] == 0
        datasets = http.get("/api/v1/stats/datasets", params={"period": "WEEK", "timezone": "UTC"}).json()
        assert datasets[-1]["count"] >= 1 and datasets[0]["count"] == 0
        sources = http.get("/api/v1/stats/sources", params={"period": "DAY"}).json()
        assert len(sources) == 24 and sources[-1]["count"] == 0  # nothing ingested from SQL yet


def test_event_list_times_are_iso_8601_only(client: Any) -> None:
    assert (
        client.get("/api/v1/events/lineage", params={"before": "2026-12-06T09:10:00+01:00"}).status_code
        == 200
    )
    assert client.get("/api/v1/events/lineage", params={"after": "2026-12-06"}).status_code == 200
    for bad in ("0.5", "1733475000", "yesterday", "2026-13-45T99:99"):
        r = client.get("/api/v1/events/lineage", params={"before": bad})
        assert r.status_code == 422, bad

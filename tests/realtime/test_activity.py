"""Activity tracking: every request and domain event, in activity.jsonl and the store."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from finlineage.realtime.activity import ActivityWriter, is_person_action

from .conftest import ThreadServer, async_wait_for

pytestmark = pytest.mark.asyncio

Start = Callable[..., ThreadServer]


async def test_requests_and_domain_events_are_recorded(start_server: Start, tmp_path: Path) -> None:
    server = start_server(activity_flush_interval_s=0.1)
    hub = server.services["events"]
    async with httpx.AsyncClient(base_url=server.http) as http:
        ids = [(await http.get("/api/v1/stats")).headers["x-request-id"] for _ in range(3)]
        assert (await http.get("/api/v1/nope")).status_code == 404
        hub.publish("ingestion_started", {"run_id": 4, "project_id": 2, "files_total": 1})
        hub.publish(
            "ingestion_complete",
            {
                "run_id": 4,
                "project_id": 2,
                "files_processed": 0,
                "files_skipped_duplicate": 0,
                "files_failed": 1,
                "total_nodes_created": 0,
                "duration": 0.1,
                "status": "failed",
            },
        )
        hub.publish(
            "query_complete", {"mode": "ask", "latency_ms": 5, "response_length": 3, "query": "secret?"}
        )
        recent = (await http.get("/api/v1/activity/recent", params={"limit": 100})).json()["events"]
        kinds = [e["type"] for e in recent]
        assert {"ingestion_started", "ingestion_failed", "query_complete"} <= set(kinds)
        assert [e["ts"] for e in recent] == sorted((e["ts"] for e in recent), reverse=True)  # newest first
        requests = (await http.get("/api/v1/activity/recent", params={"type": "request"})).json()["events"]
        assert {e["type"] for e in requests} == {"request"}
        stats_events = [e for e in requests if e["data"]["request_id"] in ids]
        assert len(stats_events) == 3
        assert all(
            e["route"] == "/api/v1/stats" and e["status_code"] == 200 and e["latency_ms"] > 0
            for e in stats_events
        )
        assert stats_events[0]["client_ip"] == "127.0.0.1" and stats_events[0]["key_name"] == "anonymous"
        failed = next(e for e in recent if e["type"] == "ingestion_failed")
        assert failed["project_id"] == 2 and failed["data"]["files_failed"] == 1
        query = next(e for e in recent if e["type"] == "query_complete")
        assert "secret" not in json.dumps(query)

        metrics = (await http.get("/api/v1/metrics/activity")).json()
        for window in ("since_start", "last_24h"):
            per = {(e["method"], e["route"]): e for e in metrics[window]["endpoints"]}
            stats = per[("GET", "/api/v1/stats")]
            assert stats["count"] == 3 and stats["error_rate"] == 0.0
            assert (
                stats["latency_ms"]["p50"] is not None
                and stats["latency_ms"]["p99"] >= stats["latency_ms"]["p50"]
            )
            assert per[("GET", "<unmatched>")]["client_errors"] == 1
        events = (await http.get("/api/v1/metrics/events")).json()
        assert events["events"]["published"]["ingestion_complete"] == 1
    lines = (tmp_path / "logs" / "activity.jsonl").read_text().splitlines()
    parsed = [json.loads(line) for line in lines]  # every line is valid JSON
    assert {p["data"]["request_id"] for p in parsed if p["type"] == "request"} >= set(ids)
    assert all("ts" in p and "type" in p for p in parsed)


async def test_identity_fields_only_for_admins(start_server: Start) -> None:
    server = start_server(auth="on")
    keys = server.app.state.ctx.keys
    viewer, _ = keys.create(name="v", role="viewer")
    admin, _ = keys.create(name="boss", role="admin")
    async with httpx.AsyncClient(base_url=server.http) as http:
        await http.get("/api/v1/stats", headers={"X-API-Key": admin})
        as_viewer = (await http.get("/api/v1/activity/recent", headers={"X-API-Key": viewer})).json()[
            "events"
        ]
        as_admin = (await http.get("/api/v1/activity/recent", headers={"X-API-Key": admin})).json()["events"]
    assert as_viewer and all("client_ip" not in e and "key_name" not in e for e in as_viewer)
    assert any(e.get("key_name") == "boss" for e in as_admin)


async def test_disk_failure_is_counted_and_never_breaks_requests(start_server: Start, tmp_path: Path) -> None:
    (tmp_path / "logs" / "activity.jsonl").mkdir(parents=True)  # the log "file" cannot be opened
    server = start_server(activity_flush_interval_s=0.1)
    async with httpx.AsyncClient(base_url=server.http) as http:
        for _ in range(3):
            assert (await http.get("/api/v1/stats")).status_code == 200
        await server.services["activity"].flush(5)
        health = (await http.get("/health")).json()["components"]["activity"]
    assert health["status"] == "degraded"
    assert health["dropped_by_reason"]["disk"] >= 3
    assert health["written_db"] >= 3  # the database copy still has them


async def test_log_rotates_by_size(start_server: Start, tmp_path: Path) -> None:
    server = start_server(activity_max_bytes=2000, activity_flush_interval_s=0.1)
    async with httpx.AsyncClient(base_url=server.http) as http:
        for _ in range(30):
            await http.get("/api/v1/stats")
    activity = server.services["activity"]
    await async_wait_for(lambda: activity.rotations >= 1, what="a rotation")
    rotated = tmp_path / "logs" / "activity.jsonl.1"
    assert rotated.exists()
    for line in rotated.read_text().splitlines():
        json.loads(line)


@pytest.mark.asyncio(loop_scope="function")
async def test_record_never_raises_and_counts_drops(
    make_settings: Callable[..., object], tmp_path: Path
) -> None:
    settings = make_settings(activity_queue_size=2)
    writer = ActivityWriter(settings, None)  # type: ignore[arg-type]
    assert writer.record({"type": "request"}) is False  # not started
    assert writer.dropped["not_running"] == 1
    writer._thread = object()  # type: ignore[assignment]  # accepting, but nobody drains the queue
    assert writer.record({"type": "a"}) and writer.record({"type": "b"})
    assert writer.record({"type": "c"}) is False
    assert writer.dropped["queue_full"] == 1


async def test_endpoint_listing_and_docs(start_server: Start) -> None:
    server = start_server()
    async with httpx.AsyncClient(base_url=server.http) as http:
        listing = (
            await http.get("/api/v1/endpoints", params={"tag": "admin", "include_params": "true"})
        ).json()
        restart = [e for e in listing["endpoints"] if e["path"] == "/admin/restart"]
        assert {m for e in restart for m in e["methods"]} == {"POST", "OPTIONS"}
        assert next(e for e in restart if "POST" in e["methods"])["role"] == "admin"
        everything = (await http.get("/api/v1/endpoints", params={"include_params": "true"})).json()
        recent = next(e for e in everything["endpoints"] if e["path"] == "/api/v1/activity/recent")
        assert {p["name"] for p in recent["params"]} == {"limit", "type"}
        assert any(
            e["path"] == "/api/v1/ws/dashboard" and e["kind"] == "websocket" for e in everything["endpoints"]
        )
        spec = (await http.get("/openapi.json")).json()
        assert {"post", "options"} <= set(spec["paths"]["/admin/restart"])
        assert "/api/v1/stats" in spec["paths"] and "/api/v1/metrics/events" in spec["paths"]


async def test_producer_events_are_requests_not_person_actions() -> None:
    """An OpenLineage producer posts one request per event: each keeps its request row, but
    none is listed as a person's action (a feed would bury what people did)."""
    assert not is_person_action("POST", "/api/v1/lineage")
    assert is_person_action("POST", "/api/v1/projects")
    assert is_person_action("PUT", "/api/v1/repositories/{repository_id}/namespace")
    assert not is_person_action("GET", "/api/v1/lineage/node/{node_id}")

"""Several workers: events cross processes through a real redis-server."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect

from support import closed_port

from .conftest import (
    ORIGIN,
    ProcessServer,
    ThreadServer,
    async_wait_for,
    barrier,
    recv_json,
    recv_until,
)

pytestmark = [pytest.mark.redis, pytest.mark.asyncio]


async def test_event_on_one_uvicorn_process_reaches_clients_of_both(
    spawn: Callable[..., ProcessServer], redis_url: str, tmp_path: Path
) -> None:
    common = {"FINLINEAGE_REDIS_URL": redis_url, "FINLINEAGE_STATS_INTERVAL_S": "0.3"}
    a = spawn(mode="uvicorn", name="a", **common)
    a.wait_healthy()
    b = spawn(mode="uvicorn", name="b", **common)  # same data dir: one store, two workers
    health_b = b.wait_healthy()
    assert health_b["components"]["redis"]["status"] == "up"
    async with (
        connect(a.ws, origin=ORIGIN) as ws_a,  # type: ignore[arg-type]
        connect(b.ws, origin=ORIGIN) as ws_b,  # type: ignore[arg-type]
        httpx.AsyncClient(timeout=10) as http,
    ):
        ack_a, ack_b = await recv_json(ws_a), await recv_json(ws_b)
        assert ack_a["data"]["instance_id"] != ack_b["data"]["instance_id"]

        async def clients_seen_by_a() -> int:
            return int((await http.get(a.http + "/api/v1/stats")).json()["connectedClients"])

        seen = 0
        for _ in range(100):  # the per-worker counts meet in Redis on the next ticks
            seen = await clients_seen_by_a()
            if seen == 2:
                break
            await recv_until(ws_a, lambda m: m["type"] == "stats_update", timeout=5)
        assert seen == 2

        # a genuine 5xx on worker A: its store loses a table under it
        conn = sqlite3.connect(tmp_path / "data" / "finlineage.db")
        conn.execute("ALTER TABLE objects RENAME TO objects_gone")
        conn.commit()
        conn.close()
        resp = await http.get(a.http + "/api/v1/stats")
        assert resp.status_code == 500
        request_id = resp.json()["request_id"]
        for ws in (ws_a, ws_b):
            msg, _ = await recv_until(
                ws, lambda m: m["type"] == "error" and m["data"]["request_id"] == request_id, timeout=10
            )
            assert msg["data"]["endpoint"] == "/api/v1/stats"
        metrics_b = (await http.get(b.http + "/api/v1/metrics/events")).json()
        assert metrics_b["events"]["received_from_other_workers"] >= 1


async def test_hub_publish_reaches_every_worker_in_order(
    start_server: Callable[..., ThreadServer], redis_url: str, tmp_path: Path
) -> None:
    a = start_server(redis_url=redis_url, data_dir=tmp_path / "a", log_dir=tmp_path / "la")
    b = start_server(redis_url=redis_url, data_dir=tmp_path / "b", log_dir=tmp_path / "lb")
    async with connect(a.ws, origin=ORIGIN) as ws_a, connect(b.ws, origin=ORIGIN) as ws_b:  # type: ignore[arg-type]
        await recv_json(ws_a)
        await recv_json(ws_b)
        hub = a.services["events"]
        hub.publish("ingestion_started", {"run_id": 9, "project_id": 1, "files_total": 2})
        hub.publish(
            "ingestion_progress",
            {
                "run_id": 9,
                "project_id": 1,
                "file": "a.sql",
                "files_done": 1,
                "files_total": 2,
                "percentage": 50,
            },
        )
        hub.publish(
            "ingestion_complete",
            {
                "run_id": 9,
                "project_id": 1,
                "files_processed": 2,
                "files_skipped_duplicate": 0,
                "files_failed": 0,
                "total_nodes_created": 4,
                "duration": 0.2,
            },
        )
        for ws in (ws_a, ws_b):
            complete, before = await recv_until(ws, lambda m: m["type"] == "ingestion_complete", timeout=10)
            kinds = [m["type"] for m in before if m["type"].startswith("ingestion")]
            assert kinds == ["ingestion_started", "ingestion_progress"]
            assert complete["data"]["total_nodes_created"] == 4
        await barrier(ws_b)
        # the publishing worker's own clients got it once (not again through Redis)
        assert a.services["events"].counters()["delivered"]["ingestion_complete"] == 1
        assert b.services["events"].counters()["received_from_other_workers"] == 3


async def test_without_redis_events_stay_local_and_health_says_so(
    start_server: Callable[..., ThreadServer],
) -> None:
    with closed_port() as refusing_port:
        server = start_server(redis_url=f"redis://127.0.0.1:{refusing_port}/0")
        async with connect(server.ws, origin=ORIGIN) as ws, httpx.AsyncClient(base_url=server.http) as http:  # type: ignore[arg-type]
            await recv_json(ws)
            server.services["events"].publish("error", {"error_type": "x", "severity": "error"})
            msg, _ = await recv_until(ws, lambda m: m["type"] == "error")
            assert msg["data"]["error_type"] == "x"
            health = (await http.get("/health")).json()
            assert health["components"]["redis"]["status"] == "down"
            await async_wait_for(
                lambda: server.services["events"].redis_errors > 0, what="redis errors counted"
            )

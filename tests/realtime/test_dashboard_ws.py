"""The dashboard WebSocket against a real uvicorn server with a real `websockets` client."""

from __future__ import annotations

import asyncio
import json
import socket
import sqlite3
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from finlineage.store import repositories as repo
from finlineage.store.models import StatsSnapshot, utcnow

from .conftest import ORIGIN, ThreadServer, async_wait_for, barrier, recv_json, recv_until, routed

pytestmark = pytest.mark.asyncio

Start = Callable[..., ThreadServer]


async def _ack(ws: Any) -> dict[str, Any]:
    msg = await recv_json(ws)
    assert msg["type"] == "connection_ack", msg
    return msg


async def test_ack_ping_and_bad_messages_keep_the_connection(start_server: Start) -> None:
    server = start_server()
    async with connect(server.ws, origin=ORIGIN) as ws:  # type: ignore[arg-type]
        ack = await _ack(ws)
        data = ack["data"]
        assert data["server_version"] and data["connection_id"] and data["instance_id"]
        assert data["limits"]["max_connections_per_ip"] == 10
        assert ack["timestamp"].endswith("Z")
        await ws.send(json.dumps({"type": "ping"}))
        assert (await recv_json(ws))["type"] == "pong"
        for bad, error_type in (
            ("not json", "malformed_message"),
            (json.dumps([1, 2]), "malformed_message"),
            (json.dumps({"type": "launch_missiles"}), "unknown_message_type"),
            (json.dumps({"type": "subscribe", "types": ["nope"]}), "invalid_subscription"),
        ):
            await ws.send(bad)
            reply = await recv_json(ws)
            assert reply["type"] == "error" and reply["data"]["error_type"] == error_type
            assert "traceback" not in json.dumps(reply).lower()
        await ws.send(json.dumps({"type": "ping"}))
        assert (await recv_json(ws))["type"] == "pong"  # still up


async def test_subscribe_filters_types_and_projects(start_server: Start) -> None:
    server = start_server()
    hub = server.services["events"]
    async with connect(server.ws, origin=ORIGIN) as ws:  # type: ignore[arg-type]
        await _ack(ws)
        await ws.send(json.dumps({"type": "subscribe", "types": ["ingestion_complete"], "projects": [7]}))
        await barrier(ws)
        done = {
            "files_processed": 1,
            "files_skipped_duplicate": 0,
            "files_failed": 0,
            "total_nodes_created": 3,
            "duration": 0.5,
        }
        assert hub.publish("ingestion_started", {"run_id": 1, "project_id": 7})  # other type
        assert hub.publish("ingestion_complete", {**done, "run_id": 2, "project_id": 8})  # other project
        assert hub.publish("ingestion_complete", {**done, "run_id": 3, "project_id": 7})
        await routed(hub, "ingestion_complete", 2)
        got = await barrier(ws)
        assert [(m["type"], m["data"]["run_id"]) for m in got] == [("ingestion_complete", 3)]


async def test_disallowed_or_missing_origin_is_refused_with_403(start_server: Start) -> None:
    server = start_server()
    with pytest.raises(InvalidStatus) as bad:
        async with connect(server.ws, origin="http://evil.example"):  # type: ignore[arg-type]
            pass
    assert bad.value.response.status_code == 403
    with pytest.raises(InvalidStatus) as missing:
        async with connect(server.ws):
            pass
    assert missing.value.response.status_code == 403
    assert server.services["ws"].refused["origin_not_allowed"] == 1
    assert server.services["ws"].refused["origin_required"] == 1


async def test_the_pages_own_origin_is_allowed_without_listing_it(start_server: Start) -> None:
    server = start_server(allowed_origins=["http://dashboard.example"])
    async with connect(server.ws, origin=f"http://127.0.0.1:{server.port}") as ws:  # type: ignore[arg-type]
        await _ack(ws)
    with pytest.raises(InvalidStatus) as other_port:
        async with connect(server.ws, origin="http://127.0.0.1:1"):  # type: ignore[arg-type]
            pass
    assert other_port.value.response.status_code == 403


async def test_missing_origin_allowed_when_configured(start_server: Start) -> None:
    server = start_server(websocket_allow_no_origin=True)
    async with connect(server.ws) as ws:
        await _ack(ws)


async def test_legacy_admin_path_serves_the_same_socket(start_server: Start) -> None:
    server = start_server()
    async with connect(f"ws://127.0.0.1:{server.port}/admin/ws/dashboard", origin=ORIGIN) as ws:  # type: ignore[arg-type]
        await _ack(ws)


async def test_eleventh_connection_from_one_ip_is_refused_503(start_server: Start) -> None:
    server = start_server(websocket_max_connections_per_ip=10, websocket_max_connections=100)
    clients = []
    try:
        for _ in range(10):
            ws = await connect(server.ws, origin=ORIGIN)  # type: ignore[arg-type]
            await _ack(ws)
            clients.append(ws)
        with pytest.raises(InvalidStatus) as refused:
            await connect(server.ws, origin=ORIGIN)  # type: ignore[arg-type]
        assert refused.value.response.status_code == 503
        assert server.services["ws"].refused == {"too_many_connections_from_ip": 1}
        for ws in clients:  # the existing ones are unaffected
            await barrier(ws)
        await clients.pop().close()
        await async_wait_for(lambda: server.services["ws"].count == 9, what="slot released")
        again = await connect(server.ws, origin=ORIGIN)  # type: ignore[arg-type]
        clients.append(again)
        await _ack(again)
    finally:
        for ws in clients:
            await ws.close()


async def test_global_cap_refuses_with_503(start_server: Start) -> None:
    server = start_server(websocket_max_connections=2, websocket_max_connections_per_ip=10)
    async with connect(server.ws, origin=ORIGIN) as a, connect(server.ws, origin=ORIGIN) as b:  # type: ignore[arg-type]
        await _ack(a)
        await _ack(b)
        with pytest.raises(InvalidStatus) as refused:
            await connect(server.ws, origin=ORIGIN)  # type: ignore[arg-type]
        assert refused.value.response.status_code == 503
        assert server.services["ws"].refused == {"too_many_connections": 1}


async def test_auth_token_by_query_or_subprotocol(start_server: Start) -> None:
    server = start_server(auth="on")
    key, _ = server.app.state.ctx.keys.create(name="dash", role="viewer")
    with pytest.raises(InvalidStatus) as anonymous:
        await connect(server.ws, origin=ORIGIN)  # type: ignore[arg-type]
    assert anonymous.value.response.status_code == 403
    with pytest.raises(InvalidStatus):
        await connect(server.ws + "?token=wrong", origin=ORIGIN)  # type: ignore[arg-type]
    async with connect(server.ws + f"?token={key}", origin=ORIGIN) as ws:  # type: ignore[arg-type]
        await _ack(ws)
    async with connect(
        server.ws,
        origin=ORIGIN,
        subprotocols=["finlineage", f"bearer.{key}"],  # type: ignore[arg-type,list-item]
    ) as ws:
        assert ws.subprotocol == "finlineage"
        await _ack(ws)


def _seed_store(db_path: str) -> None:
    from sqlalchemy.orm import Session

    from finlineage.store import db as store_db

    engine = store_db.create_engine_for(f"sqlite:///{db_path}")
    try:
        with Session(engine) as s:
            p = repo.create_project(s, "stats-demo")
            ids = {}
            for name, kind in (
                ("raw.t1", "table"),
                ("raw.t2", "table"),
                ("stg.v1", "view"),
                ("stg.mv", "materialized_view"),
                ("ops.p1", "procedure"),
                ("ext.x", "external"),
            ):
                obj, _ = repo.upsert_object(s, p.id, name, kind=kind)
                ids[name] = obj.id
            c1 = repo.get_or_create_column(s, ids["raw.t1"], "a")
            c2 = repo.get_or_create_column(s, ids["stg.v1"], "a")
            repo.get_or_create_column(s, ids["stg.v1"], "b")
            repo.insert_table_edges(
                s, p.id, [{"source_object_id": ids["raw.t1"], "target_object_id": ids["stg.v1"]}]
            )
            repo.insert_column_edges(s, p.id, [{"source_column_id": _id(c1), "target_column_id": _id(c2)}])
            repo.create_run(s, p.id, status="running")
            s.add(
                StatsSnapshot(
                    ts=utcnow() - timedelta(hours=25),
                    project_id=None,
                    counts={
                        "totalNodes": 3,
                        "tables": 1,
                        "views": 1,
                        "procedures": 0,
                        "columns": 1,
                        "edges": 1,
                        "filesProcessed": 0,
                    },
                )
            )
            s.commit()
    finally:
        engine.dispose()


def _id(column: Any) -> int:
    return int(column.id)


async def test_stats_update_equals_get_stats_with_real_numbers_and_trends(
    start_server: Start, tmp_path: Any
) -> None:
    server = start_server(stats_interval_s=0.3)
    _seed_store(str(tmp_path / "data" / "finlineage.db"))
    async with connect(server.ws, origin=ORIGIN) as ws, httpx.AsyncClient(base_url=server.http) as http:  # type: ignore[arg-type]
        await _ack(ws)
        update, _ = await recv_until(ws, lambda m: m["type"] == "stats_update", timeout=5)
        # the snapshot taken on that tick is part of the history now; take the next one
        update, _ = await recv_until(ws, lambda m: m["type"] == "stats_update", timeout=5)
        stats = (await http.get("/api/v1/stats")).json()
        assert update["data"] == stats
    assert stats["totalNodes"] == 6
    assert (stats["tables"], stats["views"], stats["procedures"]) == (2, 2, 1)
    assert stats["columns"] == 3 and stats["edges"] == 2
    assert stats["activeIngestions"] == 1 and stats["connectedClients"] == 1 and stats["activeQueries"] == 0
    assert stats["trends"]["totalNodes"] == {"change": 3, "percent": 100.0}
    assert stats["trends"]["tables"]["change"] == 1


async def test_query_complete_privacy_and_active_queries(start_server: Start) -> None:
    server = start_server()
    hub = server.services["events"]
    async with connect(server.ws, origin=ORIGIN) as ws:  # type: ignore[arg-type]
        await _ack(ws)
        with hub.track("query"):
            assert hub.active("query") == 1
            assert hub.publish(
                "query_complete",
                {
                    "mode": "lineage",
                    "latency_ms": 12.5,
                    "model": "m",
                    "response_length": 99,
                    "project": "p",
                    "query": "SELECT secret FROM customers",
                },
            )
        assert hub.active("query") == 0
        await routed(hub, "query_complete")
        (msg,) = [m for m in await barrier(ws) if m["type"] == "query_complete"]
        assert "secret" not in json.dumps(msg)
        assert msg["data"]["query_preview"] is None and msg["data"]["response_length"] == 99


async def test_query_text_preview_only_when_enabled(start_server: Start) -> None:
    server = start_server(websocket_include_query_text=True)
    hub = server.services["events"]
    async with connect(server.ws, origin=ORIGIN) as ws:  # type: ignore[arg-type]
        await _ack(ws)
        hub.publish(
            "query_complete", {"mode": "m", "latency_ms": 1, "response_length": 1, "query": "x" * 500}
        )
        await routed(hub, "query_complete")
        (msg,) = [m for m in await barrier(ws) if m["type"] == "query_complete"]
        assert msg["data"]["query_preview"].startswith("xxx") and len(msg["data"]["query_preview"]) <= 121


async def test_toggles_and_invalid_events_are_skipped(start_server: Start) -> None:
    server = start_server(websocket_broadcast_query_events=False, websocket_broadcast_ingestion_events=False)
    hub = server.services["events"]
    async with connect(server.ws, origin=ORIGIN) as ws:  # type: ignore[arg-type]
        await _ack(ws)
        assert not hub.publish("query_complete", {"mode": "m", "latency_ms": 1, "response_length": 1})
        assert not hub.publish("ingestion_started", {"run_id": 1})
        assert not hub.publish("ingestion_complete", {"run_id": 1})  # disabled (would be invalid too)
        assert not hub.publish("error", {"error_type": "x", "severity": "error", "stack": "Traceback ..."})
        assert not hub.publish("no_such_type", {})
        assert hub.publish("error", {"error_type": "x", "severity": "error"})
        await routed(hub, "error")
        got = await barrier(ws)
        assert [m["type"] for m in got] == ["error"]
        counters = hub.counters()["dropped"]
        assert counters["disabled"] == 3 and counters["invalid"] == 2


async def test_progress_is_coalesced_and_complete_always_passes(start_server: Start) -> None:
    server = start_server(progress_rate_limit_per_s=2.0)
    hub = server.services["events"]
    async with connect(server.ws, origin=ORIGIN) as ws:  # type: ignore[arg-type]
        await _ack(ws)
        for i in range(1, 51):
            hub.publish(
                "ingestion_progress",
                {
                    "run_id": 5,
                    "project_id": 1,
                    "file": f"f{i}.sql",
                    "files_done": i,
                    "files_total": 50,
                    "percentage": 2.0 * i,
                },
            )
        hub.publish(
            "ingestion_complete",
            {
                "run_id": 5,
                "project_id": 1,
                "files_processed": 50,
                "files_skipped_duplicate": 0,
                "files_failed": 0,
                "total_nodes_created": 10,
                "duration": 1.0,
            },
        )
        complete, before = await recv_until(ws, lambda m: m["type"] == "ingestion_complete")
        progress = [m["data"]["files_done"] for m in before if m["type"] == "ingestion_progress"]
        assert progress[0] == 1 and progress[-1] == 50 and len(progress) <= 3, progress
        assert complete["data"]["files_processed"] == 50
        assert hub.counters()["dropped"]["coalesced"] >= 47


@pytest.mark.parametrize(
    ("queue_size", "send_timeout", "reason"),
    [(16, 30.0, "queue_full"), (100_000, 0.5, "send_timeout")],
    ids=["queue-fills", "send-times-out"],
)
async def test_client_that_stops_reading_is_dropped_without_delaying_others(
    start_server: Start, queue_size: int, send_timeout: float, reason: str
) -> None:
    server = start_server(websocket_send_queue_size=queue_size, websocket_send_timeout_s=send_timeout)
    manager = server.services["ws"]
    hub = server.services["events"]
    stalled = _raw_ws_client(server.port)  # handshakes, then never reads
    await async_wait_for(lambda: manager.count == 1, what="stalled client registered")
    async with connect(server.ws, origin=ORIGIN, max_size=2**22) as healthy:  # type: ignore[arg-type]
        await _ack(healthy)
        big = "x" * 65536
        received = 0
        for i in range(200):
            hub.publish("ingestion_started", {"run_id": i, "project_id": 1, "pad": big})
            msg = await recv_json(healthy, timeout=5)  # the healthy client keeps up message by message
            assert msg["data"]["run_id"] == i
            received += 1
        assert received == 200
        await async_wait_for(lambda: dict(manager.dropped) == {reason: 1}, what="stalled client dropped")
        assert manager.count == 1
    # really gone: reset (RST), its kernel buffers discarded, not a polite close queued behind them
    stalled.settimeout(5)
    drained = 0
    with pytest.raises(ConnectionResetError):
        while chunk := stalled.recv(1 << 20):
            drained += len(chunk)
    assert drained < 1 << 20, drained
    stalled.close()


async def test_dead_peer_is_dropped_by_server_pings(start_server: Start) -> None:
    server = start_server(ws_ping_interval=0.3, ws_ping_timeout=0.3)
    manager = server.services["ws"]
    dead = _raw_ws_client(server.port)  # never answers pings
    await async_wait_for(lambda: manager.count == 1, what="peer registered")
    await async_wait_for(lambda: manager.count == 0, timeout=10, what="dead peer dropped")
    dead.close()


async def test_forced_database_failure_emits_error_event(start_server: Start, tmp_path: Any) -> None:
    server = start_server(stats_interval_s=0.2)
    async with connect(server.ws, origin=ORIGIN) as ws, httpx.AsyncClient(base_url=server.http) as http:  # type: ignore[arg-type]
        await _ack(ws)
        # break the store for real: the objects table disappears under the running server
        conn = sqlite3.connect(tmp_path / "data" / "finlineage.db")
        conn.execute("ALTER TABLE objects RENAME TO objects_gone")
        conn.commit()
        conn.close()
        resp = await http.get("/api/v1/stats")
        assert resp.status_code == 500
        assert "Traceback" not in resp.text
        request_id = resp.json()["request_id"]
        msg, _ = await recv_until(ws, lambda m: m["type"] == "error")
        assert msg["data"]["request_id"] == request_id
        assert msg["data"]["endpoint"] == "/api/v1/stats" and msg["data"]["status_code"] == 500
        assert msg["data"]["severity"] == "critical" and msg["data"]["error_type"] == "internal_error"
        assert set(msg["data"]) <= {
            "error_type",
            "severity",
            "endpoint",
            "request_id",
            "status_code",
            "message",
        }
        await barrier(ws)  # the connection stays up
        # the failing store also turns the system status to degraded, and back once it recovers
        degraded, _ = await recv_until(ws, lambda m: m["type"] == "system_status_change", timeout=10)
        assert degraded["data"]["status"] == "degraded" and "store" in degraded["data"]["reason"]
        assert (await http.get("/health")).json()["status"] == "degraded"
        conn = sqlite3.connect(tmp_path / "data" / "finlineage.db")
        conn.execute("ALTER TABLE objects_gone RENAME TO objects")
        conn.commit()
        conn.close()
        healthy, _ = await recv_until(ws, lambda m: m["type"] == "system_status_change", timeout=10)
        assert healthy["data"]["status"] == "healthy"


async def test_server_shutdown_closes_sockets_with_a_reconnectable_code(start_server: Start) -> None:
    """A plain shutdown (SIGTERM) closes with 1012 "service restart"; the admin restart additionally
    sends `disconnect_notice` first (see test_restart.py)."""
    server = start_server()
    async with connect(server.ws, origin=ORIGIN) as ws:  # type: ignore[arg-type]
        await _ack(ws)
        await asyncio.to_thread(server.stop)
        with pytest.raises(ConnectionClosed) as closed:
            await recv_json(ws)
        assert closed.value.rcvd is not None and closed.value.rcvd.code in (1001, 1012)


def _raw_ws_client(port: int) -> socket.socket:
    """A WebSocket client that completes the handshake and then never reads again."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.sendall(
        (
            "GET /api/v1/ws/dashboard HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
            f"Origin: {ORIGIN}\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        assert chunk, "handshake failed"
        head += chunk
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock

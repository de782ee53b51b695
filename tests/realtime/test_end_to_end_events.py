"""End to end through the real endpoints: an upload emits the ingestion events, a chat question
emits `query_complete` (without its text), and both land in the activity log."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest
from websockets.asyncio.client import connect

from .conftest import ORIGIN, ThreadServer, recv_json, recv_until

pytestmark = [pytest.mark.asyncio, pytest.mark.slow]

SQL = {
    "ddl/raw.sql": "CREATE TABLE raw_trades (trade_id INT, notional DECIMAL(18,2), ccy VARCHAR(3));",
    "views/stg.sql": "CREATE VIEW stg_trades AS SELECT trade_id, notional * 1.0 AS notional_usd FROM raw_trades;",
}


async def test_upload_emits_started_progress_complete(start_server: Callable[..., ThreadServer]) -> None:
    server = start_server(parse_workers=1, activity_flush_interval_s=0.1)
    async with (
        connect(server.ws, origin=ORIGIN) as ws,  # type: ignore[arg-type]
        httpx.AsyncClient(base_url=server.http, timeout=60) as http,
    ):
        assert (await recv_json(ws))["type"] == "connection_ack"
        files = [("files", (path, text.encode(), "text/plain")) for path, text in SQL.items()]
        resp = await http.post(
            "/api/v1/files/upload", files=files, data={"project_id": "e2e", "create_project": "true"}
        )
        assert resp.status_code in (200, 202), resp.text
        complete, before = await recv_until(ws, lambda m: m["type"] == "ingestion_complete", timeout=60)
        kinds = [m["type"] for m in before if m["type"].startswith("ingestion")]
        assert kinds[0] == "ingestion_started" and "ingestion_progress" in kinds
        progress = [m["data"] for m in before if m["type"] == "ingestion_progress"]
        assert progress[-1]["percentage"] == 100.0 and progress[-1]["files_total"] == 2
        data = complete["data"]
        assert data["files_processed"] == 2 and data["files_failed"] == 0 and data["total_nodes_created"] >= 2
        assert data["run_id"] and data["project_id"] and data["duration"] >= 0
        stats = (await http.get("/api/v1/stats")).json()
        assert stats["totalNodes"] >= 2 and stats["tables"] >= 1 and stats["views"] >= 1
        recent = (await http.get("/api/v1/activity/recent", params={"limit": 200})).json()["events"]
        assert {"ingestion_started", "ingestion_complete"} <= {e["type"] for e in recent}


async def test_chat_question_emits_query_complete_without_text(
    start_server: Callable[..., ThreadServer],
) -> None:
    server = start_server(parse_workers=1)
    question = "Which columns feed stg_trades.notional_usd? (secret-marker-42)"
    async with (
        connect(server.ws, origin=ORIGIN) as ws,  # type: ignore[arg-type]
        httpx.AsyncClient(base_url=server.http, timeout=120) as http,
    ):
        assert (await recv_json(ws))["type"] == "connection_ack"
        files = [("files", (path, text.encode(), "text/plain")) for path, text in SQL.items()]
        await http.post(
            "/api/v1/files/upload",
            files=files,
            data={"project_id": "e2e", "create_project": "true"},
            params={"wait": "true"},
        )
        resp = await http.post("/api/chat/graph", json={"query": question, "context": {"project_id": "e2e"}})
        assert resp.status_code == 200, resp.text
        msg, _ = await recv_until(ws, lambda m: m["type"] == "query_complete", timeout=60)
        assert "secret-marker-42" not in json.dumps(msg)
        assert msg["data"]["mode"] and msg["data"]["response_length"] > 0 and msg["data"]["latency_ms"] >= 0

"""POST /admin/restart on a real `finlineage serve` process: re-exec in place, or exit 0 under a supervisor."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from finlineage.store import db as store_db
from finlineage.store import repositories as repo

from .conftest import ORIGIN, ProcessServer, async_wait_for, recv_json, recv_until, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.asyncio]

# The bound; a heavily loaded machine may raise it (the re-exec pays a full Python start).
RESTART_BUDGET_S = float(os.environ.get("FINLINEAGE_TEST_RESTART_BUDGET_S", "10"))

Spawn = Callable[..., ProcessServer]


def _projects(db: Path) -> list[str]:
    engine = store_db.create_engine_for(f"sqlite:///{db}")
    try:
        with Session(engine) as s:
            return sorted(p.name for p in repo.list_projects(s))
    finally:
        engine.dispose()


async def test_restart_reexecs_in_place_without_losing_activity_or_data(spawn: Spawn, tmp_path: Path) -> None:
    server = spawn(
        FINLINEAGE_RESTART_MODE="reexec",
        FINLINEAGE_RESTART_GRACE_S="5",
        FINLINEAGE_ACTIVITY_FLUSH_INTERVAL_S="0.2",
    )
    before = server.wait_healthy()["components"]["events"]
    db = tmp_path / "data" / "finlineage.db"
    engine = store_db.create_engine_for(f"sqlite:///{db}")
    with Session(engine) as s:
        repo.create_project(s, "survives-restart")
        s.commit()
    engine.dispose()

    request_ids = []
    async with httpx.AsyncClient(base_url=server.http, timeout=10) as http:
        for _ in range(5):
            r = await http.get("/api/v1/stats")
            assert r.status_code == 200
            request_ids.append(r.headers["x-request-id"])
        async with connect(server.ws, origin=ORIGIN) as ws:  # type: ignore[arg-type]
            assert (await recv_json(ws))["type"] == "connection_ack"
            opts = await http.options("/admin/restart")
            assert opts.status_code == 204 and "POST" in opts.headers["allow"]
            t0 = time.monotonic()
            resp = await http.post("/admin/restart")
            assert resp.status_code == 202 and resp.json()["status"] == "restarting"
            restart_id = resp.headers["x-request-id"]
            status, _ = await recv_until(ws, lambda m: m["type"] == "system_status_change", timeout=10)
            assert status["data"]["status"] == "restarting"
            notice, _ = await recv_until(ws, lambda m: m["type"] == "disconnect_notice", timeout=10)
            assert notice["data"]["reason"] == "server restarting"
            with pytest.raises(ConnectionClosed) as closed:
                await recv_json(ws, timeout=10)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012

    def restarted() -> dict[str, Any] | None:
        health = server.health()
        if health and health["components"]["events"]["started_at"] != before["started_at"]:
            return health
        return None

    after = await asyncio.to_thread(
        wait_for, restarted, RESTART_BUDGET_S, 0.05, "the server back, new start time"
    )
    assert time.monotonic() - t0 < RESTART_BUDGET_S
    assert after["status"] == "healthy"
    assert after["components"]["events"]["pid"] == before["pid"]  # re-executed in place
    assert server.proc.poll() is None

    async with httpx.AsyncClient(base_url=server.http, timeout=10) as http:
        events = (await http.get("/api/v1/activity/recent", params={"type": "request", "limit": 500})).json()
    by_id = {e["data"]["request_id"]: e for e in events["events"]}
    assert all(rid in by_id for rid in request_ids), "a request's activity event was lost"
    restart_event = by_id[restart_id]
    assert (restart_event["method"], restart_event["route"], restart_event["status_code"]) == (
        "POST",
        "/admin/restart",
        202,
    )
    assert _projects(db) == ["survives-restart"]  # store intact
    lines = (tmp_path / "logs-server" / "activity.jsonl").read_text().splitlines()
    parsed = [json.loads(line) for line in lines]
    assert any(p.get("data", {}).get("request_id") == restart_id for p in parsed)
    assert not (tmp_path / "data" / "restart.requested").exists()


async def test_restart_under_a_supervisor_exits_zero(spawn: Spawn) -> None:
    server = spawn(FINLINEAGE_RESTART_MODE="exit", FINLINEAGE_RESTART_GRACE_S="2")
    server.wait_healthy()
    async with httpx.AsyncClient(base_url=server.http, timeout=10) as http:
        resp = await http.post("/admin/restart")
        assert resp.status_code == 202
    code = await asyncio.to_thread(server.proc.wait, 15)
    assert code == 0, server.output()


async def test_restart_under_load_fails_no_request(spawn: Spawn) -> None:
    """The listening socket survives the re-exec: requests sent during /admin/restart wait in its
    backlog for the new process instead of being refused (or answered 503)."""
    server = spawn(FINLINEAGE_RESTART_MODE="reexec", FINLINEAGE_RESTART_GRACE_S="5")
    before = server.wait_healthy()["components"]["events"]["started_at"]
    results: list[str] = []
    stop = asyncio.Event()

    async def client(n: int) -> None:
        # a fresh connection per request, as a browser or proxy opening new connections would
        async with httpx.AsyncClient(
            base_url=server.http, timeout=30, limits=httpx.Limits(max_keepalive_connections=0)
        ) as http:
            while not stop.is_set():
                try:
                    r = await http.get("/api/v1/projects")
                    results.append("ok" if r.status_code == 200 else f"status {r.status_code}")
                except httpx.HTTPError as exc:
                    results.append(f"{type(exc).__name__}: {exc}")
                await asyncio.sleep(0.01)

    tasks = [asyncio.create_task(client(n)) for n in range(4)]
    await async_wait_for(lambda: len(results) >= 20, 20, what="load running")
    async with httpx.AsyncClient(base_url=server.http, timeout=10) as http:
        assert (await http.post("/admin/restart")).status_code == 202

    def restarted() -> bool:
        health = server.health()
        return bool(health and health["components"]["events"]["started_at"] != before)

    await asyncio.to_thread(wait_for, restarted, RESTART_BUDGET_S + 20, 0.05, "restarted")
    count = len(results)
    await async_wait_for(lambda: len(results) >= count + 20, 20, what="load after the restart")
    stop.set()
    await asyncio.gather(*tasks)
    failed = [r for r in results if r != "ok"]
    assert server.proc.poll() is None  # re-executed in place
    assert not failed, f"{len(failed)} of {len(results)} failed: {failed[:5]}"

"""Revocation on every instance (HTTP next request, open WebSockets closed 1008 within 1 s), the
admin key endpoints, and the per-connection WebSocket flood limit — real `finlineage serve`s."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable
from pathlib import Path

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from .conftest import Served, cli


async def _closed_within(ws: object, seconds: float) -> int | None:
    """Receive until the server closes; the close code, or None if still open after `seconds`."""
    try:
        async with asyncio.timeout(seconds):
            while True:
                await ws.recv()  # type: ignore[attr-defined]
    except ConnectionClosed as exc:
        return exc.rcvd.code if exc.rcvd is not None else None
    except TimeoutError:
        return None


def test_revocation_applies_at_once_on_every_instance(serve: Callable[..., Served], tmp_path: Path) -> None:
    data = tmp_path / "shared"
    a = serve(name="a", data_dir=data, FINLINEAGE_AUTH="on")
    b = serve(name="b", data_dir=data, FINLINEAGE_AUTH="on")
    admin_key = cli(a.env, "keys", "create", "--name", "root", "--role", "admin").splitlines()[0].strip()
    admin = {"X-API-Key": admin_key}

    created = a.post("/api/v1/keys", json={"name": "analyst", "role": "viewer"}, headers=admin)
    assert created.status_code == 201, created.text
    key, key_id = created.json()["key"], created.json()["id"]
    assert key.startswith("flk_")
    listed = a.get("/api/v1/keys", headers=admin).json()
    assert {k["name"] for k in listed["keys"]} >= {"root", "analyst"}
    assert all("key" not in k for k in listed["keys"])
    assert a.post("/api/v1/keys", json={"name": "analyst"}, headers=admin).status_code == 409
    assert a.get("/api/v1/keys", headers={"X-API-Key": key}).status_code == 403  # admin only

    viewer = {"X-API-Key": key}
    for server in (a, b):  # warm both instances' key caches
        assert server.get("/api/v1/projects", headers=viewer).status_code == 200

    async def scenario() -> tuple[int | None, int | None, float]:
        async with connect(a.ws + f"?token={key}") as ws_a, connect(b.ws + f"?token={key}") as ws_b:
            await ws_a.recv()  # connection_ack
            await ws_b.recv()
            revoked = a.delete(f"/api/v1/keys/{key_id}", headers=admin)
            assert revoked.status_code == 200 and revoked.json()["revoked"] is True
            t0 = time.monotonic()
            # next request, on both instances
            assert a.get("/api/v1/projects", headers=viewer).status_code == 401
            assert b.get("/api/v1/projects", headers=viewer).status_code == 401
            code_a, code_b = await asyncio.gather(_closed_within(ws_a, 1.0), _closed_within(ws_b, 1.0))
            return code_a, code_b, time.monotonic() - t0

    code_a, code_b, _elapsed = asyncio.run(scenario())
    assert code_a == 1008 and code_b == 1008
    assert a.delete("/api/v1/keys/99999", headers=admin).status_code == 404


def test_cli_revocation_closes_sockets_of_a_running_server(serve: Callable[..., Served]) -> None:
    server = serve(FINLINEAGE_AUTH="on")
    key = cli(server.env, "keys", "create", "--name", "ops", "--role", "viewer").splitlines()[0].strip()
    listed = cli(server.env, "keys", "list")
    key_id = next(re.search(r"\d+", line).group() for line in listed.splitlines() if " ops " in line)  # type: ignore[union-attr]

    async def scenario() -> int | None:
        async with connect(server.ws + f"?token={key}") as ws:
            await ws.recv()
            cli(server.env, "keys", "revoke", key_id)
            return await _closed_within(ws, 1.5)

    assert asyncio.run(scenario()) == 1008
    assert server.get("/api/v1/projects", headers={"X-API-Key": key}).status_code == 401


def test_websocket_flood_is_closed_and_others_are_unaffected(serve: Callable[..., Served]) -> None:
    server = serve(FINLINEAGE_WEBSOCKET_RATE_LIMIT_PER_S="20", FINLINEAGE_WEBSOCKET_RATE_LIMIT_BURST="100")
    origin = {"Origin": "http://127.0.0.1:8000"}

    async def scenario() -> tuple[int | None, int, bool]:
        async with (
            connect(server.ws, additional_headers=origin) as flooder,
            connect(server.ws, additional_headers=origin) as calm,
        ):
            await flooder.recv()
            await calm.recv()
            sent = 0
            try:
                for _ in range(2000):
                    await flooder.send(json.dumps({"type": "ping"}))
                    sent += 1
            except ConnectionClosed:
                pass
            code = await _closed_within(flooder, 5.0)
            # the other client still gets answers
            await calm.send(json.dumps({"type": "ping", "data": 7}))
            while True:
                msg = json.loads(await asyncio.wait_for(calm.recv(), 5))
                if msg["type"] == "pong":
                    return code, sent, msg["data"]["echo"] == 7

    code, sent, answered = asyncio.run(scenario())
    assert code == 1008
    assert sent >= 100  # the burst is allowed
    assert answered

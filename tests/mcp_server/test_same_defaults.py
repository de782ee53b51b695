"""Chat/MCP and the API walk with one set of defaults: on a chain deeper than 12 hops the MCP
`upstream` tool and `GET /api/v1/lineage/column/{ref}/upstream` (no parameters) list the same
columns — the full closure, and, past the server's `walk_node_cap`, the same nearest nodes with
`truncated`. A real uvicorn server (auth on) with `/mcp` over streamable HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from finlineage.api.app import create_app
from realtime.conftest import ThreadServer
from support import app_settings

HOPS = 20
CAP = 15


def _chain() -> bytes:
    """A base table and HOPS views, each reading the one before (our own corpus)."""
    out = ["CREATE TABLE hop.h00 (amt DECIMAL(18,2), k INT);"]
    for i in range(1, HOPS + 1):
        out.append(f"CREATE VIEW hop.h{i:02d} AS SELECT amt + {i} AS amt, k FROM hop.h{i - 1:02d};")
    return ("\n".join(out) + "\n").encode()


@dataclass
class Srv:
    base: str
    key: str


@pytest.fixture
def srv(tmp_path: Path, database_url: str) -> Iterator[Srv]:
    app = create_app(app_settings(tmp_path, database_url, auth="on", walk_node_cap=CAP))
    server = ThreadServer(app).start()
    key = app.state.ctx.keys.create(name="ed", role="editor")[0]
    base = server.http
    with httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=120) as c:
        assert c.post("/api/v1/projects", json={"name": "hops"}).status_code == 201
        r = c.post(
            "/api/v1/files/upload?wait=true",
            files=[("files", ("chain.sql", _chain(), "application/octet-stream"))],
            data={"project_id": "hops", "repository_name": "r", "dialect": "tsql"},
        )
        assert r.status_code == 200 and r.json()["status"] == "completed", r.text
    try:
        yield Srv(base, key)
    finally:
        server.stop()


def _mcp_upstream(s: Srv, name: str) -> dict[str, Any]:
    headers = {
        "Accept": "application/json, text/event-stream",
        "Content-Type": "application/json",
        "Authorization": f"Bearer {s.key}",
    }
    init = {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"},
    }
    with httpx.Client(base_url=s.base, headers=headers, timeout=120) as c:
        r = c.post("/mcp/", json={"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": init})
        assert r.status_code == 200, r.text
        call = {"name": "upstream", "arguments": {"name": name, "project": "hops"}}
        r = c.post("/mcp/", json={"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": call})
        assert r.status_code == 200, r.text
    body: dict[str, Any] = json.loads(r.json()["result"]["content"][0]["text"])
    assert body["found"] is True, body
    return body


def _api_upstream(s: Srv, ref: str) -> dict[str, Any]:
    with httpx.Client(base_url=s.base, headers={"X-API-Key": s.key}, timeout=120) as c:
        r = c.get(f"/api/v1/lineage/column/{ref}/upstream")
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def _api_names(body: dict[str, Any]) -> set[str]:
    return {n["canonical_id"] for n in body["nodes"] if n["hop"] > 0}


def test_mcp_and_api_upstream_list_the_same_nodes_past_12_hops(srv: Srv) -> None:
    # 13 hops down the chain: the full closure, within the node cap
    ref = "hop.h13.amt"
    api = _api_upstream(srv, ref)
    mcp = _mcp_upstream(srv, ref)
    assert api["truncated"] is False and mcp["truncated"] is False
    assert _api_names(api) == {f"hop.h{i:02d}.amt" for i in range(13)}
    assert {n["name"] for n in mcp["nodes"]} == _api_names(api)
    assert max(n["hop"] for n in mcp["nodes"]) == 13 and mcp["depth"] == "all"

    # the end of the chain: more columns than walk_node_cap; both answers stop at the same ones
    ref = f"hop.h{HOPS}.amt"
    api = _api_upstream(srv, ref)
    mcp = _mcp_upstream(srv, ref)
    assert api["truncated"] is True and mcp["truncated"] is True
    assert api["omitted"] > 0
    assert {n["name"] for n in mcp["nodes"]} == _api_names(api)
    assert len(_api_names(api)) < HOPS

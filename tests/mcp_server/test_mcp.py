"""The MCP server with the official SDK's client: `finlineage mcp` as a real stdio subprocess
(lists the tools, answers upstream with evidence), and `/mcp` over streamable HTTP on a real
`finlineage serve` with auth on (a viewer key is needed)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from .conftest import BIN, ROOT, Served, base_env

TOOLS = {
    "search",
    "node",
    "upstream",
    "downstream",
    "impact",
    "explain",
    "path",
    "file_lines",
    "failed_files",
}


def _text(result: Any) -> dict[str, Any]:
    assert not result.is_error, result
    return json.loads(result.content[0].text)  # type: ignore[no-any-return]


async def _stdio_session(data: Path) -> tuple[set[str], dict[str, Any], dict[str, Any], dict[str, Any]]:
    params = StdioServerParameters(
        command=str(BIN / "finlineage"),
        args=["mcp", "--project", "treasury"],
        env=base_env(data),
        cwd=str(ROOT),
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        listed = await session.list_tools()
        up = _text(await session.call_tool("upstream", {"name": "core.acct_balances.bal_amt_usd"}))
        health = _text(await session.call_tool("failed_files", {}))
        amb = _text(await session.call_tool("upstream", {"name": "customers"}))
        other = _text(await session.call_tool("node", {"name": "core.customers", "project": "elsewhere"}))
        assert other["found"] is False and "project" in other["message"]  # --project scopes the server
        return {t.name for t in listed.tools}, up, health, amb


def test_stdio_lists_tools_and_answers_upstream_with_evidence(treasury_data: Path) -> None:
    names, up, health, amb = asyncio.run(asyncio.wait_for(_stdio_session(treasury_data), 120))
    assert names >= TOOLS
    assert up["found"] and up["depth"] == "all" and up["truncated"] is False
    sources = {n["name"] for n in up["nodes"]}
    assert {"inbound.deposit_accts.bal_amt", "inbound.fx_spot.spot_rt"} <= sources
    edge = next(e for e in up["edges"] if e["source"] == "inbound.deposit_accts.bal_amt")
    assert edge["file"] == "procs/load_balances.sql" and edge["via"] == "core.load_balances"
    assert edge["lines"] and "d.bal_amt * fx.spot_rt" in edge["source_text"]  # original file text
    assert [f["file"] for f in health["failed_files"]] == ["broken/bad_view.sql"]
    assert amb.get("ambiguous") and set(amb["candidates"]) == {"core.customers", "inbound.customers"}


def test_stdio_unknown_project_exits_with_error(treasury_data: Path) -> None:
    import subprocess

    done = subprocess.run(
        [str(BIN / "finlineage"), "mcp", "--project", "nope"],
        env=base_env(treasury_data),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert done.returncode == 2 and "nope" in done.stderr


def _rpc(method: str, params: dict[str, Any], ident: int) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": ident, "method": method, "params": params}


def test_http_mcp_needs_a_key_and_answers(served: Served) -> None:
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    init = _rpc(
        "initialize",
        {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
        1,
    )
    denied = httpx.post(f"{served.url}/mcp/", json=init, headers=headers, timeout=30)
    assert denied.status_code == 401 and denied.json()["error"] == "missing_api_key"
    wrong = httpx.post(
        f"{served.url}/mcp/", json=init, headers={**headers, "X-API-Key": "flk_wrong"}, timeout=30
    )
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_api_key"
    auth = {**headers, "Authorization": f"Bearer {served.key}"}
    with httpx.Client(base_url=served.url, headers=auth, timeout=60) as c:
        r = c.post("/mcp/", json=init)
        assert r.status_code == 200, r.text
        assert r.json()["result"]["serverInfo"]["name"] == "finlineage"
        listed = c.post("/mcp/", json=_rpc("tools/list", {}, 2)).json()
        assert {t["name"] for t in listed["result"]["tools"]} >= TOOLS
        called = c.post(
            "/mcp/",
            json=_rpc("tools/call", {"name": "impact", "arguments": {"name": "inbound.gl_postings"}}, 3),
        ).json()
        body = json.loads(called["result"]["content"][0]["text"])
        affected = {n for g in body["groups"] for n in g["objects"]}
        assert {"core.gl_entries", "outbound.lcr_report", "outbound.treasury_board_pack"} <= affected
        assert max(g["hop"] for g in body["groups"]) == 6  # the whole chain, not a default depth

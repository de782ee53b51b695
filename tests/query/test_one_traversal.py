"""One graph traversal with one set of defaults: `/explain` (through=all), the lineage API's
upstream walk and the chat's tools gather a column's upstream through the same walk
(`query.lineage.column_walk`, direct edges as the API's column walks), so they agree on the
upstream columns, on `truncated` and on `omitted` — also past 12 hops and with the node cap hit.

A real server (uvicorn on a loopback port) with `walk_node_cap` set, on each store backend; the
chat's tools run through the MCP runner the server mounts at `/mcp` (`LineageMCP`, the same cap).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from finlineage.api.app import create_app
from finlineage.lineage.model import ColumnDef
from finlineage.mcp.server import LineageMCP
from finlineage.query import lineage
from finlineage.query.common import Scope
from finlineage.query.explain import explain_column
from finlineage.store import repositories as store
from finlineage.store.models import Column
from finlineage.store.repositories import ObjectSpec
from realtime.conftest import ThreadServer
from support import app_settings

HOPS = 16
"""Views in the chain (more than 12 hops from the last to the base table)."""
CAP = 8
"""The node cap: the walk keeps the explained column and its 7 nearest upstream columns."""


def _chain_sql() -> str:
    lines = ["CREATE TABLE chain.base (v int);"]
    prev = "chain.base"
    for i in range(1, HOPS + 1):
        lines.append(f"CREATE VIEW chain.s{i:02d} AS SELECT v * 2 + {i} AS v FROM {prev};")
        prev = f"chain.s{i:02d}"
    return "\n".join(lines)


@pytest.fixture
def served(tmp_path: Path, database_url: str) -> Iterator[tuple[httpx.Client, int]]:
    server = ThreadServer(create_app(app_settings(tmp_path, database_url, walk_node_cap=CAP))).start()
    client = httpx.Client(base_url=server.http, timeout=300)
    try:
        res = client.post(
            "/api/v1/ingest/sql?wait=true",
            json={
                "sql": _chain_sql(),
                "project_id": "chain",
                "create_project": True,
                "dialect": "postgres",
                "path": "chain.sql",
            },
        )
        assert res.status_code == 200, res.text
        yield client, int(res.json()["project_id"])
    finally:
        client.close()
        server.stop()


def _get(client: httpx.Client, url: str, **params: Any) -> dict[str, Any]:
    res = client.get(url, params=params)
    assert res.status_code == 200, res.text
    body: dict[str, Any] = res.json()
    return body


def test_explain_api_walk_and_chat_see_the_same_upstream_at_the_node_cap(
    served: tuple[httpx.Client, int], session_factory: sessionmaker[Session]
) -> None:
    client, pid = served
    col = f"chain.s{HOPS:02d}.v"
    walk = _get(client, f"/api/v1/lineage/column/{col}/upstream", project_id=pid)
    walked = {n["canonical_id"] for n in walk["nodes"]}
    # the cap is hit: the nearest columns are kept, the rest counted
    expected = {col} | {f"chain.s{i:02d}.v" for i in range(HOPS - CAP + 1, HOPS)}
    assert walked == expected
    assert walk["truncated"] is True and walk["omitted"] == HOPS + 1 - CAP

    deep = _get(client, f"/api/v1/lineage/column/{col}/explain", project_id=pid, through="all")
    # explain composed exactly the walk's columns (one step per view, data-flow order) ...
    assert {s["target"] for s in deep["steps"]} == walked
    assert [s["target"] for s in deep["steps"]][-1] == col
    # ... and reads the first column the cap left out as a leaf, saying it was cut
    assert deep["sources"] == [f"chain.s{HOPS - CAP:02d}.v"]
    assert deep["truncated"] is True and deep["omitted"] == walk["omitted"]

    chat = LineageMCP(session_factory, node_cap=CAP)
    up = chat.call_sync("upstream", {"name": col, "project": str(pid)})
    assert up["found"] is True
    assert {n["name"] for n in up["nodes"]} | {col} == walked
    assert up["truncated"] is True and up["omitted"] == walk["omitted"]
    # the chat's explain is the API's explain with the API's defaults
    said = chat.call_sync("explain", {"name": col, "project": str(pid)})
    api = _get(client, f"/api/v1/lineage/column/{col}/explain", project_id=pid)
    assert said["formula"] == api["formula"] and said["sources"] == api["sources"]
    assert said["through"] == api["through"] == "persistent"


def test_explain_through_all_below_the_cap_reaches_the_base_table(
    served: tuple[httpx.Client, int],
) -> None:
    client, pid = served
    col = f"chain.s{CAP - 1:02d}.v"  # CAP columns upstream including itself: nothing left out
    walk = _get(client, f"/api/v1/lineage/column/{col}/upstream", project_id=pid)
    assert walk["truncated"] is False and len(walk["nodes"]) == CAP
    deep = _get(client, f"/api/v1/lineage/column/{col}/explain", project_id=pid, through="all")
    assert deep["truncated"] is False and deep["omitted"] == 0
    assert deep["sources"] == ["chain.base.v"]
    assert {s["target"] for s in deep["steps"]} == {n["canonical_id"] for n in walk["nodes"]} - {
        "chain.base.v"
    }


# --------------------------------------------------------------------------------------
# one walk, not one query per hop
# --------------------------------------------------------------------------------------


@contextmanager
def _counting(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def hook(conn: object, cursor: object, statement: str, *args: object) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", hook)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", hook)


def _linear(session: Session, name: str, hops: int) -> str:
    """``hops`` tables, each column copied from the table before (edges straight into the store)."""
    p = store.create_project(session, name)
    specs = [ObjectSpec(f"{name}.t{i:02d}", "table", columns=(ColumnDef("c", 1),)) for i in range(hops + 1)]
    ids = {c: o for c, (o, _) in store.ensure_objects(session, p.id, specs).items()}
    cols = {
        int(oid): int(cid)
        for cid, oid in session.execute(
            select(Column.id, Column.object_id).where(Column.object_id.in_(list(ids.values())))
        )
    }
    store.insert_column_edges(
        session,
        p.id,
        [
            {
                "source_column_id": cols[ids[f"{name}.t{i - 1:02d}"]],
                "target_column_id": cols[ids[f"{name}.t{i:02d}"]],
            }
            for i in range(1, hops + 1)
        ],
    )
    session.commit()
    return f"{name}.t{hops:02d}.c"


def test_explain_through_all_runs_one_walk_whatever_the_depth(
    engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    counts = []
    for name, hops in (("short", 3), ("long", 30)):
        with session_factory() as s:
            ref = _linear(s, name, hops)
        with session_factory() as s, _counting(engine) as seen:
            out = explain_column(s, Scope(), ref, through="all")
            counts.append(len(seen))
        assert out.sources == [f"{name}.t00.c"] and out.truncated is False
    short, long = counts
    assert long <= short, counts


def test_full_closure_keeps_the_edges_of_its_farthest_columns(session_factory: sessionmaker[Session]) -> None:
    """Two copy chains of exactly the walk's first probe bound (32 hops) meet at the root; the
    farthest column of one chain also reads the farthest of the other. The full closure has that
    edge (the API walk and explain both see it): explain composes through it."""
    from finlineage.query.lineage import column_walk
    from finlineage.store.graph import _FIRST_BOUND

    hops = _FIRST_BOUND
    with session_factory() as s:
        p = store.create_project(s, "cross")
        specs = [ObjectSpec("cross.root", "table", columns=(ColumnDef("c", 1),))]
        specs += [
            ObjectSpec(f"cross.{side}{i:02d}", "table", columns=(ColumnDef("c", 1),))
            for side in "ab"
            for i in range(1, hops + 1)
        ]
        ids = {c: o for c, (o, _) in store.ensure_objects(s, p.id, specs).items()}
        col = {
            name: int(cid)
            for name, oid in ids.items()
            for (cid,) in s.execute(select(Column.id).where(Column.object_id == oid))
        }
        edges = [
            {"source_column_id": col[f"cross.{side}01"], "target_column_id": col["cross.root"]}
            for side in "ab"
        ]
        edges += [
            {
                "source_column_id": col[f"cross.{side}{i + 1:02d}"],
                "target_column_id": col[f"cross.{side}{i:02d}"],
            }
            for side in "ab"
            for i in range(1, hops)
        ]
        edges.append(
            {"source_column_id": col[f"cross.b{hops:02d}"], "target_column_id": col[f"cross.a{hops:02d}"]}
        )
        store.insert_column_edges(s, p.id, edges)
        s.commit()
        t = column_walk(s, col["cross.root"], "upstream")
        assert t.truncated is False and max(n.hop for n in t.nodes) == hops
        assert (col[f"cross.b{hops:02d}"], col[f"cross.a{hops:02d}"]) in {
            (e.source_id, e.target_id) for e in t.edges
        }
        out = explain_column(s, Scope(), "cross.root.c", through="all")
        assert f"cross.b{hops:02d}.c" in out.sources and f"cross.a{hops:02d}.c" not in out.sources


# --------------------------------------------------------------------------------------
# one set of default edge kinds: router, chat (tools + answers), MCP, explain, impact, path
# --------------------------------------------------------------------------------------

_MIXED = """CREATE TABLE src.trades (id int, amount decimal(18,2), ccy varchar(3), book int);
CREATE TABLE src.rates (ccy varchar(3), rate decimal(18,6));
CREATE TABLE src.books (book int, active int);
CREATE TABLE rpt.daily (total decimal(18,2));
GO
CREATE VIEW stg.trades_usd AS
SELECT t.id, t.amount * r.rate AS amount_usd
FROM src.trades t
JOIN src.rates r ON r.ccy = t.ccy
WHERE t.book IN (SELECT b.book FROM src.books b WHERE b.active = 1);
GO
CREATE VIEW rpt.totals AS SELECT SUM(u.amount_usd) AS total FROM stg.trades_usd u;
GO
CREATE PROCEDURE etl.load_daily AS
BEGIN
  INSERT INTO rpt.daily (total) SELECT t.total FROM rpt.totals t;
END;
GO
CREATE PROCEDURE etl.nightly AS
BEGIN
  EXEC etl.load_daily;
END;
GO
"""
"""Values flow along direct column edges; the join key and the filter's columns are read through
indirect ones, and a procedure call is an indirect table edge: the default edge kinds of a column
walk and of a node walk each change the answer (our own corpus)."""
MIXED_CAP = 8
"""Holds every default walk of the corpus whole; a column walk along every kind from the report
column (9 columns) is cut."""


@pytest.fixture
def mixed(tmp_path: Path, database_url: str) -> Iterator[tuple[httpx.Client, int, str]]:
    server = ThreadServer(create_app(app_settings(tmp_path, database_url, walk_node_cap=MIXED_CAP))).start()
    client = httpx.Client(base_url=server.http, timeout=300)
    try:
        res = client.post(
            "/api/v1/ingest/sql?wait=true",
            json={
                "sql": _MIXED,
                "project_id": "mixed",
                "create_project": True,
                "dialect": "tsql",
                "path": "mixed.sql",
            },
        )
        assert res.status_code == 200 and res.json()["status"] == "completed", res.text
        yield client, int(res.json()["project_id"]), server.http
    finally:
        client.close()
        server.stop()


def _walked(client: httpx.Client, url: str, **params: Any) -> set[str]:
    """Names a walk reached (its root left out)."""
    return {n["canonical_id"] for n in _get(client, url, **params)["nodes"] if n["hop"] > 0}


def _mcp_call(base: str, tool: str, args: dict[str, Any]) -> dict[str, Any]:
    """One MCP tool call over streamable HTTP (`/mcp` on the real server)."""
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    init = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}
    with httpx.Client(base_url=base, headers=headers, timeout=120) as c:
        r = c.post("/mcp/", json={"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": init})
        assert r.status_code == 200, r.text
        call = {"name": tool, "arguments": args}
        r = c.post("/mcp/", json={"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": call})
        assert r.status_code == 200, r.text
    body: dict[str, Any] = json.loads(r.json()["result"]["content"][0]["text"])
    assert body["found"] is True, body
    return body


def _chat(client: httpx.Client, pid: int, question: str) -> str:
    """The offline chat engine's answer (`POST /api/chat/graph`)."""
    r = client.post("/api/chat/graph", json={"query": question, "context": {"project_id": pid}})
    assert r.status_code == 200, r.text
    assert r.json()["model"] == "offline"
    text: str = r.json()["response"]
    return text


def _kinds_text(spec: dict[str, Any], path: str) -> str:
    params = spec["paths"][path]["get"]["parameters"]
    text: str = next(p["description"] for p in params if p["name"] == "edge_kind")
    return text


def test_router_chat_mcp_explain_impact_and_path_follow_the_same_default_kinds(
    mixed: tuple[httpx.Client, int, str], session_factory: sessionmaker[Session]
) -> None:
    client, pid, base = mixed
    col, key = "rpt.totals.total", "src.rates.ccy"
    cols = {"upstream": col, "downstream": "src.trades.amount"}
    objs = {"upstream": "etl.load_daily", "downstream": "etl.nightly"}
    column_kinds = ",".join(lineage.COLUMN_WALK_KINDS)
    node_kinds = ",".join(lineage.NODE_WALK_KINDS)

    # the corpus tells the kinds apart: every kind reaches join and filter columns the column
    # default does not (past the node cap); data flow alone misses the call the node default follows
    every = _get(client, f"/api/v1/lineage/column/{col}/upstream", edge_kind="direct,indirect")
    assert every["truncated"] is True and len(every["nodes"]) + every["omitted"] == 9
    assert "stg.trades_usd.amount_usd" in _walked(
        client, f"/api/v1/lineage/column/{key}/downstream", edge_kind="direct,indirect"
    )
    assert _walked(client, "/api/v1/lineage/node/etl.load_daily/upstream", edge_kind="direct") == set()

    # the router's defaults are query.lineage's, whatever they are, and its OpenAPI text says so
    api: dict[tuple[str, str], set[str]] = {}
    for d in ("upstream", "downstream"):
        api[("column", d)] = _walked(client, f"/api/v1/lineage/column/{cols[d]}/{d}")
        explicit = _walked(client, f"/api/v1/lineage/column/{cols[d]}/{d}", edge_kind=column_kinds)
        assert api[("column", d)] == explicit
        api[("node", d)] = _walked(client, f"/api/v1/lineage/node/{objs[d]}/{d}")
        explicit = _walked(client, f"/api/v1/lineage/node/{objs[d]}/{d}", edge_kind=node_kinds)
        assert api[("node", d)] == explicit
    assert key not in api[("column", "upstream")] and "src.trades.amount" in api[("column", "upstream")]
    assert api[("node", "upstream")] == {"etl.nightly"} and api[("node", "downstream")] == {"etl.load_daily"}
    assert _walked(client, f"/api/v1/lineage/column/{key}/downstream") == set()  # read as a key only
    spec = _get(client, "/openapi.json")
    column_text = _kinds_text(spec, "/api/v1/lineage/column/{column_ref}/upstream")
    node_text = _kinds_text(spec, "/api/v1/lineage/node/{node_id}/upstream")
    assert column_text.endswith(f"default {column_kinds}") and node_text.endswith(f"default {node_kinds}")

    # the chat's tools in process and the MCP tools over HTTP: the same walks, saying which kinds
    tools = LineageMCP(session_factory, node_cap=MIXED_CAP)  # as the server's `/mcp`
    for d in ("upstream", "downstream"):
        for gran, name, kinds in (("column", cols[d], column_kinds), ("node", objs[d], node_kinds)):
            for told in (
                tools.call_sync(d, {"name": name, "project": str(pid)}),
                _mcp_call(base, d, {"name": name, "project": str(pid)}),
            ):
                assert {n["name"] for n in told["nodes"]} == api[(gran, d)], (gran, d, told)
                assert ",".join(told["edge_kinds"]) == kinds

    # impact: the API's, the chat tool's and the downstream walk's objects are one set
    imp = _get(client, "/api/v1/lineage/impact/etl.nightly")
    imp_names = {n["canonical_id"] for g in imp["groups"] for n in g["nodes"]}
    assert imp_names == api[("node", "downstream")]
    told_impact = tools.call_sync("impact", {"name": "etl.nightly", "project": str(pid)})
    assert {o for g in told_impact["groups"] for o in g["objects"]} == imp_names

    # path: found exactly when the target is in the source's default downstream walk
    for gran, a, b in (
        ("column", key, col),
        ("column", "src.trades.amount", col),
        ("table", "etl.nightly", "etl.load_daily"),
        ("table", "src.books", "rpt.daily"),
    ):
        reach = _walked(client, f"/api/v1/lineage/{'column' if gran == 'column' else 'node'}/{a}/downstream")
        p = _get(client, "/api/v1/lineage/path", **{"from": a, "to": b, "granularity": gran})
        assert p["found"] is (b in reach), (a, b)
        told_path = tools.call_sync("path", {"source": a, "target": b, "project": str(pid)})
        assert told_path.get("path", True) is (b in reach) and not told_path.get("reverse"), told_path
    # a path along every kind, when asked, goes through the join key
    asked = {"from": key, "to": col, "granularity": "column", "edge_kind": "direct,indirect"}
    assert _get(client, "/api/v1/lineage/path", **asked)["found"] is True
    assert client.get("/api/v1/lineage/path", params={**asked, "edge_kind": "sideways"}).status_code == 422

    # explain composes over the same column walk: its leaves are the walk's source columns
    walk = _get(client, f"/api/v1/lineage/column/{col}/upstream")
    targets = {e["target_canonical_id"] for e in walk["edges"]}
    leaves = {n["canonical_id"] for n in walk["nodes"] if n["canonical_id"] not in targets}
    assert walk["truncated"] is False
    deep = _get(client, f"/api/v1/lineage/column/{col}/explain", through="all")
    assert set(deep["sources"]) == leaves and {s["target"] for s in deep["steps"]} == targets
    assert deep["truncated"] is False and deep["omitted"] == 0
    told_explain = tools.call_sync("explain", {"name": col, "project": str(pid)})
    assert told_explain["sources"] == _get(client, f"/api/v1/lineage/column/{col}/explain")["sources"]

    # the chat's answers count what the walks reached
    up_col = _chat(client, pid, f"Where does {col} come from?")
    assert f"is derived from {len(api[('column', 'upstream')])} upstream column(s)" in up_col, up_col
    # ... and names the tables joins and filters read when it says so (a walk along every kind)
    usd = _chat(client, pid, "Where does stg.trades_usd.amount_usd come from?")
    feeds = next(line for line in usd.splitlines() if "(values, joins and filters)" in line)
    assert "`src.books`" in feeds and "`src.books`" not in usd.replace(feeds, ""), usd
    up_obj = _chat(client, pid, "Where does etl.load_daily come from?")
    assert f"comes from {len(api[('node', 'upstream')])} upstream object(s)" in up_obj, up_obj
    assert "Called by: `etl.nightly`." in up_obj and "Direct sources:" not in up_obj, up_obj
    daily = _walked(client, "/api/v1/lineage/node/rpt.daily/upstream")
    up_daily = _chat(client, pid, "Where does rpt.daily come from?")
    assert f"comes from {len(daily)} upstream object(s)" in up_daily, up_daily
    down_col = _chat(client, pid, f"What breaks if {cols['downstream']} changes?")
    assert f"affects {len(api[('column', 'downstream')])} downstream column(s)" in down_col, down_col
    down_obj = _chat(client, pid, "What breaks if etl.nightly changes?")
    assert f"affects {len(imp_names)} downstream object(s)" in down_obj, down_obj

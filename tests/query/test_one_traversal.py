"""One graph traversal with one set of defaults: `/explain` (through=all), the lineage API's
upstream walk and the chat's tools gather a column's upstream through the same walk
(`query.lineage.column_walk`, direct edges as the API's column walks), so they agree on the
upstream columns, on `truncated` and on `omitted` — also past 12 hops and with the node cap hit.

A real server (uvicorn on a loopback port) with `walk_node_cap` set, on each store backend; the
chat's tools run through the MCP runner the server mounts at `/mcp` (`LineageMCP`, the same cap).
"""

from __future__ import annotations

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

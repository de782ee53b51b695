"""The read API of issue #4 over HTTP on both backends: lineage graph, search, files, config,
export, with envelopes for 404/409/422 and roles on every route."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from finlineage.api.routers import config, export, files, lineage, projects
from query.openlineage_schema import validate_run_event
from query.seed import BankGraph, seed_url

MY_ROUTERS = (projects.router, lineage.router, files.router, export.router, config.router)


@pytest.fixture
def bank(database_url: str) -> BankGraph:
    return seed_url(database_url)


@pytest.fixture
def client(bank: BankGraph, make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()


def _err(resp: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"error", "message", "request_id", "details"}
    assert body["request_id"] == resp.headers["x-request-id"]
    if code:
        assert body["error"] == code
    return body


def _my_routes() -> Iterator[APIRoute]:
    for router in MY_ROUTERS:
        for route in router.routes:
            assert isinstance(route, APIRoute)
            yield route


def _role(route: APIRoute) -> str | None:
    def walk(dep: Any) -> Iterator[str]:
        for sub in dep.dependencies:
            name = getattr(sub.call, "__name__", "")
            if name.startswith("require_"):
                yield name.removeprefix("require_")
            yield from walk(sub)

    roles = list(walk(route.dependant))
    return max(roles, key=["viewer", "editor", "admin"].index) if roles else None


def test_every_read_route_needs_a_key_and_the_right_role(make_client: Callable[..., TestClient]) -> None:
    client = make_client(auth="on")
    keys = client.app.state.ctx.keys  # type: ignore[attr-defined]
    viewer_key, _ = keys.create(name="walk-viewer", role="viewer")
    checked = 0
    for route in _my_routes():
        role = _role(route)
        assert role is not None, route.path
        expected = "editor" if route.methods & {"POST", "PATCH", "DELETE"} else "viewer"
        assert role == expected, (route.path, route.methods, role)
        url = (
            route.path.replace("{project_id}", "1").replace("{node_id}", "x").replace("{column_ref}", "a.b.c")
        )
        url = url.replace("{file_id}", "1")
        for method in route.methods - {"HEAD"}:
            assert client.request(method, url).status_code == 401, (method, url)
            if role == "editor":
                weak = client.request(method, url, headers={"X-API-Key": viewer_key})
                assert weak.status_code == 403, (method, url)
            checked += 1
    assert checked >= 20
    # a viewer key reads
    ok = client.get("/api/v1/config/sql-dialects", headers={"Authorization": f"Bearer {viewer_key}"})
    assert ok.status_code == 200


def test_openapi_lists_response_models(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for path in (
        "/api/v1/lineage/nodes",
        "/api/v1/lineage/node/{node_id}/upstream",
        "/api/v1/lineage/column/{column_ref}/downstream",
        "/api/v1/lineage/path",
        "/api/v1/lineage/impact/{node_id}",
        "/api/v1/files/stats",
        "/api/v1/projects/{project_id}/repositories",
    ):
        schema = paths[path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        assert "$ref" in schema or schema.get("type") == "array", path
    assert "text/csv" in paths["/api/v1/export"]["get"]["responses"]["200"]["content"]


def test_nodes_pagination_and_filters(client: TestClient, bank: BankGraph) -> None:
    pid = bank.project_id
    page = client.get("/api/v1/lineage/nodes", params={"project_id": pid, "limit": 2}).json()
    assert page["total"] == 7 and page["limit"] == 2 and page["offset"] == 0 and len(page["items"]) == 2
    names = []
    for offset in range(0, 7, 2):
        names += [
            n["canonical_id"]
            for n in client.get(
                "/api/v1/lineage/nodes", params={"project_id": pid, "limit": 2, "offset": offset}
            ).json()["items"]
        ]
    assert names == sorted(names) and len(set(names)) == 7
    views = client.get("/api/v1/lineage/nodes", params={"project_id": pid, "kind": "view"}).json()
    assert {n["canonical_id"] for n in views["items"]} == {"stg.trades", "rpt.daily_risk"}
    both = client.get("/api/v1/lineage/nodes", params={"project_id": pid, "kind": "view,external"}).json()
    assert both["total"] == 3
    named = client.get("/api/v1/lineage/nodes", params={"name": "TRADES"}).json()
    assert {n["canonical_id"] for n in named["items"]} == {"raw.trades", "stg.trades", "STG.TRADES"}
    repo = client.get("/api/v1/lineage/nodes", params={"repository_id": bank.other_repository_id}).json()
    assert repo["total"] == 3
    capped = client.get("/api/v1/lineage/nodes", params={"limit": 100000}).json()
    assert capped["limit"] == 500
    _err(client.get("/api/v1/lineage/nodes", params={"kind": "spreadsheet"}), 422, "validation_error")
    _err(client.get("/api/v1/lineage/nodes", params={"limit": 0}), 422, "validation_error")
    _err(client.get("/api/v1/lineage/nodes", params={"project_id": 9999}), 404, "not_found")
    _err(
        client.get(
            "/api/v1/lineage/nodes", params={"project_id": pid, "repository_id": bank.other_repository_id}
        ),
        404,
    )


def test_edges_by_granularity_origin_status(client: TestClient, bank: BankGraph) -> None:
    pid = bank.project_id
    tables = client.get("/api/v1/lineage/edges", params={"project_id": pid}).json()
    assert tables["total"] == 5  # default: the visible edges (observed + approved), not the rejected one
    assert {e["status"] for e in tables["items"]} == {"observed", "approved"}
    cols = client.get("/api/v1/lineage/edges", params={"project_id": pid, "granularity": "column"}).json()
    assert cols["total"] == 9 and all(e["granularity"] == "column" for e in cols["items"])
    llm = client.get("/api/v1/lineage/edges", params={"origin": "inferred", "granularity": "column"}).json()
    assert llm["total"] == 0
    llm = client.get(
        "/api/v1/lineage/edges", params={"origin": "inferred", "granularity": "column", "status": "rejected"}
    ).json()
    assert [e["source_canonical_id"] for e in llm["items"]] == ["raw.fx_rates.rate"]
    approved = client.get("/api/v1/lineage/edges", params={"status": "approved"}).json()
    assert [(e["source_canonical_id"], e["target_canonical_id"]) for e in approved["items"]] == [
        ("raw.trades", "stg.trades")
    ]
    touching = client.get("/api/v1/lineage/edges", params={"node": "dw.exposure", "project_id": pid}).json()
    assert touching["total"] == 3
    e = next(e for e in touching["items"] if e["source_canonical_id"] == "stg.trades")
    assert e["process"] == "dw.load_exposure" and e["file"] == "dw/load_exposure.sql"
    _err(client.get("/api/v1/lineage/edges", params={"granularity": "row"}), 422)
    _err(client.get("/api/v1/lineage/edges", params={"status": "maybe"}), 422)


def test_search(client: TestClient, bank: BankGraph) -> None:
    hits = client.get(
        "/api/v1/lineage/search", params={"q": "exposure", "project_id": bank.project_id}
    ).json()
    ids = [h["node"]["canonical_id"] for h in hits["items"]]
    assert ids[0] == "dw.exposure" and "dw.load_exposure" in ids
    # a column name finds its table, and says so
    col = client.get(
        "/api/v1/lineage/search", params={"q": "amount_usd", "project_id": bank.project_id}
    ).json()
    stg = next(h for h in col["items"] if h["node"]["canonical_id"] == "stg.trades")
    assert "column" in stg["matched"] and "amount_usd" in stg["columns"]
    # definitions are searched too
    body = client.get("/api/v1/lineage/search", params={"q": "GROUP", "project_id": bank.project_id}).json()
    assert "dw.load_exposure" in [h["node"]["canonical_id"] for h in body["items"]]
    paged = client.get("/api/v1/lineage/search", params={"q": "trades", "limit": 1}).json()
    assert paged["total"] >= 3 and len(paged["items"]) == 1
    _err(client.get("/api/v1/lineage/search"), 422)
    _err(client.get("/api/v1/lineage/search", params={"q": "%%"}), 422)


def test_node_detail_and_name_resolution(client: TestClient, bank: BankGraph) -> None:
    d = client.get("/api/v1/lineage/node/stg.trades").json()
    assert d["id"] == bank.objects["stg.trades"] and d["definition"].startswith("CREATE VIEW")
    assert d["file"]["path"] == "stg/trades.sql" and [d["line_start"], d["line_end"]] == [1, 3]
    assert [c["name"] for c in d["columns"]] == ["trade_id", "amount_usd", "trade_date"]
    assert {n["canonical_id"] for n in d["reads"]} == {"raw.trades", "raw.fx_rates"}
    assert {n["canonical_id"] for n in d["writes"]} == {"dw.exposure"}
    assert d["diagnostics"][0]["code"] == "star_without_schema"
    assert (
        client.get(f"/api/v1/lineage/node/{bank.objects['dw.exposure']}").json()["canonical_id"]
        == "dw.exposure"
    )
    amb = _err(client.get("/api/v1/lineage/node/Stg.Trades"), 409, "ambiguous_name")
    assert {c["project_id"] for c in amb["details"]["candidates"]} == {bank.project_id, bank.other_project_id}
    scoped = client.get("/api/v1/lineage/node/Stg.Trades", params={"project_id": bank.project_id}).json()
    assert scoped["canonical_id"] == "stg.trades"
    _err(client.get("/api/v1/lineage/node/nope.nothing"), 404, "not_found")
    _err(client.get("/api/v1/lineage/node/987654"), 404, "not_found")


def test_node_upstream_downstream(client: TestClient, bank: BankGraph) -> None:
    g = client.get(
        "/api/v1/lineage/node/rpt.daily_risk/upstream", params={"project_id": bank.project_id}
    ).json()
    assert g["root"]["canonical_id"] == "rpt.daily_risk" and g["direction"] == "upstream"
    assert g["depth"] is None and g["truncated"] is False and g["omitted"] == 0  # the full closure
    hops = {n["canonical_id"]: n["hop"] for n in g["nodes"]}
    assert hops == {
        "rpt.daily_risk": 0,
        "dw.exposure": 1,
        "stg.trades": 2,
        "ref.calendar": 2,
        "raw.trades": 3,
        "raw.fx_rates": 3,
    }
    for e in g["edges"]:
        assert set(e) >= {
            "source",
            "target",
            "kind",
            "expression",
            "file",
            "line_start",
            "line_end",
            "process",
            "confidence",
        }
    one = client.get("/api/v1/lineage/node/stg.trades/downstream", params={"depth": 1}).json()
    assert {n["canonical_id"] for n in one["nodes"]} == {"stg.trades", "dw.exposure"}
    withrej = client.get(
        "/api/v1/lineage/node/rpt.daily_risk/upstream",
        params={"depth": 1, "status": "proposed,approved,rejected"},
    ).json()
    assert "raw.fx_rates" in {n["canonical_id"] for n in withrej["nodes"]}
    cols = client.get(
        "/api/v1/lineage/node/dw.exposure/upstream", params={"granularity": "column", "depth": 10}
    ).json()
    assert cols["granularity"] == "column"
    assert {r["canonical_id"] for r in cols["roots"]} == {
        "dw.exposure.exposure_usd",
        "dw.exposure.trade_date",
    }
    assert "raw.trades.amount" in {n["canonical_id"] for n in cols["nodes"]}
    _err(
        client.get("/api/v1/lineage/node/stg.trades/upstream", params={"depth": "deep"}),
        422,
        "validation_error",
    )
    _err(client.get("/api/v1/lineage/node/stg.trades/upstream", params={"granularity": "row"}), 422)
    _err(client.get("/api/v1/lineage/node/missing.table/downstream"), 404)


def test_column_lineage(client: TestClient, bank: BankGraph) -> None:
    g = client.get(
        "/api/v1/lineage/column/rpt.daily_risk.total_exposure/upstream", params={"depth": 10}
    ).json()
    assert g["root"]["canonical_id"] == "rpt.daily_risk.total_exposure"
    edges = {(e["source_canonical_id"], e["target_canonical_id"]): e for e in g["edges"]}
    e = edges[("raw.trades.amount", "stg.trades.amount_usd")]
    assert e["expression"] == "t.amount * fx.rate" and e["file"] == "stg/trades.sql"
    assert [e["line_start"], e["line_end"]] == [2, 2]
    assert edges[("stg.trades.amount_usd", "dw.exposure.exposure_usd")]["process"] == "dw.load_exposure"
    down = client.get("/api/v1/lineage/column/raw.trades.amount/downstream", params={"depth": 2}).json()
    assert {n["canonical_id"]: n["hop"] for n in down["nodes"]} == {
        "raw.trades.amount": 0,
        "stg.trades.amount_usd": 1,
        "dw.exposure.exposure_usd": 2,
    }
    by_id = client.get(f"/api/v1/lineage/column/{bank.columns['raw.trades.amount']}/downstream").json()
    assert by_id["root"]["canonical_id"] == "raw.trades.amount"
    _err(client.get("/api/v1/lineage/column/raw.trades.nope/upstream"), 404)
    _err(client.get("/api/v1/lineage/column/nodots/upstream"), 422)


def test_path_and_impact(client: TestClient, bank: BankGraph) -> None:
    p = client.get("/api/v1/lineage/path", params={"from": "raw.fx_rates", "to": "rpt.daily_risk"}).json()
    assert p["found"] and p["hops"] == 3
    assert [n["canonical_id"] for n in p["nodes"]] == [
        "raw.fx_rates",
        "stg.trades",
        "dw.exposure",
        "rpt.daily_risk",
    ]
    none = client.get("/api/v1/lineage/path", params={"from": "rpt.daily_risk", "to": "raw.fx_rates"}).json()
    assert none["found"] is False and none["nodes"] == []
    cp = client.get(
        "/api/v1/lineage/path",
        params={"from": "raw.trades.amount", "to": "rpt.daily_risk.total_exposure", "granularity": "column"},
    ).json()
    assert cp["hops"] == 3 and cp["edges"][-1]["target_canonical_id"] == "rpt.daily_risk.total_exposure"
    _err(client.get("/api/v1/lineage/path", params={"from": "raw.trades"}), 422)
    _err(client.get("/api/v1/lineage/path", params={"from": "raw.trades", "to": "nope.none"}), 404)

    imp = client.get("/api/v1/lineage/impact/raw.fx_rates").json()
    assert imp["total"] == 3 and imp["by_kind"] == {"table": 1, "view": 2}
    assert imp["by_hop"] == {"1": 1, "2": 1, "3": 1}
    assert [(g["hop"], g["kind"], g["count"]) for g in imp["groups"]] == [
        (1, "view", 1),
        (2, "table", 1),
        (3, "view", 1),
    ]
    _err(client.get("/api/v1/lineage/impact/nope.none"), 404)


def test_files_and_config(client: TestClient, bank: BankGraph) -> None:
    files = client.get("/api/v1/files", params={"project_id": bank.project_id}).json()
    assert files["total"] == 6
    active = client.get(
        "/api/v1/files", params={"repository_id": bank.repository_id, "status": "active"}
    ).json()
    assert active["total"] == 4 and all(f["status"] == "active" for f in active["items"])
    err = client.get("/api/v1/files", params={"status": "error"}).json()
    assert [f["path"] for f in err["items"]] == ["broken.sql"] and err["items"][0]["error"]
    tsql = client.get("/api/v1/files", params={"dialect": "tsql", "path": "STG/"}).json()
    assert [f["path"] for f in tsql["items"]] == ["stg/trades.sql"]
    stats = client.get("/api/v1/files/stats", params={"project_id": bank.project_id}).json()
    assert stats["files"] == 6 and stats["by_status"] == {"active": 4, "error": 1, "superseded": 1}
    assert stats["by_dialect"] == {"postgres": 1, "tsql": 3}
    assert stats["total_bytes"] > stats["active_bytes"] > 0
    # visible edges only: the rejected inferred edges are not counted
    assert stats["objects"] == 7 and stats["table_edges"] == 5 and stats["column_edges"] == 9
    recent = client.get("/api/v1/files/recent", params={"limit": 2}).json()
    assert len(recent) == 2 and recent[0]["created_at"] >= recent[1]["created_at"]
    one = client.get(f"/api/v1/files/{bank.files['stg/trades.sql']}").json()
    assert one["path"] == "stg/trades.sql" and one["project_id"] == bank.project_id
    _err(client.get("/api/v1/files/999999"), 404)
    _err(client.get("/api/v1/files", params={"status": "deleted"}), 422)

    d = client.get("/api/v1/config/sql-dialects").json()
    assert d["default"] == "auto" and d["dialects"][0] == "auto"
    assert {"tsql", "snowflake", "postgres", "bigquery", "spark"} <= set(d["dialects"])
    assert d["aliases"]["sqlserver"] == "tsql"


def test_export_formats(client: TestClient, bank: BankGraph) -> None:
    pid = bank.project_id
    ol = client.get("/api/v1/export", params={"format": "openlineage", "project_id": pid})
    assert ol.status_code == 200 and ol.headers["content-type"].startswith("application/json")
    events = ol.json()
    assert events and all(validate_run_event(e) is None for e in events)
    assert any("columnLineage" in o["facets"] for e in events for o in e["outputs"])
    gml = client.get("/api/v1/export", params={"format": "graphml", "project_id": pid, "download": True})
    assert gml.headers["content-disposition"].startswith("attachment;")
    assert ET.fromstring(gml.content).tag.endswith("graphml")
    mmd = client.get("/api/v1/export", params={"format": "mermaid", "project_id": pid})
    assert mmd.text.startswith("flowchart LR\n")
    dot = client.get("/api/v1/export", params={"format": "dot", "project_id": pid, "granularity": "column"})
    assert dot.text.startswith("digraph lineage {")
    rows = list(csv.DictReader(io.StringIO(client.get("/api/v1/export", params={"format": "csv"}).text)))
    assert len(rows) == 5 + 2  # non-rejected table edges of both projects
    _err(client.get("/api/v1/export", params={"format": "pdf"}), 422)
    _err(client.get("/api/v1/export", params={"project_id": 9999}), 404)
    json.dumps(events)  # plain JSON


def test_column_walks_follow_direct_edges_unless_asked(client: TestClient, bank: BankGraph) -> None:
    url = "/api/v1/lineage/column/stg.trades.amount_usd/upstream"
    direct = {n["canonical_id"] for n in client.get(url).json()["nodes"]}
    assert "raw.fx_rates.rate" in direct and "raw.fx_rates.ccy" not in direct  # the join key is indirect
    both = client.get(url, params={"edge_kind": "direct,indirect"}).json()
    assert "raw.fx_rates.ccy" in {n["canonical_id"] for n in both["nodes"]}
    assert {e["kind"] for e in both["edges"]} == {"direct", "indirect"}
    _err(client.get(url, params={"edge_kind": "sideways"}), 422)
    table = client.get("/api/v1/lineage/node/dw.exposure/upstream", params={"edge_kind": "direct"}).json()
    assert "ref.calendar" not in {n["canonical_id"] for n in table["nodes"]}

"""One edge-visibility rule for every reader: edge lists, node detail, dashboard and file counts
answer from the current graph's visible edges (observed + approved, not closed by a re-ingest);
``status=`` and ``as_of`` ask for the others. Real server, real uploads."""

from __future__ import annotations

from typing import Any

from .conftest import PROC_V2, Server, corpus


def _get(s: Server, path: str, **params: Any) -> Any:
    with s.client("victor") as c:
        r = c.get(path, params=params)
    assert r.status_code == 200, r.text
    return r.json()


def _edges(s: Server, granularity: str, **params: Any) -> dict[str, Any]:
    body: dict[str, Any] = _get(
        s, "/api/v1/lineage/edges", project_id=1, granularity=granularity, limit=500, **params
    )
    assert body["total"] == len(body["items"])
    return body


def _pairs(body: dict[str, Any]) -> set[tuple[str, str]]:
    return {(e["source_canonical_id"], e["target_canonical_id"]) for e in body["items"]}


def _counts_agree(s: Server) -> tuple[int, int]:
    """Edge totals of /lineage/edges, /stats and /files/stats are one number each."""
    tables, columns = _edges(s, "table")["total"], _edges(s, "column")["total"]
    assert _get(s, "/api/v1/stats")["edges"] == tables + columns
    fs = _get(s, "/api/v1/files/stats", project_id=1)
    assert (fs["table_edges"], fs["column_edges"]) == (tables, columns)
    return tables, columns


def test_a_reingested_file_leaves_only_current_edges_in_lists_counts_and_node_detail(
    server: Server,
) -> None:
    server.upload(corpus())
    flow = ("fxr.quotes.mid", "agg.balances.amt_eur")
    assert flow in _pairs(_edges(server, "column"))
    assert ("fxr.quotes", "agg.balances") in _pairs(_edges(server, "table"))
    v1_counts = _counts_agree(server)

    server.upload(corpus(PROC_V2))  # the procedure no longer reads the FX quotes
    now = _edges(server, "column")
    assert flow not in _pairs(now)
    assert not any(e["source_canonical_id"].startswith("fxr.") for e in now["items"])
    assert ("fxr.quotes", "agg.balances") not in _pairs(_edges(server, "table"))
    v2_counts = _counts_agree(server)
    assert v2_counts[0] < v1_counts[0] and v2_counts[1] < v1_counts[1]

    detail = _get(server, "/api/v1/lineage/node/agg.balances", project_id=1)
    assert {n["canonical_id"] for n in detail["reads"]} == {"ledger.entries"}
    proc = _get(server, "/api/v1/lineage/node/agg.load_balances", project_id=1)
    assert {n["canonical_id"] for n in proc["reads"]} == {"ledger.entries"}
    quotes = _get(server, "/api/v1/lineage/node/fxr.quotes", project_id=1)
    assert quotes["writes"] == []

    # the closed edges are still the answer for the version they were in
    old = _edges(server, "column", as_of=1)
    assert flow in _pairs(old) and old["total"] == v1_counts[1]
    assert _edges(server, "column", as_of=2)["total"] == v2_counts[1]
    with server.client("victor") as c:
        r = c.get("/api/v1/lineage/edges", params={"project_id": 1, "as_of": 9})
        assert r.status_code == 404 and r.json()["error"] == "not_found"
        r = c.get("/api/v1/lineage/edges", params={"as_of": 1})
        assert r.status_code == 422  # versions are per project


def test_a_proposed_manual_edge_is_listed_and_counted_only_once_approved(server: Server) -> None:
    server.upload(corpus())
    before = _counts_agree(server)
    manual = ("ledger.entries.booked", "rep.v_filing.value_eur")
    with server.client("alice") as c:
        r = c.post(
            "/api/v1/lineage/edges",
            json={"project_id": "gov", "source": manual[0], "target": manual[1], "kind": "direct"},
        )
    assert r.status_code == 201, r.text
    ref = r.json()["ref"]

    default = _edges(server, "column")
    assert manual not in _pairs(default)
    assert {e["status"] for e in default["items"]} == {"observed"}
    proposed = _edges(server, "column", status="proposed")
    assert _pairs(proposed) == {manual} and proposed["items"][0]["origin"] == "manual"
    assert manual in _pairs(_edges(server, "column", status="observed,proposed"))
    assert _counts_agree(server) == before
    assert _get(server, "/api/v1/stats")["edges"] == sum(before)

    with server.client("bob") as c:
        r = c.post(f"/api/v1/lineage/edges/{ref}/review", json={"decision": "approve"})
    assert r.status_code == 200, r.text
    assert manual in _pairs(_edges(server, "column"))
    assert _counts_agree(server) == (before[0], before[1] + 1)

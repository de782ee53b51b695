"""Marquez-compatible reads: node ids (URL-encoded, ':' in namespaces), graph shape, column lineage."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi.testclient import TestClient

from openlineage_native.conftest import LEDGER, ingest_dir, write_tree


def _setup(client: TestClient, roots: Path) -> int:
    tree = write_tree(roots / "ledger", LEDGER)
    res = ingest_dir(client, tree, "ledger", "risk-db")
    r = client.put(
        f"/api/v1/repositories/{res['repository_id']}/namespace", json={"namespace": "risk-db:1433"}
    )
    assert r.status_code == 200
    return int(res["project_id"])


def test_dataset_lineage_graph_has_marquez_shape(client: TestClient, roots: Path) -> None:
    _setup(client, roots)
    node = "dataset:mssql://risk-db:1433:rpt.book_volume"
    r = client.get(f"/api/v1/lineage?nodeId={quote(node, safe='')}&depth=5")
    assert r.status_code == 200, r.text
    graph = {n["id"]: n for n in r.json()["graph"]}
    assert set(graph[node]) == {"id", "type", "data", "inEdges", "outEdges"}
    assert graph[node]["type"] == "DATASET"
    job = "job:mssql://risk-db:1433:rpt.load_book_volume"
    assert graph[job]["type"] == "JOB"
    assert {"origin": job, "destination": node} in graph[node]["inEdges"]
    src = "dataset:mssql://risk-db:1433:src.fills"
    assert {"origin": src, "destination": job} in graph[job]["inEdges"]
    assert {f["name"] for f in graph[src]["data"]["fields"]} >= {"qty", "px"}
    # upstream and downstream of the node (the API's walks), not siblings: the view's job reads
    # the same table but is neither; it is downstream of that table
    assert "job:mssql://risk-db:1433:rpt.large_fills" not in graph
    r = client.get("/api/v1/lineage", params={"nodeId": src})
    assert "job:mssql://risk-db:1433:rpt.large_fills" in {n["id"] for n in r.json()["graph"]}
    # every edge endpoint is a node of the graph
    for n in graph.values():
        for e in [*n["inEdges"], *n["outEdges"]]:
            assert e["origin"] in graph and e["destination"] in graph
    # a job id works as a start node too; an unknown node is a 404 envelope
    r = client.get("/api/v1/lineage", params={"nodeId": job, "depth": 2})
    assert r.status_code == 200 and node in {n["id"] for n in r.json()["graph"]}
    r = client.get("/api/v1/lineage", params={"nodeId": "dataset:mssql://risk-db:1433:nope.nothing"})
    assert r.status_code == 404 and r.json()["error"]
    assert client.get("/api/v1/lineage", params={"nodeId": "table:x"}).status_code == 422


def test_column_lineage_with_and_without_downstream(client: TestClient, roots: Path) -> None:
    _setup(client, roots)
    field = "datasetField:mssql://risk-db:1433:rpt.book_volume:gross_qty"
    r = client.get("/api/v1/column-lineage", params={"nodeId": field, "depth": 5})
    assert r.status_code == 200, r.text
    graph = {n["id"]: n for n in r.json()["graph"]}
    node = graph[field]
    assert node["type"] == "DATASET_FIELD"
    qty = "datasetField:mssql://risk-db:1433:src.fills:qty"
    assert {"origin": qty, "destination": field} in node["inEdges"]
    inputs = {(f["dataset"], f["field"]) for f in node["data"]["inputFields"]}
    assert ("src.fills", "qty") in inputs
    assert node["data"]["transformationType"] == "TRANSFORMATION"
    # like Marquez, the filter and grouping columns are input fields too (INDIRECT), not only
    # the data flow the API's own column walk follows by default
    assert ("src.fills", "venue") in inputs and ("src.fills", "book_id") in inputs
    venue = "datasetField:mssql://risk-db:1433:src.fills:venue"
    assert venue in graph
    # upstream only by default; downstream of a source field with withDownstream
    r = client.get("/api/v1/column-lineage", params={"nodeId": qty, "depth": 5})
    assert field not in {n["id"] for n in r.json()["graph"]}
    r = client.get("/api/v1/column-lineage", params={"nodeId": qty, "depth": 5, "withDownstream": "true"})
    ids = {n["id"] for n in r.json()["graph"]}
    assert field in ids and "datasetField:mssql://risk-db:1433:rpt.large_fills:quantity" in ids


def test_namespaces_jobs_and_datasets_for_the_marquez_ui(client: TestClient, roots: Path) -> None:
    _setup(client, roots)
    names = {n["name"] for n in client.get("/api/v1/namespaces").json()["namespaces"]}
    assert {"mssql://risk-db:1433", "snowflake://risk-db:1433", "postgres://risk-db:1433"} <= names
    ns = quote("mssql://risk-db:1433", safe="")
    jobs = client.get(f"/api/v1/namespaces/{ns}/jobs").json()
    assert {"rpt.load_book_volume", "rpt.large_fills"} <= {j["name"] for j in jobs["jobs"]}
    assert jobs["totalCount"] == len(jobs["jobs"])
    datasets = client.get(f"/api/v1/namespaces/{ns}/datasets?limit=1").json()
    assert datasets["totalCount"] >= 3 and len(datasets["datasets"]) == 1
    assert client.get(f"/api/v1/namespaces/{ns}/things").status_code == 404


def test_node_ids_encoded_once_or_twice_and_names_holding_a_percent_sign(client: TestClient) -> None:
    """The query string is decoded once: an id encoded twice is decoded again, but a dataset whose
    name holds a literal ``%41`` keeps it (it is not read as ``A``)."""
    event = {
        "eventType": "COMPLETE",
        "eventTime": "2026-12-06T11:00:00Z",
        "run": {"runId": "1c0386d6-1f0e-4a6e-9f55-0d5d4a0a6f10", "facets": {}},
        "job": {"namespace": "lake-jobs", "name": "copy_pct", "facets": {}},
        "inputs": [{"namespace": "s3://landing", "name": "drops/100%41pct", "facets": {}}],
        "outputs": [{"namespace": "s3://landing", "name": "drops/A", "facets": {}}],
        "producer": "https://example.invalid/producer",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    }
    assert client.post("/api/v1/lineage", json=event).status_code == 201
    node = "dataset:s3://landing:drops/100%41pct"
    once = client.get("/api/v1/lineage", params={"nodeId": node, "depth": 2})
    assert once.status_code == 200, once.text
    ids = {n["id"] for n in once.json()["graph"]}
    assert node in ids and "job:lake-jobs:copy_pct" in ids and "dataset:s3://landing:drops/A" in ids
    twice = client.get(f"/api/v1/lineage?nodeId={quote(quote(node, safe=''), safe='')}&depth=2")
    assert twice.status_code == 200 and {n["id"] for n in twice.json()["graph"]} == ids

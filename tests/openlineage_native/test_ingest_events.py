"""POST /api/v1/lineage: the openlineage-python client over HTTP, stitching onto parsed SQL,
validation, gzip, atomicity, jobs and runs, round trip of finlineage's own export."""

from __future__ import annotations

import gzip
import json
import uuid
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import column_lineage_dataset as cl
from openlineage.client.facet_v2 import job_type_job, schema_dataset
from openlineage.client.transport.http import ApiKeyTokenProvider, HttpCompression, HttpConfig, HttpTransport
from sqlalchemy import text

from finlineage.store import db as store_db
from openlineage_native.conftest import LEDGER, ingest_dir, make_key, write_tree

PRODUCER = "https://example.invalid/spark-like-test-producer"


def _spark_event(state: RunState, run_id: str) -> RunEvent:
    """A Spark-style job: reads a landing file, writes src.fills of the risk-db SQL Server."""
    source = InputDataset(
        namespace="file",
        name="/landing/fills.parquet",
        facets={
            "schema": schema_dataset.SchemaDatasetFacet(
                fields=[
                    schema_dataset.SchemaDatasetFacetFields(name="id", type="long"),
                    schema_dataset.SchemaDatasetFacetFields(name="quantity", type="decimal(18,2)"),
                    schema_dataset.SchemaDatasetFacetFields(name="book", type="int"),
                ]
            )
        },
    )
    lineage = cl.ColumnLineageDatasetFacet(
        fields={
            "fill_id": cl.Fields(
                inputFields=[
                    cl.InputField(
                        "file", "/landing/fills.parquet", "id", [cl.Transformation("DIRECT", "IDENTITY")]
                    )
                ]
            ),
            "qty": cl.Fields(
                inputFields=[
                    cl.InputField(
                        "file",
                        "/landing/fills.parquet",
                        "quantity",
                        [cl.Transformation("DIRECT", "TRANSFORMATION", "CAST(quantity AS DECIMAL(18,2))")],
                    )
                ]
            ),
            "book_id": cl.Fields(
                inputFields=[
                    cl.InputField(
                        "file", "/landing/fills.parquet", "book", [cl.Transformation("DIRECT", "IDENTITY")]
                    )
                ]
            ),
        }
    )
    target = OutputDataset(namespace="mssql://risk-db", name="src.fills", facets={"columnLineage": lineage})
    return RunEvent(
        eventType=state,
        eventTime="2026-12-06T10:00:00Z" if state == RunState.START else "2026-12-06T10:05:00Z",
        run=Run(runId=run_id),
        job=Job(
            namespace="spark-cluster",
            name="load_fills",
            facets={"jobType": job_type_job.JobTypeJobFacet("BATCH", "SPARK", "JOB")},
        ),
        producer=PRODUCER,
        inputs=[source],
        outputs=[target],
    )


def _upstream(database_url: str, target: str) -> set[tuple[str, str, str | None]]:
    """(source column, target column, origin) of every column edge, read with plain SQL."""
    engine = store_db.create_engine_for(database_url)
    try:
        with engine.connect() as c:
            rows = c.execute(
                text(
                    "SELECT so.canonical_id || '.' || sc.name, tobj.canonical_id || '.' || tc.name, e.origin, e.status "
                    "FROM column_edges e JOIN columns sc ON sc.id = e.source_column_id "
                    "JOIN objects so ON so.id = sc.object_id JOIN columns tc ON tc.id = e.target_column_id "
                    "JOIN objects tobj ON tobj.id = tc.object_id"
                )
            ).all()
    finally:
        engine.dispose()
    return {(r[0], r[1], f"{r[2]}/{r[3]}") for r in rows if target in (r[0], r[1]) or not target}


def test_spark_run_from_the_python_client_stitches_onto_parsed_sql(
    make_server: Any, roots: Path, database_url: str
) -> None:
    server = make_server()
    admin = make_key(database_url, "ops", "admin")
    editor = make_key(database_url, "spark", "editor")
    viewer = make_key(database_url, "reader", "viewer")
    tree = write_tree(roots / "ledger", LEDGER)
    with httpx.Client(base_url=server.http, headers={"Authorization": f"Bearer {admin}"}, timeout=60) as http:
        r = http.post(
            "/api/v1/ingest?wait=true",
            json={
                "path": str(tree),
                "project_id": "ledger",
                "repository_name": "risk-db",
                "create_project": True,
            },
        )
        assert r.status_code in (200, 201, 202), r.text
        project_id = r.json()["project_id"]

    client = OpenLineageClient(
        transport=HttpTransport(
            HttpConfig(
                url=server.http, auth=ApiKeyTokenProvider({"apiKey": editor}), timeout=30, retry={"total": 0}
            )
        )
    )
    run_id = str(uuid.uuid4())
    client.emit(_spark_event(RunState.START, run_id))
    gzipped = OpenLineageClient(  # the same transport, gzip-compressed
        transport=HttpTransport(
            HttpConfig(
                url=server.http,
                auth=ApiKeyTokenProvider({"apiKey": editor}),
                timeout=30,
                retry={"total": 0},
                compression=HttpCompression.GZIP,
            )
        )
    )
    gzipped.emit(_spark_event(RunState.COMPLETE, run_id))

    with httpx.Client(
        base_url=server.http, headers={"Authorization": f"Bearer {viewer}"}, timeout=60
    ) as http:
        # column lineage flows from the Spark input file through the parsed procedure to the report
        r = http.get(
            f"/api/v1/lineage/column/rpt.book_volume.gross_qty/upstream?depth=10&project_id={project_id}"
        )
        assert r.status_code == 200, r.text
        names = {n["canonical_id"] for n in r.json()["nodes"]}
        assert "src.fills.qty" in names
        assert "/landing/fills.parquet.quantity" in names
        # the runtime edge is observed and from openlineage; the job and its run are listed
        edges = _upstream(database_url, "src.fills.qty")
        assert ("/landing/fills.parquet.quantity", "src.fills.qty", "openlineage/observed") in edges
        jobs = http.get("/api/v1/jobs").json()
        job = next(j for j in jobs["jobs"] if j["name"] == "load_fills")
        assert job["id"] == {"namespace": "spark-cluster", "name": "load_fills"} and job["type"] == "BATCH"
        assert job["namespace"] == "spark-cluster" and job["project_id"] == project_id
        assert job["latestRun"]["state"] == "COMPLETED" and job["latestRun"]["openlineageState"] == "COMPLETE"
        runs = http.get("/api/v1/jobs/spark-cluster/load_fills/runs").json()
        assert [x["id"] for x in runs["runs"]] == [run_id] and runs["totalCount"] == 1
        assert runs["runs"][0]["startedAt"].startswith("2026-12-06T10:00")
        assert runs["runs"][0]["endedAt"].startswith("2026-12-06T10:05")
        assert runs["runs"][0]["state"] == "COMPLETED" and runs["runs"][0]["durationMs"] == 5 * 60 * 1000
        # exported again, the received job keeps what its producer said it is
        export = http.get(f"/api/v1/export?format=openlineage&project_id={project_id}").json()
        spark = next(e["job"] for e in export if e["job"]["name"] == "load_fills")
        assert spark["namespace"] == "spark-cluster"
        assert (spark["facets"]["jobType"]["integration"], spark["facets"]["jobType"]["jobType"]) == (
            "SPARK",
            "JOB",
        )
        parsed = [e["job"] for e in export if e["job"]["namespace"] != "spark-cluster"]
        assert parsed and all(j["facets"]["jobType"]["integration"] == "FINLINEAGE" for j in parsed)
        # a viewer cannot post events
        bad = http.post(
            "/api/v1/lineage", content=json.dumps(_spark_event(RunState.START, run_id).__dict__, default=str)
        )
        assert bad.status_code == 403
    # replaying the same run adds no duplicate edges
    before = _upstream(database_url, "")
    client.emit(_spark_event(RunState.COMPLETE, run_id))
    assert _upstream(database_url, "") == before


def _event(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "eventType": "COMPLETE",
        "eventTime": "2026-12-06T11:00:00Z",
        "run": {"runId": str(uuid.uuid4()), "facets": {}},
        "job": {"namespace": "etl", "name": "copy_quotes", "facets": {}},
        "inputs": [{"namespace": "kafka://bus:9092", "name": "quotes", "facets": {}}],
        "outputs": [
            {
                "namespace": "postgres://quotes-db",
                "name": "md.quotes",
                "facets": {
                    "columnLineage": {
                        "_producer": PRODUCER,
                        "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json",
                        "fields": {
                            "bid": {
                                "inputFields": [
                                    {"namespace": "kafka://bus:9092", "name": "quotes", "field": "b"}
                                ]
                            }
                        },
                    }
                },
            }
        ],
        "producer": PRODUCER,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    }
    base.update(over)
    return base


def test_invalid_events_are_rejected_whole(client: TestClient, database_url: str) -> None:
    cases = {
        "not json": b"{nope",
        "no eventTime": json.dumps(_event(eventTime=None)).encode(),
        "bad runId": json.dumps(_event(run={"runId": "123"})).encode(),
        "bad eventType": json.dumps(_event(eventType="DONE")).encode(),
        "dataset without name": json.dumps(_event(inputs=[{"namespace": "x"}])).encode(),
    }
    for what, body in cases.items():
        r = client.post("/api/v1/lineage", content=body, headers={"Content-Type": "application/json"})
        assert r.status_code == 400, what
        err = r.json()
        assert err["error"] == "invalid_event" and err["message"] and err["request_id"], what
    # a small gzip body that would expand past the event size limit is refused without expanding it
    bomb = gzip.compress(b" " * (40 * 1024 * 1024))
    r = client.post(
        "/api/v1/lineage",
        content=bomb,
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert r.status_code == 413 and "decompressed" in r.json()["message"]  # as a plain body over it
    # a column lineage input without a field fails after datasets were resolved: nothing is kept
    broken = _event()
    broken["outputs"][0]["facets"]["columnLineage"]["fields"]["bid"]["inputFields"][0].pop("field")
    r = client.post("/api/v1/lineage", json=broken)
    assert r.status_code == 400 and "field" in r.json()["message"]
    engine = store_db.create_engine_for(database_url)
    with engine.connect() as c:
        assert c.execute(text("SELECT COUNT(*) FROM ol_jobs")).scalar() == 0
        assert c.execute(text("SELECT COUNT(*) FROM objects")).scalar() == 0
        assert c.execute(text("SELECT COUNT(*) FROM projects")).scalar() == 0
    engine.dispose()


def test_gzip_and_unmatched_namespaces_go_to_the_openlineage_project(client: TestClient) -> None:
    body = gzip.compress(json.dumps(_event()).encode())
    r = client.post(
        "/api/v1/lineage",
        content=body,
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["project"] == "openlineage" and out["column_edges"] == 1 and out["matched"] == 0
    projects = {p["name"] for p in client.get("/api/v1/projects").json()["items"]}
    assert "openlineage" in projects
    # job and dataset events are accepted too
    job_event = {k: v for k, v in _event().items() if k not in ("run", "eventType")}
    job_event["schemaURL"] = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent"
    assert client.post("/api/v1/lineage", json=job_event).status_code == 201
    ds_event = {
        "eventTime": "2026-12-06T11:00:00Z",
        "dataset": {"namespace": "postgres://quotes-db", "name": "md.venues", "facets": {}},
        "producer": PRODUCER,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
    }
    r = client.post("/api/v1/lineage", json=ds_event)
    assert r.status_code == 201 and r.json()["kind"] == "DatasetEvent"
    assert client.get("/api/v1/jobs/etl/nope/runs").status_code == 404


def test_round_trip_export_ingest_rebuilds_the_same_column_lineage(
    make_client: Any, roots: Path, tmp_path: Path, database_url: str, request: Any
) -> None:
    first = make_client()
    tree = write_tree(roots / "ledger", LEDGER)
    res = ingest_dir(first, tree, "ledger", "risk-db")
    events = first.get(f"/api/v1/export?format=openlineage&project_id={res['project_id']}").json()
    original = _edge_set(first, res["project_id"])
    assert original

    # an empty server (its own store)
    other_url = _fresh_url(database_url, tmp_path, request)
    second = make_client(database_url=other_url, data_dir=tmp_path / "data2")
    for e in events:
        r = second.post("/api/v1/lineage", json=e)
        assert r.status_code == 201, r.text
    pid = next(p["id"] for p in second.get("/api/v1/projects").json()["items"] if p["name"] == "openlineage")
    assert _edge_set(second, pid) == original


def _edge_set(client: TestClient, project_id: int) -> set[tuple[str, str, str, str]]:
    """(namespace:dataset.field → namespace:dataset.column, type, subtype) of an export."""
    events = client.get(f"/api/v1/export?format=openlineage&project_id={project_id}").json()
    out = set()
    for e in events:
        for o in e["outputs"]:
            for col, spec in o["facets"].get("columnLineage", {}).get("fields", {}).items():
                for f in spec["inputFields"]:
                    for t in f["transformations"]:
                        out.add(
                            (
                                f"{f['namespace']}:{f['name']}.{f['field']}",
                                f"{o['namespace']}:{o['name']}.{col}",
                                t["type"],
                                t["subtype"],
                            )
                        )
    return out


def _fresh_url(database_url: str, tmp_path: Path, request: Any) -> str:
    if database_url.startswith("sqlite"):
        path = tmp_path / "second.db"
        store_db.migrate(f"sqlite:///{path}")
        return f"sqlite:///{path}"
    name = f"rt_{uuid.uuid4().hex[:12]}"
    admin = request.getfixturevalue("pg_admin")
    server = request.getfixturevalue("pg_server")
    admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{request.getfixturevalue("pg_template")}"')
    request.addfinalizer(lambda: admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    return str(server.url(name))


def test_dataset_names_and_authorities_match_tolerantly(client: TestClient, roots: Path) -> None:
    tree = write_tree(roots / "ledger", LEDGER)
    res = ingest_dir(client, tree, "ledger", "risk-db")
    ev = _event(
        inputs=[{"namespace": "s3://landing", "name": "fills/2026", "facets": {}}],
        outputs=[
            {
                "namespace": "mssql://RISK-DB:1433",  # port and case differ from the repository name
                "name": "riskdb.SRC.FILLS",  # a database part the catalog does not have
                "facets": {
                    "columnLineage": {
                        "_producer": PRODUCER,
                        "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json",
                        "fields": {
                            "qty": {
                                "inputFields": [
                                    {"namespace": "s3://landing", "name": "fills/2026", "field": "q"}
                                ]
                            }
                        },
                    }
                },
            }
        ],
    )
    r = client.post("/api/v1/lineage", json=ev)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["project_id"] == res["project_id"] and out["matched"] == 1
    up = client.get(
        f"/api/v1/lineage/column/rpt.book_volume.gross_qty/upstream?project_id={res['project_id']}"
    ).json()
    assert "fills/2026.q" in {n["canonical_id"] for n in up["nodes"]}


def test_symlinks_and_dataset_wide_lineage(client: TestClient, roots: Path) -> None:
    """A Spark write to a storage path whose symlink names the parsed table; dataset-wide
    (INDIRECT) inputs reach every output field."""
    tree = write_tree(roots / "ledger", LEDGER)
    res = ingest_dir(client, tree, "ledger", "risk-db")
    cl = {
        "_producer": PRODUCER,
        "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json",
        "fields": {"px": {"inputFields": [{"namespace": "s3://raw", "name": "ticks", "field": "price"}]}},
        "dataset": [
            {
                "namespace": "s3://raw",
                "name": "ticks",
                "field": "is_valid",
                "transformations": [{"type": "INDIRECT", "subtype": "FILTER"}],
            }
        ],
    }
    ev = _event(
        inputs=[{"namespace": "s3://raw", "name": "ticks", "facets": {}}],
        outputs=[
            {
                "namespace": "hdfs://lake",
                "name": "/warehouse/src.db/fills",
                "facets": {
                    "columnLineage": cl,
                    "symlinks": {
                        "_producer": PRODUCER,
                        "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/SymlinksDatasetFacet.json",
                        "identifiers": [
                            {"namespace": "mssql://risk-db", "name": "src.fills", "type": "TABLE"}
                        ],
                    },
                    "schema": {
                        "_producer": PRODUCER,
                        "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/SchemaDatasetFacet.json",
                        "fields": [{"name": "px"}, {"name": "qty"}],
                    },
                },
            }
        ],
    )
    r = client.post("/api/v1/lineage", json=ev)
    assert r.status_code == 201, r.text
    assert r.json()["project_id"] == res["project_id"] and r.json()["matched"] == 1
    up = client.get(
        f"/api/v1/lineage/column/src.fills.qty/upstream?project_id={res['project_id']}&edge_kind=direct,indirect"
    ).json()
    assert "ticks.is_valid" in {n["canonical_id"] for n in up["nodes"]}
    up = client.get(f"/api/v1/lineage/column/src.fills.px/upstream?project_id={res['project_id']}").json()
    assert "ticks.price" in {n["canonical_id"] for n in up["nodes"]}


def test_a_run_id_in_any_spelling_is_one_run(client: TestClient) -> None:
    """UUIDs are case-insensitive: START in upper case and COMPLETE in lower case are one run,
    stored and served in the canonical lower-case spelling, found by either."""
    run_id = uuid.uuid4()
    start = _event(eventType="START", run={"runId": str(run_id).upper(), "facets": {}})
    start["eventTime"] = "2026-12-06T10:00:00Z"
    assert client.post("/api/v1/lineage", json=start).status_code == 201
    done = client.post("/api/v1/lineage", json=_event(run={"runId": str(run_id), "facets": {}}))
    assert done.status_code == 201 and done.json()["run_id"] == str(run_id)
    runs = client.get("/api/v1/jobs/etl/copy_quotes/runs").json()
    assert [r["id"] for r in runs["runs"]] == [str(run_id)] and runs["runs"][0]["state"] == "COMPLETED"
    for spelling in (str(run_id).upper(), run_id.hex):
        r = client.get(f"/api/v1/jobs/runs/{spelling}")
        assert r.status_code == 200 and r.json()["id"] == str(run_id), r.text
    assert client.get("/api/v1/jobs/runs/not-a-uuid").status_code == 404

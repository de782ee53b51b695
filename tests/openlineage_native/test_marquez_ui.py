"""The Marquez web UI pointed at finlineage: its request sequence against a real server.

A corpus of our own SQL is ingested and a Spark-style run is posted with the openlineage-python
client; then the requests marquez-web makes (namespaces → datasets → dataset → lineage →
column lineage → jobs → runs → run facets → search), formed as the UI forms them (namespaces and
names URL-encoded, `/lineage/?nodeId=` unencoded, trailing slashes), and the answers checked
field by field against what the UI reads.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import column_lineage_dataset as cl
from openlineage.client.facet_v2 import job_type_job, schema_dataset
from openlineage.client.transport.http import ApiKeyTokenProvider, HttpConfig, HttpTransport

from openlineage_native.conftest import LEDGER, make_key, write_tree

NS = "mssql://risk-db:1433"
LAKE = "s3://lake/raw-zone"
SPARK_NS = "spark-cluster"
PRODUCER = "https://example.invalid/marquez-ui-test-producer"

DATASET_KEYS = {
    "id",
    "type",
    "name",
    "physicalName",
    "createdAt",
    "updatedAt",
    "namespace",
    "sourceName",
    "fields",
    "tags",
    "lastModifiedAt",
    "description",
    "facets",
    "currentVersion",
    "deleted",
}
JOB_KEYS = {
    "id",
    "type",
    "name",
    "simpleName",
    "parentJobName",
    "createdAt",
    "updatedAt",
    "namespace",
    "inputs",
    "outputs",
    "location",
    "description",
    "latestRun",
    "facets",
    "currentVersion",
    "latestRuns",
}
RUN_KEYS = {
    "id",
    "createdAt",
    "updatedAt",
    "nominalStartTime",
    "nominalEndTime",
    "state",
    "jobVersion",
    "startedAt",
    "endedAt",
    "durationMs",
    "args",
    "facets",
}


def enc(value: str) -> str:
    """encodeURIComponent."""
    return quote(value, safe="-_.!~*'()")


def _event(state: RunState, run_id: str) -> RunEvent:
    """A Spark-style job: a landing file → src.fills of the SQL Server the procedures read."""
    lineage = cl.ColumnLineageDatasetFacet(
        fields={
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
        }
    )
    return RunEvent(
        eventType=state,
        eventTime="2026-12-06T10:00:00Z" if state == RunState.START else "2026-12-06T10:05:00Z",
        run=Run(runId=run_id),
        job=Job(
            namespace=SPARK_NS,
            name="load_fills",
            facets={"jobType": job_type_job.JobTypeJobFacet("BATCH", "SPARK", "JOB")},
        ),
        producer=PRODUCER,
        inputs=[
            InputDataset(
                namespace="file",
                name="/landing/fills.parquet",
                facets={
                    "schema": schema_dataset.SchemaDatasetFacet(
                        fields=[
                            schema_dataset.SchemaDatasetFacetFields(name="quantity", type="decimal(18,2)")
                        ]
                    )
                },
            )
        ],
        outputs=[OutputDataset(namespace=NS, name="src.fills", facets={"columnLineage": lineage})],
    )


def _ok(http: httpx.Client, url: str) -> Any:
    r = http.get(url)
    assert r.status_code == 200, (url, r.status_code, r.text)
    return r.json()


def _check_dataset(d: dict[str, Any], ns: str) -> None:
    assert set(d) >= DATASET_KEYS, DATASET_KEYS - set(d)
    assert d["id"] == {"namespace": ns, "name": d["name"]}
    assert d["type"] == "DB_TABLE" and d["namespace"] == ns and d["physicalName"] == d["name"]
    assert d["createdAt"].endswith("Z") and d["updatedAt"].endswith("Z")
    assert isinstance(d["tags"], list) and d["deleted"] is False and isinstance(d["facets"], dict)
    for f in d["fields"]:
        assert set(f) == {"name", "type", "tags", "description"} and isinstance(f["tags"], list)


def _check_job(j: dict[str, Any], ns: str) -> None:
    assert set(j) >= JOB_KEYS, JOB_KEYS - set(j)
    assert j["id"] == {"namespace": ns, "name": j["name"]} and j["type"] == "BATCH"
    assert j["namespace"] == ns and j["simpleName"] == j["name"].rsplit(".", 1)[-1]
    assert j["createdAt"].endswith("Z") and j["updatedAt"].endswith("Z")
    for d in [*j["inputs"], *j["outputs"]]:
        assert set(d) == {"namespace", "name"}


def test_marquez_web_request_sequence(make_server: Any, roots: Path, database_url: str) -> None:
    server = make_server()
    admin = make_key(database_url, "ops", "admin")
    editor = make_key(database_url, "spark", "editor")
    viewer = make_key(database_url, "ui", "viewer")
    tree = write_tree(roots / "ledger", LEDGER)
    with httpx.Client(
        base_url=server.http, headers={"Authorization": f"Bearer {admin}"}, timeout=120
    ) as http:
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
        repo = r.json()["repository_id"]
        r = http.put(f"/api/v1/repositories/{repo}/namespace", json={"namespace": "risk-db:1433"})
        assert r.status_code == 200, r.text
    client = OpenLineageClient(
        transport=HttpTransport(
            HttpConfig(
                url=server.http, auth=ApiKeyTokenProvider({"apiKey": editor}), timeout=30, retry={"total": 0}
            )
        )
    )
    run_id = str(uuid.uuid4())
    client.emit(_event(RunState.START, run_id))
    client.emit(_event(RunState.COMPLETE, run_id))
    client.emit(  # a namespace with '/' in it, a name with '/' in it
        RunEvent(
            eventType=RunState.COMPLETE,
            eventTime="2026-12-06T11:00:00Z",
            run=Run(runId=str(uuid.uuid4())),
            job=Job(namespace=SPARK_NS, name="export_volume"),
            producer=PRODUCER,
            inputs=[InputDataset(namespace=NS, name="rpt.book_volume")],
            outputs=[OutputDataset(namespace=LAKE, name="volume/daily")],
        )
    )

    api = "/api/v1"
    with httpx.Client(
        base_url=server.http, headers={"Authorization": f"Bearer {viewer}"}, timeout=120
    ) as http:
        # 1. namespaces
        spaces = {n["name"]: n for n in _ok(http, f"{api}/namespaces")["namespaces"]}
        assert {NS, "snowflake://risk-db:1433", "postgres://risk-db:1433", SPARK_NS, "file"} <= set(spaces)
        for n in spaces.values():
            assert set(n) == {"name", "createdAt", "updatedAt", "ownerName", "description", "isHidden"}
            assert n["isHidden"] is False and n["createdAt"].endswith("Z")
        assert _ok(http, f"{api}/namespaces/{enc(NS)}")["name"] == NS

        # 2. datasets of the namespace (paged)
        page = _ok(http, f"{api}/namespaces/{enc(NS)}/datasets?limit=20&offset=0")
        by_name = {d["name"]: d for d in page["datasets"]}
        assert {"src.fills", "rpt.book_volume", "rpt.large_fills"} <= set(by_name)
        assert page["totalCount"] == len(page["datasets"])
        for d in page["datasets"]:
            _check_dataset(d, NS)
        second = _ok(http, f"{api}/namespaces/{enc(NS)}/datasets?limit=1&offset=1")
        assert second["totalCount"] == page["totalCount"]
        assert [d["name"] for d in second["datasets"]] == [page["datasets"][1]["name"]]
        fills_fields = {f["name"]: f for f in by_name["src.fills"]["fields"]}
        assert {"fill_id", "qty", "px", "venue", "book_id"} == set(fills_fields)
        assert (
            str(fills_fields["qty"]["type"]).upper().startswith(("DECIMAL(18", "NUMERIC(18"))
        )  # from the DDL

        # 3. one dataset: fields, facets, column lineage (one hop upstream per field)
        volume = _ok(http, f"{api}/namespaces/{enc(NS)}/datasets/{enc('rpt.book_volume')}")
        _check_dataset(volume, NS)
        assert volume["facets"]["schema"]["fields"][0]["name"] == "book_id"
        lineage_by_field = {c["name"]: c for c in volume["columnLineage"]}
        gross = lineage_by_field["gross_qty"]
        assert gross["transformationType"] == "TRANSFORMATION"
        inputs = {(i["namespace"], i["dataset"], i["field"]) for i in gross["inputFields"]}
        assert (NS, "src.fills", "qty") in inputs
        qty_input = next(i for i in gross["inputFields"] if i["field"] == "qty")
        assert qty_input["transformations"][0]["subtype"] == "AGGREGATION"
        assert qty_input["transformationType"] == "TRANSFORMATION"
        fills = _ok(http, f"{api}/namespaces/{enc(NS)}/datasets/{enc('src.fills')}")
        received = {c["name"]: c for c in fills["columnLineage"]}
        assert ("file", "/landing/fills.parquet", "quantity") in {
            (i["namespace"], i["dataset"], i["field"]) for i in received["qty"]["inputFields"]
        }
        landing_ds = _ok(http, f"{api}/namespaces/file/datasets")["datasets"]
        assert [(d["name"], [f["name"] for f in d["fields"]]) for d in landing_ds] == [
            ("/landing/fills.parquet", ["quantity"])
        ]
        assert _ok(http, f"{api}/namespaces/file/datasets/{enc('/landing/fills.parquet')}")["name"] == (
            "/landing/fills.parquet"
        )
        versions = _ok(
            http, f"{api}/namespaces/{enc(NS)}/datasets/{enc('rpt.book_volume')}/versions?limit=100&offset=0"
        )
        assert versions["totalCount"] >= 1
        assert versions["versions"][0]["version"] == volume["currentVersion"]
        assert versions["versions"][0]["id"] == {
            "namespace": NS,
            "name": "rpt.book_volume",
            "version": volume["currentVersion"],
        }
        assert [f["name"] for f in versions["versions"][0]["fields"]] == [f["name"] for f in volume["fields"]]

        # 4. lineage graph of the dataset: nodeId not encoded, trailing slash, as the UI sends it
        node = f"dataset:{NS}:rpt.book_volume"
        graph = {n["id"]: n for n in _ok(http, f"{api}/lineage/?nodeId={node}&depth=5")["graph"]}
        assert graph[node]["type"] == "DATASET"
        data = graph[node]["data"]
        assert data["id"] == {"namespace": NS, "name": "rpt.book_volume"} and data["type"] == "DB_TABLE"
        assert [f["name"] for f in data["fields"]] == ["book_id", "gross_qty", "notional"]
        proc = f"job:{NS}:rpt.load_book_volume"
        spark = f"job:{SPARK_NS}:load_fills"
        landing = "dataset:file:/landing/fills.parquet"
        assert graph[proc]["type"] == "JOB" and graph[spark]["type"] == "JOB" and landing in graph
        assert {"origin": proc, "destination": node} in graph[node]["inEdges"]
        assert {"origin": f"dataset:{NS}:src.fills", "destination": proc} in graph[proc]["inEdges"]
        assert {"origin": landing, "destination": spark} in graph[spark]["inEdges"]
        job_data = graph[spark]["data"]
        assert job_data["type"] == "BATCH" and job_data["simpleName"] == "load_fills"
        assert job_data["latestRun"]["state"] == "COMPLETED" and job_data["latestRun"]["id"] == run_id
        assert {"namespace": NS, "name": "src.fills"} in job_data["outputs"]
        for n in graph.values():
            assert set(n) == {"id", "type", "data", "inEdges", "outEdges"}
            for e in [*n["inEdges"], *n["outEdges"]]:
                assert e["origin"] in graph and e["destination"] in graph
        # the same graph from the job's node
        from_job = {n["id"] for n in _ok(http, f"{api}/lineage/?nodeId={proc}&depth=5")["graph"]}
        assert {node, proc, spark, landing} <= from_job

        # 5. column lineage: namespace and name encoded inside the node id, downstream too
        col = _ok(
            http,
            f"{api}/column-lineage?nodeId=dataset:{enc(NS)}:{enc('src.fills')}&depth=5&withDownstream=true",
        )
        fields = {n["id"]: n for n in col["graph"]}
        qty = f"datasetField:{NS}:src.fills:qty"
        assert fields[qty]["type"] == "DATASET_FIELD"
        qd = fields[qty]["data"]
        assert set(qd) >= {
            "namespace",
            "dataset",
            "datasetVersion",
            "field",
            "fieldType",
            "transformationDescription",
            "transformationType",
            "inputFields",
        }
        assert (qd["namespace"], qd["dataset"], qd["field"]) == (NS, "src.fills", "qty")
        assert ("file", "/landing/fills.parquet", "quantity") in {
            (i["namespace"], i["dataset"], i["field"]) for i in qd["inputFields"]
        }
        downstream = f"datasetField:{NS}:rpt.book_volume:gross_qty"
        assert {"origin": qty, "destination": downstream} in fields[qty]["outEdges"]
        assert col["truncated"] is False

        # 6. jobs of the namespaces, one job, its runs
        jobs = _ok(http, f"{api}/namespaces/{enc(NS)}/jobs?limit=25&offset=0")
        job_by_name = {j["name"]: j for j in jobs["jobs"]}
        assert {"rpt.load_book_volume", "rpt.large_fills"} <= set(job_by_name)
        assert jobs["totalCount"] == len(jobs["jobs"])
        for j in jobs["jobs"]:
            _check_job(j, NS)
        loader = job_by_name["rpt.load_book_volume"]
        assert loader["inputs"] == [{"namespace": NS, "name": "src.fills"}]
        assert loader["outputs"] == [{"namespace": NS, "name": "rpt.book_volume"}]
        assert loader["facets"]["jobType"]["jobType"] == "STORED_PROCEDURE"
        assert "INSERT INTO rpt.book_volume" in loader["facets"]["sql"]["query"]
        assert loader["latestRun"] is None and loader["latestRuns"] == []
        one = _ok(http, f"{api}/namespaces/{enc(NS)}/jobs/{enc('rpt.load_book_volume')}")
        assert one == loader
        assert _ok(
            http, f"{api}/namespaces/{enc(NS)}/jobs/{enc('rpt.load_book_volume')}/runs?limit=100&offset=0"
        ) == {"runs": [], "totalCount": 0, "limit": 100, "offset": 0, "truncated": False}
        spark_job = _ok(http, f"{api}/namespaces/{enc(SPARK_NS)}/jobs/load_fills")
        _check_job(spark_job, SPARK_NS)
        assert spark_job["latestRun"]["state"] == "COMPLETED"
        runs = _ok(http, f"{api}/namespaces/{enc(SPARK_NS)}/jobs/load_fills/runs?limit=100&offset=0")
        assert runs["totalCount"] == 1 and [x["id"] for x in runs["runs"]] == [run_id]
        the_run = runs["runs"][0]
        assert set(the_run) >= RUN_KEYS
        assert the_run["state"] == "COMPLETED" and the_run["durationMs"] == 5 * 60 * 1000
        assert the_run["startedAt"].startswith("2026-12-06T10:00") and the_run["endedAt"].startswith(
            "2026-12-06T10:05"
        )
        assert the_run["jobVersion"] == {
            "namespace": SPARK_NS,
            "name": "load_fills",
            "version": spark_job["currentVersion"],
        }

        # 7. a run, its facets and its job's facets
        assert _ok(http, f"{api}/jobs/runs/{run_id}") == the_run
        job_facets = _ok(http, f"{api}/jobs/runs/{run_id}/facets?type=job")
        assert job_facets["runId"] == run_id and job_facets["facets"]["jobType"]["integration"] == "SPARK"
        assert _ok(http, f"{api}/jobs/runs/{run_id}/facets?type=run")["runId"] == run_id

        # 8. search, as the UI asks for it
        found = _ok(http, f"{api}/search/?q=book_vol&sort=NAME&limit=100")
        hits = {(h["type"], h["namespace"], h["name"]): h for h in found["results"]}
        assert ("DATASET", NS, "rpt.book_volume") in hits and ("JOB", NS, "rpt.load_book_volume") in hits
        assert hits[("DATASET", NS, "rpt.book_volume")]["nodeId"] == node
        assert hits[("JOB", NS, "rpt.load_book_volume")]["nodeId"] == proc
        for h in found["results"]:
            assert set(h) == {"type", "name", "updatedAt", "namespace", "nodeId"}
        jobs_only = _ok(http, f"{api}/search/?q=load&sort=NAME&limit=100&filter=JOB")
        assert {h["type"] for h in jobs_only["results"]} == {"JOB"}
        assert ("JOB", SPARK_NS, "load_fills") in {
            (h["type"], h["namespace"], h["name"]) for h in jobs_only["results"]
        }
        assert found["totalCount"] == len(found["results"])

        # '/' inside a namespace and a name (encoded); a namespace sent unencoded still parses
        lake = _ok(http, f"{api}/namespaces/{enc(LAKE)}/datasets")
        assert [d["name"] for d in lake["datasets"]] == ["volume/daily"]
        assert _ok(http, f"{api}/namespaces/{enc(LAKE)}/datasets/{enc('volume/daily')}")["namespace"] == LAKE
        assert _ok(http, f"{api}/namespaces/{NS}/datasets?limit=100")["totalCount"] == page["totalCount"]
        exported = {
            n["id"] for n in _ok(http, f"{api}/lineage/?nodeId=dataset:{LAKE}:volume/daily&depth=20")["graph"]
        }
        assert {f"job:{SPARK_NS}:export_volume", node, proc, landing} <= exported

        # Marquez, the API and chat walk the same graph: the same objects as /lineage/node
        upstream = _ok(http, f"{api}/lineage/node/rpt.book_volume/upstream")
        downstream = _ok(http, f"{api}/lineage/node/rpt.book_volume/downstream")
        walked = {n["canonical_id"] for w in (upstream, downstream) for n in w["nodes"]}
        marquez = {
            n["data"]["name"]
            for n in _ok(http, f"{api}/lineage?nodeId={node}")["graph"]
            if n["type"] == "DATASET"
        }
        assert marquez == walked

        # errors: the envelope, 404 for what does not exist
        for url in (
            f"{api}/namespaces/{enc('mssql://nowhere:1')}/datasets",
            f"{api}/namespaces/{enc(NS)}/datasets/{enc('nope.nothing')}",
            f"{api}/namespaces/{enc(NS)}/jobs/{enc('nope.nothing')}/runs",
            f"{api}/jobs/runs/{uuid.uuid4()}",
        ):
            r = http.get(url)
            assert r.status_code == 404, url
            assert set(r.json()) == {"error", "message", "request_id", "details"}
    # a key is needed
    assert httpx.get(f"{server.http}{api}/namespaces", timeout=30).status_code == 401

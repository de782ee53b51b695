"""#17 second stranger round, datasets: a lake producer's dataset facets (dataSource, documentation,
lifecycleStateChange, ownership, storage, field descriptions; dataQualityMetrics and
outputStatistics on a run's datasets), facets deleted with ``_deleted``, dataset names holding
spaces, unicode, ``%``, ``#``, ``?``, ``&`` and ``+``; then the Marquez web UI's walk over them:
namespaces → datasets → dataset → versions → lineage → column lineage → search → events."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

from openlineage.client.event_v2 import (
    DatasetEvent,
    InputDataset,
    Job,
    JobEvent,
    OutputDataset,
    Run,
    RunEvent,
    RunState,
    StaticDataset,
)
from openlineage.client.facet_v2 import column_lineage_dataset as cl
from openlineage.client.facet_v2 import data_quality_metrics_input_dataset as dq
from openlineage.client.facet_v2 import (
    datasource_dataset,
    documentation_dataset,
    documentation_job,
    ownership_dataset,
    schema_dataset,
    storage_dataset,
)
from openlineage.client.facet_v2 import lifecycle_state_change_dataset as lc
from openlineage.client.facet_v2 import output_statistics_output_dataset as ost

from openlineage_native.acceptance_bank import Bank, emitter, start_bank

PRODUCER = "https://example.invalid/quay-lake-stranger"
LAKE = "s3://quay-lake"
ODD_NAMES = [
    "landing/ünïcode trades.csv",
    "landing/100% filled#2?.csv",
    "landing/a+b&c=d.csv",
    "landing/fills@2026-12-06T01:00:00Z.csv",  # a timestamped key: ":" inside the name
]


def _fields(*names: tuple[str, str, str]) -> schema_dataset.SchemaDatasetFacet:
    return schema_dataset.SchemaDatasetFacet(
        fields=[schema_dataset.SchemaDatasetFacetFields(name=n, type=t, description=d) for n, t, d in names]
    )


def _landing(name: str, state: lc.LifecycleStateChange) -> DatasetEvent:
    return DatasetEvent(
        eventTime="2026-12-06T07:00:00Z",
        producer=PRODUCER,
        dataset=StaticDataset(
            namespace=LAKE,
            name=name,
            facets={
                "schema": _fields(("trade id", "string", "the venue's id"), ("qty", "decimal(18,2)", "")),
                "dataSource": datasource_dataset.DatasourceDatasetFacet(name="quay-landing", uri=LAKE),
                "documentation": documentation_dataset.DocumentationDatasetFacet(
                    description="trades as the venue drops them"
                ),
                "lifecycleStateChange": lc.LifecycleStateChangeDatasetFacet(lifecycleStateChange=state),
                "ownership": ownership_dataset.OwnershipDatasetFacet(
                    owners=[ownership_dataset.Owner(name="team:lake", type="TEAM")]
                ),
                "storage": storage_dataset.StorageDatasetFacet(storageLayer="iceberg", fileFormat="parquet"),
            },
        ),
    )


def _enc(value: str) -> str:
    return quote(value, safe="")


def _get(bank: Bank, url: str, **params: Any) -> Any:
    with bank.http("viewer") as h:
        r = h.get(url, params=params) if params else h.get(url)  # empty params drop the URL's query
    assert r.status_code == 200, (url, r.status_code, r.text[:300])
    return r.json()


def test_dataset_facets_fill_marquez_dataset_fields(make_server: Any, database_url: str) -> None:
    bank = start_bank(make_server, database_url)
    sender = emitter(bank, bank.editor)
    name = "landing/fills.parquet"
    assert sender.transport.emit(_landing(name, lc.LifecycleStateChange.CREATE)).status_code == 201
    d = _get(bank, f"/api/v1/namespaces/{_enc(LAKE)}/datasets/{_enc(name)}")
    assert d["sourceName"] == "quay-landing"
    assert d["description"] == "trades as the venue drops them"
    assert d["lastLifecycleState"] == "CREATE"
    assert [(f["name"], f["type"], f["description"]) for f in d["fields"]] == [
        ("trade id", "string", "the venue's id"),
        ("qty", "decimal(18,2)", None),
    ]
    assert d["facets"]["storage"]["fileFormat"] == "parquet"
    listed = _get(bank, f"/api/v1/namespaces/{_enc(LAKE)}/datasets")["datasets"]
    assert [(x["name"], x["sourceName"], x["lastLifecycleState"]) for x in listed] == [
        (name, "quay-landing", "CREATE")
    ]

    # the dataset is overwritten, then its ownership facet deleted (``_deleted``)
    assert sender.transport.emit(_landing(name, lc.LifecycleStateChange.OVERWRITE)).status_code == 201
    deleted = DatasetEvent(
        eventTime="2026-12-06T08:00:00Z",
        producer=PRODUCER,
        dataset=StaticDataset(
            namespace=LAKE,
            name=name,
            facets={"ownership": ownership_dataset.OwnershipDatasetFacet(owners=[], deleted=True)},
        ),
    )
    assert sender.transport.emit(deleted).status_code == 201
    d = _get(bank, f"/api/v1/namespaces/{_enc(LAKE)}/datasets/{_enc(name)}")
    assert d["lastLifecycleState"] == "OVERWRITE"
    assert "ownership" not in d["facets"] and {"storage", "dataSource", "schema"} <= set(d["facets"])

    assert d["deleted"] is False
    # dropped, then created again: Marquez's soft delete (served, flagged) and back
    assert sender.transport.emit(_landing(name, lc.LifecycleStateChange.DROP)).status_code == 201
    d = _get(bank, f"/api/v1/namespaces/{_enc(LAKE)}/datasets/{_enc(name)}")
    assert (d["lastLifecycleState"], d["deleted"]) == ("DROP", True)
    assert sender.transport.emit(_landing(name, lc.LifecycleStateChange.CREATE)).status_code == 201
    d = _get(bank, f"/api/v1/namespaces/{_enc(LAKE)}/datasets/{_enc(name)}")
    assert (d["lastLifecycleState"], d["deleted"]) == ("CREATE", False)
    deleted = DatasetEvent(
        eventTime="2026-12-06T08:00:10Z",
        producer=PRODUCER,
        dataset=StaticDataset(
            namespace=LAKE,
            name=name,
            facets={"ownership": ownership_dataset.OwnershipDatasetFacet(owners=[], deleted=True)},
        ),
    )
    assert sender.transport.emit(deleted).status_code == 201

    # the producer's new schema (qty dropped, px added) is the dataset's current fields
    reshaped = DatasetEvent(
        eventTime="2026-12-06T08:00:30Z",
        producer=PRODUCER,
        dataset=StaticDataset(
            namespace=LAKE,
            name=name,
            facets={"schema": _fields(("trade id", "string", ""), ("px", "double", "price"))},
        ),
    )
    assert sender.transport.emit(reshaped).status_code == 201
    d = _get(bank, f"/api/v1/namespaces/{_enc(LAKE)}/datasets/{_enc(name)}")
    assert [(f["name"], f["type"]) for f in d["fields"]] == [("trade id", "string"), ("px", "double")]
    assert [f["name"] for f in d["facets"]["schema"]["fields"]] == ["trade id", "px"]
    graph = _get(bank, "/api/v1/lineage/", nodeId=f"dataset:{LAKE}:{name}", depth=1)["graph"]
    assert [f["name"] for f in graph[0]["data"]["fields"]] == ["trade id", "px"]

    # a job facet deleted the same way (JobEvent)
    job = Job(
        namespace="quay-batch",
        name="compact_fills",
        facets={"documentation": documentation_job.DocumentationJobFacet(description="compacts fills")},
    )
    out = [OutputDataset(namespace=LAKE, name=name)]
    first = JobEvent(eventTime="2026-12-06T08:01:00Z", producer=PRODUCER, job=job, outputs=out)
    assert sender.transport.emit(first).status_code == 201
    assert _get(bank, "/api/v1/namespaces/quay-batch/jobs/compact_fills")["description"] == "compacts fills"
    gone = Job(
        namespace="quay-batch",
        name="compact_fills",
        facets={"documentation": documentation_job.DocumentationJobFacet(description="", deleted=True)},
    )
    second = JobEvent(eventTime="2026-12-06T08:02:00Z", producer=PRODUCER, job=gone, outputs=out)
    assert sender.transport.emit(second).status_code == 201
    j = _get(bank, "/api/v1/namespaces/quay-batch/jobs/compact_fills")
    assert j["description"] is None and "documentation" not in j["facets"]


def test_odd_dataset_names_through_the_marquez_ui_walk(make_server: Any, database_url: str) -> None:
    bank = start_bank(make_server, database_url)
    sender = emitter(bank, bank.editor)
    for name in ODD_NAMES:
        assert sender.transport.emit(_landing(name, lc.LifecycleStateChange.CREATE)).status_code == 201
    # a run reading each odd file into one table, column lineage from each, with input and
    # output facets a lake job sends
    run_id = str(uuid.uuid4())
    target = ("postgres://quay-db:5432", "lake.public.trades")
    lineage = cl.ColumnLineageDatasetFacet(
        fields={
            "trade_id": cl.Fields(
                inputFields=[
                    cl.InputField(LAKE, n, "trade id", [cl.Transformation("DIRECT", "IDENTITY")])
                    for n in ODD_NAMES
                ]
            )
        }
    )
    event = RunEvent(
        eventType=RunState.COMPLETE,
        eventTime="2026-12-06T09:00:00Z",
        run=Run(runId=run_id),
        job=Job(namespace="quay-batch", name="load trades"),
        producer=PRODUCER,
        inputs=[
            InputDataset(
                namespace=LAKE,
                name=n,
                inputFacets={
                    "dataQualityMetrics": dq.DataQualityMetricsInputDatasetFacet(
                        columnMetrics={}, rowCount=42
                    )
                },
            )
            for n in ODD_NAMES
        ],
        outputs=[
            OutputDataset(
                namespace=target[0],
                name=target[1],
                facets={"columnLineage": lineage},
                outputFacets={"outputStatistics": ost.OutputStatisticsOutputDatasetFacet(rowCount=126)},
            )
        ],
    )
    assert sender.transport.emit(event).status_code == 201

    names = {n["name"] for n in _get(bank, "/api/v1/namespaces")["namespaces"]}
    assert {LAKE, target[0], "quay-batch"} <= names
    listed = _get(bank, f"/api/v1/namespaces/{_enc(LAKE)}/datasets", limit=20, offset=0)
    assert sorted(d["name"] for d in listed["datasets"]) == sorted(ODD_NAMES)
    for name in ODD_NAMES:
        d = _get(bank, f"/api/v1/namespaces/{_enc(LAKE)}/datasets/{_enc(name)}")
        assert d["id"] == {"namespace": LAKE, "name": name}
        assert d["fields"][0]["description"] == "the venue's id"
        versions = _get(bank, f"/api/v1/namespaces/{_enc(LAKE)}/datasets/{_enc(name)}/versions")
        assert versions["versions"] and versions["versions"][0]["name"] == name
        assert versions["versions"][0]["lifecycleState"] == "CREATE"
        newest = versions["versions"][0]
        one = _get(
            bank, f"/api/v1/namespaces/{_enc(LAKE)}/datasets/{_enc(name)}/versions/{newest['version']}"
        )
        assert one == newest
        # the lineage call as the UI makes it (node id not encoded: the client encodes the
        # query) and as encodeURIComponent spells it
        node = f"dataset:{LAKE}:{name}"
        for graph in (
            _get(bank, "/api/v1/lineage/", nodeId=node, depth=2)["graph"],
            _get(bank, f"/api/v1/lineage?nodeId={_enc(node)}&depth=2")["graph"],
        ):
            by_id = {g["id"]: g for g in graph}
            assert {node, "job:quay-batch:load trades", f"dataset:{target[0]}:{target[1]}"} <= set(by_id)
            data = by_id[node]["data"]  # the graph's DatasetData reads the same facets
            assert (data["sourceName"], data["lastLifecycleState"]) == ("quay-landing", "CREATE")
            assert data["description"] == "trades as the venue drops them"
            assert data["fields"][0]["description"] == "the venue's id"
        # column lineage as the UI builds it: namespace and name encoded inside the id
        down = _get(
            bank,
            f"/api/v1/column-lineage?nodeId=dataset:{_enc(LAKE)}:{_enc(name)}&depth=2&withDownstream=true",
        )
        ids = {g["id"] for g in down["graph"]}
        assert f"datasetField:{target[0]}:{target[1]}:trade_id" in ids
        assert f"datasetField:{LAKE}:{name}:trade id" in ids
    hits = _get(bank, "/api/v1/search/", q="ünïcode", sort="NAME", limit=100)["results"]
    assert [h["nodeId"] for h in hits] == [f"dataset:{LAKE}:{ODD_NAMES[0]}"]
    hits = _get(bank, "/api/v1/search/", q="100%", sort="NAME", limit=100)["results"]
    assert [h["name"] for h in hits] == [ODD_NAMES[1]]

    # the run's dataset versions carry what the run said of them (input and output facets)
    run = _get(bank, f"/api/v1/jobs/runs/{run_id}")
    ins = {v["datasetVersionId"]["name"]: v for v in run["inputDatasetVersions"]}
    assert set(ins) == set(ODD_NAMES)
    assert all(v["facets"]["dataQualityMetrics"]["rowCount"] == 42 for v in ins.values())
    assert all(v["datasetVersionId"]["version"] for v in ins.values())
    (out,) = run["outputDatasetVersions"]
    assert out["facets"]["outputStatistics"]["rowCount"] == 126
    job = _get(bank, f"/api/v1/namespaces/quay-batch/jobs/{_enc('load trades')}")
    assert {(d["namespace"], d["name"]) for d in job["inputs"]} == {(LAKE, n) for n in ODD_NAMES}

    # lastModifiedAt: the end of the latest successful run that wrote the dataset; a later
    # failed run changes nothing, a dataset only read has none
    failed = RunEvent(
        eventType=RunState.FAIL,
        eventTime="2026-12-06T09:30:00Z",
        run=Run(runId=str(uuid.uuid4())),
        job=Job(namespace="quay-batch", name="load trades"),
        producer=PRODUCER,
        outputs=[OutputDataset(namespace=target[0], name=target[1])],
    )
    assert sender.transport.emit(failed).status_code == 201
    table = _get(bank, f"/api/v1/namespaces/{_enc(target[0])}/datasets/{_enc(target[1])}")
    assert table["lastModifiedAt"] == "2026-12-06T09:00:00Z"
    listed = _get(bank, f"/api/v1/namespaces/{_enc(target[0])}/datasets")["datasets"]
    assert [d["lastModifiedAt"] for d in listed] == ["2026-12-06T09:00:00Z"]
    assert (
        _get(bank, f"/api/v1/namespaces/{_enc(LAKE)}/datasets/{_enc(ODD_NAMES[0])}")["lastModifiedAt"] is None
    )

    with bank.http("viewer") as h:
        r = h.get(f"/api/v1/namespaces/{_enc(LAKE)}/datasets/{_enc(ODD_NAMES[0])}/versions/{uuid.uuid4()}")
        assert r.status_code == 404 and r.json()["error"] == "not_found"

    # the events page as the UI first opens it: no dates picked (before= and after= empty)
    with bank.http("viewer") as h:
        r = h.get("/api/v1/events/lineage?limit=100&before=&after=&sortDirection=desc")
        assert r.status_code == 200, r.text
        events = r.json()["events"]
        assert len(events) == len(ODD_NAMES) + 2 and events[0]["eventType"] == "FAIL"
        r = h.get("/api/v1/events/lineage?limit=100&before=&after=2026-12-06T08:30:00.000Z&sortDirection=asc")
        assert r.status_code == 200
        assert [e["eventTime"] for e in r.json()["events"]] == [
            "2026-12-06T09:00:00Z",
            "2026-12-06T09:30:00Z",
        ]
        assert h.get("/api/v1/events/lineage?before=soon").status_code == 422

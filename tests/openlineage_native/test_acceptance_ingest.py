"""#17 acceptance, ingest: the openlineage-python client's own HTTP transport (configured from a
dict, api_key auth, gzip) posting Spark-like runs, job and dataset events into a real server that
holds the bank warehouse; runs stitched onto the parsed procedure; invalid events refused whole."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
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
from openlineage.client.facet_v2 import job_type_job, schema_dataset
from openlineage.client.facet_v2 import lifecycle_state_change_dataset as lc
from openlineage.client.facet_v2 import output_statistics_output_dataset as ost

from openlineage_native.acceptance_bank import (
    AUTHORITY,
    CRM,
    LEDGER_NS,
    PRODUCER,
    Bank,
    emitter,
    published,
    schema_field,
    spark_run,
    warehouse,
)


def _upstream(bank: Bank, pid: int, column: str) -> set[str]:
    with bank.http("viewer") as h:
        r = h.get(f"/api/v1/lineage/column/{column}/upstream", params={"project_id": pid, "depth": 10})
    assert r.status_code == 200, r.text
    return {n["canonical_id"] for n in r.json()["nodes"]}


def test_spark_run_with_symlinks_stitched_through_the_procedure(
    make_server: Any, database_url: str, roots: Path
) -> None:
    bank, pid = warehouse(make_server, database_url, roots)
    run_id = str(uuid.uuid4())
    emitter(bank, bank.editor, gzip=True).emit(spark_run(RunState.START, run_id, "2026-12-06T02:00:00Z"))
    emitter(bank, bank.editor).emit(spark_run(RunState.COMPLETE, run_id, "2026-12-06T02:07:30Z"))

    # report column ← procedure ← Spark's target (the parsed table) ← the landing path's field
    names = _upstream(bank, pid, "rpt.daily_balances.closing_balance")
    assert "core.ledger_entries.amount" in names
    assert "/raw/ledger/2026-12-06.amt" in names
    assert "/raw/ledger/2026-12-06.id" not in names  # entry_id feeds COUNT, not the balance
    assert "/raw/ledger/2026-12-06.id" in _upstream(bank, pid, "rpt.daily_balances.entry_count")
    # the lake path itself is not a second copy of the table: the symlink resolved onto it
    with bank.http("viewer") as h:
        r = h.get("/api/v1/lineage/nodes", params={"project_id": pid, "name": "ledger_entries"})
        assert r.status_code == 200, r.text
        assert {n["canonical_id"] for n in r.json()["items"]} == {"core.ledger_entries"}
        runs = h.get("/api/v1/jobs/bank-spark/ingest_ledger.write_lake/runs").json()
        assert [x["id"] for x in runs["runs"]] == [run_id]
        run = runs["runs"][0]
        assert run["state"] == "COMPLETED" and run["durationMs"] == 450_000
        # the same run through Marquez's namespace route (namespace and name URL-encoded)
        r = h.get(f"/api/v1/namespaces/bank-spark/jobs/{quote('ingest_ledger.write_lake', safe='')}/runs")
        assert r.status_code == 200 and [x["id"] for x in r.json()["runs"]] == [run_id]
    # the export names the received job (not a synthetic one) for the edges it stitched
    events = bank.export(pid)
    spark = [e for e in events if e["job"]["name"] == "ingest_ledger.write_lake"]
    assert [e["job"]["namespace"] for e in spark] == ["bank-spark"]
    assert {(o["namespace"], o["name"]) for o in spark[0]["outputs"]} == {(LEDGER_NS, "core.ledger_entries")}
    assert not [e for e in events if e["job"]["name"].endswith("-lineage")]
    assert all(published().event(e) == [] for e in events)
    # the viewer key is refused by the transport (403 raised by the client)
    with pytest.raises(requests.HTTPError) as err:
        emitter(bank, bank.viewer).emit(
            spark_run(RunState.COMPLETE, str(uuid.uuid4()), "2026-12-06T03:00:00Z")
        )
    assert err.value.response is not None and err.value.response.status_code == 403


def test_a_namespace_with_a_port_and_a_three_part_name_join_the_parsed_table(
    make_server: Any, database_url: str, roots: Path
) -> None:
    bank, pid = warehouse(make_server, database_url, roots)
    event = RunEvent(
        eventType=RunState.COMPLETE,
        eventTime="2026-12-06T04:00:00Z",
        run=Run(runId=str(uuid.uuid4())),
        job=Job(namespace="bank-spark", name="sync_accounts"),
        producer=PRODUCER,
        inputs=[InputDataset(namespace=CRM.get_namespace(), name=CRM.get_name())],
        outputs=[
            OutputDataset(
                namespace=LEDGER_NS,
                name="corebank.core.accounts",  # database part the catalog does not have
                facets={
                    "columnLineage": cl.ColumnLineageDatasetFacet(
                        fields={
                            "branch_code": cl.Fields(
                                inputFields=[
                                    cl.InputField(
                                        CRM.get_namespace(),
                                        CRM.get_name(),
                                        "home_branch",
                                        [cl.Transformation("DIRECT", "IDENTITY")],
                                    )
                                ]
                            )
                        }
                    )
                },
            )
        ],
    )
    resp = emitter(bank, bank.admin, gzip=True).transport.emit(event)  # the transport's response
    assert resp.status_code == 201
    body = resp.json()
    assert body["project_id"] == pid and body["matched"] >= 1
    # the CRM column flows through the parsed procedure and view into both reports
    assert "crm.public.customers.home_branch" in _upstream(bank, pid, "rpt.daily_balances.branch_code")
    assert "crm.public.customers.home_branch" in _upstream(bank, pid, "rpt.v_customer_accounts.office")


def test_job_and_dataset_events_from_the_client(make_server: Any, database_url: str, roots: Path) -> None:
    bank, _ = warehouse(make_server, database_url, roots)
    sender = emitter(bank, bank.editor)
    job_event = JobEvent(
        eventTime="2026-12-06T05:00:00Z",
        producer=PRODUCER,
        job=Job(
            namespace="bank-airflow",
            name="eod.publish_balances",
            facets={"jobType": job_type_job.JobTypeJobFacet("BATCH", "AIRFLOW", "TASK")},
        ),
        inputs=[InputDataset(namespace=LEDGER_NS, name="rpt.daily_balances")],
        outputs=[OutputDataset(namespace="s3://bank-exports", name="/eod/balances")],
    )
    resp = sender.transport.emit(job_event)
    assert resp.status_code == 201 and resp.json()["kind"] == "JobEvent"
    ds_event = DatasetEvent(
        eventTime="2026-12-06T05:01:00Z",
        producer=PRODUCER,
        dataset=StaticDataset(
            namespace="s3://bank-exports",
            name="/eod/balances",
            facets={
                "schema": schema_dataset.SchemaDatasetFacet(
                    fields=[
                        schema_field("account_id", "int"),
                        schema_field("closing_balance", "decimal(19,4)"),
                    ]
                )
            },
        ),
    )
    resp = sender.transport.emit(ds_event)
    assert resp.status_code == 201 and resp.json()["kind"] == "DatasetEvent"
    with bank.http("viewer") as h:
        jobs = h.get(f"/api/v1/namespaces/{quote('bank-airflow', safe='')}/jobs").json()["jobs"]
        job = next(j for j in jobs if j["name"] == "eod.publish_balances")
        assert {(d["namespace"], d["name"]) for d in job["inputs"]} == {(LEDGER_NS, "rpt.daily_balances")}
        assert {(d["namespace"], d["name"]) for d in job["outputs"]} == {
            ("s3://bank-exports", "/eod/balances")
        }
        ns, name = quote("s3://bank-exports", safe=""), quote("/eod/balances", safe="")
        r = h.get(f"/api/v1/namespaces/{ns}/datasets/{name}")
        assert r.status_code == 200, r.text
        assert [f["name"] for f in r.json()["fields"]] == ["account_id", "closing_balance"]


def _rejected(bank: Bank, body: bytes, headers: dict[str, str] | None = None) -> str:
    with bank.http("editor") as h:
        r = h.post(
            "/api/v1/lineage", content=body, headers={"Content-Type": "application/json", **(headers or {})}
        )
    assert r.status_code == 400, (r.status_code, r.text[:300])
    err = r.json()
    assert err["error"] and err["request_id"]
    message: str = err["message"]
    return message


def _state(bank: Bank, pid: int) -> tuple[Any, ...]:
    """What a reader sees: jobs, namespaces, the parsed table's upstream."""
    with bank.http("viewer") as h:
        jobs = sorted(
            (j["namespace"], j["name"]) for j in h.get("/api/v1/jobs", params={"limit": 1000}).json()["jobs"]
        )
        spaces = sorted(n["name"] for n in h.get("/api/v1/namespaces").json()["namespaces"])
        projects = sorted(p["name"] for p in h.get("/api/v1/projects").json()["items"])
    return jobs, spaces, projects, _upstream(bank, pid, "rpt.daily_balances.closing_balance")


def _valid_dict() -> dict[str, Any]:
    event = spark_run(RunState.COMPLETE, str(uuid.uuid4()), "2026-12-06T06:00:00Z")
    from openlineage.client.serde import Serde

    parsed: dict[str, Any] = json.loads(Serde.to_json(event))
    return parsed


def test_invalid_events_are_400_with_the_reason_and_write_nothing(
    make_server: Any, database_url: str, roots: Path
) -> None:
    bank, pid = warehouse(make_server, database_url, roots)
    before = _state(bank, pid)
    e = _valid_dict()
    e["job"].pop("namespace")
    assert "namespace" in _rejected(bank, json.dumps(e).encode())
    e = _valid_dict()
    e["eventTime"] = "06/12/2026 06:00"
    assert "eventTime" in _rejected(bank, json.dumps(e).encode())
    e = _valid_dict()
    e["run"]["runId"] = "run-42"
    assert "runId" in _rejected(bank, json.dumps(e).encode())
    e = _valid_dict()
    e["outputs"] = {"namespace": LEDGER_NS, "name": "core.ledger_entries"}
    assert "outputs" in _rejected(bank, json.dumps(e).encode())
    assert _rejected(bank, b"\x1f\x8b not really gzip", {"Content-Encoding": "gzip"})
    # a second output whose column lineage names no field: the valid first output is not kept
    e = _valid_dict()
    broken = json.loads(json.dumps(e["outputs"][0]))
    broken["name"] = "/warehouse/core.db/accounts"
    broken["facets"].pop("symlinks")
    broken["facets"]["columnLineage"]["fields"]["amount"]["inputFields"][0].pop("field")
    e["outputs"].append(broken)
    assert "field" in _rejected(bank, json.dumps(e).encode())
    assert _state(bank, pid) == before
    # and the same event without the broken output is accepted (the rejection was for a reason)
    e["outputs"].pop()
    with bank.http("editor") as h:
        assert h.post("/api/v1/lineage", json=e).status_code == 201
    assert "/raw/ledger/2026-12-06.amt" in _upstream(bank, pid, "rpt.daily_balances.closing_balance")


def test_events_invalid_against_the_published_facet_schemas_are_400(
    make_server: Any, database_url: str, roots: Path
) -> None:
    bank, pid = warehouse(make_server, database_url, roots)
    before = _state(bank, pid)
    cases: list[dict[str, Any]] = []
    e = _valid_dict()
    e["outputs"][0]["facets"]["columnLineage"]["fields"] = [{"amount": {}}]
    cases.append(e)
    e = _valid_dict()
    e["outputs"][0]["facets"]["columnLineage"]["fields"]["amount"]["inputFields"] = "amt"
    cases.append(e)
    e = _valid_dict()
    e["outputs"][0]["facets"]["columnLineage"]["fields"]["amount"]["inputFields"][0]["transformations"] = (
        "DIRECT"
    )
    cases.append(e)
    e = _valid_dict()
    e["outputs"][0]["facets"]["schema"]["fields"] = "entry_id,amount"
    cases.append(e)
    e = _valid_dict()
    e["outputs"][0]["facets"]["symlinks"] = "core.ledger_entries"
    cases.append(e)
    e = _valid_dict()
    e["eventTime"] = "2026-12-06T06:00:00"  # RFC 3339 date-time needs an offset
    cases.append(e)
    answers = []
    for case in cases:
        with bank.http("editor") as h:
            answers.append(h.post("/api/v1/lineage", json=case).status_code)
    assert answers == [400] * len(cases)
    assert _state(bank, pid) == before


EMIT_FROM_ENVIRONMENT = """
import sys, uuid
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import nominal_time_run, parent_run, processing_engine_run

client = OpenLineageClient()  # configured only by the environment, as a deployed producer is
run_id, parent_id = sys.argv[1], str(uuid.uuid4())
facets = {
    "processing_engine": processing_engine_run.ProcessingEngineRunFacet("3.5.1", "spark", "1.54.0"),
    "nominalTime": nominal_time_run.NominalTimeRunFacet("2026-12-06T01:00:00Z"),
    "parent": parent_run.ParentRunFacet(
        run=parent_run.Run(runId=parent_id), job=parent_run.Job(namespace="bank-airflow", name="eod_dag")
    ),
}
for state, when in ((RunState.START, "2026-12-06T01:00:05Z"), (RunState.COMPLETE, "2026-12-06T01:02:05Z")):
    client.emit(
        RunEvent(
            eventType=state,
            eventTime=when,
            run=Run(runId=run_id, facets=facets),
            job=Job(namespace="bank-spark", name="eod_dag.fx_snapshot"),
            producer="https://example.invalid/env-configured",
            inputs=[InputDataset("s3://bank-market-data", "/fx/2026-12-06.parquet")],
            outputs=[OutputDataset(sys.argv[2], "treasury.fx_rates")],
        )
    )
print("sent")
"""


@pytest.mark.parametrize("style", ["OPENLINEAGE_URL", "OPENLINEAGE__TRANSPORT"])
def test_a_client_configured_only_by_environment_variables(
    make_server: Any, database_url: str, roots: Path, tmp_path: Path, style: str
) -> None:
    bank, pid = warehouse(make_server, database_url, roots)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENLINEAGE")}
    env["OPENLINEAGE_CONFIG"] = str(tmp_path / "no-openlineage.yml")  # no stray config file
    if style == "OPENLINEAGE_URL":
        env.update({"OPENLINEAGE_URL": bank.server.http, "OPENLINEAGE_API_KEY": bank.editor})
    else:
        env.update(
            {
                "OPENLINEAGE__TRANSPORT__TYPE": "http",
                "OPENLINEAGE__TRANSPORT__URL": bank.server.http,
                "OPENLINEAGE__TRANSPORT__AUTH__TYPE": "api_key",
                "OPENLINEAGE__TRANSPORT__AUTH__APIKEY": bank.editor,
                "OPENLINEAGE__TRANSPORT__COMPRESSION": "gzip",
                "OPENLINEAGE__TRANSPORT__RETRY__TOTAL": "0",
            }
        )
    run_id = str(uuid.uuid4())
    done = subprocess.run(
        [sys.executable, "-c", EMIT_FROM_ENVIRONMENT, run_id, f"snowflake://{AUTHORITY}"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and "sent" in done.stdout, done.stderr
    with bank.http("viewer") as h:
        runs = h.get("/api/v1/jobs/bank-spark/eod_dag.fx_snapshot/runs").json()["runs"]
        assert [r["id"] for r in runs] == [run_id]
        assert runs[0]["state"] == "COMPLETED" and runs[0]["durationMs"] == 120_000
        assert "processing_engine" in runs[0]["facets"] and "parent" in runs[0]["facets"]
        jobs = {
            (j["namespace"], j["name"]): j
            for j in h.get("/api/v1/jobs", params={"limit": 1000}).json()["jobs"]
        }
        job = jobs[("bank-spark", "eod_dag.fx_snapshot")]
        # the output joined the parsed Snowflake table of the bank project
        assert job["project_id"] == pid
        assert {(d["namespace"], d["name"]) for d in job["outputs"]} == {
            (f"snowflake://{AUTHORITY}", "treasury.fx_rates")
        }


def test_a_column_lineage_input_the_event_does_not_list_keeps_its_job(
    make_server: Any, database_url: str, roots: Path
) -> None:
    """The spec lets columnLineage name an input dataset absent from ``inputs`` (a Flink job
    joining a reference topic); input/output facets ride along."""
    bank, pid = warehouse(make_server, database_url, roots)
    event = RunEvent(
        eventType=RunState.COMPLETE,
        eventTime="2026-12-06T07:00:00Z",
        run=Run(runId=str(uuid.uuid4())),
        job=Job(namespace="bank-flink", name="fx_stream"),
        producer=PRODUCER,
        inputs=[
            InputDataset(
                "kafka://broker-1:9092",
                "fx.ticks",
                inputFacets={
                    "dataQualityMetrics": dq.DataQualityMetricsInputDatasetFacet(
                        columnMetrics={}, rowCount=10
                    )
                },
            )
        ],
        outputs=[
            OutputDataset(
                LEDGER_NS,
                "core.ledger_entries",
                facets={
                    "lifecycleStateChange": lc.LifecycleStateChangeDatasetFacet(
                        lc.LifecycleStateChange.OVERWRITE
                    ),
                    "columnLineage": cl.ColumnLineageDatasetFacet(
                        fields={
                            "currency": cl.Fields(
                                inputFields=[
                                    cl.InputField(
                                        "kafka://broker-2:9092",
                                        "fx.reference",
                                        "iso",
                                        [cl.Transformation("DIRECT", "IDENTITY")],
                                    )
                                ]
                            )
                        }
                    ),
                },
                outputFacets={
                    "outputStatistics": ost.OutputStatisticsOutputDatasetFacet(rowCount=5, size=100)
                },
            )
        ],
    )
    resp = emitter(bank, bank.editor).transport.emit(event)
    assert resp.status_code == 201 and resp.json()["column_edges"] == 1
    assert "fx.reference.iso" in _upstream(bank, pid, "core.ledger_entries.currency")
    with bank.http("viewer") as h:
        node = quote("dataset:kafka://broker-2:9092:fx.reference", safe="")
        ids = {n["id"] for n in h.get(f"/api/v1/lineage?nodeId={node}&depth=1").json()["graph"]}
    assert "job:bank-flink:fx_stream" in ids and not [i for i in ids if i.endswith("-lineage")]
    flink = [e for e in bank.export(pid) if e["job"]["name"] == "fx_stream"]
    assert [e["job"]["namespace"] for e in flink] == ["bank-flink"]
    assert ("kafka://broker-2:9092", "fx.reference") in {
        (d["namespace"], d["name"]) for d in flink[0]["inputs"]
    }
    assert published().event(flink[0]) == []

"""#17 second stranger round, runs: an Airflow-style producer (a DAG run and its task runs with
ParentRunFacet, nominalTime, processing_engine, ownership and documentation job facets) posting
through the real openlineage-python client into a real server, its events arriving out of order,
twice, after the run ended (OTHER) and with FAIL/ABORT; then read as the Marquez web UI reads runs."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import column_lineage_dataset as cl
from openlineage.client.facet_v2 import (
    documentation_job,
    error_message_run,
    job_type_job,
    nominal_time_run,
    ownership_job,
    parent_run,
    processing_engine_run,
)

from openlineage_native.acceptance_bank import LEDGER_NS, Bank, emitter, start_bank, warehouse

PRODUCER = "https://example.invalid/orbit-airflow-stranger"
SCHEDULER = "orbit-airflow"
DAG = "settlement_dag"


def _task(
    bank: Bank,
    state: RunState,
    run_id: str,
    when: str,
    task: str,
    *,
    dag_run: str,
    run_facets: dict[str, Any] | None = None,
    inputs: list[InputDataset] | None = None,
    outputs: list[OutputDataset] | None = None,
) -> None:
    parent = parent_run.ParentRunFacet(
        run=parent_run.Run(runId=dag_run),
        job=parent_run.Job(namespace=SCHEDULER, name=DAG),
        root=parent_run.Root(
            run=parent_run.RootRun(runId=dag_run), job=parent_run.RootJob(namespace=SCHEDULER, name=DAG)
        ),
    )
    facets: dict[str, Any] = {
        "parent": parent,
        "nominalTime": nominal_time_run.NominalTimeRunFacet(
            nominalStartTime="2026-12-05T22:00:00+00:00", nominalEndTime="2026-12-06T22:00:00+00:00"
        ),
        "processing_engine": processing_engine_run.ProcessingEngineRunFacet(
            version="2.10.3", name="Airflow", openlineageAdapterVersion="1.54.0"
        ),
        **(run_facets or {}),
    }
    event = RunEvent(
        eventType=state,
        eventTime=when,
        run=Run(runId=run_id, facets=facets),
        job=Job(
            namespace=SCHEDULER,
            name=f"{DAG}.{task}",
            facets={
                "jobType": job_type_job.JobTypeJobFacet("BATCH", "AIRFLOW", "TASK"),
                "documentation": documentation_job.DocumentationJobFacet(description=f"settles {task}"),
                "ownership": ownership_job.OwnershipJobFacet(
                    owners=[ownership_job.Owner(name="team:settlements", type="TEAM")]
                ),
            },
        ),
        producer=PRODUCER,
        inputs=inputs or [],
        outputs=outputs or [],
    )
    resp = emitter(bank, bank.editor).transport.emit(event)
    assert resp.status_code == 201, resp.text


def _run(bank: Bank, run_id: str) -> dict[str, Any]:
    with bank.http("viewer") as h:
        r = h.get(f"/api/v1/jobs/runs/{run_id}")
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def test_task_run_arriving_out_of_order_then_late_metadata(make_server: Any, database_url: str) -> None:
    bank = start_bank(make_server, database_url)
    dag_run, run_id = str(uuid.uuid4()), str(uuid.uuid4())
    netting = [OutputDataset(namespace="postgres://settle-db:5432", name="settle.public.netting")]
    # the COMPLETE overtakes the START (two Airflow workers, one slow network)
    _task(
        bank,
        RunState.COMPLETE,
        run_id,
        "2026-12-06T01:05:00Z",
        "net_trades",
        dag_run=dag_run,
        outputs=netting,
    )
    # the late START's facets are older than the COMPLETE's: a facet both name keeps the COMPLETE's
    older_engine = processing_engine_run.ProcessingEngineRunFacet(
        version="2.10.2", name="Airflow", openlineageAdapterVersion="1.54.0"
    )
    _task(
        bank,
        RunState.START,
        run_id,
        "2026-12-06T01:00:00Z",
        "net_trades",
        dag_run=dag_run,
        run_facets={"processing_engine": older_engine},
    )
    assert _run(bank, run_id)["facets"]["processing_engine"]["version"] == "2.10.3"
    # the same COMPLETE delivered twice (a transport retry)
    _task(
        bank,
        RunState.COMPLETE,
        run_id,
        "2026-12-06T01:05:00Z",
        "net_trades",
        dag_run=dag_run,
        outputs=netting,
    )
    # metadata sent after the run ended: an OTHER event never changes the run's state
    extra = {"environment-properties": error_message_run.ErrorMessageRunFacet("n/a", "PYTHON")}
    _task(
        bank, RunState.OTHER, run_id, "2026-12-06T01:06:00Z", "net_trades", dag_run=dag_run, run_facets=extra
    )

    run = _run(bank, run_id)
    assert run["state"] == "COMPLETED" and run["openlineageState"] == "COMPLETE"
    assert run["startedAt"] == "2026-12-06T01:00:00Z" and run["endedAt"] == "2026-12-06T01:05:00Z"
    assert run["durationMs"] == 5 * 60 * 1000
    assert run["nominalStartTime"] == "2026-12-05T22:00:00Z"
    assert run["nominalEndTime"] == "2026-12-06T22:00:00Z"
    assert {"parent", "nominalTime", "processing_engine", "environment-properties"} <= set(run["facets"])
    with bank.http("viewer") as h:
        runs = h.get(f"/api/v1/jobs/{SCHEDULER}/{DAG}.net_trades/runs").json()
        assert runs["totalCount"] == 1 and runs["runs"][0]["id"] == run_id
        job = h.get(f"/api/v1/namespaces/{SCHEDULER}/jobs/{quote(DAG + '.net_trades', safe='')}").json()
        # Marquez's Job: the parent named by the runs' ParentRunFacet, the description from the
        # documentation facet, the latest run in its Marquez state
        assert job["parentJobName"] == DAG
        assert job["simpleName"] == "net_trades"
        assert job["description"] == "settles net_trades"
        assert job["latestRun"]["state"] == "COMPLETED"
        assert job["facets"]["ownership"]["owners"] == [{"name": "team:settlements", "type": "TEAM"}]
        done = h.get("/api/v1/jobs", params={"lastRunStates": "COMPLETED"}).json()["jobs"]
        assert f"{DAG}.net_trades" in {j["name"] for j in done}
        assert not h.get("/api/v1/jobs", params={"lastRunStates": "NEW"}).json()["jobs"]
        facets = h.get(f"/api/v1/jobs/runs/{run_id}/facets", params={"type": "run"}).json()
        parent = facets["facets"]["parent"]
        assert (parent["job"]["namespace"], parent["job"]["name"], parent["run"]["runId"]) == (
            SCHEDULER,
            DAG,
            dag_run,
        )
        job_facets = h.get(f"/api/v1/jobs/runs/{run_id}/facets", params={"type": "job"}).json()
        assert job_facets["facets"]["jobType"]["integration"] == "AIRFLOW"


def test_failed_and_aborted_runs_keep_their_final_state(make_server: Any, database_url: str) -> None:
    bank = start_bank(make_server, database_url)
    dag_run = str(uuid.uuid4())
    failed, aborted, rerun = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    error = error_message_run.ErrorMessageRunFacet(
        message="psycopg.errors.UndefinedTable: relation settle.fx does not exist",
        programmingLanguage="PYTHON",
        stackTrace='Traceback (most recent call last):\n  File "task.py", line 3',
    )
    _task(bank, RunState.START, failed, "2026-12-06T02:00:00Z", "load_fx", dag_run=dag_run)
    _task(
        bank,
        RunState.FAIL,
        failed,
        "2026-12-06T02:00:30Z",
        "load_fx",
        dag_run=dag_run,
        run_facets={"errorMessage": error},
    )
    # a RUNNING heartbeat delivered after the failure
    _task(bank, RunState.RUNNING, failed, "2026-12-06T02:00:10Z", "load_fx", dag_run=dag_run)
    run = _run(bank, failed)
    assert run["state"] == "FAILED" and run["endedAt"] == "2026-12-06T02:00:30Z"
    assert run["durationMs"] == 30_000
    assert run["facets"]["errorMessage"]["message"].startswith("psycopg.errors.UndefinedTable")

    # a run that COMPLETEd at 03:10; an ABORT stamped 03:05 arrives afterwards: the later word wins
    _task(bank, RunState.START, aborted, "2026-12-06T03:00:00Z", "publish", dag_run=dag_run)
    _task(bank, RunState.COMPLETE, aborted, "2026-12-06T03:10:00Z", "publish", dag_run=dag_run)
    _task(bank, RunState.ABORT, aborted, "2026-12-06T03:05:00Z", "publish", dag_run=dag_run)
    run = _run(bank, aborted)
    assert (run["state"], run["endedAt"]) == ("COMPLETED", "2026-12-06T03:10:00Z")
    # an ABORT that really is the last word
    _task(bank, RunState.START, rerun, "2026-12-06T04:00:00Z", "publish", dag_run=dag_run)
    _task(bank, RunState.ABORT, rerun, "2026-12-06T04:01:00Z", "publish", dag_run=dag_run)
    assert _run(bank, rerun)["state"] == "ABORTED"

    # RUNNING events without a START still start the run (Marquez: RUNNING is a start state)
    only_running = str(uuid.uuid4())
    _task(bank, RunState.RUNNING, only_running, "2026-12-06T05:00:20Z", "heartbeat", dag_run=dag_run)
    _task(bank, RunState.RUNNING, only_running, "2026-12-06T05:00:00Z", "heartbeat", dag_run=dag_run)
    _task(bank, RunState.COMPLETE, only_running, "2026-12-06T05:01:00Z", "heartbeat", dag_run=dag_run)
    run = _run(bank, only_running)
    assert run["startedAt"] == "2026-12-06T05:00:00Z" and run["durationMs"] == 60_000

    with bank.http("viewer") as h:
        states = {
            j["name"]: j["latestRun"]["state"]
            for j in h.get(f"/api/v1/namespaces/{SCHEDULER}/jobs").json()["jobs"]
        }
        assert states == {
            f"{DAG}.load_fx": "FAILED",
            f"{DAG}.publish": "ABORTED",
            f"{DAG}.heartbeat": "COMPLETED",
        }
        failed_jobs = h.get("/api/v1/jobs", params={"lastRunStates": "FAILED"}).json()["jobs"]
        assert [j["name"] for j in failed_jobs] == [f"{DAG}.load_fx"]


def test_a_run_that_sent_only_other_events_is_new(make_server: Any, database_url: str) -> None:
    bank = start_bank(make_server, database_url)
    run_id = str(uuid.uuid4())
    _task(bank, RunState.OTHER, run_id, "2026-12-06T06:00:00Z", "lineage_only", dag_run=str(uuid.uuid4()))
    run = _run(bank, run_id)
    assert run["state"] == "NEW" and run["startedAt"] is None and run["endedAt"] is None
    _task(bank, RunState.START, run_id, "2026-12-06T06:00:05Z", "lineage_only", dag_run=str(uuid.uuid4()))
    assert _run(bank, run_id)["state"] == "RUNNING"


def test_jobs_that_only_write_or_only_read_are_in_the_lineage_graph(
    make_server: Any, database_url: str
) -> None:
    bank = start_bank(make_server, database_url)
    dag_run = str(uuid.uuid4())
    netting = ("postgres://settle-db:5432", "settle.public.netting")
    # a task loading from an API writes a table and reads no dataset; another exports it
    _task(
        bank,
        RunState.COMPLETE,
        str(uuid.uuid4()),
        "2026-12-06T01:05:00Z",
        "fetch_trades",
        dag_run=dag_run,
        outputs=[OutputDataset(namespace=netting[0], name=netting[1])],
    )
    _task(
        bank,
        RunState.COMPLETE,
        str(uuid.uuid4()),
        "2026-12-06T01:15:00Z",
        "export_netting",
        dag_run=dag_run,
        inputs=[InputDataset(namespace=netting[0], name=netting[1])],
    )
    _task(bank, RunState.COMPLETE, str(uuid.uuid4()), "2026-12-06T01:20:00Z", "notify", dag_run=dag_run)
    ds = f"dataset:{netting[0]}:{netting[1]}"
    writer, reader, lone = (
        f"job:{SCHEDULER}:{DAG}.{t}" for t in ("fetch_trades", "export_netting", "notify")
    )

    def graph(node: str, depth: int) -> dict[str, dict[str, Any]]:
        with bank.http("viewer") as h:
            r = h.get("/api/v1/lineage/", params={"nodeId": node, "depth": depth})
        assert r.status_code == 200, r.text
        return {n["id"]: n for n in r.json()["graph"]}

    around = graph(ds, 1)
    assert set(around) == {ds, writer, reader}
    assert around[ds]["inEdges"] == [{"origin": writer, "destination": ds}]
    assert around[ds]["outEdges"] == [{"origin": ds, "destination": reader}]
    assert around[writer]["type"] == "JOB" and around[writer]["outEdges"] == [
        {"origin": writer, "destination": ds}
    ]
    data = around[writer]["data"]
    assert data["parentJobName"] == DAG and data["description"] == "settles fetch_trades"
    assert data["outputs"] == [{"namespace": netting[0], "name": netting[1]}] and data["inputs"] == []
    assert data["latestRun"]["state"] == "COMPLETED"
    assert set(graph(ds, 0)) == {ds}
    assert set(graph(writer, 2)) == {ds, writer, reader}
    assert set(graph(reader, 2)) == {ds, writer, reader}
    only = graph(lone, 2)
    assert set(only) == {lone} and only[lone]["data"]["name"] == f"{DAG}.notify"


def test_a_reader_only_task_of_a_parsed_report_is_drawn_under_its_own_spelling(
    make_server: Any, database_url: str, roots: Path
) -> None:
    bank, _pid = warehouse(make_server, database_url, roots)
    # the scheduler names the parsed report table in its own spelling: no port, other case
    _task(
        bank,
        RunState.COMPLETE,
        str(uuid.uuid4()),
        "2026-12-06T06:00:00Z",
        "mail_balances",
        dag_run=str(uuid.uuid4()),
        inputs=[InputDataset(namespace="mssql://sql01.bank.internal", name="RPT.Daily_Balances")],
    )
    report = f"dataset:{LEDGER_NS}:rpt.daily_balances"
    mailer = f"job:{SCHEDULER}:{DAG}.mail_balances"
    proc = f"job:{LEDGER_NS}:rpt.usp_build_daily_balances"
    with bank.http("viewer") as h:
        r = h.get("/api/v1/lineage/", params={"nodeId": report, "depth": 1})
        assert r.status_code == 200, r.text
        graph = {n["id"]: n for n in r.json()["graph"]}
        assert {report, mailer, proc} <= set(graph)
        assert {"origin": report, "destination": mailer} in graph[report]["outEdges"]
        assert graph[mailer]["inEdges"] == [{"origin": report, "destination": mailer}]
        r = h.get("/api/v1/lineage/", params={"nodeId": mailer, "depth": 1})
        assert r.status_code == 200, r.text
        assert {report, mailer, proc} <= {n["id"] for n in r.json()["graph"]}


def test_a_streaming_job_is_a_stream_that_keeps_running(make_server: Any, database_url: str) -> None:
    bank = start_bank(make_server, database_url)
    run_id = str(uuid.uuid4())
    topic = ("kafka://broker-1:9092", "fills.v1")
    for state, when in ((RunState.START, "2026-12-06T00:00:00Z"), (RunState.RUNNING, "2026-12-06T12:00:00Z")):
        event = RunEvent(
            eventType=state,
            eventTime=when,
            run=Run(runId=run_id),
            job=Job(
                namespace="orbit-flink",
                name="fills_to_positions",
                facets={"jobType": job_type_job.JobTypeJobFacet("STREAMING", "FLINK", "JOB")},
            ),
            producer=PRODUCER,
            inputs=[InputDataset(namespace=topic[0], name=topic[1])],
            outputs=[OutputDataset(namespace="postgres://pos-db:5432", name="pos.public.positions")],
        )
        assert emitter(bank, bank.editor).transport.emit(event).status_code == 201
    with bank.http("viewer") as h:
        job = h.get("/api/v1/namespaces/orbit-flink/jobs/fills_to_positions").json()
        assert job["type"] == "STREAM"
        run = job["latestRun"]
        assert (run["state"], run["startedAt"], run["endedAt"], run["durationMs"]) == (
            "RUNNING",
            "2026-12-06T00:00:00Z",
            None,
            None,
        )
        r = h.get("/api/v1/lineage/", params={"nodeId": f"dataset:{topic[0]}:{topic[1]}", "depth": 1})
        node = next(n for n in r.json()["graph"] if n["id"] == "job:orbit-flink:fills_to_positions")
        assert node["data"]["type"] == "STREAM"


def test_an_input_no_column_lineage_names_is_still_a_job_input(make_server: Any, database_url: str) -> None:
    bank = start_bank(make_server, database_url)
    lake = "s3://orbit-lake"
    trades, rates, out = "trades/", "fx_rates/", "usd_trades/"
    lineage = cl.ColumnLineageDatasetFacet(
        fields={
            "usd": cl.Fields(
                inputFields=[
                    cl.InputField(lake, trades, "amount", [cl.Transformation("DIRECT", "TRANSFORMATION")])
                ]
            )
        }
    )
    event = RunEvent(
        eventType=RunState.COMPLETE,
        eventTime="2026-12-06T07:00:00Z",
        run=Run(runId=str(uuid.uuid4())),
        job=Job(namespace="orbit-spark", name="convert_usd"),
        producer=PRODUCER,
        # the rates are read (a broadcast lookup) but no column lineage names them
        inputs=[InputDataset(namespace=lake, name=trades), InputDataset(namespace=lake, name=rates)],
        outputs=[OutputDataset(namespace=lake, name=out, facets={"columnLineage": lineage})],
    )
    assert emitter(bank, bank.editor).transport.emit(event).status_code == 201
    job, rates_id, out_id = "job:orbit-spark:convert_usd", f"dataset:{lake}:{rates}", f"dataset:{lake}:{out}"
    with bank.http("viewer") as h:
        for node in (out_id, job):
            r = h.get("/api/v1/lineage/", params={"nodeId": node, "depth": 1})
            assert r.status_code == 200, r.text
            graph = {n["id"]: n for n in r.json()["graph"]}
            assert {rates_id, f"dataset:{lake}:{trades}", job, out_id} <= set(graph), node
            assert {"origin": rates_id, "destination": job} in graph[job]["inEdges"]
            assert {"namespace": lake, "name": rates} in graph[job]["data"]["inputs"]

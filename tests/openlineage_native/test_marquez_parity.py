"""One shape per thing: `/api/v1/jobs`, `/api/v1/jobs/{ns}/{name}/runs` and the namespace routes
answer with the same Marquez Job and Run objects; runs carry the dataset versions they read and
wrote, and those are the versions `/datasets/{name}/versions` serves, each with its fields.

A real server; runs posted with the openlineage-python client over HTTP.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    data_quality_metrics_input_dataset,
    output_statistics_output_dataset,
    schema_dataset,
)
from openlineage.client.transport.http import ApiKeyTokenProvider, HttpConfig, HttpTransport

from openlineage_native.conftest import LEDGER, make_key, write_tree

NS = "mssql://risk-db:1433"
LAKE = "s3://lake/raw-zone"
STAGED = "fills/staged"
JOBS_NS = "spark-cluster"
PRODUCER = "https://example.invalid/marquez-parity-test-producer"
API = "/api/v1"


def enc(value: str) -> str:
    return quote(value, safe="")


def _schema(*names: str) -> schema_dataset.SchemaDatasetFacet:
    return schema_dataset.SchemaDatasetFacet(
        fields=[schema_dataset.SchemaDatasetFacetFields(name=n, type="string") for n in names]
    )


def _load(state: RunState, run_id: str, when: str, columns: tuple[str, ...], rows: int) -> RunEvent:
    """load_fills: a landing file → src.fills (parsed SQL) and the staged copy in the lake."""
    return RunEvent(
        eventType=state,
        eventTime=when,
        run=Run(runId=run_id),
        job=Job(namespace=JOBS_NS, name="load_fills"),
        producer=PRODUCER,
        inputs=[
            InputDataset(namespace="file", name="/landing/fills.parquet", facets={"schema": _schema("id")})
        ],
        outputs=[
            OutputDataset(NS, "src.fills"),
            OutputDataset(
                LAKE,
                STAGED,
                {
                    "outputStatistics": output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
                        rows
                    )
                },
                facets={"schema": _schema(*columns)},
            ),
        ],
    )


def _check(state: RunState, run_id: str, when: str, rows: int) -> RunEvent:
    """check_fills: reads the staged copy (input facets: data quality metrics)."""
    quality = data_quality_metrics_input_dataset.DataQualityMetricsInputDatasetFacet(
        columnMetrics={}, rowCount=rows
    )
    return RunEvent(
        eventType=state,
        eventTime=when,
        run=Run(runId=run_id),
        job=Job(namespace=JOBS_NS, name="check_fills"),
        producer=PRODUCER,
        inputs=[InputDataset(LAKE, STAGED, {"dataQualityMetrics": quality})],
        outputs=[],
    )


def _ok(http: httpx.Client, url: str, **params: Any) -> Any:
    r = http.get(url, params=params or None)
    assert r.status_code == 200, (url, r.status_code, r.text)
    return r.json()


def _version_id(v: dict[str, Any]) -> tuple[str, str, str]:
    d = v["datasetVersionId"]
    return (d["namespace"], d["name"], d["version"])


def test_jobs_runs_and_dataset_versions_are_one_shape(
    make_server: Any, roots: Path, database_url: str
) -> None:
    server = make_server()
    admin = make_key(database_url, "ops", "admin")
    editor = make_key(database_url, "spark", "editor")
    viewer = make_key(database_url, "ui", "viewer")
    tree = write_tree(roots / "ledger", LEDGER)
    with httpx.Client(
        base_url=server.http, headers={"Authorization": f"Bearer {admin}"}, timeout=120
    ) as http:
        r = http.post(
            f"{API}/ingest?wait=true",
            json={
                "path": str(tree),
                "project_id": "ledger",
                "repository_name": "risk-db",
                "create_project": True,
            },
        )
        assert r.status_code in (200, 201, 202), r.text
        repo = r.json()["repository_id"]
        assert (
            http.put(f"{API}/repositories/{repo}/namespace", json={"namespace": "risk-db:1433"}).status_code
            == 200
        )

    client = OpenLineageClient(
        transport=HttpTransport(
            HttpConfig(
                url=server.http, auth=ApiKeyTokenProvider({"apiKey": editor}), timeout=30, retry={"total": 0}
            )
        )
    )
    first, early_check, second, late_check, proc_run = (str(uuid.uuid4()) for _ in range(5))
    for event in (
        _load(RunState.START, first, "2026-12-06T09:00:00Z", ("id", "qty"), 10),
        _load(RunState.COMPLETE, first, "2026-12-06T09:05:00Z", ("id", "qty"), 10),
        _check(RunState.START, early_check, "2026-12-06T09:30:00Z", 10),
        _check(RunState.COMPLETE, early_check, "2026-12-06T09:35:00Z", 10),
        _load(RunState.START, second, "2026-12-06T10:00:00Z", ("id", "qty", "venue"), 25),
        _load(RunState.COMPLETE, second, "2026-12-06T10:05:00Z", ("id", "qty", "venue"), 25),
        _check(RunState.START, late_check, "2026-12-06T10:30:00Z", 25),
        _check(RunState.FAIL, late_check, "2026-12-06T10:35:00Z", 25),
        RunEvent(  # a scheduler reports a run of a parsed procedure: one job, what both say
            eventType=RunState.COMPLETE,
            eventTime="2026-12-06T11:00:00Z",
            run=Run(runId=proc_run),
            job=Job(namespace=NS, name="rpt.load_book_volume"),
            producer=PRODUCER,
            inputs=[InputDataset(NS, "src.fills")],
            outputs=[OutputDataset(NS, "rpt.book_volume")],
        ),
    ):
        client.emit(event)

    with httpx.Client(
        base_url=server.http, headers={"Authorization": f"Bearer {viewer}"}, timeout=120
    ) as http:
        # 1. /api/v1/jobs: each job is the one its namespace serves, plus the project it belongs to
        listed = _ok(http, f"{API}/jobs", limit=100)
        by_name = {j["name"]: j for j in listed["jobs"]}
        assert {"load_fills", "check_fills", "rpt.load_book_volume"} <= set(by_name)
        assert listed["totalCount"] == len(listed["jobs"]) and listed["truncated"] is False
        # a job known only from the SQL is listed too, with no run
        assert (
            by_name["rpt.large_fills"]["latestRun"] is None and by_name["rpt.large_fills"]["latestRuns"] == []
        )
        one_ns = _ok(http, f"{API}/jobs", namespace=NS)
        assert {j["namespace"] for j in one_ns["jobs"]} == {NS} and "rpt.large_fills" in {
            j["name"] for j in one_ns["jobs"]
        }
        assert _ok(http, f"{API}/jobs", namespace="nowhere://x")["jobs"] == []
        paged = [_ok(http, f"{API}/jobs", limit=1, offset=i)["jobs"] for i in range(listed["totalCount"] + 1)]
        assert [p[0]["name"] for p in paged[:-1]] == [j["name"] for j in listed["jobs"]] and paged[-1] == []
        for name, j in by_name.items():
            assert j == _ok(http, f"{API}/namespaces/{enc(j['namespace'])}/jobs/{enc(name)}"), name
        load, check = by_name["load_fills"], by_name["check_fills"]
        assert load["type"] == "BATCH" and load["id"] == {"namespace": JOBS_NS, "name": "load_fills"}
        assert isinstance(load["project_id"], int)
        assert load["latestRun"]["id"] == second and load["latestRun"]["state"] == "COMPLETED"
        assert load["latestRun"]["openlineageState"] == "COMPLETE"
        assert [r["id"] for r in load["latestRuns"]] == [second, first]
        assert check["latestRun"]["id"] == late_check and check["latestRun"]["state"] == "FAILED"

        # 2. lastRunStates (repeatable; Marquez's RunState names); a bad value is a 400 in the envelope
        failed = _ok(http, f"{API}/jobs", lastRunStates="FAILED")
        assert [j["name"] for j in failed["jobs"]] == ["check_fills"] and failed["totalCount"] == 1
        done = _ok(http, f"{API}/jobs", lastRunStates="COMPLETED")
        assert [j["name"] for j in done["jobs"]] == ["rpt.load_book_volume", "load_fills"]  # by namespace
        both = _ok(http, f"{API}/jobs?lastRunStates=FAILED&lastRunStates=COMPLETED")
        assert {j["name"] for j in both["jobs"]} == {"load_fills", "check_fills", "rpt.load_book_volume"}
        assert _ok(http, f"{API}/jobs", lastRunStates="RUNNING")["jobs"] == []
        bad = http.get(f"{API}/jobs", params={"lastRunStates": "DONE"})
        assert bad.status_code in (400, 422), bad.text
        assert set(bad.json()) == {"error", "message", "request_id", "details"}
        ns_failed = _ok(http, f"{API}/namespaces/{enc(JOBS_NS)}/jobs", lastRunStates="failed")
        assert [j["name"] for j in ns_failed["jobs"]] == ["check_fills"] and ns_failed["totalCount"] == 1
        assert ns_failed["jobs"][0] == check
        parsed = {j["name"]: j for j in _ok(http, f"{API}/namespaces/{enc(NS)}/jobs")["jobs"]}
        assert {"rpt.load_book_volume", "rpt.large_fills"} <= set(parsed)  # parsed; one has a run
        ran = _ok(http, f"{API}/namespaces/{enc(NS)}/jobs", lastRunStates="COMPLETED")
        assert [j["name"] for j in ran["jobs"]] == ["rpt.load_book_volume"]
        proc = by_name["rpt.load_book_volume"]
        assert proc == parsed["rpt.load_book_volume"] == ran["jobs"][0]
        assert proc["facets"]["jobType"]["jobType"] == "STORED_PROCEDURE"  # what the SQL says
        assert "INSERT INTO rpt.book_volume" in proc["facets"]["sql"]["query"]
        assert proc["latestRun"]["id"] == proc_run and proc["latestRun"]["state"] == "COMPLETED"
        assert proc["outputs"] == [{"namespace": NS, "name": "rpt.book_volume"}]
        bad = http.get(f"{API}/namespaces/{enc(NS)}/jobs", params={"lastRunStates": "DONE"})
        assert bad.status_code in (400, 422) and bad.json()["error"], bad.text

        # 3. the runs of a job: the same Runs on both routes, newest first, one shape for a run by id
        runs = _ok(http, f"{API}/jobs/{enc(JOBS_NS)}/load_fills/runs")
        assert runs == _ok(http, f"{API}/namespaces/{enc(JOBS_NS)}/jobs/load_fills/runs")
        assert [r["id"] for r in runs["runs"]] == [second, first] and runs["totalCount"] == 2
        assert runs["runs"] == load["latestRuns"]
        for r in runs["runs"]:
            assert r == _ok(http, f"{API}/jobs/runs/{r['id']}")
            assert r["state"] == "COMPLETED" and r["durationMs"] == 5 * 60 * 1000
        second_run, first_run = runs["runs"]

        # 4. what each run wrote: a version of each output, with its output facets
        wrote = {_version_id(v)[:2]: v for v in second_run["outputDatasetVersions"]}
        assert set(wrote) == {(NS, "src.fills"), (LAKE, STAGED)}
        assert wrote[(LAKE, STAGED)]["facets"]["outputStatistics"]["rowCount"] == 25
        wrote_first = {_version_id(v)[:2]: v for v in first_run["outputDatasetVersions"]}
        assert wrote_first[(LAKE, STAGED)]["facets"]["outputStatistics"]["rowCount"] == 10
        v_second = _version_id(wrote[(LAKE, STAGED)])[2]
        v_first = _version_id(wrote_first[(LAKE, STAGED)])[2]
        assert v_first != v_second

        # 5. ... which are the versions the dataset serves, each with the fields its run's schema facet sent
        staged = _ok(http, f"{API}/namespaces/{enc(LAKE)}/datasets/{enc(STAGED)}")
        versions = _ok(http, f"{API}/namespaces/{enc(LAKE)}/datasets/{enc(STAGED)}/versions")
        by_version = {v["version"]: v for v in versions["versions"]}
        assert {v_first, v_second} <= set(by_version)
        assert versions["totalCount"] == len(versions["versions"])
        assert [f["name"] for f in by_version[v_second]["fields"]] == ["id", "qty", "venue"]
        assert [f["name"] for f in by_version[v_first]["fields"]] == [
            "id",
            "qty",
        ]  # a past version's own fields
        assert by_version[v_first]["createdByRun"]["id"] == first
        assert by_version[v_second]["createdByRun"]["id"] == second
        assert by_version[v_first]["id"] == {"namespace": LAKE, "name": STAGED, "version": v_first}
        assert versions["versions"][0]["version"] == staged["currentVersion"]
        assert [v["version"] for v in versions["versions"]].index(v_second) < [
            v["version"] for v in versions["versions"]
        ].index(v_first)
        listed_staged = _ok(http, f"{API}/namespaces/{enc(LAKE)}/datasets")["datasets"]
        assert [d["currentVersion"] for d in listed_staged if d["name"] == STAGED] == [
            staged["currentVersion"]
        ]

        # 6. what each check read: the version current when it ran, with its input facets
        checks = {r["id"]: r for r in _ok(http, f"{API}/jobs/{enc(JOBS_NS)}/check_fills/runs")["runs"]}
        assert checks[late_check]["state"] == "FAILED" and checks[late_check]["openlineageState"] == "FAIL"
        (late_read,) = checks[late_check]["inputDatasetVersions"]
        (early_read,) = checks[early_check]["inputDatasetVersions"]
        assert _version_id(late_read) == (LAKE, STAGED, v_second)
        assert _version_id(early_read) == (LAKE, STAGED, v_first)
        assert late_read["facets"]["dataQualityMetrics"]["rowCount"] == 25
        assert checks[late_check]["outputDatasetVersions"] == []

        # 7. a parsed dataset a run wrote: that version is among its versions, with its columns
        fills_versions = _ok(http, f"{API}/namespaces/{enc(NS)}/datasets/{enc('src.fills')}/versions")
        v_fills = _version_id(wrote[(NS, "src.fills")])[2]
        fills_by_version = {v["version"]: v for v in fills_versions["versions"]}
        assert v_fills in fills_by_version
        assert {f["name"] for f in fills_by_version[v_fills]["fields"]} == {
            "fill_id",
            "qty",
            "px",
            "venue",
            "book_id",
        }
        read_landing = {_version_id(v)[:2]: v for v in first_run["inputDatasetVersions"]}
        landing_versions = _ok(
            http, f"{API}/namespaces/file/datasets/{enc('/landing/fills.parquet')}/versions"
        )
        assert _version_id(read_landing[("file", "/landing/fills.parquet")])[2] in {
            v["version"] for v in landing_versions["versions"]
        }

        # 8. the lineage graph's jobs carry the same latest run
        graph = _ok(http, f"{API}/lineage", nodeId=f"job:{JOBS_NS}:load_fills", depth=1)["graph"]
        node = next(n for n in graph if n["id"] == f"job:{JOBS_NS}:load_fills")
        assert node["data"]["latestRun"] == second_run


def test_past_versions_of_a_parsed_dataset_carry_its_columns(
    make_server: Any, roots: Path, database_url: str
) -> None:
    """A view dropped from the repository and brought back: two ranges of graph versions, two
    dataset versions; the past one keeps its fields (the object's columns: the store keeps no
    column history, `fieldsFrom` says so)."""
    server = make_server()
    admin = make_key(database_url, "ops", "admin")
    full = write_tree(roots / "full", LEDGER)
    without = write_tree(
        roots / "without", {k: v for k, v in LEDGER.items() if k != "mssql/v_large_fills.sql"}
    )
    with httpx.Client(
        base_url=server.http, headers={"Authorization": f"Bearer {admin}"}, timeout=120
    ) as http:
        for tree in (full, without, full):
            r = http.post(
                f"{API}/ingest?wait=true",
                json={
                    "path": str(tree),
                    "project_id": "ledger",
                    "repository_name": "risk-db",
                    "create_project": True,
                    "mode": "snapshot",
                },
            )
            assert r.status_code in (200, 201, 202), r.text
            repo = r.json()["repository_id"]
        assert (
            http.put(f"{API}/repositories/{repo}/namespace", json={"namespace": "risk-db:1433"}).status_code
            == 200
        )

        url = f"{API}/namespaces/{enc(NS)}/datasets/{enc('rpt.large_fills')}"
        now = _ok(http, url)
        versions = _ok(http, f"{url}/versions")
        assert versions["totalCount"] == len(versions["versions"]) >= 2
        newest, *older = versions["versions"]
        assert newest["version"] == now["currentVersion"] and newest["graphVersions"]["to"] is None
        past = [v for v in older if v["graphVersions"] and v["graphVersions"]["to"] is not None]
        assert past, versions
        names = [f["name"] for f in now["fields"]]
        assert names == ["fill_id", "quantity"]
        for v in past:
            assert [f["name"] for f in v["fields"]] == names and v["fieldsFrom"] == "current"
            assert v["version"] != newest["version"] and v["createdByRun"] is None
        assert len({v["version"] for v in versions["versions"]}) == len(versions["versions"])
        assert _ok(http, f"{url}/versions", limit=1, offset=1)["versions"] == older[:1]

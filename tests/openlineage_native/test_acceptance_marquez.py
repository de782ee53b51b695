"""#17 acceptance, Marquez reads: node ids whose namespaces carry ':' (ports, schemes) and whose
names carry '/' (S3 and HDFS paths), URL-encoded as the Marquez web UI sends them; depth limits;
withDownstream; the namespace routes with encoded path segments. A real server holding the bank
warehouse and a Spark run posted with the openlineage-python client."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

from openlineage.client.event_v2 import RunState

from openlineage_native.acceptance_bank import LEDGER_NS, Bank, emitter, spark_run, warehouse

PATH_DS = "dataset:s3://bank-landing:/raw/ledger/2026-12-06"
SPARK_JOB = "job:bank-spark:ingest_ledger.write_lake"
LEDGER = f"dataset:{LEDGER_NS}:core.ledger_entries"
REPORT = f"dataset:{LEDGER_NS}:rpt.daily_balances"
PROC = f"job:{LEDGER_NS}:rpt.usp_build_daily_balances"
BALANCE = f"datasetField:{LEDGER_NS}:rpt.daily_balances:closing_balance"
AMT = "datasetField:s3://bank-landing:/raw/ledger/2026-12-06:amt"


def _with_spark(make_server: Any, database_url: str, roots: Path) -> Bank:
    bank, _ = warehouse(make_server, database_url, roots)
    emitter(bank, bank.editor).emit(spark_run(RunState.COMPLETE, str(uuid.uuid4()), "2026-12-06T02:07:30Z"))
    return bank


def _graph(bank: Bank, route: str, node: str, **params: Any) -> dict[str, dict[str, Any]]:
    """GET with the node id encoded like encodeURIComponent (':' and '/' as %3A and %2F)."""
    query = "&".join([f"nodeId={quote(node, safe='')}", *(f"{k}={v}" for k, v in params.items())])
    with bank.http("viewer") as h:
        r = h.get(f"/api/v1/{route}?{query}")
    assert r.status_code == 200, r.text
    graph = {n["id"]: n for n in r.json()["graph"]}
    for n in graph.values():  # a closed, symmetric graph
        assert set(n) == {"id", "type", "data", "inEdges", "outEdges"}
        for e in n["inEdges"]:
            assert e["destination"] == n["id"] and e in graph[e["origin"]]["outEdges"]
        for e in n["outEdges"]:
            assert e["origin"] == n["id"] and e in graph[e["destination"]]["inEdges"]
    return graph


def test_dataset_lineage_from_a_path_dataset_with_depth_limits(
    make_server: Any, database_url: str, roots: Path
) -> None:
    bank = _with_spark(make_server, database_url, roots)
    assert set(_graph(bank, "lineage", PATH_DS, depth=0)) == {PATH_DS}
    near = _graph(bank, "lineage", PATH_DS, depth=1)
    assert {PATH_DS, SPARK_JOB, LEDGER} <= set(near) and REPORT not in near
    far = _graph(bank, "lineage", PATH_DS, depth=20)
    assert {PATH_DS, SPARK_JOB, LEDGER, PROC, REPORT} <= set(far)
    assert far[SPARK_JOB]["type"] == "JOB" and far[PATH_DS]["type"] == "DATASET"
    assert {"origin": PATH_DS, "destination": SPARK_JOB} in far[SPARK_JOB]["inEdges"]
    assert {"origin": SPARK_JOB, "destination": LEDGER} in far[LEDGER]["inEdges"]
    assert {"origin": LEDGER, "destination": PROC} in far[PROC]["inEdges"]
    assert {f["name"] for f in far[PATH_DS]["data"]["fields"]} == {"id", "amt", "chan"}
    # the same graph around the report reaches the landing path upstream
    assert PATH_DS in _graph(bank, "lineage", REPORT, depth=20)
    assert PATH_DS not in _graph(bank, "lineage", REPORT, depth=1)
    # the Spark job itself is a start node
    around_job = _graph(bank, "lineage", SPARK_JOB, depth=1)
    assert {PATH_DS, LEDGER} <= set(around_job)


def test_column_lineage_across_the_spark_run_with_depth_and_downstream(
    make_server: Any, database_url: str, roots: Path
) -> None:
    bank = _with_spark(make_server, database_url, roots)
    one = _graph(bank, "column-lineage", BALANCE, depth=1)
    assert f"datasetField:{LEDGER_NS}:core.ledger_entries:amount" in one and AMT not in one
    two = _graph(bank, "column-lineage", BALANCE, depth=2)
    assert AMT in two and two[AMT]["type"] == "DATASET_FIELD"
    amount = two[f"datasetField:{LEDGER_NS}:core.ledger_entries:amount"]
    assert {"origin": AMT, "destination": amount["id"]} in amount["inEdges"]
    assert {(f["namespace"], f["dataset"], f["field"]) for f in amount["data"]["inputFields"]} >= {
        ("s3://bank-landing", "/raw/ledger/2026-12-06", "amt")
    }
    # from the path's field: upstream only by default; the report with withDownstream
    assert BALANCE not in _graph(bank, "column-lineage", AMT, depth=10)
    down = _graph(bank, "column-lineage", AMT, depth=10, withDownstream="true")
    assert BALANCE in down
    assert f"datasetField:{LEDGER_NS}:rpt.daily_balances:entry_count" not in down  # amt does not feed it
    assert BALANCE not in _graph(bank, "column-lineage", AMT, depth=1, withDownstream="true")
    # a dataset node id on the column route: every field of the path dataset
    whole = _graph(bank, "column-lineage", PATH_DS, depth=10, withDownstream="true")
    assert {AMT, BALANCE, f"datasetField:{LEDGER_NS}:rpt.daily_balances:entry_count"} <= set(whole)


def test_namespace_routes_with_encoded_path_names(make_server: Any, database_url: str, roots: Path) -> None:
    bank = _with_spark(make_server, database_url, roots)
    ns, name = quote("s3://bank-landing", safe=""), quote("/raw/ledger/2026-12-06", safe="")
    with bank.http("viewer") as h:
        r = h.get(f"/api/v1/namespaces/{ns}/datasets/{name}")
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["id"] == {"namespace": "s3://bank-landing", "name": "/raw/ledger/2026-12-06"}
        assert [f["name"] for f in body["fields"]] == ["id", "amt", "chan"]
        r = h.get(f"/api/v1/namespaces/{ns}/datasets/{name}/versions")
        assert r.status_code == 200 and r.json()["versions"][0]["name"] == "/raw/ledger/2026-12-06"
        lake = quote("hdfs://lake-nn:8020", safe="")
        r = h.get(f"/api/v1/namespaces/{lake}/datasets/{quote('/warehouse/core.db/ledger_entries', safe='')}")
        assert r.status_code == 200 and r.json()["namespace"] == "hdfs://lake-nn:8020"
        r = h.get(f"/api/v1/namespaces/{quote(LEDGER_NS, safe='')}/datasets/core.ledger_entries")
        assert r.status_code == 200 and {"entry_id", "amount"} <= {f["name"] for f in r.json()["fields"]}
        r = h.get(f"/api/v1/namespaces/bank-spark/jobs/{quote('ingest_ledger.write_lake', safe='')}")
        assert r.status_code == 200, r.text
        job = r.json()
        assert {(d["namespace"], d["name"]) for d in job["inputs"]} == {
            ("s3://bank-landing", "/raw/ledger/2026-12-06")
        }
        hits = h.get("/api/v1/search", params={"q": "raw/ledger"}).json()["results"]
        assert PATH_DS in {x["nodeId"] for x in hits}
        # unknown names under an existing namespace are 404 envelopes, not 500
        r = h.get(f"/api/v1/namespaces/{ns}/datasets/{quote('/raw/nothing', safe='')}")
        assert r.status_code == 404 and r.json()["error"]
        r = h.get("/api/v1/column-lineage", params={"nodeId": AMT.replace(":amt", ":no_such_field")})
        assert r.status_code == 404 and r.json()["error"]

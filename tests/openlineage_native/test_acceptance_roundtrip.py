"""#17 acceptance, round trip: the bank warehouse exported by one real server and posted event
by event into a second real server on an empty store rebuilds the same column lineage — the
full column edge sets compared (export view and the store's edge list), not counts."""

from __future__ import annotations

import gzip
import json
import uuid
from pathlib import Path
from typing import Any

from openlineage.client.event_v2 import RunState

from openlineage_native.acceptance_bank import (
    BANK,
    LEDGER_NS,
    Bank,
    column_edges,
    emitter,
    empty_database,
    published,
    spark_run,
    start_bank,
    warehouse,
)
from openlineage_native.conftest import write_tree


def _column_edge_list(bank: Bank, project_id: int) -> set[tuple[str, str, str, str]]:
    """(source column, target column, kind, subtype) of every column edge the API lists."""
    out: set[tuple[str, str, str, str]] = set()
    offset, total = 0, None
    with bank.http("viewer") as h:
        while total is None or offset < total:
            r = h.get(
                "/api/v1/lineage/edges",
                params={"project_id": project_id, "granularity": "column", "limit": 500, "offset": offset},
            )
            assert r.status_code == 200, r.text
            page = r.json()
            total = int(page["total"])
            assert page["items"] or offset >= total
            for e in page["items"]:
                out.add((e["source_canonical_id"], e["target_canonical_id"], e["kind"], e["subtype"] or ""))
            offset += len(page["items"])
    return out


def _project(bank: Bank, name: str) -> int:
    with bank.http("viewer") as h:
        items = h.get("/api/v1/projects").json()["items"]
    return int(next(p["id"] for p in items if p["name"] == name))


def test_export_posted_into_an_empty_server_rebuilds_the_same_column_lineage(
    make_server: Any, database_url: str, roots: Path, tmp_path: Path, request: Any
) -> None:
    first = start_bank(make_server, database_url)
    res = first.ingest(write_tree(roots / "bank", BANK), "bank", "core-bank")
    pid = int(res["project_id"])
    with first.http() as h:  # a namespace with a port, so ':' travels through the round trip
        r = h.put(f"/api/v1/repositories/{res['repository_id']}/namespace", json={"namespace": "sql01:1433"})
        assert r.status_code == 200, r.text
    events = first.export(pid)
    original = column_edges(events)
    original_store = _column_edge_list(first, pid)
    assert len(original) > 50 and original_store
    assert {t for (_, _, _, t, _) in original} == {"DIRECT", "INDIRECT"}

    second = start_bank(
        make_server,
        database_url,
        database_url=empty_database(database_url, tmp_path, request),
        data_dir=tmp_path / "second-data",
    )
    with second.http() as h:
        assert h.get("/api/v1/projects").json()["items"] == []  # really empty
    with second.http("editor") as h:
        for i, e in enumerate(events):
            body = json.dumps(e).encode()
            headers = {"Content-Type": "application/json"}
            if i % 2:  # half of them as the HTTP transport sends them compressed
                body, headers["Content-Encoding"] = gzip.compress(body), "gzip"
            r = h.post("/api/v1/lineage", content=body, headers=headers)
            assert r.status_code == 201, r.text
    rebuilt_pid = _project(second, "openlineage")
    rebuilt = second.export(rebuilt_pid)
    for e in rebuilt:
        assert published().event(e) == [], e["job"]["name"]
    assert column_edges(rebuilt) == original
    assert _column_edge_list(second, rebuilt_pid) == original_store
    # the datasets keep their per-platform namespaces
    spaces = {d["namespace"] for e in rebuilt for d in [*e["inputs"], *e["outputs"]]}
    assert {"mssql://sql01:1433", "postgres://sql01:1433", "snowflake://sql01:1433", "bigquery"} <= spaces
    # replaying the export again adds nothing
    with second.http("editor") as h:
        for e in events:
            assert h.post("/api/v1/lineage", json=e).status_code == 201
    assert _column_edge_list(second, rebuilt_pid) == original_store


def test_round_trip_keeps_runtime_edges_stitched_onto_parsed_sql(
    make_server: Any, database_url: str, roots: Path, tmp_path: Path, request: Any
) -> None:
    """Parsed SQL plus a Spark run whose output resolved through a symlink: the export of both,
    replayed into an empty server, gives the same column edges and the Spark job its own name."""
    first, pid = warehouse(make_server, database_url, roots)
    emitter(first, first.editor).emit(spark_run(RunState.COMPLETE, str(uuid.uuid4()), "2026-12-06T02:07:30Z"))
    events = first.export(pid)
    original = column_edges(events)
    assert ("s3://bank-landing:/raw/ledger/2026-12-06", "amt", f"{LEDGER_NS}:core.ledger_entries.amount") in {
        e[:3] for e in original
    }
    second = start_bank(
        make_server,
        database_url,
        database_url=empty_database(database_url, tmp_path, request),
        data_dir=tmp_path / "second-data",
    )
    with second.http("editor") as h:
        for e in events:
            r = h.post("/api/v1/lineage", json=e)
            assert r.status_code == 201, r.text
    rebuilt = second.export(_project(second, "openlineage"))
    assert column_edges(rebuilt) == original
    assert ("bank-spark", "ingest_ledger.write_lake") in {
        (e["job"]["namespace"], e["job"]["name"]) for e in rebuilt
    }

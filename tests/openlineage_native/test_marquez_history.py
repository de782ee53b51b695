"""Marquez dataset versions stay right while a run's events keep arriving (its parsed I/O is
kept between reads) and when dataset names hold the SQL LIKE wildcards ``_`` and ``%`` or a
quote (the jobs naming a dataset are narrowed in SQL)."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from finlineage.query import marquez_versions

NS = "postgres://ledger-db:5432"
PRODUCER = "https://example.invalid/history-test"


def _event(job: str, run: str, state: str, minute: int, out: str, fields: list[str]) -> dict[str, Any]:
    return {
        "eventType": state,
        "eventTime": f"2026-12-06T08:{minute:02d}:00Z",
        "run": {"runId": run, "facets": {}},
        "job": {"namespace": "nightly", "name": job, "facets": {}},
        "inputs": [],
        "outputs": [
            {
                "namespace": NS,
                "name": out,
                "facets": {
                    "schema": {
                        "_producer": PRODUCER,
                        "_schemaURL": "https://example.invalid/s",
                        "fields": [{"name": f, "type": "INT"} for f in fields],
                    }
                },
            }
        ],
        "producer": PRODUCER,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    }


def _post(client: TestClient, body: dict[str, Any]) -> None:
    r = client.post("/api/v1/lineage", json=body)
    assert r.status_code == 201, r.text


def _versions(client: TestClient, name: str) -> list[dict[str, Any]]:
    r = client.get(f"/api/v1/namespaces/{quote(NS, safe='')}/datasets/{quote(name, safe='')}/versions")
    assert r.status_code == 200, r.text
    return list(r.json()["versions"])


def test_a_runs_later_event_changes_its_version_after_a_read(client: TestClient) -> None:
    run = str(uuid.uuid4())
    _post(client, _event("load_book", run, "START", 1, "rpt.book", ["qty"]))
    first = [v for v in _versions(client, "rpt.book") if v["createdByRun"]]
    assert len(first) == 1 and [f["name"] for f in first[0]["fields"]] == ["qty"]
    # the same run completes with a wider schema: the version it made says so at once
    _post(client, _event("load_book", run, "COMPLETE", 2, "rpt.book", ["qty", "px"]))
    again = [v for v in _versions(client, "rpt.book") if v["createdByRun"]]
    assert len(again) == 1 and [f["name"] for f in again[0]["fields"]] == ["qty", "px"]
    assert again[0]["createdAt"].startswith("2026-12-06T08:02")
    # a second run is a second version, newest first
    _post(client, _event("load_book", str(uuid.uuid4()), "COMPLETE", 3, "rpt.book", ["qty"]))
    runs = [v["createdByRun"]["id"] for v in _versions(client, "rpt.book") if v["createdByRun"]]
    assert len(runs) == 2 and runs[1] == run


def test_wildcards_and_quotes_in_names_match_only_themselves(client: TestClient) -> None:
    names = ["rpt.pnl_1", "rpt.pnlx1", "rpt.pnl%", 'rpt."pnl"', "RPT.Mixed"]
    for i, name in enumerate(names):
        _post(client, _event(f"job{i}", str(uuid.uuid4()), "COMPLETE", i, name, ["v"]))
    for name in names:
        made = [v for v in _versions(client, name) if v["createdByRun"]]
        assert len(made) == 1, (name, made)
        assert made[0]["name"] == name and made[0]["namespace"] == NS
    # a lineage graph from a dataset names exactly its writer
    node = f"dataset:{NS}:rpt.pnl_1"
    r = client.get("/api/v1/lineage", params={"nodeId": node, "depth": 1})
    assert r.status_code == 200, r.text
    jobs = {n["id"] for n in r.json()["graph"] if n["type"] == "JOB"}
    assert jobs == {"job:nightly:job0"}


def test_versions_are_the_same_when_a_read_needs_more_runs_than_are_kept(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(marquez_versions, "RUN_IO_CACHE", 2)
    runs = [str(uuid.uuid4()) for _ in range(5)]
    for i, run in enumerate(runs):
        _post(client, _event("load_fx", run, "COMPLETE", 10 + i, "rpt.fx", ["rate", f"c{i}"]))
    reads = [_versions(client, "rpt.fx") for _ in range(3)]
    assert reads[0] == reads[1] == reads[2]
    made = [v for v in reads[0] if v["createdByRun"]]
    assert [v["createdByRun"]["id"] for v in made] == runs[::-1]
    assert [[f["name"] for f in v["fields"]] for v in made] == [["rate", f"c{i}"] for i in range(5)][::-1]

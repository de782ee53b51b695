"""Exports of the seeded graph: OpenLineage (schema-validated), GraphML, Mermaid, DOT, CSV."""

from __future__ import annotations

import copy
import csv
import io
import json
import xml.etree.ElementTree as ET

import jsonschema
import pytest
from sqlalchemy.orm import Session

from finlineage.query.common import Scope
from finlineage.query.export import GRAPHML_NS, export
from finlineage.store.graph import ALL_STATUSES
from query.openlineage_schema import validate_run_event
from query.seed import BankGraph


def _ol(qs: Session, bank: BankGraph) -> list[dict]:
    body, media, name = export(qs, "openlineage", Scope(project_id=bank.project_id))
    assert media == "application/json" and name.endswith("-column.json")
    return json.loads(body)


def test_openlineage_events_are_valid_and_carry_column_lineage(qs: Session, bank: BankGraph) -> None:
    events = _ol(qs, bank)
    for ev in events:
        validate_run_event(ev)
        assert ev["eventType"] == "COMPLETE"
    jobs = {ev["job"]["name"]: ev for ev in events}
    # one job per routine / view definition / file
    assert set(jobs) == {"stg.trades", "dw.load_exposure", "rpt.daily_risk"}
    load = jobs["dw.load_exposure"]
    assert load["job"]["namespace"] == "mssql://warehouse"
    assert load["job"]["facets"]["sql"]["query"].startswith("CREATE PROCEDURE")
    assert {d["name"] for d in load["inputs"]} == {"stg.trades", "ref.calendar"}
    [out] = load["outputs"]
    facet = out["facets"]["columnLineage"]
    assert facet["_producer"] and facet["_schemaURL"].endswith("#/$defs/ColumnLineageDatasetFacet")
    inputs = facet["fields"]["exposure_usd"]["inputFields"]
    assert inputs == [
        {
            "namespace": "mssql://warehouse",
            "name": "stg.trades",
            "field": "amount_usd",
            "transformations": [
                {
                    "type": "DIRECT",
                    "subtype": "AGGREGATION",
                    "description": "SUM(amount_usd)",
                    "masking": False,
                }
            ],
        }
    ]
    stg = jobs["stg.trades"]["outputs"][0]["facets"]["columnLineage"]["fields"]
    assert {(f["name"], f["field"]) for f in stg["amount_usd"]["inputFields"]} == {
        ("raw.trades", "amount"),
        ("raw.fx_rates", "rate"),
        ("raw.fx_rates", "ccy"),
    }
    indirect = next(f for f in stg["amount_usd"]["inputFields"] if f["field"] == "ccy")
    assert indirect["transformations"][0]["type"] == "INDIRECT"
    # rejected llm edges are not exported by default
    rpt = jobs["rpt.daily_risk"]
    assert {d["name"] for d in rpt["inputs"]} == {"dw.exposure"}
    # run ids are stable across exports
    assert [e["run"]["runId"] for e in _ol(qs, bank)] == [e["run"]["runId"] for e in events]


def test_schema_rejects_broken_events(qs: Session, bank: BankGraph) -> None:
    event = _ol(qs, bank)[0]
    for breaking in (
        lambda e: e.pop("schemaURL"),
        lambda e: e["run"].update(runId="not-a-uuid"),
        lambda e: e.update(eventType="DONE"),
        lambda e: e["outputs"][0]["facets"]["columnLineage"].pop("_producer"),
        lambda e: next(iter(e["outputs"][0]["facets"]["columnLineage"]["fields"].values()))["inputFields"][
            0
        ].pop("field"),
    ):
        bad = copy.deepcopy(event)
        breaking(bad)
        with pytest.raises(jsonschema.ValidationError):
            validate_run_event(bad)


def test_openlineage_table_granularity_has_no_column_facet(qs: Session, bank: BankGraph) -> None:
    body, _, _ = export(qs, "openlineage", Scope(project_id=bank.project_id), granularity="table")
    events = json.loads(body)
    assert events and all("columnLineage" not in o["facets"] for ev in events for o in ev["outputs"])
    for ev in events:
        validate_run_event(ev)


def test_graphml_parses_back(qs: Session, bank: BankGraph) -> None:
    body, media, _ = export(qs, "graphml", Scope(project_id=bank.project_id))
    assert "xml" in media
    root = ET.fromstring(body.encode())
    ns = {"g": GRAPHML_NS}
    graph = root.find("g:graph", ns)
    assert graph is not None and graph.get("edgedefault") == "directed"
    keys = {k.get("id"): k.get("attr.name") for k in root.findall("g:key", ns)}
    nodes = {
        n.get("id"): {keys[d.get("key")]: d.text for d in n.findall("g:data", ns)}
        for n in graph.findall("g:node", ns)
    }
    names = {v["canonical_id"] for v in nodes.values()}
    assert names == {
        "raw.trades",
        "raw.fx_rates",
        "stg.trades",
        "dw.exposure",
        "rpt.daily_risk",
        "ref.calendar",
    }
    edges = graph.findall("g:edge", ns)
    assert len(edges) == 5
    pairs = {(nodes[e.get("source")]["canonical_id"], nodes[e.get("target")]["canonical_id"]) for e in edges}
    assert ("stg.trades", "dw.exposure") in pairs
    col_body, _, _ = export(qs, "graphml", Scope(project_id=bank.project_id), granularity="column")
    croot = ET.fromstring(col_body.encode())
    assert len(croot.findall("g:graph/g:edge", ns)) == 9


def test_mermaid_dot_csv(qs: Session, bank: BankGraph) -> None:
    scope = Scope(project_id=bank.project_id)
    mermaid, _, _ = export(qs, "mermaid", scope)
    lines = mermaid.splitlines()
    assert lines[0] == "flowchart LR"
    o = bank.objects
    assert f"    o{o['stg.trades']} --> o{o['dw.exposure']}" in lines
    assert f"    o{o['ref.calendar']} -.-> o{o['dw.exposure']}" in lines
    assert f'    o{o["stg.trades"]}["stg.trades"]:::view' in lines
    cm, _, _ = export(qs, "mermaid", scope, granularity="column")
    assert "subgraph" in cm and '["amount_usd"]' in cm

    dot, media, _ = export(qs, "dot", scope)
    assert dot.startswith("digraph lineage {") and dot.rstrip().endswith("}") and "graphviz" in media
    assert f'"o{o["raw.trades"]}" -> "o{o["stg.trades"]}"' in dot
    assert 'label="ref.calendar"' in dot
    cdot, _, _ = export(qs, "dot", scope, granularity="column")
    assert 'subgraph "cluster_o' in cdot and 'tooltip="t.amount * fx.rate"' in cdot

    body, media, _ = export(qs, "csv", scope, granularity="column")
    assert media.startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert len(rows) == 9  # one per non-rejected column edge
    row = next(r for r in rows if r["source"] == "raw.trades.amount")
    assert row["target"] == "stg.trades.amount_usd" and row["expression"] == "t.amount * fx.rate"
    assert row["file"] == "stg/trades.sql" and row["line_start"] == "2" and row["project"] == "bank"
    # statuses=None is the default (observed + approved); rejected edges only when named
    assert export(qs, "csv", scope, statuses=None)[0] == export(qs, "csv", scope)[0]
    all_rows = list(csv.DictReader(io.StringIO(export(qs, "csv", scope, statuses=ALL_STATUSES)[0])))
    assert len(all_rows) == 6 and {r["status"] for r in all_rows} == {"approved", "observed", "rejected"}


def test_export_scoped_to_repository(qs: Session, bank: BankGraph) -> None:
    body, _, _ = export(qs, "csv", Scope(repository_id=bank.other_repository_id))
    rows = list(csv.DictReader(io.StringIO(body)))
    assert {(r["source"], r["target"]) for r in rows} == {("a.x", "a.y"), ("a.y", "a.x")}

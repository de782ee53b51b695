"""dbt: a real manifest (dbt-core + dbt-duckdb run here, offline) ingested as a dbt project from a
server directory: column lineage across models (SELECT *, unqualified columns, an ephemeral
model), evidence from the files as written, descriptions and catalog types, the export."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ingest.conftest import Graph
from ingest.dbt_project import PROJECT, build, copy_project, raw_line
from openlineage_native.spec import SpecValidator, spec_dir
from support import ingest_path


@pytest.fixture(scope="session")
def dbt_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory)


def ingest_dir(client: TestClient, path: Path, project: str, repository: str) -> dict[str, Any]:
    return ingest_path(client, path, project, repository)


def upstream_edges(client: TestClient, pid: int, ref: str) -> list[dict[str, Any]]:
    r = client.get(f"/api/v1/lineage/column/{ref}/upstream?depth=1&project_id={pid}")
    assert r.status_code == 200, r.text
    return [e for e in r.json()["edges"] if e["target_canonical_id"] == ref]


def test_dbt_project_from_a_directory(
    client: TestClient, roots: Path, dbt_project: Path, graph: Graph
) -> None:
    tree = copy_project(dbt_project, roots / "analytics" / "desk_book")
    res = ingest_dir(client, tree.parent, "analytics", "dbt-repo")
    paths = {r["path"] for r in res["results"]}
    assert {
        "desk_book/models/marts/desk_notional.sql",
        "desk_book/seeds/raw_fills.csv",  # the seed, as a table
        "desk_book/models/sources.yml",  # the source, as a table
    } <= paths
    assert not any(p.startswith("desk_book/target/") or p.endswith("cents.sql") for p in paths)
    assert "desk_book/models/staging/usd_fills.sql" not in paths  # ephemeral: inlined
    pid = res["project_id"]
    edges = graph.column_edges()

    # SELECT * through an ephemeral model, a macro, an aggregate: to the seed's columns
    r = client.get(f"/api/v1/lineage/column/book.main.desk_notional.notional_cents/upstream?project_id={pid}")
    names = {n["canonical_id"] for n in r.json()["nodes"]}
    assert "book.main.stg_fills.notional" in names
    assert {"book.main.raw_fills.qty", "book.main.raw_fills.px"} <= names
    # a model selecting * from another model: one edge per upstream column
    for col in ("fill_id", "desk", "notional", "ccy"):
        assert (f"book.main.stg_fills.{col}", f"book.main.fills_all.{col}") in edges
    assert graph.columns("book.main.fills_all") == ["fill_id", "desk", "notional", "ccy"]
    # unqualified columns over a join resolve through the upstream models' known columns
    assert ("book.main.stg_fills.notional", "book.main.fills_usd.notional_usd") in edges
    assert ("book.main.fx_rates.usd_rate", "book.main.fills_usd.notional_usd") in edges
    # a {% for %} loop's columns; a source table
    assert ("book.main.stg_fills.desk", "book.main.desk_flags.is_fx") in edges
    assert ("book.main.trade_events.amount", "book.main.stg_events.amount") in edges

    node = client.get(f"/api/v1/lineage/node/book.main.stg_fills?project_id={pid}").json()
    assert node["kind"] == "view"
    assert [c["name"] for c in node["columns"]] == ["fill_id", "desk", "notional", "ccy"]
    # seeds and sources: the evidence is the CSV header / the YAML entry that declares them
    seed = client.get(f"/api/v1/lineage/node/book.main.raw_fills?project_id={pid}").json()
    assert seed["file"]["path"] == "desk_book/seeds/raw_fills.csv"
    assert seed["definition"] == PROJECT["seeds/raw_fills.csv"].split("\n")[0]
    src = client.get(f"/api/v1/lineage/node/book.main.trade_events?project_id={pid}").json()
    yml = PROJECT["models/sources.yml"].split("\n")
    first = raw_line(PROJECT["models/sources.yml"], "- name: trade_events")
    assert (src["file"]["path"], src["line_start"], src["line_end"]) == (
        "desk_book/models/sources.yml",
        first,
        len(yml) - 1,
    )
    assert src["definition"] == "\n".join(yml[first - 1 : len(yml) - 1])


def test_dbt_evidence_is_the_file_as_written(client: TestClient, roots: Path, dbt_project: Path) -> None:
    tree = copy_project(dbt_project, roots / "a" / "desk_book")
    pid = ingest_dir(client, tree.parent, "ev", "dbt-repo")["project_id"]
    raw = PROJECT["models/marts/desk_notional.sql"]
    node = client.get(f"/api/v1/lineage/node/book.main.desk_notional?project_id={pid}").json()
    assert node["kind"] == "table"
    assert node["file"]["path"] == "desk_book/models/marts/desk_notional.sql"
    assert node["definition_source"] == "file"
    assert node["definition"] == raw.rstrip("\n")  # the Jinja as written, config call included
    content = client.get(f"/api/v1/files/{node['file']['id']}/content")
    assert content.status_code == 200
    assert content.json()["lines"] == raw.rstrip("\n").split("\n")  # the file itself, not SQL made up

    # each column edge points at the raw line of the select item producing its column
    [edge] = [
        e
        for e in upstream_edges(client, pid, "book.main.desk_notional.notional_cents")
        if e["kind"] == "direct"
    ]
    line = raw_line(raw, "as notional_cents")
    assert (edge["line_start"], edge["line_end"]) == (line, line)
    assert edge["source_text"] == "    sum({{ to_cents('notional') }}) as notional_cents"
    desk = [e for e in upstream_edges(client, pid, "book.main.desk_notional.desk") if e["kind"] == "direct"]
    assert {(e["line_start"], e["source_text"]) for e in desk} == {(raw_line(raw, "    desk,"), "    desk,")}
    # a column produced inside a {% for %} loop points at the loop's body line
    flags = PROJECT["models/marts/desk_flags.sql"]
    loop = [e for e in upstream_edges(client, pid, "book.main.desk_flags.is_rates") if e["kind"] == "direct"]
    assert loop and {e["line_start"] for e in loop} == {raw_line(flags, "as is_{{ d }}")}
    # SELECT *: no select item names the column; the edge keeps the whole model file
    star = upstream_edges(client, pid, "book.main.fills_all.desk")
    assert star and all(e["source_text"] == "select * from {{ ref('stg_fills') }}" for e in star)


def test_dbt_descriptions_and_catalog_types(client: TestClient, roots: Path, dbt_project: Path) -> None:
    tree = copy_project(dbt_project, roots / "d" / "desk_book")
    pid = ingest_dir(client, tree.parent, "docs", "dbt-repo")["project_id"]
    node = client.get(f"/api/v1/lineage/node/book.main.stg_fills?project_id={pid}").json()
    assert node["description"] == "Fills, cleaned"
    cols = {c["name"]: c for c in node["columns"]}
    assert cols["fill_id"]["description"] == "The fill key"
    assert cols["notional"]["description"] == "Quantity times price"
    assert cols["desk"]["description"] is None
    # a view's column types come from the catalog (the compiled SQL has none)
    catalog = json.loads((dbt_project / "target" / "catalog.json").read_text())
    typed = {n: c["type"] for n, c in catalog["nodes"]["model.desk_book.stg_fills"]["columns"].items()}
    assert {n: c["data_type"] for n, c in cols.items()} == typed
    assert typed["desk"] == "VARCHAR" and typed["fill_id"].upper() in ("INTEGER", "BIGINT")
    src = client.get(f"/api/v1/lineage/node/book.main.trade_events?project_id={pid}").json()
    assert src["description"] == "One row per booking event"
    assert {c["name"]: c["data_type"] for c in src["columns"]}["amount"] == "DECIMAL(18,2)"
    listed = client.get(f"/api/v1/lineage/nodes?project_id={pid}&q=stg_fills").json()
    assert any(i.get("description") == "Fills, cleaned" for i in listed["items"])

    events = client.get(f"/api/v1/export?format=openlineage&project_id={pid}").json()
    spec = SpecValidator(spec_dir())
    assert [err for ev in events for err in spec.run_event(ev)] == []
    job = next(e for e in events if e["job"]["name"] == "book.main.desk_notional")
    assert job["job"]["namespace"] == "duckdb://dbt-repo"
    cl = job["outputs"][0]["facets"]["columnLineage"]["fields"]["notional_cents"]
    assert ("DIRECT", "AGGREGATION") in {
        (t["type"], t["subtype"]) for f in cl["inputFields"] for t in f["transformations"]
    }
    stg = next(d for e in events for d in [*e["inputs"], *e["outputs"]] if d["name"] == "book.main.stg_fills")
    fields = {f["name"]: f for f in stg["facets"]["schema"]["fields"]}
    assert (
        fields["fill_id"]["description"] == "The fill key" and fields["fill_id"]["type"] == typed["fill_id"]
    )
    assert "description" not in fields["desk"]
    assert stg["facets"]["documentation"]["description"] == "Fills, cleaned"


def test_dbt_project_files_missing_use_the_manifests_raw_code(
    client: TestClient, roots: Path, dbt_project: Path
) -> None:
    """Only dbt's artifacts (target/): models from the manifest's raw_code, flagged; seeds and
    sources from DDL generated from the manifest and catalog, which says so."""
    tree = copy_project(dbt_project, roots / "m" / "desk_book", sql_files=False)
    for p in [*tree.glob("seeds/*"), *tree.glob("models/*.yml")]:
        p.unlink()
    res = ingest_dir(client, tree.parent, "m", "dbt-repo")
    assert any("not in this ingest" in w and "raw_code" in w for w in res["warnings"])
    result = next(r for r in res["results"] if r["path"] == "desk_book/models/marts/desk_notional.sql")
    assert "dbt_raw_code_from_manifest" in {d["code"] for d in result["diagnostics"]}
    pid = res["project_id"]
    node = client.get(f"/api/v1/lineage/node/book.main.desk_notional?project_id={pid}").json()
    assert node["definition"] == PROJECT["models/marts/desk_notional.sql"].rstrip("\n")
    assert "dbt_raw_code_from_manifest" in {d["code"] for d in node["diagnostics"]}
    seed = client.get(f"/api/v1/lineage/node/book.main.raw_fills?project_id={pid}").json()
    assert seed["definition"].startswith("create table")  # generated, and its file says so
    first = client.get(f"/api/v1/files/{seed['file']['id']}/content").json()["lines"][0]
    assert first.startswith("-- generated by finlineage from the dbt manifest and catalog")


def test_dbt_reingest_skips_unchanged_and_reresolves_from_the_parsed_text(
    client: TestClient, roots: Path, dbt_project: Path, graph: Graph
) -> None:
    tree = copy_project(dbt_project, roots / "r" / "desk_book")
    ingest_dir(client, tree.parent, "again", "dbt-repo")
    second = ingest_dir(client, tree.parent, "again", "dbt-repo")
    assert {r["status"] for r in second["results"]} == {"skipped_duplicate"}
    # dbt compiled the view again with one more column (as after a macro change): its .sql file
    # is the same, its compiled code is not
    path = tree / "target" / "manifest.json"
    doc = json.loads(path.read_text())
    node = doc["nodes"]["model.desk_book.stg_fills"]
    node["compiled_code"] = node["compiled_code"].replace("    ccy\n", "    ccy,\n    px\n")
    assert "px\n" in node["compiled_code"]
    node["description"] = ""  # and its documentation lost two descriptions
    node["columns"]["fill_id"]["description"] = ""
    path.write_text(json.dumps(doc))
    third = ingest_dir(client, tree.parent, "again", "dbt-repo")
    status = {r["path"]: r["status"] for r in third["results"]}
    assert status["desk_book/models/staging/stg_fills.sql"] == "processed"
    assert status["desk_book/models/marts/fills_all.sql"] == "skipped_duplicate"
    assert third["files_reresolved"] >= 1  # fills_all (SELECT * from the view) parsed again
    assert ("book.main.stg_fills.px", "book.main.fills_all.px") in graph.column_edges()
    pid = third["project_id"]
    star = upstream_edges(client, pid, "book.main.fills_all.px")
    assert star and all(e["source_text"] == "select * from {{ ref('stg_fills') }}" for e in star)
    stg = client.get(f"/api/v1/lineage/node/book.main.stg_fills?project_id={pid}").json()
    assert stg["description"] is None
    docs = {c["name"]: c["description"] for c in stg["columns"]}
    assert docs["fill_id"] is None and docs["notional"] == "Quantity times price"


def test_dbt_without_catalog_seed_columns_from_the_csv_header(
    client: TestClient, roots: Path, dbt_project: Path, graph: Graph
) -> None:
    tree = copy_project(dbt_project, roots / "nc" / "desk_book")
    (tree / "target" / "catalog.json").unlink()  # `dbt run` without `dbt docs generate`
    pid = ingest_dir(client, tree.parent, "nocat", "dbt-repo")["project_id"]
    seed = client.get(f"/api/v1/lineage/node/book.main.raw_fills?project_id={pid}").json()
    header = PROJECT["seeds/raw_fills.csv"].split("\n")[0].split(",")
    assert [c["name"] for c in seed["columns"]] == header
    assert {c["data_type"] for c in seed["columns"]} == {None}  # a CSV header has no types: none invented
    assert ("book.main.raw_fills.qty", "book.main.stg_fills.notional") in graph.column_edges()
    for col in header:  # SELECT * through the view, columns known from the seed's header
        if col not in ("qty", "px"):
            assert (f"book.main.stg_fills.{col}", f"book.main.fills_all.{col}") in graph.column_edges()

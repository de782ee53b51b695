"""dbt, second stranger round: a project of our own with the features public dbt projects use
(model versions with ``defined_in`` and contracts, unit tests, semantic models, metrics and saved
queries, exposures, groups and access, a Python model, analyses, SQL and YAML snapshots, a seed
with ``column_types`` in a custom schema, an alias, a ``generate_schema_name`` override, an
ephemeral model over an ephemeral model, an incremental model built twice (its ``{{ this }}``
branch compiled), a source with ``identifier`` and quoting, docs blocks, ``var()``, ``{% set %}``
loops, a disabled model, hooks, ``sql_header``), built with the real dbt-core + dbt-duckdb
(``dbt build`` twice, ``dbt docs generate``), then checked the way a user checks an ingest."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from ingest.conftest import Graph, by_path, make_zip, upload
from ingest.dbt_project import copy_project, raw_line, run_dbt
from ingest.dbt_stranger_project import FUNCTION, PACKAGE, STRANGER, build_stranger, build_with_function
from openlineage_native.spec import official
from support import ingest_path


@pytest.fixture(scope="session")
def stranger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_stranger(tmp_path_factory)


@pytest.fixture(scope="session")
def with_function(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_with_function(tmp_path_factory)


def _walk(client: TestClient, pid: int, ref: str, direction: str = "upstream") -> set[str]:
    """Column ids the API's column walk reaches from ``ref`` (full closure)."""
    r = client.get(f"/api/v1/lineage/column/{ref}/{direction}?project_id={pid}")
    assert r.status_code == 200, r.text
    return {n["canonical_id"] for n in r.json()["nodes"]}


def _into(client: TestClient, pid: int, ref: str) -> list[dict[str, Any]]:
    """The direct column edges into ``ref``."""
    r = client.get(f"/api/v1/lineage/column/{ref}/upstream?depth=1&project_id={pid}")
    assert r.status_code == 200, r.text
    return [e for e in r.json()["edges"] if e["target_canonical_id"] == ref and e["kind"] == "direct"]


def _node(client: TestClient, pid: int, ref: str) -> dict[str, Any]:
    r = client.get(f"/api/v1/lineage/node/{ref}?project_id={pid}")
    assert r.status_code == 200, (ref, r.text)
    body: dict[str, Any] = r.json()
    return body


MODELS = {
    # relation (database.schema.alias) -> the model's own file
    "vault.main.stg_moves": "models/staging/stg_moves.sql",
    "vault.main.acct_balances_v1": "models/marts/acct_balances_old.sql",  # defined_in
    "vault.main.acct_balances_v2": "models/marts/acct_balances_v2.sql",
    "vault.main.daily_account_totals": "models/marts/acct_daily.sql",  # alias
    "vault.main.big_usd": "models/marts/big_usd.sql",
    "vault.main.ccy_pivot": "models/marts/ccy_pivot.sql",
    "vault.main.moves_inc": "models/marts/moves_inc.sql",
    "vault.main.balances_latest": "models/marts/balances_latest.sql",
    "vault.main.balances_v1_view": "models/marts/balances_v1_view.sql",
    "vault.main.fin_private": "models/marts/fin_private.sql",
    "vault.main.metricflow_time_spine": "models/marts/metricflow_time_spine.sql",
    "vault.main.py_consumer": "models/marts/py_consumer.sql",
    "vault.main.flagged": "models/marts/flagged.sql",
    "vault.main.acct_flags": "dbt_packages/ledger_utils/models/acct_flags.sql",  # the package's
    "vault.snapshots.acct_snap": "snapshots/acct_snap.sql",
}
TABLES = {
    "vault.ref_data.accounts": "seeds/accounts.csv",  # custom schema through generate_schema_name
    "vault.landing.cashmoves": "models/sources.yml",  # identifier, quoted
    "vault.snapshots.moves_snap": "snapshots/snapshots.yml",  # a YAML snapshot alone in its file
    "vault.main.acct_py": "models/marts/acct_py.py",  # a Python model: its catalog columns
}


def _written(path: str) -> str:
    """The text of a project file (or of the package's, under dbt_packages/)."""
    pkg = "dbt_packages/ledger_utils/"
    return PACKAGE[path[len(pkg) :]] if path.startswith(pkg) else STRANGER[path]


@pytest.fixture
def ingested(client: TestClient, roots: Path, stranger: Path) -> dict[str, Any]:
    tree = copy_project(stranger, roots / "t" / "treasury")
    return ingest_path(client, tree.parent, "treasury", "vault-repo")


def test_every_relation_is_ingested_and_every_skipped_kind_is_reported(
    client: TestClient, ingested: dict[str, Any], graph: Graph
) -> None:
    res = ingested
    assert res["status"] == "completed" and res["files_failed"] == 0
    assert all(not r.get("error") for r in res["results"])
    paths = {r["path"] for r in res["results"]}
    assert paths == {f"treasury/{f}" for f in [*MODELS.values(), *TABLES.values()]}
    objects = {c for c, kind in graph.nodes() if kind != "external"}
    assert objects == set(MODELS) | set(TABLES)
    warnings = "\n".join(res["warnings"])
    assert "not in this ingest" not in warnings  # every file is there (the YAML snapshot too)
    [python] = [w for w in res["warnings"] if "Python models" in w]
    assert "models/marts/acct_py.py" in python and "1 of them are tables" in python
    [kinds] = [w for w in res["warnings"] if "not relations, not analysed" in w]
    for told in (
        "1 analyses (analyses/moves_by_ccy.sql)",
        "1 disabled (models/marts/old_report.sql)",
        "1 exposures (treasury_dashboard)",
        "1 metrics (total_amount)",
        "1 semantic models (moves)",
        "1 saved queries (amount_by_ccy)",
        "1 unit tests (pivot_sums_usd)",
        "2 data tests",
        "2 hooks",
    ):
        assert told in kinds, (told, kinds)


def test_column_walks_through_ephemerals_stars_versions_and_snapshots(
    client: TestClient, ingested: dict[str, Any]
) -> None:
    pid = ingested["project_id"]
    # two ephemeral models, one over the other, inlined: to the quoted source's column
    up = _walk(client, pid, "vault.main.big_usd.total_cents")
    assert {"vault.main.stg_moves.amount", "vault.landing.cashmoves.amt"} <= up
    assert not any("eph_" in c for c in up)  # ephemerals are no objects
    # SELECT * of the latest version (ref without v=), an explicit v=1
    assert [e["source_canonical_id"] for e in _into(client, pid, "vault.main.balances_latest.balance")] == [
        "vault.main.acct_balances_v2.balance"
    ]
    assert _walk(client, pid, "vault.main.balances_latest.ccy") >= {
        "vault.main.acct_balances_v2.ccy",
        "vault.main.stg_moves.ccy",
        "vault.landing.cashmoves.ccy",
    }
    assert [
        e["source_canonical_id"] for e in _into(client, pid, "vault.main.balances_v1_view.old_balance")
    ] == ["vault.main.acct_balances_v1.balance"]
    # SELECT * in the view and in the ephemeral model: every column, nothing invented
    assert [c["name"] for c in _node(client, pid, "vault.main.balances_latest")["columns"]] == [
        "acct_id",
        "balance",
        "ccy",
    ]
    # the {% for %} loop over a var(): one column per currency
    pivot = [c["name"] for c in _node(client, pid, "vault.main.ccy_pivot")["columns"]]
    assert pivot == ["acct_id", "amount_usd", "amount_eur"]
    eur = {
        e["source_canonical_id"]: e["subtype"] for e in _into(client, pid, "vault.main.ccy_pivot.amount_eur")
    }
    assert eur["vault.main.stg_moves.amount"] == "AGGREGATION"
    # downstream from the source: the models, the snapshot of the YAML file, the incremental model
    down = _walk(client, pid, "vault.landing.cashmoves.amt", "downstream")
    assert {
        "vault.main.moves_inc.amount",
        "vault.snapshots.moves_snap.amount",
        "vault.main.daily_account_totals.day_total",
        "vault.main.acct_balances_v1.balance",
        "vault.main.big_usd.total_cents",
    } <= down
    # the incremental model built twice: its compiled {{ this }} branch reads itself (a filter),
    # its columns' direct lineage is the select's
    assert [e["source_canonical_id"] for e in _into(client, pid, "vault.main.moves_inc.amount")] == [
        "vault.main.stg_moves.amount"
    ]
    # the seed in its custom schema, through the SQL snapshot and the aliased model
    assert _walk(client, pid, "vault.ref_data.accounts.acct_name", "downstream") >= {
        "vault.snapshots.acct_snap.acct_name",
        "vault.main.daily_account_totals.acct_name",
    }
    # into a model of an installed package and out again, through a package macro
    assert _walk(client, pid, "vault.main.flagged.named") >= {
        "vault.main.acct_flags.named",
        "vault.ref_data.accounts.acct_name",
    }
    assert [e["source_canonical_id"] for e in _into(client, pid, "vault.main.flagged.signed_balance")] == [
        "vault.main.acct_balances_v2.balance"
    ]
    # SELECT * of the Python model: its catalog columns
    assert {e["source_canonical_id"] for e in _into(client, pid, "vault.main.py_consumer.amount")} == {
        "vault.main.acct_py.amount"
    }


def test_evidence_is_the_raw_file_at_the_true_lines(client: TestClient, ingested: dict[str, Any]) -> None:
    pid = ingested["project_id"]
    for ref, path in MODELS.items():
        node = _node(client, pid, ref)
        assert node["file"]["path"] == f"treasury/{path}", ref
        assert node["definition"] == _written(path).rstrip("\n"), ref  # the Jinja as written
    # hooks and a sql_header above the select: the column's edge is the line of its item
    raw = STRANGER["models/staging/stg_moves.sql"]
    [edge] = _into(client, pid, "vault.main.stg_moves.amount")
    line = raw_line(raw, "amt as amount")
    assert (edge["line_start"], edge["line_end"], edge["source_text"]) == (line, line, "    amt as amount,")
    # a column produced in a {% for %} loop: the loop body's line
    pivot = STRANGER["models/marts/ccy_pivot.sql"]
    body = raw_line(pivot, "as amount_{{ c | lower }}")
    assert {e["line_start"] for e in _into(client, pid, "vault.main.ccy_pivot.amount_usd")} == {body}
    # a version defined in another file: lines of that file
    old = STRANGER["models/marts/acct_balances_old.sql"]
    [bal] = _into(client, pid, "vault.main.acct_balances_v1.balance")
    assert bal["line_start"] == raw_line(old, "as balance") and bal["file"].endswith("acct_balances_old.sql")
    # through two ephemeral models: the aggregate's line in the table model
    big = STRANGER["models/marts/big_usd.sql"]
    [cents] = _into(client, pid, "vault.main.big_usd.total_cents")
    assert cents["line_start"] == raw_line(big, "as total_cents")
    # a snapshot alone in its YAML file: its `- name:` entry there, the file itself stored
    yml = STRANGER["snapshots/snapshots.yml"]
    snap = _node(client, pid, "vault.snapshots.moves_snap")
    assert (snap["line_start"], snap["line_end"]) == (
        raw_line(yml, "- name: moves_snap"),
        len(yml.split("\n")) - 1,
    )
    content = client.get(f"/api/v1/files/{snap['file']['id']}/content").json()["lines"]
    assert content == yml.rstrip("\n").split("\n")
    # a package macro's expansion: the line that calls it
    flagged = STRANGER["models/marts/flagged.sql"]
    [signed] = _into(client, pid, "vault.main.flagged.signed_balance")
    assert (signed["line_start"], signed["source_text"]) == (
        raw_line(flagged, "as signed_balance"),
        "    {{ ledger_utils.signed('b.balance') }} as signed_balance",
    )
    # the Python model: its own file
    py = _node(client, pid, "vault.main.acct_py")
    assert py["definition"] == STRANGER["models/marts/acct_py.py"].rstrip("\n")


def test_descriptions_from_docs_blocks_and_types_from_the_catalog(
    client: TestClient, ingested: dict[str, Any], stranger: Path
) -> None:
    pid = ingested["project_id"]
    stg = _node(client, pid, "vault.main.stg_moves")
    assert stg["description"] == "Cash moves, one row per movement,\nabove the minimum amount."
    cols = {c["name"]: c for c in stg["columns"]}
    assert cols["acct_id"]["description"] == "The ledger account a cash move is booked to."
    catalog = json.loads((stranger / "target" / "catalog.json").read_text())

    def typed(uid: str) -> dict[str, str]:
        return {n: c["type"] for n, c in catalog["nodes"][uid]["columns"].items()}

    assert {n: c["data_type"] for n, c in cols.items()} == typed("model.treasury.stg_moves")
    seed = _node(client, pid, "vault.ref_data.accounts")
    assert seed["description"] == "Chart of ledger accounts, one row each."
    assert {c["name"]: c["data_type"] for c in seed["columns"]} == typed("seed.treasury.accounts")
    assert typed("seed.treasury.accounts")["opened_on"] == "DATE"  # the seed's column_types
    v1 = _node(client, pid, "vault.main.acct_balances_v1")
    assert v1["description"] == "Balance per account"
    assert {c["name"]: (c["data_type"], c["description"]) for c in v1["columns"]} == {
        "acct_id": ("VARCHAR", "The ledger account a cash move is booked to."),
        "balance": ("DECIMAL(18,2)", "Sum of amounts"),
    }
    src = _node(client, pid, "vault.landing.cashmoves")
    assert src["description"] == "Raw cash moves as landed"
    assert {c["name"]: c["description"] for c in src["columns"]}["amt"] == "Signed amount"
    py = _node(client, pid, "vault.main.acct_py")
    assert {c["name"]: c["data_type"] for c in py["columns"]} == typed("model.treasury.acct_py")


def test_openlineage_export_of_the_project_validates(client: TestClient, ingested: dict[str, Any]) -> None:
    pid = ingested["project_id"]
    events = client.get(f"/api/v1/export?format=openlineage&project_id={pid}").json()
    assert [err for ev in events for err in official().run_event(ev)] == []
    jobs = {e["job"]["name"]: e for e in events}
    # every model reading a relation is a job (the time spine reads none: range() only)
    assert set(jobs) == set(MODELS) - {"vault.main.metricflow_time_spine"} | {"vault.snapshots.moves_snap"}
    assert {e["job"]["namespace"] for e in events} == {"duckdb://vault-repo"}
    big = jobs["vault.main.big_usd"]
    assert [d["name"] for d in big["inputs"]] == ["vault.main.stg_moves"]  # the ephemerals inlined
    fields = big["outputs"][0]["facets"]["columnLineage"]["fields"]["total_cents"]["inputFields"]
    assert ("vault.main.stg_moves", "amount", "AGGREGATION") in {
        (f["name"], f["field"], t["subtype"]) for f in fields for t in f["transformations"]
    }
    seed = next(d for e in events for d in e["inputs"] if d["name"] == "vault.ref_data.accounts")
    assert seed["facets"]["documentation"]["description"] == "Chart of ledger accounts, one row each."


def test_marquez_column_lineage_of_a_model_column(client: TestClient, ingested: dict[str, Any]) -> None:
    """The Marquez read a lineage UI makes: a dataset field, through two ephemeral models."""
    node = "datasetField:duckdb://vault-repo:vault.main.big_usd:total_cents"
    r = client.get(f"/api/v1/column-lineage?nodeId={quote(node, safe='')}")
    assert r.status_code == 200, r.text
    ids = {n["id"] for n in r.json()["graph"]}
    assert {
        node,
        "datasetField:duckdb://vault-repo:vault.main.stg_moves:amount",
        "datasetField:duckdb://vault-repo:vault.landing.cashmoves:amt",
    } <= ids


def test_without_catalog_seeds_are_their_csv_header_typed_by_column_types(
    client: TestClient, roots: Path, stranger: Path, graph: Graph
) -> None:
    """`dbt build` without `dbt docs generate`: no catalog.json."""
    tree = copy_project(stranger, roots / "nc" / "treasury")
    (tree / "target" / "catalog.json").unlink()
    res = ingest_path(client, tree.parent, "nocat", "vault-repo")
    assert res["files_failed"] == 0
    pid = res["project_id"]
    # the seed's YAML documents one column: the CSV header still gives all three, in its order,
    # typed as its column_types create them
    seed = _node(client, pid, "vault.ref_data.accounts")
    assert [(c["name"], c["data_type"]) for c in seed["columns"]] == [
        ("acct_id", "varchar(12)"),
        ("acct_name", None),
        ("opened_on", "date"),
    ]
    assert {c["name"]: c["description"] for c in seed["columns"]}["acct_id"] == (
        "The ledger account a cash move is booked to."
    )
    assert (
        "vault.ref_data.accounts.acct_name",
        "vault.snapshots.acct_snap.acct_name",
    ) in graph.column_edges()
    snap = next(r for r in res["results"] if r["path"] == "treasury/snapshots/acct_snap.sql")
    assert snap["diagnostics"] == []
    # a contract's data_type types the versioned model's columns
    v1 = _node(client, pid, "vault.main.acct_balances_v1")
    assert {c["name"]: c["data_type"] for c in v1["columns"]} == {
        "acct_id": "varchar",
        "balance": "decimal(18,2)",
    }
    assert {"vault.main.stg_moves.amount", "vault.landing.cashmoves.amt"} <= _walk(
        client, pid, "vault.main.big_usd.total_cents"
    )
    # SELECT * of a Python model nothing gives columns for: kept as *, and the diagnostic says why
    consumer = next(r for r in res["results"] if r["path"] == "treasury/models/marts/py_consumer.sql")
    [star] = [d for d in consumer["diagnostics"] if d["code"] == "star_without_schema"]
    assert "dbt Python model acct_py" in star["message"] and star["line"] == 1
    assert graph.columns("vault.main.py_consumer") == ["*"]


@pytest.mark.xfail(
    strict=True,
    reason="engine (S3): a table's known columns are taken as all its columns; a dbt source's YAML "
    "(no catalog) documents only some, so a model's unqualified column of its only source that the "
    "YAML leaves out is unresolved and its lineage lost (stg_moves.move_id <- cashmoves.move_id)",
)
def test_without_catalog_a_source_column_its_yaml_leaves_out_still_resolves(
    client: TestClient, roots: Path, stranger: Path, graph: Graph
) -> None:
    tree = copy_project(stranger, roots / "nc" / "treasury")
    (tree / "target" / "catalog.json").unlink()
    res = ingest_path(client, tree.parent, "nocat", "vault-repo")
    stg = next(r for r in res["results"] if r["path"] == "treasury/models/staging/stg_moves.sql")
    assert [d for d in stg["diagnostics"] if d["code"] == "unresolved_column"] == []
    assert ("vault.landing.cashmoves.move_id", "vault.main.stg_moves.move_id") in graph.column_edges()


def test_only_the_manifest_uploaded(client: TestClient, stranger: Path, graph: Graph) -> None:
    """No project files at all: one uploaded manifest.json."""
    data = (stranger / "target" / "manifest.json").read_bytes()
    res = upload(client, [("manifest.json", data)], project="only", repository="vault-repo", dialect="auto")
    assert res.status_code in (200, 201), res.text
    body = res.json()
    assert body["status"] == "completed" and body["files_failed"] == 0, body
    pid = body["project_id"]
    results = by_path(body)
    assert set(results) == {*MODELS.values(), *TABLES.values()} - {"models/marts/acct_py.py"}
    [told] = [w for w in body["warnings"] if "not in this ingest" in w]
    assert f"{len(MODELS)} model file(s)" in told
    raw_codes = {
        ("" if n["package_name"] == "treasury" else f"dbt_packages/{n['package_name']}/")
        + n["original_file_path"]: n["raw_code"]
        for n in json.loads(data)["nodes"].values()
    }
    for ref, path in MODELS.items():
        assert "dbt_raw_code_from_manifest" in {d["code"] for d in results[path]["diagnostics"]}, path
        assert _node(client, pid, ref)["definition"] == raw_codes[path].rstrip("\n"), ref
    # sources, seeds and the YAML snapshot: generated DDL, which says so on its first line
    for ref, path in TABLES.items():
        if ref == "vault.main.acct_py":
            continue  # columns from the catalog only
        node = _node(client, pid, ref)
        assert node["file"]["path"] == path
        first = client.get(f"/api/v1/files/{node['file']['id']}/content").json()["lines"][0]
        assert first == f"-- generated by finlineage from the dbt manifest: {path} is not SQL", ref
    # column lineage and its lines as without the files
    raw = STRANGER["models/staging/stg_moves.sql"]
    [edge] = _into(client, pid, "vault.main.stg_moves.amount")
    assert edge["line_start"] == raw_line(raw, "amt as amount")
    assert [e["source_canonical_id"] for e in _into(client, pid, "vault.main.balances_latest.balance")] == [
        "vault.main.acct_balances_v2.balance"
    ]
    assert {"vault.main.stg_moves.amount", "vault.landing.cashmoves.amt"} <= _walk(
        client, pid, "vault.main.big_usd.total_cents"
    )
    events = client.get(f"/api/v1/export?format=openlineage&project_id={pid}").json()
    assert events and [err for ev in events for err in official().run_event(ev)] == []


def _older(real: dict[str, Any], version: int) -> dict[str, Any]:
    """dbt 1.11 writes only v12: the same manifest as an older dbt spells it (its newer sections
    and fields dropped, v7's names for the code, no relation_name)."""
    doc = copy.deepcopy(real)
    doc["metadata"]["dbt_schema_version"] = f"https://schemas.getdbt.com/dbt/manifest/v{version}.json"
    newer = {11: ("unit_tests", "functions"), 10: ("saved_queries",), 9: ("semantic_models",)}
    for since, keys in newer.items():
        if version < since + 1:
            for key in keys:
                doc.pop(key, None)
    if version == 7:
        for n in [*doc["nodes"].values(), *doc["sources"].values()]:
            for new, old in (("raw_code", "raw_sql"), ("compiled_code", "compiled_sql")):
                if new in n:
                    n[old] = n.pop(new)
            n.pop("relation_name", None)
        for key in ("groups", "group_map"):
            doc.pop(key, None)
    return doc


@pytest.mark.parametrize("version", [7, 10, 11])
def test_older_manifest_versions_give_the_same_lineage(
    client: TestClient, roots: Path, stranger: Path, graph: Graph, version: int
) -> None:
    tree = copy_project(stranger, roots / f"v{version}" / "treasury")
    path = tree / "target" / "manifest.json"
    path.write_text(json.dumps(_older(json.loads(path.read_text()), version)))
    res = ingest_path(client, tree.parent, f"v{version}", "vault-repo")
    assert res["files_failed"] == 0
    pid = res["project_id"]
    assert {c for c, kind in graph.nodes() if kind != "external"} == set(MODELS) | set(TABLES)
    assert {"vault.main.stg_moves.amount", "vault.landing.cashmoves.amt"} <= _walk(
        client, pid, "vault.main.big_usd.total_cents"
    )
    assert [
        e["source_canonical_id"] for e in _into(client, pid, "vault.main.balances_v1_view.old_balance")
    ] == ["vault.main.acct_balances_v1.balance"]
    assert ("vault.ref_data.accounts.acct_name", "vault.main.daily_account_totals.acct_name") in (
        graph.column_edges()
    )


def test_a_user_defined_function_is_reported_and_its_callers_keep_their_lineage(
    client: TestClient, roots: Path, with_function: Path, graph: Graph
) -> None:
    tree = copy_project(with_function, roots / "f" / "treasury")
    res = ingest_path(client, tree.parent, "udf", "vault-repo")
    assert res["files_failed"] == 0
    paths = {r["path"] for r in res["results"]}
    assert "treasury/models/marts/cents_view.sql" in paths
    assert not any(p.startswith("treasury/functions/") for p in paths)  # the function body is no SQL file
    [kinds] = [w for w in res["warnings"] if "not relations, not analysed" in w]
    assert "1 user-defined functions (cents_of)" in kinds
    pid = res["project_id"]
    [edge] = _into(client, pid, "vault.main.cents_view.amount_cents")
    assert edge["source_canonical_id"] == "vault.main.stg_moves.amount"
    assert edge["subtype"] == "TRANSFORMATION"
    assert edge["line_start"] == raw_line(FUNCTION["models/marts/cents_view.sql"], "as amount_cents")


def test_a_parse_only_manifest_names_the_models_needing_compile_where_they_are_read(
    client: TestClient, roots: Path, stranger: Path, graph: Graph
) -> None:
    """`dbt parse` (no compiled code, no catalog): models whose only Jinja is ref/source/config
    are read, the others are listed, and a model reading one says which and why."""
    tree = copy_project(stranger, roots / "p" / "treasury")
    (tree / "target" / "catalog.json").unlink()
    run_dbt(tree, "parse")
    res = ingest_path(client, tree.parent, "parse", "vault-repo")
    assert res["files_failed"] == 0
    [skipped] = [w for w in res["warnings"] if "run `dbt compile`" in w]
    assert "3 model(s)" in skipped  # a var(), a {% set %} loop, a package macro
    for path in ("models/staging/stg_moves.sql", "models/marts/ccy_pivot.sql", "models/marts/flagged.sql"):
        assert path in skipped
    # through two ephemeral models to the skipped one: the diagnostic names it and says why
    big = next(r for r in res["results"] if r["path"] == "treasury/models/marts/big_usd.sql")
    [star] = [d for d in big["diagnostics"] if d["code"] == "star_without_schema"]
    assert "dbt model stg_moves: not read (its Jinja needs `dbt compile`)" in star["message"]
    # rendered refs: a version by v=, a seed in its custom schema, the incremental model as a first build
    edges = graph.column_edges()
    assert ("vault.main.acct_balances_v1.balance", "vault.main.balances_v1_view.old_balance") in edges
    assert ("vault.ref_data.accounts.acct_name", "vault.main.daily_account_totals.acct_name") in edges
    assert not any(s == t == "vault.main.moves_inc" for s, t, _ in graph.table_edges())


@pytest.mark.parametrize("how", ["files", "zip"])
def test_the_project_uploaded_as_files_or_an_archive(
    client: TestClient, roots: Path, stranger: Path, how: str
) -> None:
    tree = copy_project(stranger, roots / "u" / "treasury")  # dbt_packages/ as files, no database
    members = [
        (f"treasury/{p.relative_to(tree).as_posix()}", p.read_bytes())
        for p in sorted(tree.rglob("*"))
        if p.is_file()
    ]
    sent = members if how == "files" else [("treasury.zip", make_zip(members))]
    r = upload(client, sent, project=how, repository="vault-repo", dialect="auto")
    assert r.status_code in (200, 201), r.text
    res = r.json()
    assert res["status"] == "completed" and res["files_failed"] == 0, res
    assert {r["path"] for r in res["results"]} == {
        f"treasury/{f}" for f in [*MODELS.values(), *TABLES.values()]
    }
    pid = res["project_id"]
    for ref, path in {**MODELS, **TABLES}.items():
        node = _node(client, pid, ref)
        assert node["file"]["path"] == f"treasury/{path}", ref
    assert {"vault.main.acct_flags.named", "vault.ref_data.accounts.acct_name"} <= _walk(
        client, pid, "vault.main.flagged.named"
    )
    # the files declaring sources, seeds, the YAML snapshot and the Python model are the evidence
    seed = _node(client, pid, "vault.ref_data.accounts")
    assert seed["definition"] == STRANGER["seeds/accounts.csv"].split("\n")[0]
    snap = _node(client, pid, "vault.snapshots.moves_snap")
    assert snap["definition"].startswith("  - name: moves_snap")
    py = _node(client, pid, "vault.main.acct_py")
    assert py["definition"] == STRANGER["models/marts/acct_py.py"].rstrip("\n")


def test_a_project_without_its_manifest_says_dbt_compile_is_needed(
    client: TestClient, roots: Path, stranger: Path
) -> None:
    """A git repository of a dbt project ignores target/: its Jinja files are no SQL yet. Each
    fails saying why (never a syntax error at a `{{`), plain SQL beside them still goes through."""
    tree = copy_project(stranger, roots / "nm" / "treasury")
    shutil.rmtree(tree / "target")
    (tree / "analyses" / "plain.sql").write_text("create view main.plain_view as select 1 as one;\n")
    res = ingest_path(client, tree.parent, "nomanifest", "vault-repo", allow_errors=True)
    assert res["status"] == "completed_with_errors"
    results = by_path(res)
    assert results["treasury/analyses/plain.sql"]["status"] == "processed"
    jinja = [
        p for p in (*STRANGER, *(f"dbt_packages/ledger_utils/{p}" for p in PACKAGE)) if p.endswith(".sql")
    ]
    assert {p for p, r in results.items() if r["status"] == "error"} == {f"treasury/{p}" for p in jinja}
    for path in jinja:
        error = results[f"treasury/{path}"]["error"]
        assert "no manifest.json in this ingest" in error and "dbt compile" in error, path
    [told] = [w for w in res["warnings"] if w.startswith("dbt project treasury/: no manifest.json")]
    assert "Jinja file(s) not ingested" in told
    # uploaded as loose files: the same, and its YAML, CSV and Python files are not files to fail
    members = [
        (f"treasury/{p.relative_to(tree).as_posix()}", p.read_bytes()) for p in tree.rglob("*") if p.is_file()
    ]
    r = upload(client, members, project="loose", repository="vault-repo", dialect="auto")
    assert r.status_code in (200, 201), r.text
    loose = by_path(r.json())
    assert {p: x["status"] for p, x in loose.items()} == {p: x["status"] for p, x in results.items()}

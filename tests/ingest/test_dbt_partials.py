"""dbt projects as they often arrive: `dbt compile` without `dbt docs generate` (no catalog),
one model broken, one naming a column its upstream model does not have, sources whose YAML
documents some or none of their columns, a snapshot and an incremental model (the real manifest
dbt generates here: dbt_project.build_extra). Diagnostics point at the model's own file and the
true line there; SELECT * never invents columns and says when they are unknown."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ingest.conftest import Graph, by_path
from ingest.dbt_project import EXTRA, PROJECT, build_extra, copy_project, manifest, raw_line, run_dbt


@pytest.fixture(scope="session")
def extra_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_extra(tmp_path_factory)


def _ingest(client: TestClient, path: Path, project: str) -> dict[str, Any]:
    r = client.post(
        "/api/v1/ingest?wait=true",
        json={"path": str(path), "project_id": project, "repository_name": "dbt", "create_project": True},
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _diags(result: dict[str, Any], code: str) -> list[dict[str, Any]]:
    return [d for d in result["diagnostics"] if d["code"] == code]


@pytest.fixture
def ingested(client: TestClient, roots: Path, extra_project: Path) -> dict[str, Any]:
    tree = copy_project(extra_project, roots / "x" / "desk_book")
    return _ingest(client, tree.parent, "partial")


def test_a_parse_error_points_at_the_raw_line_and_column(ingested: dict[str, Any]) -> None:
    assert ingested["status"] == "completed_with_errors"
    results = by_path(ingested)
    [failed] = [r for r in ingested["results"] if r["status"] == "error"]
    assert failed["path"] == "desk_book/models/marts/broken.sql"
    raw = EXTRA["models/marts/broken.sql"]
    line = raw_line(raw, "(qty * )")
    assert line == 7  # a {% for %} loop above it: dbt's compiled line is 9
    assert failed["line"] == line
    # the compiled line is the raw line as written: its column holds in the file too
    assert failed["column"] is not None
    assert raw.split("\n")[line - 1][failed["column"] - 1 :].startswith(")")
    assert "compiled SQL line 9" in failed["error"]
    assert results["desk_book/models/marts/desk_notional.sql"]["status"] == "processed"


def test_an_unresolved_column_points_at_the_line_naming_it(ingested: dict[str, Any]) -> None:
    results = by_path(ingested)
    typo = _diags(results["desk_book/models/marts/typo.sql"], "unresolved_column")
    assert [d["line"] for d in typo] == [raw_line(EXTRA["models/marts/typo.sql"], "notinal")] == [4]
    # a source whose YAML documents one column (no catalog): the others are named where used
    events = {
        d["message"].split("'")[1]: d["line"]
        for d in _diags(results["desk_book/models/staging/stg_events.sql"], "unresolved_column")
    }
    stg = PROJECT["models/staging/stg_events.sql"]
    assert (
        events
        == {"event_id": raw_line(stg, "event_id"), "book": raw_line(stg, "book")}
        == {
            "event_id": 2,
            "book": 3,
        }
    )


def test_select_star_from_sources_uses_declared_columns_or_says_they_are_unknown(
    ingested: dict[str, Any], client: TestClient, graph: Graph
) -> None:
    pid = ingested["project_id"]
    # the source's YAML documents `amount` only: that is what SELECT * gives, nothing invented
    assert graph.columns("book.main.trade_events") == ["amount"]
    assert graph.columns("book.main.events_all") == ["amount"]
    assert ("book.main.trade_events.amount", "book.main.events_all.amount") in graph.column_edges()
    # a source nothing documents: `*` is kept, and the model's file says which source and where
    assert graph.columns("book.main.books_all") == ["*"]
    assert ("book.main.books.*", "book.main.books_all.*") in graph.column_edges()
    results = by_path(ingested)
    [star] = _diags(results["desk_book/models/staging/books_all.sql"], "star_without_schema")
    assert "source refdata.books" in star["message"]
    assert star["line"] == raw_line(EXTRA["models/staging/books_all.sql"], "source(") == 3
    node = client.get(f"/api/v1/lineage/node/book.main.books?project_id={pid}").json()
    assert node["file"]["path"] == "desk_book/models/ref_sources.yml"
    assert any("refdata.books" in w for w in ingested["warnings"])


def test_snapshots_and_incremental_models_are_their_relations_with_lineage(
    ingested: dict[str, Any], client: TestClient, graph: Graph
) -> None:
    pid = ingested["project_id"]
    kinds = dict(graph.nodes())
    assert kinds["book.main.fills_snap"] == "table" and kinds["book.main.fills_inc"] == "table"
    edges = graph.column_edges()
    for col in ("fill_id", "desk", "qty"):
        assert (f"book.main.raw_fills.{col}", f"book.main.fills_snap.{col}") in edges
    assert ("book.main.stg_fills.notional", "book.main.fills_inc.notional") in edges
    # the snapshot's validity columns dbt adds are its columns (without lineage: dbt sets them)
    meta = ["dbt_scd_id", "dbt_updated_at", "dbt_valid_from", "dbt_valid_to"]
    assert graph.columns("book.main.fills_snap") == ["fill_id", "desk", "qty", *meta]
    assert not [e for e in edges if e[1].rsplit(".", 1)[-1] in meta]
    current = by_path(ingested)["desk_book/models/marts/fills_current.sql"]
    assert current["status"] == "processed" and not _diags(current, "unresolved_column")
    assert ("book.main.fills_snap.dbt_valid_from", "book.main.fills_current.booked_from") in edges
    snap = EXTRA["snapshots/fills_snap.sql"]
    r = client.get(f"/api/v1/lineage/column/book.main.fills_snap.qty/upstream?depth=1&project_id={pid}")
    [edge] = [e for e in r.json()["edges"] if e["target_canonical_id"] == "book.main.fills_snap.qty"]
    assert edge["file"] == "desk_book/snapshots/fills_snap.sql"
    assert (edge["line_start"], edge["source_text"]) == (raw_line(snap, "    qty"), "    qty")
    node = client.get(f"/api/v1/lineage/node/book.main.fills_inc?project_id={pid}").json()
    assert node["definition"] == EXTRA["models/marts/fills_inc.sql"].rstrip("\n")


def test_snapshots_declared_together_in_yaml_are_each_their_relation(
    ingested: dict[str, Any], client: TestClient, graph: Graph
) -> None:
    """dbt >= 1.9 declares snapshots in YAML, several per file: one stored file (the YAML), each
    snapshot an object evidenced by its `- name:` entry, never a duplicate-path failure."""
    result = by_path(ingested)["desk_book/snapshots/snaps.yml"]
    assert (result["status"], result["objects"]) == ("processed", 2)
    yml = EXTRA["snapshots/snaps.yml"]
    edges = graph.column_edges()
    [rel] = [t for s, t in edges if s == "book.main.fx_rates.usd_rate" and t.endswith("rates_snap.usd_rate")]
    assert graph.columns(rel.rsplit(".", 1)[0])[:2] == ["ccy", "usd_rate"]
    pid = ingested["project_id"]
    r = client.get(f"/api/v1/lineage/column/{rel}/upstream?depth=1&project_id={pid}")
    [edge] = [e for e in r.json()["edges"] if e["target_canonical_id"] == rel]
    first = raw_line(yml, "- name: rates_snap")
    assert (edge["file"], edge["line_start"]) == ("desk_book/snapshots/snaps.yml", first)
    assert edge["source_text"].split("\n")[0] == "  - name: rates_snap"
    assert any(t.endswith("events_snap.amount") for s, t in edges if s == "book.main.trade_events.amount")


def test_a_parse_only_manifest_renders_snapshots_and_incremental_models_and_reports_the_rest(
    client: TestClient, roots: Path, extra_project: Path, graph: Graph
) -> None:
    """`dbt parse` (no compiled code): a snapshot block and an `is_incremental()` block need no
    Jinja engine (the snapshot's select; the model as a first or full-refresh build compiles it);
    a model with other Jinja is reported by name, never dropped silently or guessed."""
    tree = roots / "parsed" / "desk_book"
    for rel, body in {**PROJECT, **EXTRA}.items():
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).write_text(body)
    run_dbt(tree, "parse")
    assert not any(n.get("compiled_code") for n in manifest(tree)["nodes"].values())
    res = _ingest(client, tree.parent, "parsed")
    assert res["status"] == "completed", [r for r in res["results"] if r["status"] == "error"]
    [skipped] = [w for w in res["warnings"] if "skipped" in w]
    for name in ("broken.sql", "desk_notional.sql", "desk_flags.sql"):  # a loop, a macro: named
        assert name in skipped
    assert "fills_snap.sql" not in skipped and "fills_inc.sql" not in skipped
    edges = graph.column_edges()
    assert ("book.main.raw_fills.qty", "book.main.fills_snap.qty") in edges
    assert ("book.main.stg_fills.notional", "book.main.fills_inc.notional") in edges
    pid = res["project_id"]
    for ref, path, text, needle in (
        (
            "book.main.fills_snap.qty",
            "snapshots/fills_snap.sql",
            EXTRA["snapshots/fills_snap.sql"],
            "    qty",
        ),
        (
            "book.main.stg_fills.notional",
            "models/staging/stg_fills.sql",
            PROJECT["models/staging/stg_fills.sql"],
            "as notional",
        ),
    ):
        r = client.get(f"/api/v1/lineage/column/{ref}/upstream?depth=1&project_id={pid}")
        lines = {(e["file"], e["line_start"]) for e in r.json()["edges"] if e["target_canonical_id"] == ref}
        assert lines == {(f"desk_book/{path}", raw_line(text, needle))}, lines


def test_a_model_known_only_by_its_compiled_code_keeps_true_lines_and_columns() -> None:
    """No .sql file and no raw_code: the stored text is dbt's compiled SQL, line for line; a
    parse error keeps its column (line 1 without the `create ... as` the engine was given) and a
    statement-level diagnostic goes to the line naming its column."""
    import json

    from finlineage.ingest import dbt, worker
    from finlineage.ingest.sources import SourceFile

    def manifest(code: str) -> bytes:
        node = {
            "resource_type": "model",
            "original_file_path": "models/m.sql",
            "relation_name": '"db"."s"."m"',
            "config": {"materialized": "view"},
            "compiled_code": code,
        }
        doc = {
            "metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json"},
            "nodes": {"model.p.m": node},
        }
        return json.dumps(doc).encode()

    for code, schema, expect in (
        ("select a, ) from t", None, (1, "select a, ) from t".index(")") + 1)),
        ('select\n    a,\n    nope\nfrom "db"."s"."t"', {"db.s.t": {"a": None}}, (3, None)),
    ):
        [sf] = dbt.expand([SourceFile("p/target/manifest.json", data=manifest(code), group="g")], [])
        assert sf.parse_data is not None
        facts = worker.parse_file(sf.parse_data.decode(), "postgres", schema, 10.0)
        mapped = dbt.onto_original(facts, sf.read(), sf.parse_data)
        [d] = [d for d in mapped["diagnostics"] if d["code"] in ("parse_error", "unresolved_column")]
        assert (d["line"], d["column"]) == expect, d


def test_select_star_of_a_seed_nothing_gives_columns_for_names_the_seed() -> None:
    """Only the manifest (no CSV, no catalog, no documented columns): the seed is a table of
    unknown columns and the model selecting * from it says which dbt seed, never inventing."""
    import json

    from finlineage.ingest import dbt, worker
    from finlineage.ingest.sources import SourceFile

    doc = {
        "metadata": {
            "dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json",
            "adapter_type": "postgres",
        },
        "nodes": {
            "seed.p.rates": {
                "resource_type": "seed",
                "unique_id": "seed.p.rates",
                "name": "rates",
                "original_file_path": "seeds/rates.csv",
                "relation_name": '"db"."s"."rates"',
                "columns": {},
            },
            "model.p.m": {
                "resource_type": "model",
                "unique_id": "model.p.m",
                "original_file_path": "models/m.sql",
                "relation_name": '"db"."s"."m"',
                "config": {"materialized": "view"},
                "raw_code": "-- all rates\nselect *\nfrom {{ ref('rates') }}\n",
                "compiled_code": '-- all rates\nselect *\nfrom "db"."s"."rates"\n',
                "depends_on": {"nodes": ["seed.p.rates"]},
            },
        },
    }
    warnings: list[str] = []
    files = dbt.expand(
        [SourceFile("p/target/manifest.json", data=json.dumps(doc).encode(), group="g")], warnings
    )
    assert any("seed.p.rates" in w and "columns unknown" in w for w in warnings)
    model = next(sf for sf in files if sf.path == "p/models/m.sql")
    assert model.parse_data is not None
    facts = worker.parse_file(model.parse_data.decode(), "postgres", None, 10.0)
    mapped = dbt.onto_original(facts, model.read(), model.parse_data)
    [star] = [d for d in mapped["diagnostics"] if d["code"] == "star_without_schema"]
    assert "dbt seed rates" in star["message"] and star["line"] == 3
    assert {e[1] for e in mapped["column_edges"]} == {"db.s.m.*"}  # kept as *, nothing invented

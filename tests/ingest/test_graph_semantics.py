"""Dedup, versions, one graph across files/runs, schema across files, re-resolution, temp tables."""

from __future__ import annotations

from fastapi.testclient import TestClient

from .conftest import Graph, by_path, upload

POS = b"CREATE TABLE risk.positions (id INT, amount DECIMAL(18,2), ccy VARCHAR(3));\n"
FX = b"CREATE TABLE ref.fx (ccy VARCHAR(3), rate DECIMAL(18,6));\n"
STAR_VIEW = b"CREATE VIEW rpt.pos_all AS SELECT * FROM risk.positions;\n"
USD_VIEW = (
    b"CREATE VIEW rpt.pos_usd AS SELECT id, amount * rate AS amount_usd\n"
    b"FROM risk.positions p JOIN ref.fx f ON p.ccy = f.ccy;\n"
)
LOAD = b"INSERT INTO mart.exposure (id, usd) SELECT id, amount_usd FROM rpt.pos_usd;\n"


def test_dedup_and_same_tree_twice_gives_same_graph(client: TestClient, graph: Graph) -> None:
    files = [("ddl/pos.sql", POS), ("ddl/fx.sql", FX), ("v/usd.sql", USD_VIEW), ("etl/load.sql", LOAD)]
    first = upload(client, files).json()
    assert first["files_processed"] == 4
    snap = graph.snapshot()
    second = upload(client, files).json()
    assert second["files_skipped_duplicate"] == 4 and second["files_processed"] == 0
    assert {r["status"] for r in second["results"]} == {"skipped_duplicate"}
    assert second["total_edges_created"] == 0
    assert graph.snapshot() == snap
    # the same tree in a fresh project, files in another order: the same graph shape
    upload(client, list(reversed(files)), project="q").json()
    rows = graph.rows(
        "SELECT p.name, o.canonical_id, o.kind FROM objects o JOIN projects p ON p.id = o.project_id"
    )
    by_project: dict[str, set[tuple[str, str]]] = {}
    for project, cid, kind in rows:
        by_project.setdefault(project, set()).add((cid, kind))
    assert by_project["p"] == by_project["q"]


def test_changed_file_supersedes_and_replaces_exactly_its_facts(client: TestClient, graph: Graph) -> None:
    v1 = b"INSERT INTO mart.a (x) SELECT amount FROM risk.positions;\nINSERT INTO mart.old (y) SELECT ccy FROM risk.positions;\n"
    upload(client, [("ddl/pos.sql", POS), ("etl/job.sql", v1), ("etl/other.sql", LOAD)])
    before_other = {e for e in graph.table_edges() if e[1] == "mart.exposure"}
    assert ("risk.positions", "mart.old", "direct") in graph.table_edges()
    v2 = b"INSERT INTO mart.a (x) SELECT id FROM risk.positions;\n"
    res = upload(client, [("ddl/pos.sql", POS), ("etl/job.sql", v2)]).json()
    assert by_path(res)["etl/job.sql"]["status"] == "processed"
    assert by_path(res)["ddl/pos.sql"]["status"] == "skipped_duplicate"
    edges = graph.column_edges()
    assert ("risk.positions.id", "mart.a.x") in edges
    assert ("risk.positions.amount", "mart.a.x") not in edges
    assert ("risk.positions.ccy", "mart.old.y") not in edges
    assert "mart.old" not in {n for n, _ in graph.nodes()}  # its only producer is gone
    assert {e for e in graph.table_edges() if e[1] == "mart.exposure"} == before_other
    versions = graph.rows("SELECT version, status FROM files WHERE path = 'etl/job.sql' ORDER BY version")
    assert versions == [(1, "superseded"), (2, "active")]


def test_one_node_across_files_and_external_adoption(client: TestClient, graph: Graph) -> None:
    upload(client, [("etl/load.sql", b"INSERT INTO mart.t (a) SELECT amount FROM risk.positions;\n")])
    assert ("risk.positions", "external") in graph.nodes()
    ext_id = graph.rows("SELECT id FROM objects WHERE canonical_id = 'risk.positions'")[0][0]
    upload(client, [("ddl/pos.sql", POS)], repository="other-repo")
    assert ("risk.positions", "table") in graph.nodes()
    assert graph.rows("SELECT id FROM objects WHERE canonical_id = 'risk.positions'") == [(ext_id,)]
    assert graph.rows("SELECT count(*) FROM objects WHERE canonical_id = 'risk.positions'") == [(1,)]
    assert ("risk.positions.amount", "mart.t.a") in graph.column_edges()


def test_select_star_resolves_across_files(client: TestClient, graph: Graph) -> None:
    res = upload(client, [("v/all.sql", STAR_VIEW), ("ddl/pos.sql", POS)]).json()
    assert res["files_failed"] == 0
    assert graph.columns("rpt.pos_all") == ["id", "amount", "ccy"]
    assert ("risk.positions.ccy", "rpt.pos_all.ccy") in graph.column_edges()
    diags = by_path(res)["v/all.sql"]["diagnostics"]
    assert not [d for d in diags if d["code"] == "star_without_schema"]


def test_dependants_re_resolved_when_ddl_arrives_later(client: TestClient, graph: Graph) -> None:
    upload(client, [("v/all.sql", STAR_VIEW)])
    assert not any(t == "rpt.pos_all.ccy" for _, t in graph.column_edges())
    res = upload(client, [("ddl/pos.sql", POS)]).json()
    assert res["files_reresolved"] == 1
    assert ("risk.positions.ccy", "rpt.pos_all.ccy") in graph.column_edges()
    assert graph.columns("rpt.pos_all") == ["id", "amount", "ccy"]
    # and a view reading the view resolves, in a later run
    upload(client, [("v/top.sql", b"CREATE VIEW rpt.top AS SELECT * FROM rpt.pos_all;\n")])
    assert graph.columns("rpt.top") == ["id", "amount", "ccy"]


def test_temp_tables_never_become_nodes(client: TestClient, graph: Graph) -> None:
    proc = (
        b"SELECT id, amount INTO #stage FROM risk.positions;\n"
        b"CREATE TABLE #calc (id INT, doubled DECIMAL(18,2));\n"
        b"INSERT INTO #calc (id, doubled) SELECT id, amount * 2 FROM #stage;\n"
        b"INSERT INTO mart.out (id, v) SELECT id, doubled FROM #calc;\n"
    )
    upload(client, [("ddl/pos.sql", POS), ("etl/proc.sql", proc)])
    names = {n for n, _ in graph.nodes()}
    assert not [n for n in names if "#" in n or "stage" in n or "calc" in n]
    assert ("risk.positions", "mart.out", "direct") in graph.table_edges()
    assert ("risk.positions.amount", "mart.out.v") in graph.column_edges()
    chunks = graph.rows("SELECT count(*) FROM code_chunks")[0][0]
    assert chunks >= 2
    assert graph.rows("SELECT count(*) FROM code_chunks WHERE embedding IS NOT NULL") == [(0,)]


POS_FN = b"""CREATE FUNCTION risk.fn_book_positions (@as_of DATE)
RETURNS TABLE
AS
RETURN (SELECT p.id, p.amount * 2 AS doubled FROM risk.positions AS p WHERE p.ccy = 'USD');
GO
"""
FN_READER = b"""CREATE VIEW rpt.book_doubled AS
SELECT b.id, b.doubled FROM risk.fn_book_positions('2026-01-01') AS b;
GO
"""


def test_a_table_function_of_another_file_is_read_through_its_result_columns(
    client: TestClient, graph: Graph
) -> None:
    """The view's file sorts first: it is parsed before the function's columns are known and
    re-resolved in the same run; its columns then come from the function's, and those from the
    table the function reads."""
    res = upload(
        client, [("a/book_doubled.sql", FN_READER), ("b/fn.sql", POS_FN), ("ddl/pos.sql", POS)]
    ).json()
    assert res["files_failed"] == 0
    assert not [
        d for d in by_path(res)["a/book_doubled.sql"]["diagnostics"] if d["code"] == "table_function_unknown"
    ]
    edges = graph.column_edges()
    assert ("risk.fn_book_positions.doubled", "rpt.book_doubled.doubled") in edges
    assert ("risk.positions.amount", "risk.fn_book_positions.doubled") in edges
    assert graph.columns("rpt.book_doubled") == ["id", "doubled"]
    pid = client.get("/api/v1/projects").json()["items"][0]["id"]
    r = client.get(f"/api/v1/lineage/column/rpt.book_doubled.doubled/upstream?depth=5&project_id={pid}")
    assert r.status_code == 200, r.text
    assert "risk.positions.amount" in {n["canonical_id"] for n in r.json()["nodes"]}
    # OpenLineage: the function is a job, not a dataset; the view's job reads the table through it
    events = client.get(f"/api/v1/export?format=openlineage&project_id={pid}").json()
    view_job = next(e for e in events if e["job"]["name"] == "rpt.book_doubled")
    assert {d["name"] for d in view_job["inputs"]} == {"risk.positions"}
    fields = view_job["outputs"][0]["facets"]["columnLineage"]["fields"]
    doubled = {(i["name"], i["field"]): i["transformations"] for i in fields["doubled"]["inputFields"]}
    assert [t["subtype"] for t in doubled[("risk.positions", "amount")]] == ["TRANSFORMATION"]
    assert ("risk.positions", "ccy") in {
        (i["name"], i["field"]) for i in fields["id"]["inputFields"]
    }  # FILTER
    assert not any(
        d["name"] == "risk.fn_book_positions" for e in events for d in (*e["inputs"], *e["outputs"])
    )


def test_a_table_function_nothing_defines_is_named_in_the_readers_diagnostics(
    client: TestClient, graph: Graph
) -> None:
    res = upload(client, [("a/book_doubled.sql", FN_READER)]).json()
    diags = [
        d for d in by_path(res)["a/book_doubled.sql"]["diagnostics"] if d["code"] == "table_function_unknown"
    ]
    assert len(diags) == 1 and "risk.fn_book_positions" in diags[0]["message"] and diags[0]["line"] == 1
    assert not any(s.startswith("risk.fn_book_positions") for s, _ in graph.column_edges())
    assert ("risk.fn_book_positions", "external") not in graph.nodes()  # no phantom object


def test_a_reader_of_a_table_function_is_re_resolved_when_a_later_run_declares_it(
    client: TestClient, graph: Graph
) -> None:
    """The function arrives in a later upload, from another repository of the project: the view
    parsed without it is re-resolved then (no edge named the function, so only what the store
    recorded of the unresolved read can find it)."""
    upload(client, [("a/book_doubled.sql", FN_READER), ("ddl/pos.sql", POS)])
    assert graph.rows("SELECT name FROM unresolved_reads") == [("fn_book_positions",)]
    assert ("risk.fn_book_positions.doubled", "rpt.book_doubled.doubled") not in graph.column_edges()
    res = upload(client, [("fn/book.sql", POS_FN)], repository="shared-functions").json()
    assert res["files_reresolved"] == 1
    assert ("risk.fn_book_positions.doubled", "rpt.book_doubled.doubled") in graph.column_edges()
    # resolved now: nothing left to re-resolve when the function changes its body only
    assert graph.rows("SELECT count(*) FROM unresolved_reads") == [(0,)]

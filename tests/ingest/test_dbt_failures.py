"""dbt artifacts that cannot be read fail visibly, like a SQL file that does not parse: an
invalid, truncated, wrongly shaped or unsupported ``manifest.json`` (and an unreadable
``catalog.json`` beside a good one) is a failed file with its true line:col, the run ends
``completed_with_errors``, ``finlineage ingest`` prints ``path:line:col`` and exits 1 (0 with
``--allow-errors``), and nothing of the project is half-written. The manifests are the real one
dbt generated here (dbt_project.py), damaged."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from finlineage.ingest import dbt
from finlineage.ingest.sources import SourceFile
from ingest.conftest import Graph, by_path, upload
from ingest.dbt_project import build, copy_project


@pytest.fixture(scope="session")
def dbt_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory)


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _json_error(text: str) -> tuple[int, int]:
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        return exc.lineno, exc.colno
    raise AssertionError("valid JSON")


def _ingest(client: TestClient, path: Path, project: str) -> dict[str, Any]:
    r = client.post(
        "/api/v1/ingest?wait=true",
        json={"path": str(path), "project_id": project, "repository_name": "dbt", "create_project": True},
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _expand(files: list[SourceFile]) -> tuple[dict[str, SourceFile], list[str]]:
    warnings: list[str] = []
    return {sf.path: sf for sf in dbt.expand(files, warnings)}, warnings


def test_each_kind_of_invalid_manifest_is_a_failed_file_at_its_line(dbt_project: Path) -> None:
    text = (dbt_project / "target" / "manifest.json").read_text()
    pretty = json.dumps(json.loads(text), indent=2)
    cut = len(pretty) // 2
    doc = json.loads(text)
    nodes_as_list = json.dumps({**doc, "nodes": list(doc["nodes"].values())}, indent=2)
    v13 = pretty.replace("/manifest/v12.json", "/manifest/v13.json")
    bad_byte = pretty.encode().replace(b'"nodes"', b'"n\xffodes"', 1)
    missing_comma = pretty.replace('",\n', '"\n', 1)
    cases = {
        # truncated (a copy cut short) and bad JSON: where JSON itself says the text breaks
        "truncated": (pretty[:cut].encode(), _json_error(pretty[:cut])),
        "bad_json": (missing_comma.encode(), _json_error(missing_comma)),
        # valid JSON of the wrong shape, an unsupported version: the key that is wrong
        "wrong_shape": (nodes_as_list.encode(), _position(nodes_as_list, nodes_as_list.index('"nodes"'))),
        "unsupported_version": (v13.encode(), _position(v13, v13.index('"dbt_schema_version"'))),
        "not_utf8": (bad_byte, _position(pretty, pretty.index('"nodes"') + 2)),
    }
    assert cases["truncated"][1][0] > 1 and cases["bad_json"][1][0] > 1  # not line 1
    for case, (data, (line, col)) in cases.items():
        out, _ = _expand(
            [
                SourceFile("desk_book/target/manifest.json", data=data, group="g"),
                SourceFile(
                    "desk_book/models/staging/stg_fills.sql", data=b"select 1 from {{ x }}", group="g"
                ),
                SourceFile("desk_book/target/compiled/desk_book/models/a.sql", data=b"select 1", group="g"),
                SourceFile("procs/load.sql", data=b"select 1", group="g"),
            ]
        )
        manifest = out["desk_book/target/manifest.json"]
        assert manifest.error is not None and manifest.error.startswith("dbt manifest"), case
        assert (manifest.error_line, manifest.error_column) == (line, col), (case, manifest.error)
        assert manifest.error_code == "dbt_manifest_invalid"
        # the project's own Jinja is not parsed as SQL (nothing half-written); it says why
        held = out["desk_book/models/staging/stg_fills.sql"]
        assert held.error is not None and "desk_book/target/manifest.json" in held.error, case
        assert "desk_book/target/compiled/desk_book/models/a.sql" not in out  # dbt's output: never SQL
        assert out["procs/load.sql"].error is None  # outside the dbt project: untouched
    [truncated] = _expand([SourceFile("m/target/manifest.json", data=cases["truncated"][0])])[0].values()
    assert truncated.error is not None and "ends early" in truncated.error


def test_a_json_file_that_is_not_a_dbt_artifact_is_still_only_ignored() -> None:
    out, warnings = _expand(
        [
            SourceFile("web/manifest.json", data=b'{"name": "app", "icons": []}', group="u"),
            SourceFile("web/catalog.json", data=b'{"items": [1, 2]}', group="u"),
            SourceFile("graph/manifest.json", data=b'{"nodes": {"a": {"x": 1}}, "edges": []}', group="u"),
            SourceFile("web/q.sql", data=b"select 1", group="u"),
        ]
    )
    assert set(out) == {"web/q.sql"}
    assert sum("not a dbt manifest" in w for w in warnings) == 2
    assert any("not a dbt catalog" in w for w in warnings)


def test_truncated_manifest_fails_the_run_and_writes_nothing(
    client: TestClient, roots: Path, dbt_project: Path, graph: Graph
) -> None:
    tree = copy_project(dbt_project, roots / "t" / "desk_book")
    path = tree / "target" / "manifest.json"
    text = path.read_text()
    path.write_text(text[: len(text) // 2])
    res = _ingest(client, tree.parent, "trunc")
    assert res["status"] == "completed_with_errors"
    failed = by_path(res)["desk_book/target/manifest.json"]
    assert failed["status"] == "error"
    assert (failed["line"], failed["column"]) == _json_error(text[: len(text) // 2])  # JSON's own
    assert "invalid JSON" in failed["error"]
    [diag] = failed["diagnostics"]
    assert (diag["code"], diag["severity"], diag["line"]) == ("dbt_manifest_invalid", "error", failed["line"])
    assert not any(r["status"] == "processed" for r in res["results"])  # nothing half-written
    assert not [n for n, _ in graph.nodes() if n.startswith("book.")]
    assert res["files_failed"] == len([r for r in res["results"] if r["status"] == "error"])


def test_unreadable_catalog_is_visible_and_the_manifest_still_ingests(
    client: TestClient, roots: Path, dbt_project: Path, graph: Graph
) -> None:
    tree = copy_project(dbt_project, roots / "c" / "desk_book")
    broken = '{"metadata": {"dbt_schema_version": "x"},\n "nodes": [}'
    (tree / "target" / "catalog.json").write_text(broken)
    res = _ingest(client, tree.parent, "cat")
    assert res["status"] == "completed_with_errors"
    results = by_path(res)
    failed = results["desk_book/target/catalog.json"]
    assert failed["status"] == "error" and "dbt catalog" in failed["error"]
    assert (failed["line"], failed["column"]) == _json_error(broken) == (2, 12)
    assert [r["path"] for r in res["results"] if r["status"] == "error"] == ["desk_book/target/catalog.json"]
    assert results["desk_book/models/marts/desk_notional.sql"]["status"] == "processed"
    assert ("book.main.raw_fills.qty", "book.main.stg_fills.notional") in graph.column_edges()


def test_cli_prints_the_manifest_failure_and_exits_1(
    tmp_path: Path, database_url: str, dbt_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from finlineage.cli.main import app

    tree = copy_project(dbt_project, tmp_path / "repo" / "desk_book")
    path = tree / "target" / "manifest.json"
    text = path.read_text()
    broken = text.replace('"nodes": {', '"nodes": {,', 1)
    path.write_text(broken)
    line, col = _position(broken, broken.index('"nodes": {,') + len('"nodes": {'))
    monkeypatch.setenv("FINLINEAGE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FINLINEAGE_DATABASE_URL", database_url)
    monkeypatch.setenv("FINLINEAGE_PARSE_WORKERS", "1")
    runner = CliRunner()
    args = ["ingest", str(tree.parent), "--project", "cli", "--create-project", "--repository", "r", "-q"]
    first = runner.invoke(app, args)
    assert first.exit_code == 1, first.output
    assert f"desk_book/target/manifest.json:{line}:{col}: dbt manifest: invalid JSON" in first.output
    allowed = runner.invoke(app, [*args, "--allow-errors"])
    assert allowed.exit_code == 0, allowed.output
    assert f"desk_book/target/manifest.json:{line}:{col}:" in allowed.output


def test_a_manifest_too_large_to_read_holds_its_project_back(
    make_client: Callable[..., TestClient], roots: Path, dbt_project: Path, graph: Graph
) -> None:
    size = (dbt_project / "target" / "manifest.json").stat().st_size
    client = make_client(dbt_artifact_max_mb=size / 2 / 1048576)  # dbt artifacts' own limit
    tree = copy_project(dbt_project, roots / "big" / "desk_book")
    res = _ingest(client, tree.parent, "big")
    assert res["status"] == "completed_with_errors"
    results = by_path(res)
    too_big = results["desk_book/target/manifest.json"]["error"]
    assert too_big.startswith("file too large") and "FINLINEAGE_DBT_ARTIFACT_MAX_MB" in too_big
    held = results["desk_book/models/marts/desk_notional.sql"]
    assert held["status"] == "error" and "desk_book/target/manifest.json" in held["error"]
    assert not any(r["status"] == "processed" for r in res["results"])
    assert not [n for n, _ in graph.nodes() if n.startswith("book.")]


def test_an_uploaded_project_with_a_broken_manifest_fails_only_as_itself(
    client: TestClient, dbt_project: Path, graph: Graph
) -> None:
    """Loose files (YAML, CSV, dbt_project.yml included): the manifest fails at its line:col,
    the project's SQL is held back naming it, its other files are not reported as non-SQL."""
    files = [
        (f"desk_book/{p.relative_to(dbt_project).as_posix()}", p.read_bytes())
        for p in sorted(dbt_project.rglob("*"))
        if p.is_file() and not p.name.endswith((".duckdb", ".wal", ".gpickle", ".msgpack"))
    ]
    text = dict(files)["desk_book/target/manifest.json"].decode()
    broken = text.replace('"nodes": {', '"nodes": [', 1)
    files = [(n, broken.encode() if n.endswith("target/manifest.json") else d) for n, d in files]
    r = upload(
        client, [*files, ("procs/load.sql", b"create view v as select 1 as x")], project="up", dialect="auto"
    )
    assert r.status_code == 200, r.text
    res = r.json()
    results = by_path(res)
    failed = results["desk_book/target/manifest.json"]
    assert (failed["line"], failed["column"]) == _json_error(broken)
    errors = {p for p, x in results.items() if x["status"] == "error"}
    assert errors == {"desk_book/target/manifest.json"} | {
        p for p in results if p.startswith("desk_book/") and p.endswith(".sql") and "/target/" not in p
    }
    assert not any(p.endswith((".yml", ".csv")) for p in results)
    assert results["procs/load.sql"]["status"] == "processed"  # outside the project
    assert not [n for n, _ in graph.nodes() if n.startswith("book.")]


def test_a_snapshot_with_a_broken_manifest_keeps_the_project_as_stored(
    client: TestClient, roots: Path, dbt_project: Path, graph: Graph
) -> None:
    """A snapshot ingest (what every git ingest is) of a tree whose manifest became unreadable
    removes nothing of that project: its models, sources and seeds stay as the last good run
    stored them."""
    tree = copy_project(dbt_project, roots / "s" / "desk_book")
    body = {"path": str(tree.parent), "project_id": "snap", "repository_name": "dbt", "create_project": True}
    first = client.post("/api/v1/ingest?wait=true", json={**body, "mode": "snapshot"}).json()
    assert first["status"] == "completed", first
    before = graph.snapshot()
    assert ("book.main.raw_fills.qty", "book.main.stg_fills.notional") in before[2]
    path = tree / "target" / "manifest.json"
    path.write_text(path.read_text()[:1000])
    again = client.post("/api/v1/ingest?wait=true", json={**body, "mode": "snapshot"}).json()
    assert again["status"] == "completed_with_errors"
    assert by_path(again)["desk_book/target/manifest.json"]["status"] == "error"
    assert again["files_removed"] == []
    assert graph.snapshot() == before

"""Every source: multipart upload (many files, folder paths, archives), raw SQL, server
directory (inside/outside the roots), git (a `git daemon` on loopback), and the CLI."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from security.gitserve import bare_repo, commit_more, git_daemon

from .conftest import Graph, by_path, make_targz, make_zip, upload

DDL = b"CREATE TABLE risk.positions (id INT, amount DECIMAL(18,2), ccy VARCHAR(3));\n"
VIEW = b"CREATE VIEW rpt.pos AS SELECT id, amount FROM risk.positions;\n"
LOAD = b"INSERT INTO mart.exposure (id, amt) SELECT id, amount FROM rpt.pos;\n"


def test_upload_many_files_keeps_folder_paths(client: TestClient, graph: Graph) -> None:
    res = upload(
        client, [("wh/ddl/positions.sql", DDL), ("wh/views/pos.sql", VIEW), ("wh/etl/load.sql", LOAD)]
    )
    assert res.status_code == 200, res.text
    body = res.json()
    assert set(by_path(body)) == {"wh/ddl/positions.sql", "wh/views/pos.sql", "wh/etl/load.sql"}
    assert body["files_processed"] == 3 and body["files_failed"] == 0
    for key in (
        "project_id",
        "repository_id",
        "ingestion_id",
        "run_id",
        "total_nodes_created",
        "total_edges_created",
        "duration_ms",
        "files_skipped_duplicate",
    ):
        assert key in body
    assert body["total_nodes_created"] >= 3 and body["total_edges_created"] > 0
    assert ("risk.positions", "rpt.pos", "direct") in graph.table_edges()
    assert ("rpt.pos.amount", "mart.exposure.amt") in graph.column_edges()
    r = by_path(body)["wh/ddl/positions.sql"]
    assert r["status"] == "processed" and r["dialect"] == "tsql" and r["objects"] == 1


def test_upload_zip_and_targz(client: TestClient, graph: Graph) -> None:
    z = make_zip([("ddl/positions.sql", DDL), ("views/pos.sql", VIEW), ("README.md", b"# not sql")])
    t = make_targz([("etl/load.sql", LOAD)])
    res = upload(client, [("bundle.zip", z), ("more.tar.gz", t)])
    assert res.status_code == 200, res.text
    paths = by_path(res.json())
    assert set(paths) == {"ddl/positions.sql", "views/pos.sql", "etl/load.sql"}
    assert all(r["status"] == "processed" for r in paths.values())
    assert ("rpt.pos", "mart.exposure", "direct") in graph.table_edges()


def test_raw_sql(client: TestClient, graph: Graph) -> None:
    res = client.post(
        "/api/v1/ingest/sql?wait=true",
        json={
            "sql": DDL.decode() + VIEW.decode(),
            "project_id": "p",
            "create_project": True,
            "dialect": "tsql",
            "path": "snippet.sql",
        },
    )
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["files_processed"] == 1 and body["results"][0]["path"] == "snippet.sql"
    assert ("rpt.pos", "view") in graph.nodes()
    bad = client.post("/api/v1/ingest/sql", json={"sql": "select 1", "project_id": "p", "dialect": "klingon"})
    assert bad.status_code == 400 and bad.json()["error"] == "bad_dialect"
    missing = client.post("/api/v1/ingest/sql", json={"sql": "select 1"})
    assert missing.status_code == 422


def test_server_directory_inside_and_outside_roots(client: TestClient, roots: Path, tmp_path: Path) -> None:
    tree = roots / "warehouse"
    (tree / "ddl").mkdir(parents=True)
    (tree / "ddl" / "positions.sql").write_bytes(DDL)
    (tree / "views.sql").write_bytes(VIEW)
    (tree / "escape.sql").symlink_to("/etc/passwd")
    res = client.post(
        "/api/v1/ingest?wait=true",
        json={"path": str(tree), "project_id": "p", "create_project": True, "dialect": "tsql"},
    )
    assert res.status_code == 200, res.text
    paths = by_path(res.json())
    assert paths["ddl/positions.sql"]["status"] == "processed"
    assert paths["views.sql"]["status"] == "processed"
    assert paths["escape.sql"]["status"] == "error" and "link" in paths["escape.sql"]["error"]

    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "a.sql").write_bytes(DDL)
    res = client.post("/api/v1/ingest", json={"path": str(outside), "project_id": "p"})
    assert res.status_code == 403
    sneaky = client.post("/api/v1/ingest", json={"path": str(roots / ".." / "outside"), "project_id": "p"})
    assert sneaky.status_code == 403
    rel = client.post("/api/v1/ingest", json={"path": "warehouse", "project_id": "p"})
    assert rel.status_code == 422
    # a home directory of no user and a NUL name no file can have: a clear 422, never a 500
    for bad in ("~no-such-user-here/x", f"{roots}/a\x00b"):
        res = client.post("/api/v1/ingest", json={"path": bad, "project_id": "p"})
        assert res.status_code == 422 and "not a valid path" in res.json()["message"], bad


def test_server_directory_needs_admin(make_client, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from finlineage.store import db as store_db
    from finlineage.store import repositories as repo

    client = make_client(auth="on")
    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    with store_db.session_scope(ctx.sessions) as s:
        _, editor_key = repo.create_api_key(s, "ed", "editor")
    res = client.post(
        "/api/v1/ingest", json={"path": "/tmp", "project_id": "p"}, headers={"X-API-Key": editor_key}
    )
    assert res.status_code == 403


def test_git_repository_over_git_daemon(
    make_client: Callable[..., TestClient], roots: Path, tmp_path: Path, graph: Graph
) -> None:
    """A real `git daemon` on loopback (allowed by configuration): refs, dedup across runs, a
    missing ref fails the run. Local paths and file:// are refused (no local clones)."""
    client = make_client(git_allowed_schemes=["git"], git_allowed_hosts=["127.0.0.1"])
    assert client.post("/api/v1/projects", json={"name": "p"}).status_code in (200, 201)
    bare = bare_repo(roots, "sql.git", {"ddl/positions.sql": DDL, "views.sql": VIEW}, tag="v1")
    commit_more(bare, {"etl.sql": LOAD})
    with git_daemon(roots) as port:
        url = f"git://127.0.0.1:{port}/sql.git"
        res = client.post(
            "/api/v1/ingest/git?wait=true",
            json={"url": url, "ref": "v1", "project_id": "p", "dialect": "tsql"},
        )
        assert res.status_code == 200, res.text
        assert set(by_path(res.json())) == {"ddl/positions.sql", "views.sql"}
        res = client.post(
            "/api/v1/ingest/git?wait=true",
            json={"url": url, "ref": "main", "project_id": "p", "dialect": "tsql", "repository_name": "sql"},
        )
        assert res.status_code == 200, res.text
        body = res.json()
        assert body["files_processed"] == 1 and body["files_skipped_duplicate"] == 2
        assert ("rpt.pos", "mart.exposure", "direct") in graph.table_edges()
        bad = client.post("/api/v1/ingest/git?wait=true", json={"url": url, "ref": "nope", "project_id": "p"})
        assert bad.status_code == 200 and bad.json()["status"] == "failed"
        assert "ref was not found" in bad.json()["error"]
    for local in (str(bare), f"file://{bare}", str(tmp_path / "work")):
        refused = client.post("/api/v1/ingest/git", json={"url": local, "project_id": "p"})
        assert refused.status_code == 422, (local, refused.text)


def test_cli_ingest_then_all_skipped(tmp_path: Path, database_url: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from finlineage.cli.main import app

    tree = tmp_path / "corpus"
    (tree / "ddl").mkdir(parents=True)
    (tree / "ddl" / "positions.sql").write_bytes(DDL)
    (tree / "views.sql").write_bytes(VIEW)
    (tree / "bad.sql").write_bytes(b"\x00\x01binary")
    monkeypatch.setenv("FINLINEAGE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FINLINEAGE_DATABASE_URL", database_url)
    monkeypatch.setenv("FINLINEAGE_PARSE_WORKERS", "1")
    runner = CliRunner()
    first = runner.invoke(
        app,
        [
            "ingest",
            str(tree),
            "--project",
            "demo",
            "--create-project",
            "--repository",
            "wh",
            "--dialect",
            "tsql",
        ],
    )
    assert first.exit_code == 1, first.output  # a file failed
    assert "files processed" in first.output and "bad.sql: binary file" in first.output
    second = runner.invoke(
        app, ["ingest", str(tree), "--project", "demo", "--repository", "wh", "--json", "--allow-errors"]
    )
    assert second.exit_code == 0, second.output
    import json

    body = json.loads(second.stdout[second.stdout.index("{") :])
    print({k: v for k, v in body.items() if k != "results"}, body["results"])
    assert body["files_skipped_duplicate"] == 2 and body["files_processed"] == 0

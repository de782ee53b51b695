"""A dbt manifest or catalog that cannot be read is a stored failed file of its repository, like a
SQL file that does not parse: ``GET /api/v1/files?status=error`` (the dashboard's failed files),
the MCP / chat ``failed_files`` read and the file stats show it with its line:col; a later run that
reads a good one clears it (no longer listed, not reported as a removed file), in both ingest modes
(add and snapshot), on a real uvicorn server. The manifests are the real one dbt generated here
(dbt_project.py), damaged."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from finlineage.api.app import create_app
from finlineage.query import chat_reads
from finlineage.store import db as store_db
from ingest.dbt_project import build, copy_project
from realtime.conftest import ThreadServer
from support import app_settings

MANIFEST = "desk_book/target/manifest.json"
CATALOG = "desk_book/target/catalog.json"


@pytest.fixture(scope="session")
def dbt_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory)


@pytest.fixture
def server(tmp_path: Path, database_url: str, roots: Path) -> Iterator[ThreadServer]:
    settings = app_settings(tmp_path, database_url, ingest_roots=[str(roots)], parse_workers=2)
    srv = ThreadServer(create_app(settings)).start()
    yield srv
    srv.stop()


def _json_error(text: str) -> tuple[int, int]:
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        return exc.lineno, exc.colno
    raise AssertionError("valid JSON")


class _Repo:
    def __init__(self, server: ThreadServer, database_url: str, tree: Path, mode: str) -> None:
        self.url, self.database_url, self.tree, self.mode = server.http, database_url, tree, mode
        self.project_id = 0

    def ingest(self) -> dict[str, Any]:
        body = {
            "path": str(self.tree.parent),
            "project_id": "failed",
            "repository_name": "dbt",
            "create_project": True,
            "mode": self.mode,
        }
        r = httpx.post(f"{self.url}/api/v1/ingest?wait=true", json=body, timeout=300)
        assert r.status_code == 200, r.text
        res: dict[str, Any] = r.json()
        self.project_id = int(res["project_id"])
        return res

    def failed(self) -> dict[str, dict[str, Any]]:
        """The failed-files list of the API (what the dashboard shows), by path."""
        r = httpx.get(
            f"{self.url}/api/v1/files",
            params={"project_id": self.project_id, "status": "error", "limit": 500},
        )
        assert r.status_code == 200, r.text
        return {f["path"]: f for f in r.json()["items"]}

    def mcp_failed(self) -> dict[str, int | None]:
        """What MCP's and chat's ``failed_files`` read: path → line."""
        engine = store_db.create_engine_for(self.database_url)
        try:
            with store_db.session_factory(engine)() as s:
                return {f.path: f.line for f in chat_reads.failed_files(s, self.project_id)}
        finally:
            engine.dispose()

    def stats(self) -> dict[str, int]:
        r = httpx.get(f"{self.url}/api/v1/files/stats", params={"project_id": self.project_id})
        assert r.status_code == 200, r.text
        by_status: dict[str, int] = r.json()["by_status"]
        return by_status


@pytest.mark.parametrize("mode", ["add", "snapshot"])
def test_a_failed_manifest_is_listed_as_a_failed_file_until_a_good_one_clears_it(
    server: ThreadServer, database_url: str, roots: Path, dbt_project: Path, mode: str
) -> None:
    tree = copy_project(dbt_project, roots / mode / "desk_book")
    repo = _Repo(server, database_url, tree, mode)
    path = tree / "target" / "manifest.json"
    good = path.read_text()
    first = repo.ingest()
    assert first["status"] == "completed"
    assert MANIFEST not in repo.failed() and MANIFEST not in repo.mcp_failed()

    broken = good[: len(good) // 2]  # cut short, as an interrupted copy leaves it
    path.write_text(broken)
    line, col = _json_error(broken)
    second = repo.ingest()
    assert second["status"] == "completed_with_errors"
    row = repo.failed()[MANIFEST]
    assert (row["status"], row["error_line"], row["error_column"]) == ("error", line, col)
    assert row["error"].startswith("dbt manifest: invalid JSON") and "ends early" in row["error"]
    assert row["size"] == len(broken.encode())
    assert repo.mcp_failed()[MANIFEST] == line
    assert repo.stats().get("error") == 1
    # the failed file's text is stored: its error line can be read back as evidence
    r = httpx.get(f"{repo.url}/api/v1/files/{row['id']}/content", params={"from": line, "to": line})
    assert r.status_code == 200, r.text
    assert r.json()["lines"] == [broken.split("\n")[line - 1]]
    assert second["files_removed"] == []

    path.write_text(good)
    third = repo.ingest()
    assert third["status"] == "completed", [x for x in third["results"] if x["status"] == "error"]
    assert MANIFEST not in repo.failed() and MANIFEST not in repo.mcp_failed()
    assert repo.stats().get("error") is None
    assert third["files_removed"] == []  # cleared, not reported as a file the snapshot removed
    r = httpx.get(f"{repo.url}/api/v1/files/{row['id']}")
    assert r.status_code == 200 and r.json()["status"] == "superseded"

    path.write_text(broken)  # broken again (the same text): listed again
    fourth = repo.ingest()
    assert fourth["status"] == "completed_with_errors"
    again = repo.failed()[MANIFEST]
    assert (again["error_line"], again["error_column"]) == (line, col) and again["id"] != row["id"]


def test_a_failed_catalog_and_a_too_large_manifest_are_failed_files_too(
    server: ThreadServer, database_url: str, roots: Path, dbt_project: Path
) -> None:
    tree = copy_project(dbt_project, roots / "cat" / "desk_book")
    repo = _Repo(server, database_url, tree, "add")
    catalog = tree / "target" / "catalog.json"
    good = catalog.read_text()
    catalog.write_text('{"metadata": {"dbt_schema_version": "x"},\n "nodes": [}')
    repo.ingest()
    row = repo.failed()[CATALOG]
    assert (row["error_line"], row["error_column"]) == (2, 12) and row["error"].startswith("dbt catalog")
    assert MANIFEST not in repo.failed()  # the manifest itself is fine: the project is ingested
    shutil.copyfile(dbt_project / "target" / "catalog.json", catalog)
    assert catalog.read_text() == good
    assert repo.ingest()["status"] == "completed"
    assert repo.failed() == {}


def test_a_manifest_over_the_artifact_limit_is_a_stored_failed_file(
    tmp_path: Path, database_url: str, roots: Path, dbt_project: Path
) -> None:
    size = (dbt_project / "target" / "manifest.json").stat().st_size
    settings = app_settings(
        tmp_path, database_url, ingest_roots=[str(roots)], dbt_artifact_max_mb=size / 2 / 1048576
    )
    server = ThreadServer(create_app(settings)).start()
    try:
        tree = copy_project(dbt_project, roots / "big" / "desk_book")
        repo = _Repo(server, database_url, tree, "snapshot")
        assert repo.ingest()["status"] == "completed_with_errors"
        row = repo.failed()[MANIFEST]
        assert "FINLINEAGE_DBT_ARTIFACT_MAX_MB" in row["error"] and row["size"] == size
        assert row["error_line"] is None  # not read: no position to give
    finally:
        server.stop()


def test_an_unsafe_archive_member_named_like_an_artifact_is_reported_not_stored(
    server: ThreadServer, database_url: str, roots: Path
) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("../escape/target/manifest.json", b"{}")
        zf.writestr("ok/q.sql", b"create view v as select 1 as x")
    files = [("files", ("bundle.zip", buf.getvalue(), "application/zip"))]
    form = {"project_id": "unsafe", "create_project": "true"}
    r = httpx.post(f"{server.http}/api/v1/files/upload?wait=true", data=form, files=files, timeout=300)
    assert r.status_code == 200, r.text
    res = r.json()
    [bad] = [x for x in res["results"] if x["path"].endswith("manifest.json")]
    assert bad["status"] == "error" and "unsafe archive member" in bad["error"]
    repo = _Repo(server, database_url, roots, "add")
    repo.project_id = int(res["project_id"])
    assert repo.failed() == {}  # reported in the run; never a `files` row with `..` in its path

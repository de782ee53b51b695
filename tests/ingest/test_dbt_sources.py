"""A dbt project (real manifest, see dbt_project.py) is found in every kind of ingest: uploaded
files, an uploaded archive, a git repository (the server-directory ingest is in test_dbt.py)."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ingest.conftest import upload
from ingest.dbt_project import build
from security.gitserve import bare_repo, git_daemon

SKIP = (".duckdb", ".wal", ".gpickle", ".msgpack")


@pytest.fixture(scope="session")
def dbt_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory)


def project_files(root: Path) -> list[tuple[str, bytes]]:
    return [
        (f"desk_book/{p.relative_to(root).as_posix()}", p.read_bytes())
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.endswith(SKIP)
    ]


def assert_dbt_lineage(client: TestClient, res: dict[str, Any]) -> None:
    assert res["status"] == "completed", [x for x in res["results"] if x["status"] == "error"]
    assert not [x for x in res["results"] if x["status"] == "error"]
    paths = {r["path"] for r in res["results"]}
    assert "desk_book/models/marts/desk_notional.sql" in paths
    assert "desk_book/models/staging/usd_fills.sql" not in paths  # ephemeral
    pid = res["project_id"]
    up = client.get(
        f"/api/v1/lineage/column/book.main.desk_notional.notional_cents/upstream?project_id={pid}"
    )
    assert {"book.main.raw_fills.qty", "book.main.raw_fills.px"} <= {
        n["canonical_id"] for n in up.json()["nodes"]
    }
    node = client.get(f"/api/v1/lineage/node/book.main.desk_notional?project_id={pid}").json()
    assert "{{ ref('usd_fills') }}" in node["definition"]  # evidence: the file as written


def test_dbt_project_in_uploaded_files(client: TestClient, dbt_project: Path) -> None:
    r = upload(client, project_files(dbt_project), project="files", repository="dbt-files", dialect="auto")
    assert r.status_code == 200, r.text
    assert_dbt_lineage(client, r.json())


def test_dbt_project_in_an_uploaded_archive(client: TestClient, dbt_project: Path) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in project_files(dbt_project):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    r = upload(client, [("analytics.tar.gz", buf.getvalue())], project="archive", repository="dbt-upload")
    assert r.status_code == 200, r.text
    assert_dbt_lineage(client, r.json())


def test_dbt_project_in_a_git_repository(
    make_client: Callable[..., TestClient], roots: Path, dbt_project: Path
) -> None:
    client = make_client(git_allowed_schemes=["git"], git_allowed_hosts=["127.0.0.1"])
    bare_repo(roots, "analytics.git", dict(project_files(dbt_project)))
    with git_daemon(roots) as port:
        r = client.post(
            "/api/v1/ingest/git?wait=true",
            json={
                "url": f"git://127.0.0.1:{port}/analytics.git",
                "ref": "main",
                "project_id": "git",
                "create_project": True,
                "repository_name": "analytics",
            },
        )
    assert r.status_code == 200, r.text
    assert_dbt_lineage(client, r.json())
    # the export's job for a model points at the model's file in the repository, with its text
    pid = r.json()["project_id"]
    events = client.get(f"/api/v1/export?format=openlineage&project_id={pid}").json()
    job = next(e["job"] for e in events if e["job"]["name"] == "book.main.desk_notional")
    assert job["facets"]["sourceCodeLocation"]["path"] == "desk_book/models/marts/desk_notional.sql"
    assert "{{ ref('usd_fills') }}" in job["facets"]["sql"]["query"]  # the file as written

"""A server-side git ingestion records the commit it was built from: the graph version of the
run carries the cloned HEAD's SHA (a real `git daemon` on loopback)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

from security.gitserve import bare_repo, commit_more, git_daemon

DDL = b"CREATE TABLE risk.positions (id INT, amount DECIMAL(18,2));\n"
VIEW = b"CREATE VIEW rpt.pos AS SELECT id, amount FROM risk.positions;\n"
LOAD = b"INSERT INTO mart.exposure (id, amt) SELECT id, amount FROM rpt.pos;\n"


def _sha(work: Path, rev: str) -> str:
    out = subprocess.run(["git", "rev-parse", f"{rev}^{{commit}}"], cwd=work, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_each_git_run_version_records_the_cloned_commit(
    make_client: Callable[..., TestClient], roots: Path
) -> None:
    client = make_client(git_allowed_schemes=["git"], git_allowed_hosts=["127.0.0.1"])
    r = client.post("/api/v1/projects", json={"name": "p"})
    assert r.status_code in (200, 201), r.text
    pid = r.json()["id"]
    bare = bare_repo(roots, "sql.git", {"ddl/positions.sql": DDL, "views.sql": VIEW}, tag="v1")
    work = bare.with_name("sql.git.work")
    tagged = _sha(work, "v1")
    commit_more(bare, {"etl.sql": LOAD})
    head = _sha(work, "main")
    assert tagged != head
    with git_daemon(roots) as port:
        url = f"git://127.0.0.1:{port}/sql.git"
        for ref in ("v1", "main"):
            res = client.post(
                "/api/v1/ingest/git?wait=true",
                json={"url": url, "ref": ref, "project_id": "p", "dialect": "tsql", "repository_name": "sql"},
            )
            assert res.status_code == 200 and res.json()["status"] == "completed", res.text
    body = client.get(f"/api/v1/projects/{pid}/versions").json()
    got = [(v["version"], v["source"], v["ref"], v["commit"]) for v in body["versions"]]
    assert got == [(1, "git", "v1", tagged), (2, "git", "main", head)]

"""dbt artifacts at real-world size: a large project's ``manifest.json`` (20-150 MB: hundreds of
models, thousands of macros and tests) is read under its own limit (FINLINEAGE_DBT_ARTIFACT_MAX_MB,
not the SQL files' FINLINEAGE_MAX_FILE_MB) from a directory and from an upload, on a real uvicorn
server; limits that stop it name the setting to raise.

No big file is committed: ``grow`` makes a ~60 MB manifest in ``tmp_path`` from the real one dbt
generated here (dbt_project.py), by cloning its models (each copy reading its own copy of the
models upstream, the seeds and sources shared), its test node and its macros under new names.
``python tests/ingest/test_dbt_large.py <project> <out>`` writes one for measuring by hand.
"""

from __future__ import annotations

import copy
import io
import json
import sys
import tarfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from finlineage.api.app import create_app
from ingest.conftest import Graph
from ingest.dbt_project import build, copy_project
from realtime.conftest import ThreadServer
from support import app_settings

MIB = 1024 * 1024


@pytest.fixture(scope="session")
def dbt_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory)


@pytest.fixture
def make_server(tmp_path: Path, database_url: str, roots: Path) -> Iterator[Callable[..., ThreadServer]]:
    servers: list[ThreadServer] = []

    def _make(**overrides: Any) -> ThreadServer:
        values: dict[str, Any] = {"ingest_roots": [str(roots)], "parse_workers": 2, **overrides}
        server = ThreadServer(create_app(app_settings(tmp_path, database_url, **values))).start()
        servers.append(server)
        return server

    yield _make
    for server in servers:
        server.stop()


def grow(doc: dict[str, Any], copies: int, target_bytes: int) -> dict[str, Any]:
    """A copy of the manifest ``doc`` with ``copies`` clones of every model (``<name>_c<k>``, in
    ``models/c<k>/``), of its test nodes, and of its macros until the JSON is about
    ``target_bytes``."""
    out = copy.deepcopy(doc)
    nodes: dict[str, Any] = out["nodes"]
    models = {uid: n for uid, n in doc["nodes"].items() if n["resource_type"] == "model"}
    tests = [n for n in doc["nodes"].values() if n["resource_type"] == "test"]
    for k in range(copies):
        renames = {uid: f"{uid}_c{k}" for uid in models}
        for uid, node in models.items():
            clone = copy.deepcopy(node)
            name = f"{node['name']}_c{k}"
            clone.update(name=name, alias=name, unique_id=renames[uid])
            clone["fqn"] = [*node["fqn"][:-1], name]
            clone["original_file_path"] = node["original_file_path"].replace("models/", f"models/c{k}/", 1)
            clone["path"] = f"c{k}/{node['path']}"
            code = str(node.get("compiled_code") or "")
            for other in models.values():  # read the upstream models of the same copy
                code = code.replace(f'"main"."{other["name"]}"', f'"main"."{other["name"]}_c{k}"')
            clone["compiled_code"] = code
            if node.get("relation_name"):
                clone["relation_name"] = node["relation_name"].replace(f'"{node["name"]}"', f'"{name}"')
            deps = clone["depends_on"]["nodes"]
            clone["depends_on"]["nodes"] = [renames.get(d, d) for d in deps]
            nodes[renames[uid]] = clone
        for test in tests:
            clone = copy.deepcopy(test)
            clone["unique_id"] = uid = f"{test['unique_id']}_c{k}"
            clone["name"] = f"{test['name']}_c{k}"
            nodes[uid] = clone
    size = len(json.dumps(out))
    macros = list(doc["macros"].values())
    per_round = len(json.dumps(doc["macros"]))
    rounds = max(0, (target_bytes - size) // max(per_round, 1))
    for r in range(rounds):
        for macro in macros:
            clone = copy.deepcopy(macro)
            clone["name"] = f"{macro['name']}_m{r}"
            clone["unique_id"] = uid = f"{macro['unique_id']}_m{r}"
            clone["original_file_path"] = f"macros/generated_{r}/{macro['name']}.sql"
            out["macros"][uid] = clone
    return out


def write_grown(project: Path, dest: Path, copies: int, target_mb: float) -> Path:
    """The project at ``dest`` with its manifest grown (see ``grow``); returns the manifest."""
    tree = copy_project(project, dest)
    path = tree / "target" / "manifest.json"
    doc = json.loads(path.read_text())
    path.write_text(json.dumps(grow(doc, copies, int(target_mb * MIB))))
    return path


COPIES = 40


def _zip(manifest: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("desk_book/target/manifest.json", manifest)
    return buf.getvalue()


def _tgz(manifest: bytes) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        info = tarfile.TarInfo("desk_book/target/manifest.json")
        info.size = len(manifest)
        tf.addfile(info, io.BytesIO(manifest))
    return buf.getvalue()


def test_a_60_mb_manifest_is_ingested_under_the_default_limits(
    make_server: Callable[..., ThreadServer], roots: Path, dbt_project: Path, graph: Graph
) -> None:
    manifest = write_grown(dbt_project, roots / "big" / "desk_book", COPIES, 60)
    size = manifest.stat().st_size
    assert size > 55 * MIB  # far over FINLINEAGE_MAX_FILE_MB's default (10)
    server = make_server()
    assert server.app.state.ctx.settings.max_file_mb == 10
    r = httpx.post(
        f"{server.http}/api/v1/ingest?wait=true",
        json={"path": str(manifest.parents[2]), "project_id": "big", "create_project": True},
        timeout=900,
    )
    assert r.status_code == 200, r.text
    res = r.json()
    assert res["status"] == "completed", [x for x in res["results"] if x["status"] == "error"][:3]
    paths = {x["path"] for x in res["results"]}
    assert "desk_book/target/manifest.json" not in paths  # read, not a failed file
    assert f"desk_book/models/c{COPIES - 1}/marts/fills_usd.sql" in paths  # every copy's models
    edges = graph.column_edges()
    for k in (0, COPIES - 1):  # each copy reads its own upstream copy, across models
        assert ("book.main.raw_fills.qty", f"book.main.stg_fills_c{k}.notional") in edges
        assert (f"book.main.stg_fills_c{k}.notional", f"book.main.fills_usd_c{k}.notional_usd") in edges


def test_an_uploaded_large_manifest_and_the_limits_that_stop_it_name_their_setting(
    make_server: Callable[..., ThreadServer], tmp_path: Path, dbt_project: Path
) -> None:
    manifest = write_grown(dbt_project, tmp_path / "up" / "desk_book", 2, 12)
    data = manifest.read_bytes()
    assert len(data) > 11 * MIB  # over FINLINEAGE_MAX_FILE_MB (10): once "file too large"
    server = make_server()
    form = {"project_id": "up", "create_project": "true"}
    files = [("files", ("desk_book/target/manifest.json", data, "application/json"))]
    r = httpx.post(f"{server.http}/api/v1/files/upload?wait=true", data=form, files=files, timeout=600)
    assert r.status_code == 200, r.text
    res = r.json()
    assert res["status"] == "completed", [x for x in res["results"] if x["status"] == "error"][:3]
    assert any(x["path"] == "desk_book/models/c1/marts/fills_all.sql" for x in res["results"])
    for name, packed in (("project.zip", _zip(data)), ("project.tar.gz", _tgz(data))):  # archives too
        archive = [("files", (name, packed, "application/octet-stream"))]
        r = httpx.post(f"{server.http}/api/v1/files/upload?wait=true", data=form, files=archive, timeout=600)
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "completed", (name, [x for x in r.json()["results"] if x["error"]][:3])

    # the artifact's own limit, and the request body's: each error says what to raise
    small = make_server(dbt_artifact_max_mb=10)
    r = httpx.post(f"{small.http}/api/v1/files/upload?wait=true", data=form, files=files, timeout=600)
    assert r.status_code == 200, r.text
    [failed] = [x for x in r.json()["results"] if x["path"] == "desk_book/target/manifest.json"]
    assert failed["status"] == "error" and "FINLINEAGE_DBT_ARTIFACT_MAX_MB" in failed["error"]
    tight = make_server(request_max_body_mb=5)
    r = httpx.post(f"{tight.http}/api/v1/files/upload?wait=true", data=form, files=files, timeout=600)
    assert r.status_code == 413, r.text
    assert "FINLINEAGE_REQUEST_MAX_BODY_MB" in r.json()["message"]


if __name__ == "__main__":  # python tests/ingest/test_dbt_large.py <dbt project> <dest> [copies] [MB]
    src, dest = Path(sys.argv[1]), Path(sys.argv[2])
    n, mb = (int(sys.argv[3]), float(sys.argv[4])) if len(sys.argv) > 4 else (COPIES, 60.0)
    print(write_grown(src, dest, n, mb))

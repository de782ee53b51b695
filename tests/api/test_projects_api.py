"""Projects and repositories CRUD over HTTP on both backends."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from query.seed import seed_url


def test_project_crud_and_conflicts(make_client: Callable[..., TestClient]) -> None:
    c = make_client()
    created = c.post("/api/v1/projects", json={"name": "risk", "description": "market risk"})
    assert created.status_code == 201
    p = created.json()
    assert p["name"] == "risk" and p["repositories"] == 0 and p["objects"] == 0
    dup = c.post("/api/v1/projects", json={"name": "RISK"})
    assert dup.status_code == 409 and dup.json()["error"] == "conflict"
    assert c.post("/api/v1/projects", json={"name": ""}).status_code == 422
    assert c.post("/api/v1/projects", json={"name": "x", "bogus": 1}).status_code == 422
    other = c.post("/api/v1/projects", json={"name": "finance"}).json()

    listing = c.get("/api/v1/projects").json()
    assert [x["name"] for x in listing["items"]] == ["finance", "risk"] and listing["total"] == 2
    assert c.get("/api/v1/projects", params={"name": "FIN"}).json()["total"] == 1
    assert c.get(f"/api/v1/projects/{p['id']}").json()["description"] == "market risk"

    patched = c.patch(f"/api/v1/projects/{p['id']}", json={"description": "credit risk"}).json()
    assert patched["description"] == "credit risk" and patched["name"] == "risk"
    assert c.patch(f"/api/v1/projects/{p['id']}", json={"name": "finance"}).status_code == 409
    assert c.patch(f"/api/v1/projects/{p['id']}", json={"name": "risk-2"}).json()["name"] == "risk-2"
    assert c.patch("/api/v1/projects/9999", json={"name": "z"}).status_code == 404

    repo = c.post(
        f"/api/v1/projects/{p['id']}/repositories",
        json={"name": "warehouse", "kind": "git", "url": "file:///srv/wh.git", "ref": "main"},
    )
    assert repo.status_code == 201 and repo.json()["kind"] == "git" and repo.json()["project_id"] == p["id"]
    assert c.post(f"/api/v1/projects/{p['id']}/repositories", json={"name": "warehouse"}).status_code == 409
    # the same repository name in another project is fine
    assert (
        c.post(f"/api/v1/projects/{other['id']}/repositories", json={"name": "warehouse"}).status_code == 201
    )
    assert (
        c.post(f"/api/v1/projects/{p['id']}/repositories", json={"name": "x", "kind": "ftp"}).status_code
        == 422
    )
    assert c.post("/api/v1/projects/9999/repositories", json={"name": "x"}).status_code == 404
    repos = c.get(f"/api/v1/projects/{p['id']}/repositories").json()
    assert [r["name"] for r in repos["items"]] == ["warehouse"] and repos["total"] == 1
    assert c.get(f"/api/v1/projects/{p['id']}").json()["repositories"] == 1

    assert c.delete(f"/api/v1/projects/{p['id']}").status_code == 204
    gone = c.get(f"/api/v1/projects/{p['id']}")
    assert gone.status_code == 404 and gone.json()["error"] == "not_found"
    assert c.delete(f"/api/v1/projects/{p['id']}").status_code == 404
    assert c.get(f"/api/v1/projects/{p['id']}/repositories").status_code == 404
    assert c.get("/api/v1/projects/abc").status_code == 422


def test_delete_cascades_to_the_graph(make_client: Callable[..., TestClient], database_url: str) -> None:
    bank = seed_url(database_url)
    c = make_client()
    assert c.get("/api/v1/projects").json()["total"] == 2
    assert c.get(f"/api/v1/projects/{bank.project_id}").json()["objects"] == 7
    assert c.delete(f"/api/v1/projects/{bank.project_id}").status_code == 204
    assert c.get("/api/v1/lineage/nodes").json()["total"] == 3  # only the other project's
    assert c.get("/api/v1/lineage/edges", params={"granularity": "column"}).json()["total"] == 2
    assert c.get("/api/v1/files").json()["total"] == 1
    assert c.get("/api/v1/lineage/search", params={"q": "exposure"}).json()["total"] == 0
    assert c.get("/api/v1/lineage/node/stg.trades").json()["canonical_id"] == "STG.TRADES"

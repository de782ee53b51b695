"""dbt: a real manifest (dbt-core + dbt-duckdb run here, offline) ingested as a dbt project."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from openlineage_native.conftest import REPO_ROOT, ingest_dir

DBT = REPO_ROOT / ".venv-dbt" / "bin" / "dbt"

PROJECT = {
    "dbt_project.yml": (
        "name: desk_book\nversion: '1.0'\nconfig-version: 2\nprofile: desk_book\n"
        "model-paths: ['models']\nseed-paths: ['seeds']\nmacro-paths: ['macros']\n"
    ),
    "profiles.yml": (
        "desk_book:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: book.duckdb\n      threads: 1\n"
    ),
    "seeds/raw_fills.csv": "fill_id,desk,qty,px,ccy\n1,rates,10,99.5,USD\n2,fx,5,1.1,EUR\n",
    "models/schema.yml": (
        "version: 2\nmodels:\n  - name: stg_fills\n    description: Fills, cleaned\n"
        "    columns:\n      - name: fill_id\n        description: The fill key\n        tests: [not_null]\n"
    ),
    "macros/cents.sql": "{% macro to_cents(col) %}({{ col }} * 100){% endmacro %}\n",
    "models/staging/stg_fills.sql": (
        "{{ config(materialized='view') }}\nselect\n    fill_id,\n    lower(desk) as desk,\n"
        "    qty * px as notional,\n    ccy\nfrom {{ ref('raw_fills') }}\n"
    ),
    "models/staging/usd_fills.sql": (
        "{{ config(materialized='ephemeral') }}\nselect * from {{ ref('stg_fills') }} where ccy = 'USD'\n"
    ),
    "models/marts/desk_notional.sql": (
        "{{ config(materialized='table') }}\nselect\n    desk,\n    sum({{ to_cents('notional') }}) as notional_cents\n"
        "from {{ ref('usd_fills') }}\ngroup by desk\n"
    ),
}


@pytest.fixture(scope="session")
def dbt_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small dbt project built with the real dbt (seed, run, docs generate): target/manifest.json
    and target/catalog.json are dbt's own."""
    assert DBT.exists(), f"dbt is not installed at {DBT} (make dbt-env)"
    root = tmp_path_factory.mktemp("dbt") / "desk_book"
    for rel, text in PROJECT.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    env = {
        **os.environ,
        "DBT_PROFILES_DIR": str(root),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
        "DBT_VERSION_CHECK": "false",
    }
    for cmd in (["seed"], ["run"], ["docs", "generate"]):
        done = subprocess.run(
            [str(DBT), *cmd], cwd=root, env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stdout + done.stderr
    assert (root / "target" / "manifest.json").exists() and (root / "target" / "catalog.json").exists()
    return root


def test_dbt_manifest_ingested_with_column_lineage_across_models(
    client: TestClient, roots: Path, dbt_project: Path
) -> None:
    tree = roots / "analytics"
    shutil.copytree(dbt_project, tree / "desk_book", ignore=shutil.ignore_patterns("*.duckdb", "*.wal"))
    res = ingest_dir(client, tree, "analytics", "dbt-repo")
    failed = [r for r in res["results"] if r["status"] == "error"]
    assert failed == [], failed
    paths = {r["path"] for r in res["results"]}
    assert "desk_book/models/marts/desk_notional.sql" in paths
    assert "desk_book/seeds/raw_fills.csv" in paths  # the seed, as a table
    assert not any(p.startswith("desk_book/target/") or p.endswith("cents.sql") for p in paths)
    assert "desk_book/models/staging/usd_fills.sql" not in paths  # ephemeral: inlined

    pid = res["project_id"]
    r = client.get(
        f"/api/v1/lineage/column/book.main.desk_notional.notional_cents/upstream?depth=10&project_id={pid}"
    )
    assert r.status_code == 200, r.text
    names = {n["canonical_id"] for n in r.json()["nodes"]}
    # through the ephemeral model's SELECT * and the view to the seed's columns
    assert "book.main.stg_fills.notional" in names
    assert {"book.main.raw_fills.qty", "book.main.raw_fills.px"} <= names
    node = client.get(f"/api/v1/lineage/node/book.main.stg_fills?project_id={pid}").json()
    assert node["kind"] == "view"
    assert {c["name"] for c in node["columns"]} == {"fill_id", "desk", "notional", "ccy"}
    # exported with the adapter's namespace and the model as a job
    events = client.get(f"/api/v1/export?format=openlineage&project_id={pid}").json()
    job = next(e for e in events if e["job"]["name"] == "book.main.desk_notional")
    assert job["job"]["namespace"] == "duckdb://dbt-repo"
    cl = job["outputs"][0]["facets"]["columnLineage"]["fields"]["notional_cents"]
    assert ("DIRECT", "AGGREGATION") in {
        (t["type"], t["subtype"]) for f in cl["inputFields"] for t in f["transformations"]
    }


def test_dbt_project_in_an_uploaded_archive(client: TestClient, dbt_project: Path, tmp_path: Path) -> None:
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for p in sorted(dbt_project.rglob("*")):
            if p.is_file() and not p.name.endswith((".duckdb", ".wal", ".gpickle", ".msgpack")):
                tar.add(p, arcname=f"desk_book/{p.relative_to(dbt_project)}")
    r = client.post(
        "/api/v1/files/upload?wait=true",
        files={"files": ("analytics.tar.gz", buf.getvalue(), "application/gzip")},
        data={"project_id": "uploaded", "create_project": "true", "repository_name": "dbt-upload"},
    )
    assert r.status_code in (200, 201, 202), r.text
    res = r.json()
    assert res["status"] == "completed", res
    assert not [x for x in res["results"] if x["status"] == "error"]
    pid = res["project_id"]
    up = client.get(
        f"/api/v1/lineage/column/book.main.desk_notional.notional_cents/upstream?project_id={pid}"
    )
    assert "book.main.raw_fills.qty" in {n["canonical_id"] for n in up.json()["nodes"]}

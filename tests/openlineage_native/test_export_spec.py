"""Spec-exact OpenLineage export: official schemas, namespaces per dialect, jobs, facets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from openlineage_native.conftest import LEDGER, SpecValidator, ingest_dir, write_tree


def _export(client: TestClient, project_id: int) -> list[dict[str, Any]]:
    r = client.get(f"/api/v1/export?format=openlineage&project_id={project_id}")
    assert r.status_code == 200, r.text
    events: list[dict[str, Any]] = r.json()
    return events


def _by_job(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {e["job"]["name"]: e for e in events}


def test_export_is_valid_against_the_official_schemas(
    client: TestClient, roots: Path, spec: SpecValidator
) -> None:
    tree = write_tree(roots / "ledger", LEDGER)
    res = ingest_dir(client, tree, "ledger", "risk-db")
    events = _export(client, res["project_id"])
    assert events
    for e in events:
        assert spec.run_event(e) == [], e["job"]["name"]
    # a broken event is caught by the same validator (it can fail)
    broken = dict(events[0])
    broken["run"] = {"runId": "not-a-uuid", "facets": {}}
    assert spec.run_event(broken)


def test_namespaces_per_dialect_and_repository_setting(client: TestClient, roots: Path) -> None:
    tree = write_tree(roots / "ledger", LEDGER)
    res = ingest_dir(client, tree, "ledger", "risk-db")
    jobs = _by_job(_export(client, res["project_id"]))
    assert jobs["rpt.load_book_volume"]["job"]["namespace"] == "mssql://risk-db"
    assert {d["namespace"] for d in jobs["rpt.load_book_volume"]["inputs"]} == {"mssql://risk-db"}
    snow = jobs["mart.mark_history"]
    assert snow["job"]["namespace"] == "snowflake://risk-db"
    assert [d["name"] for d in snow["outputs"]] == ["mart.mark_history"]
    assert jobs["rollup"]["job"]["namespace"] == "postgres://risk-db"  # two objects: the file stem

    r = client.put(
        f"/api/v1/repositories/{res['repository_id']}/namespace", json={"namespace": "risk-db.corp:1433"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["authority"] == "risk-db.corp:1433"
    repos = client.get(f"/api/v1/projects/{res['project_id']}/repositories").json()["items"]
    assert [x["namespace"] for x in repos] == ["risk-db.corp:1433"]
    jobs = _by_job(_export(client, res["project_id"]))
    assert jobs["rpt.load_book_volume"]["inputs"][0]["namespace"] == "mssql://risk-db.corp:1433"
    assert jobs["mart.mark_history"]["job"]["namespace"] == "snowflake://risk-db.corp:1433"
    assert client.put("/api/v1/repositories/999999/namespace", json={"namespace": "x"}).status_code == 404


def test_routines_and_views_are_jobs_never_datasets(client: TestClient, roots: Path) -> None:
    tree = write_tree(roots / "ledger", LEDGER)
    res = ingest_dir(client, tree, "ledger", "risk-db")
    events = _export(client, res["project_id"])
    jobs = _by_job(events)
    datasets = {d["name"] for e in events for d in [*e["inputs"], *e["outputs"]]}
    assert "rpt.load_book_volume" not in datasets
    assert {"src.fills", "rpt.book_volume", "rpt.large_fills"} <= datasets
    proc = jobs["rpt.load_book_volume"]["job"]["facets"]
    assert proc["jobType"]["jobType"] == "STORED_PROCEDURE"
    assert proc["jobType"]["integration"] == "FINLINEAGE" and proc["jobType"]["processingType"] == "BATCH"
    assert "SUM(f.qty * f.px)" in proc["sql"]["query"]
    view = jobs["rpt.large_fills"]["job"]["facets"]
    assert view["jobType"]["jobType"] == "VIEW"
    # scripts are named by the object their file defines or the file stem, never a path
    assert all("/" not in name for name in jobs)
    script = jobs["mart.mark_history"]["job"]["facets"]
    assert script["jobType"]["jobType"] == "SCRIPT"
    assert "CURRENT_TIMESTAMP()" in script["sql"]["query"]  # the original file text


def test_schema_facet_and_typed_column_lineage(client: TestClient, roots: Path) -> None:
    tree = write_tree(roots / "ledger", LEDGER)
    res = ingest_dir(client, tree, "ledger", "risk-db")
    ev = _by_job(_export(client, res["project_id"]))["rpt.load_book_volume"]
    out = next(o for o in ev["outputs"] if o["name"] == "rpt.book_volume")
    fields = {f["name"]: f for f in out["facets"]["schema"]["fields"]}
    assert fields["notional"]["type"].upper().replace(" ", "") in ("DECIMAL(28,6)", "NUMERIC(28,6)")
    inp = next(i for i in ev["inputs"] if i["name"] == "src.fills")
    assert {f["name"] for f in inp["facets"]["schema"]["fields"]} >= {"qty", "px", "venue", "book_id"}
    cl = out["facets"]["columnLineage"]
    assert cl["_schemaURL"].startswith(
        "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json"
    )

    def trans(target: str, source: str) -> set[tuple[str, str]]:
        return {
            (t["type"], t["subtype"])
            for f in cl["fields"][target]["inputFields"]
            if f["field"] == source
            for t in f["transformations"]
        }

    assert ("DIRECT", "AGGREGATION") in trans("gross_qty", "qty")
    assert ("DIRECT", "IDENTITY") in trans("book_id", "book_id")
    assert ("INDIRECT", "FILTER") in trans("gross_qty", "venue")
    assert ("INDIRECT", "GROUP_BY") in trans("gross_qty", "book_id")
    assert cl["fields"]["book_id"]["transformationType"] == "IDENTITY"
    assert cl["fields"]["gross_qty"]["transformationType"] == "TRANSFORMATION"
    assert "SUM" in cl["fields"]["notional"]["transformationDescription"].upper()


def test_export_cli(client: TestClient, roots: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from finlineage.cli.main import app

    tree = write_tree(roots / "ledger", LEDGER)
    res = ingest_dir(client, tree, "ledger", "risk-db")
    settings = client.app.state.ctx.settings  # type: ignore[attr-defined]
    env = {
        "FINLINEAGE_DATA_DIR": str(settings.data_dir),
        "FINLINEAGE_DATABASE_URL": settings.effective_database_url,
    }
    out = tmp_path / "ol.json"
    runner = CliRunner()
    result = runner.invoke(
        app, ["export", "--format", "openlineage", "--project", "ledger", "--out", str(out)], env=env
    )
    assert result.exit_code == 0, result.output
    import json

    events = json.loads(out.read_text())
    assert "rpt.load_book_volume" in {e["job"]["name"] for e in events}
    result = runner.invoke(
        app, ["namespace", "set", "risk-db", "risk-db.corp", "--project", "ledger"], env=env
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        app, ["export", "--format", "openlineage", "--project", str(res["project_id"])], env=env
    )
    assert result.exit_code == 0, result.output
    assert "mssql://risk-db.corp" in result.output
    bad = runner.invoke(app, ["export", "--format", "openlineage", "--project", "no-such-project"], env=env)
    assert bad.exit_code != 0


def test_namespace_from_finlineage_toml(client: TestClient, roots: Path) -> None:
    files = dict(LEDGER)
    files["finlineage.toml"] += '\n[openlineage]\nnamespace = "mssql://risk-prod:1433"\n'
    tree = write_tree(roots / "ledger", files)
    res = ingest_dir(client, tree, "ledger", "risk-db")
    jobs = _by_job(_export(client, res["project_id"]))
    # the scheme still comes from each file's dialect; the authority from the setting
    assert jobs["rpt.load_book_volume"]["job"]["namespace"] == "mssql://risk-prod:1433"
    assert jobs["rollup"]["job"]["namespace"] == "postgres://risk-prod:1433"


def test_namespace_schemes_of_more_platforms(client: TestClient, roots: Path, spec: SpecValidator) -> None:
    files = {
        "finlineage.toml": '[dialects]\n"bq/**" = "bigquery"\n"my/**" = "mysql"\n"ora/**" = "oracle"\n"rs/**" = "redshift"\n',
        "bq/daily.sql": "CREATE TABLE mart.daily (d DATE, n INT64);\nINSERT INTO mart.daily (d, n) SELECT d, COUNT(*) FROM raw.events GROUP BY d;\n",
        "my/orders.sql": "CREATE TABLE shop.totals (id INT, amt DECIMAL(10,2));\nINSERT INTO shop.totals (id, amt) SELECT id, SUM(amt) FROM shop.orders GROUP BY id;\n",
        "ora/gl.sql": "CREATE TABLE gl.balances (acct NUMBER, bal NUMBER);\nINSERT INTO gl.balances (acct, bal) SELECT acct, SUM(amt) FROM gl.entries GROUP BY acct;\n",
        "rs/agg.sql": "CREATE TABLE dw.agg (k INT, v BIGINT);\nINSERT INTO dw.agg (k, v) SELECT k, SUM(v) FROM dw.facts GROUP BY k;\n",
    }
    tree = write_tree(roots / "multi", files)
    res = ingest_dir(client, tree, "multi", "core")
    events = _export(client, res["project_id"])
    by_out = {o["name"]: e for e in events for o in e["outputs"]}
    assert by_out["mart.daily"]["job"]["namespace"] == "bigquery"  # BigQuery has no authority
    assert by_out["mart.daily"]["inputs"][0]["namespace"] == "bigquery"
    assert by_out["shop.totals"]["job"]["namespace"] == "mysql://core"
    assert by_out["gl.balances"]["job"]["namespace"] == "oracle://core"
    assert by_out["dw.agg"]["job"]["namespace"] == "redshift://core"
    for e in events:
        assert spec.run_event(e) == []

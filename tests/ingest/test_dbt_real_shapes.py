"""Shapes seen in manifests of public dbt projects (other adapters, older and newer dbt), each
rebuilt here as a small manifest of our own: Windows paths, sources and seeds nothing gives
columns for, seeds without ``relation_name`` in an adapter that leaves the database out of its
relation names, and the null-heavy config of newer dbt engines."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient

from finlineage.ingest import dbt
from finlineage.ingest.dbt_lines import align, item_line
from finlineage.ingest.sources import SourceFile
from ingest.conftest import by_path, upload


def _doc(version: int, adapter: str, nodes: dict[str, Any], sources: dict[str, Any]) -> dict[str, Any]:
    return {
        "metadata": {
            "dbt_schema_version": f"https://schemas.getdbt.com/dbt/manifest/v{version}.json",
            "adapter_type": adapter,
        },
        "nodes": nodes,
        "sources": sources,
        "macros": {},
    }


def _model(name: str, rel: str, compiled: str, path: str, **extra: Any) -> dict[str, Any]:
    return {
        "resource_type": "model",
        "unique_id": f"model.ledger.{name}",
        "name": name,
        "package_name": "ledger",
        "original_file_path": path,
        "relation_name": rel,
        "config": {"materialized": "view"},
        "raw_code": compiled,
        "compiled_code": compiled,
        **extra,
    }


def _expand(doc: dict[str, Any], *extra: SourceFile) -> tuple[dict[str, SourceFile], list[str]]:
    warnings: list[str] = []
    files = [SourceFile("proj/target/manifest.json", data=json.dumps(doc).encode(), group="g"), *extra]
    return {sf.path: sf for sf in dbt.expand(files, warnings)}, warnings


def test_windows_paths_of_a_manifest_become_forward_slash_paths() -> None:
    doc = _doc(
        12,
        "snowflake",
        {
            "model.ledger.accruals": _model(
                "accruals",
                "fin.core.accruals",
                "select amount_due from fin.core.bookings",
                "models\\core\\accruals.sql",
            )
        },
        {
            "source.ledger.core.bookings": {
                "resource_type": "source",
                "unique_id": "source.ledger.core.bookings",
                "source_name": "core",
                "name": "bookings",
                "original_file_path": "models\\core\\sources.yml",
                "relation_name": "fin.core.bookings",
                "columns": {"amount_due": {"name": "amount_due", "data_type": "number"}},
            }
        },
    )
    written = b"select amount_due\r\nfrom {{ source('core', 'bookings') }}"
    out, _ = _expand(doc, SourceFile("proj/models/core/accruals.sql", data=written, group="g"))
    assert set(out) == {"proj/models/core/accruals.sql", "proj/models/core/sources.yml"}
    # the project's own file, found under its forward-slash path, is the evidence
    assert out["proj/models/core/accruals.sql"].read() == written
    assert dbt.node_path({"original_file_path": "seeds\\fx\\rates.csv"}, None) == "seeds/fx/rates.csv"


def test_sources_and_seeds_without_known_columns_are_still_objects_and_reported() -> None:
    doc = _doc(
        8,
        "postgres",
        {
            "seed.ledger.fx_rates": {
                "resource_type": "seed",
                "unique_id": "seed.ledger.fx_rates",
                "name": "fx_rates",
                "original_file_path": "seeds/fx_rates.csv",
                "relation_name": '"wh"."ref"."fx_rates"',
                "columns": {},
            }
        },
        {
            "source.ledger.gl.journal": {
                "resource_type": "source",
                "unique_id": "source.ledger.gl.journal",
                "source_name": "gl",
                "name": "journal",
                "original_file_path": "models/gl.yml",
                "relation_name": '"wh"."gl"."journal"',
                "columns": {},
            }
        },
    )
    out, warnings = _expand(doc)
    src = out["proj/models/gl.yml"].parse_data
    seed = out["proj/seeds/fx_rates.csv"].parse_data
    assert src is not None and 'create table "wh"."gl"."journal";\n' in src.decode()
    assert seed is not None and 'create table "wh"."ref"."fx_rates";\n' in seed.decode()
    (note,) = [w for w in warnings if "without known columns" in w]
    assert "2 source(s)/seed(s)" in note and "source.ledger.gl.journal" in note


def test_a_relation_without_relation_name_is_spelled_like_the_manifest_spells_relations() -> None:
    seed = {
        "resource_type": "seed",
        "unique_id": "seed.ledger.desks",
        "name": "desks",
        "alias": "desks",
        "database": "catalog_a",
        "schema": "trading",
        "original_file_path": "seeds/desks.csv",
        "columns": {"desk_id": {"name": "desk_id", "data_type": "int"}},
    }
    model = _model(
        "desk_list",
        "trading.desk_list",  # this adapter leaves the database out of relation names
        "select desk_id from trading.desks",
        "models/desk_list.sql",
        database="catalog_a",
        schema="trading",
        alias="desk_list",
    )
    doc = _doc(7, "athena", {"seed.ledger.desks": seed, "model.ledger.desk_list": model}, {})
    out, _ = _expand(doc)
    ddl = out["proj/seeds/desks.csv"].parse_data
    assert ddl is not None and "create table trading.desks (" in ddl.decode()

    backticked = {**model, "relation_name": "`proj-1`.`trading`.`desk_list`", "database": "proj-1"}
    doc = _doc(
        12,
        "bigquery",
        {"seed.ledger.desks": {**seed, "database": "proj-1"}, "model.ledger.desk_list": backticked},
        {},
    )
    assert (
        dbt.relation(seed | {"database": "proj-1"}, dbt.relation_style(doc)) == "`proj-1`.`trading`.`desks`"
    )
    # nothing to learn from: database.schema.alias in double quotes
    assert dbt.relation_style(_doc(12, "postgres", {}, {})) == (True, '"')


def test_null_heavy_config_of_newer_dbt_engines_is_read() -> None:
    model = _model(
        "positions",
        "`wh`.`risk`.`positions`",
        "\n\nSELECT\n    book_id\nFROM `wh`.`risk`.`trades`",
        "models/positions.sql",
        depends_on={
            "macros": [],
            "nodes": ["source.ledger.risk.trades"],
            "nodes_with_ref_location": [["source.ledger.risk.trades", {"line": 5, "col": 6}]],
        },
    )
    model["config"] = {
        "materialized": "table",
        "tags": None,
        "meta": None,
        "docs": None,
        "post-hook": [
            {"sql": "UPDATE {{ this }} SET book_id = 0 WHERE book_id IS NULL", "transaction": True}
        ],
    }
    doc = _doc(12, "databricks", {"model.ledger.positions": model}, {})
    doc["metadata"]["quoting"] = None
    doc["metadata"]["user_id"] = None
    out, _ = _expand(doc)
    parse = out["proj/models/positions.sql"].parse_data
    assert parse is not None and parse.decode().startswith("create table `wh`.`risk`.`positions` as ")
    assert out["proj/models/positions.sql"].explicit_dialect == "databricks"


def test_a_source_of_unknown_columns_still_carries_column_lineage_end_to_end(client: TestClient) -> None:
    doc = _doc(
        9,
        "postgres",
        {
            "model.ledger.open_items": _model(
                "open_items",
                '"wh"."ar"."open_items"',
                'select\n  invoice_no,\n  amount - paid as balance\nfrom "wh"."ar"."invoices"\nwhere paid < amount',
                "models/open_items.sql",
            )
        },
        {
            "source.ledger.ar.invoices": {
                "resource_type": "source",
                "unique_id": "source.ledger.ar.invoices",
                "source_name": "ar",
                "name": "invoices",
                "original_file_path": "models/ar.yml",
                "relation_name": '"wh"."ar"."invoices"',
                "columns": {},
            },
            "source.ledger.ar.credit_notes": {
                "resource_type": "source",
                "unique_id": "source.ledger.ar.credit_notes",
                "source_name": "ar",
                "name": "credit_notes",
                "original_file_path": "models/ar.yml",
                "relation_name": '"wh"."ar"."credit_notes"',
                "columns": {},
            },
        },
    )
    r = upload(
        client,
        [("ar/target/manifest.json", json.dumps(doc).encode())],
        project="shapes",
        repository="ar",
        dialect="auto",
    )
    res = r.json()
    assert res["status"] == "completed", res
    results = by_path(res)
    assert results["ar/models/ar.yml"]["objects"] == 2  # the unread source is not dropped
    assert results["ar/models/open_items.sql"]["status"] == "processed"
    pid = res["project_id"]
    up = client.get(f"/api/v1/lineage/column/wh.ar.open_items.balance/upstream?project_id={pid}").json()
    assert {"wh.ar.invoices.amount", "wh.ar.invoices.paid"} <= {n["canonical_id"] for n in up["nodes"]}
    node = client.get(f"/api/v1/lineage/node/wh.ar.credit_notes?project_id={pid}")
    assert node.status_code == 200


def test_adapters_of_other_engines_get_their_sql_dialect() -> None:
    for adapter, dialect in [("glue", "spark"), ("starrocks", "starrocks"), ("materialize", "materialize")]:
        model = _model("exposure", "risk.exposure", "select 1 as net", "models/exposure.sql")
        out, warnings = _expand(_doc(12, adapter, {"model.ledger.exposure": model}, {}))
        assert out["proj/models/exposure.sql"].explicit_dialect == dialect
        assert not any("no known SQL dialect" in w for w in warnings)
    _, warnings = _expand(_doc(12, "quasar", {"model.ledger.exposure": model}, {}))
    assert any("adapter 'quasar' has no known SQL dialect" in w for w in warnings)


def test_a_parse_only_manifest_resolves_versioned_models_by_their_version() -> None:
    def version(v: int) -> dict[str, Any]:
        return {
            "resource_type": "model",
            "name": "limits",
            "package_name": "ledger",
            "version": v,
            "latest_version": 2,
            "original_file_path": f"models/limits_v{v}.sql",
            "relation_name": f'"wh"."risk"."limits_v{v}"',
            "config": {"materialized": "table"},
            "compiled_code": f"select {v} as tier",
        }

    def reader(name: str, raw: str) -> dict[str, Any]:
        node = _model(name, f'"wh"."risk"."{name}"', raw, f"models/{name}.sql")
        del node["compiled_code"]
        return node

    nodes = {
        "model.ledger.limits.v1": version(1),
        "model.ledger.limits.v2": version(2),
        "model.ledger.latest_tiers": reader("latest_tiers", "select tier from {{ ref('limits') }}"),
        "model.ledger.old_tiers": reader("old_tiers", "select tier from {{ ref('limits', v=1) }}"),
    }
    out, _ = _expand(_doc(11, "postgres", nodes, {}))
    latest = out["proj/models/latest_tiers.sql"].parse_data
    old = out["proj/models/old_tiers.sql"].parse_data
    assert latest is not None and 'from "wh"."risk"."limits_v2"' in latest.decode()
    assert old is not None and 'from "wh"."risk"."limits_v1"' in old.decode()


def test_a_select_list_on_one_line_points_each_column_at_that_line() -> None:
    compiled = [
        "WITH desks AS (",
        '    SELECT * FROM "wh"."ref"."desks"',
        ")",
        "",
        "SELECT desk_id , desk_name, d.region, head FROM desks d",
    ]
    assert [item_line(compiled, 1, 5, c) for c in ("desk_id", "desk_name", "region", "head")] == [5] * 4
    assert item_line(["select concat(first, last) as full_name", "from people"], 1, 2, "last") is None


def test_a_seeds_column_types_type_the_columns_of_its_csv_header() -> None:
    seed = {
        "resource_type": "seed",
        "unique_id": "seed.ledger.fx",
        "name": "fx",
        "original_file_path": "seeds/fx.csv",
        "relation_name": '"wh"."ref"."fx"',
        "config": {"materialized": "seed", "column_types": {"Rate": "decimal(18,6)", "absent": "int"}},
        "columns": {},
    }
    csv = SourceFile("proj/seeds/fx.csv", data=b"ccy,rate\nEUR,1.1\n", group="g")
    out, _ = _expand(_doc(10, "postgres", {"seed.ledger.fx": seed}, {}), csv)
    ddl = out["proj/seeds/fx.csv"].parse_data
    assert ddl is not None
    assert '"ccy" VARCHAR,\n    "rate" decimal(18,6)\n);' in ddl.decode()
    assert '"absent"' not in ddl.decode()  # column_types alone never invents a column


def test_lines_a_macro_call_expanded_into_point_at_the_call() -> None:
    raw = (
        "SELECT\n  desk,\n  SUM(notional) AS gross,\n  {{ tenor_bucket('maturity', 'MONTH') }}\n"
        "FROM positions\nGROUP BY desk"
    )
    compiled = (
        "SELECT\n  desk,\n  SUM(notional) AS gross,\n  \n    CASE\n        WHEN maturity < x\n"
        "        THEN 'short'\n    END AS bucket\n\nFROM positions\nGROUP BY desk"
    )
    anchors = align(compiled, raw)
    assert [anchors.get(n) for n in (5, 6, 7, 8)] == [4, 4, 4, 4]
    assert anchors[10] == 5 and anchors[3] == 3
    # two raw lines in the gap: which one produced what is not known, so nothing is anchored
    two = raw.replace("  {{ tenor_bucket", "  {{ other() }}\n  {{ tenor_bucket")
    assert 8 not in align(compiled, two)

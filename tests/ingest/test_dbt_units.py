"""ingest/dbt.py rules on small manifests: versions, ownership of files, snapshots, warnings.
(The real-manifest end-to-end tests are in test_dbt*.py.)"""

from __future__ import annotations

import json
from typing import Any

from finlineage.ingest import dbt
from finlineage.ingest.sources import SourceFile


def _manifest(version: int, nodes: dict[str, Any]) -> bytes:
    doc = {
        "metadata": {
            "dbt_schema_version": f"https://schemas.getdbt.com/dbt/manifest/v{version}.json",
            "adapter_type": "postgres",
        },
        "nodes": nodes,
        "sources": {},
        "macros": {"macro.p.m": {"original_file_path": "macros/m.sql"}},
    }
    return json.dumps(doc).encode()


NODES = {
    "model.p.a": {
        "resource_type": "model",
        "original_file_path": "models/a.sql",
        "relation_name": '"db"."s"."a"',
        "config": {"materialized": "table"},
        "compiled_code": "\nselect 1 as x",
    },
    "model.p.b": {
        "resource_type": "model",
        "original_file_path": "models/b.sql",
        "relation_name": '"db"."s"."b"',
        "config": {"materialized": "view"},
    },
    "snapshot.p.c": {
        "resource_type": "snapshot",
        "original_file_path": "snapshots/c.sql",
        "relation_name": '"db"."snap"."c"',
        "config": {"materialized": "snapshot"},
        "compiled_code": 'select x from "db"."s"."a"',
    },
}


def _files(manifest: bytes) -> list[SourceFile]:
    return [
        SourceFile("dbt/target/manifest.json", data=manifest, group="d0"),
        SourceFile("dbt/models/a.sql", data=b"{{ config(materialized='table') }}\nselect 1 as x", group="d0"),
        SourceFile("dbt/macros/m.sql", data=b"{% macro m() %}{% endmacro %}", group="d0"),
        SourceFile("dbt/target/compiled/p/models/a.sql", data=b"select 1 as x", group="d0"),
        SourceFile("procs/load.sql", data=b"CREATE PROCEDURE p AS SELECT 1", group="d0"),
    ]


def test_manifest_replaces_the_dbt_project_and_keeps_other_sql() -> None:
    warnings: list[str] = []
    out = {sf.path: sf for sf in dbt.expand(_files(_manifest(12, NODES)), warnings)}
    assert set(out) == {"dbt/models/a.sql", "dbt/snapshots/c.sql", "procs/load.sql"}
    model = out["dbt/models/a.sql"]
    # the stored text is the file as written (Jinja); the engine parses dbt's compiled code
    assert model.read().decode() == "{{ config(materialized='table') }}\nselect 1 as x"
    assert model.parse_data is not None
    assert model.parse_data.decode().startswith(
        'create table "db"."s"."a" as \nselect 1 as x\n-- finlineage:dbt '
    )
    assert model.explicit_dialect == "postgres"
    snap = out["dbt/snapshots/c.sql"]  # not in the upload: compiled code only, flagged as such
    assert snap.parse_data is not None
    assert snap.parse_data.decode().startswith('create table "db"."snap"."c" as select x')
    assert '"origin":"compiled"' in snap.parse_data.decode()
    assert out["procs/load.sql"].explicit_dialect is None  # untouched
    assert any("without compiled_code" in w and "models/b.sql" in w for w in warnings)


def test_unsupported_manifests_fail_and_foreign_ones_are_reported_and_ignored() -> None:
    warnings: list[str] = []
    old = {sf.path: sf for sf in dbt.expand(_files(_manifest(6, NODES)), warnings)}
    failed = old["dbt/target/manifest.json"]  # a dbt manifest we cannot read: a failed file
    assert failed.error == "dbt manifest: schema v6 is not supported (v7 to v12)"
    assert (failed.error_line, failed.error_column) == (1, 15)  # its "dbt_schema_version" member
    assert old["dbt/models/a.sql"].error is not None  # its project's Jinja: not parsed as SQL
    assert "dbt/target/compiled/p/models/a.sql" not in old  # dbt's output: never parsed
    assert old["procs/load.sql"].error is None
    warnings.clear()
    other = [SourceFile("x/manifest.json", data=b'{"name": "web app"}', group="u")]
    assert dbt.expand(other, warnings) == []
    assert any("not a dbt manifest" in w for w in warnings)
    assert dbt.manifest_version({"metadata": {"dbt_schema_version": "https://x/dbt/manifest/v9.json"}}) == 9


def test_package_models_live_under_dbt_packages_and_python_models_are_reported() -> None:
    doc = json.loads(_manifest(12, NODES))
    doc["metadata"]["project_name"] = "p"
    for node in doc["nodes"].values():
        node["package_name"] = "p"
    doc["nodes"]["model.pkg.a"] = {
        **NODES["model.p.a"],
        "package_name": "pkg",
        "relation_name": '"db"."s"."pkg_a"',
        "raw_code": "select 1 as x -- the package's own file",
    }
    doc["nodes"]["model.p.py"] = {
        **NODES["model.p.a"],
        "package_name": "p",
        "language": "python",
        "original_file_path": "models/py.py",
        "compiled_code": "def model(dbt, session):\n    return dbt.ref('a')\n",
    }
    warnings: list[str] = []
    files = [
        SourceFile("dbt/target/manifest.json", data=json.dumps(doc).encode(), group="d0"),
        SourceFile("dbt/models/a.sql", data=b"{{ config(materialized='table') }}\nselect 1 as x", group="d0"),
    ]
    out = {sf.path: sf for sf in dbt.expand(files, warnings)}
    assert out["dbt/models/a.sql"].read().startswith(b"{{ config")  # the project's own file
    pkg = out["dbt/dbt_packages/pkg/models/a.sql"]  # not the project's file of the same name
    assert pkg.read() == b"select 1 as x -- the package's own file"
    assert pkg.parse_data is not None and pkg.parse_data.startswith(b'create table "db"."s"."pkg_a" as')
    assert not any(p.endswith(".py") for p in out)
    assert any("Python models" in w and "models/py.py" in w for w in warnings)
    assert dbt.root_package({"nodes": {"model.q.m": {"resource_type": "model", "package_name": "q"}}}) == "q"


def test_warehouse_comments_from_the_catalog_document_what_the_manifest_does_not() -> None:
    catalog = {
        "nodes": {
            "model.p.a": {
                "metadata": {"type": "BASE TABLE", "comment": "Kept by the warehouse"},
                "columns": {"X": {"name": "X", "index": 1, "type": "NUMBER", "comment": "an x"}},
            }
        }
    }
    files = [
        SourceFile("dbt/target/manifest.json", data=_manifest(12, NODES), group="d0"),
        SourceFile("dbt/target/catalog.json", data=json.dumps(catalog).encode(), group="d0"),
    ]
    out = {sf.path: sf for sf in dbt.expand(files, [])}
    parse = out["dbt/models/a.sql"].parse_data
    assert parse is not None
    meta = json.loads(parse.decode().rstrip("\n").rsplit("\n", 1)[1].removeprefix("-- finlineage:dbt "))
    [doc] = meta["objects"]
    assert doc["description"] == "Kept by the warehouse"
    assert doc["columns"] == {"X": "an x"} and doc["types"] == {"X": "NUMBER"}


def test_renderer_substitutes_only_refs_sources_this_and_config() -> None:
    from finlineage.ingest.dbt_render import Renderer

    nodes = {
        "model.p.eph": {
            "resource_type": "model",
            "name": "eph",
            "package_name": "p",
            "config": {"materialized": "ephemeral"},
            "raw_code": "select * from {{ source('ops', 'ev') }}",
        },
        "model.p.m": {
            "resource_type": "model",
            "name": "m",
            "package_name": "p",
            "relation_name": '"d"."s"."m"',
            "raw_code": "{{ config(materialized='table') }}{# note #}\nselect a from {{ ref('p', 'eph') }} -- {{ this }}",
        },
        "model.p.macro": {
            "resource_type": "model",
            "name": "macro",
            "package_name": "p",
            "raw_code": "select {{ cents('a') }} from {{ ref('m') }}",
        },
        "model.p.loop": {
            "resource_type": "model",
            "name": "loop",
            "package_name": "p",
            "raw_code": "{% for x in [1] %}select {{ x }}{% endfor %}",
        },
    }
    doc = {
        "nodes": nodes,
        "sources": {"source.p.ops.ev": {"source_name": "ops", "name": "ev", "relation_name": "ops.ev"}},
    }
    r = Renderer(doc, dbt.relation, dbt.materialized, dbt.raw_code)
    assert r.render(nodes["model.p.m"]) == (
        'with __dbt__cte__eph as (\nselect * from ops.ev\n)\n\nselect a from __dbt__cte__eph -- "d"."s"."m"'
    )
    assert r.render(nodes["model.p.macro"]) is None  # a macro: needs dbt compile
    assert r.render(nodes["model.p.loop"]) is None
    assert r.render({**nodes["model.p.m"], "raw_code": "select 1 from {{ ref('missing') }}"}) is None


def test_alignment_maps_compiled_lines_to_the_raw_lines_they_come_from() -> None:
    from finlineage.ingest import dbt_lines

    raw = "{{ config(materialized='table') }}\nselect\n    {{ cents('qty') }} as qty_c,\n    desk\nfrom {{ ref('fills') }}\n"
    compiled = '\nselect\n    (qty * 100) as qty_c,\n    desk\nfrom "db"."s"."fills"\n'
    anchors = dbt_lines.align(compiled, raw)
    assert anchors == {2: 2, 3: 3, 4: 4, 5: 5}
    lines = compiled.split("\n")
    assert dbt_lines.item_line(lines, 1, 5, "qty_c") == 3
    assert dbt_lines.item_line(lines, 1, 5, "desk") == 4
    assert dbt_lines.item_line(lines, 1, 5, "fills") is None  # a FROM line names no select item
    big = dbt_lines._exact_anchors([{"a"}, {"b"}, {"b"}, {"c"}], [{"c"}, {"a"}, {"b"}, {"c"}, {"b"}])
    assert big == {1: 2}  # unique on both sides and in order only


def test_artifacts_of_installed_packages_are_not_projects() -> None:
    warnings: list[str] = []
    files = [
        *_files(_manifest(12, NODES)),
        SourceFile("dbt/dbt_packages/pkg/target/manifest.json", data=_manifest(12, NODES), group="d0"),
    ]
    out = [sf.path for sf in dbt.expand(files, warnings)]
    assert sorted(out) == ["dbt/models/a.sql", "dbt/snapshots/c.sql", "procs/load.sql"]  # once each


def test_yaml_span_finds_a_tables_entry_under_its_source() -> None:
    text = (
        "version: 2\n"
        "sources:\n"
        "  - name: ops\n"
        "    tables:\n"
        "      - name: events\n"
        "        description: one\n"
        "\n"
        "        # a comment\n"
        "        columns:\n"
        "          - name: id\n"
        "      - name: 'books'  # quoted\n"
        "  - name: ref\n"
        "    tables:\n"
        "      - name: events\n"
    )
    assert dbt.yaml_span(text, "ops", "events") == (5, 10)
    assert dbt.yaml_span(text, "ops", "books") == (11, 11)
    assert dbt.yaml_span(text, "ref", "events") == (14, 14)
    assert dbt.yaml_span(text, "ops", "missing") is None
    assert dbt.yaml_span(text, "nope", "events") is None


def test_dbt_output_beside_a_manifest_without_its_target_folder_is_not_parsed() -> None:
    files = [
        SourceFile("art/manifest.json", data=_manifest(12, NODES), group="u"),
        SourceFile("art/compiled/p/models/a.sql", data=b"select 1 as x", group="u"),
        SourceFile("art/run/p/models/a.sql", data=b'create table "db"."s"."a" as select 1 as x', group="u"),
        SourceFile("art/other.sql", data=b"select 2", group="u"),
    ]
    out = {sf.path for sf in dbt.expand(files, [])}
    assert out == {"art/models/a.sql", "art/snapshots/c.sql", "art/other.sql"}


def test_a_parse_error_in_compiled_code_is_reported_at_the_raw_line() -> None:
    from finlineage.ingest import worker

    raw = (
        b"{# a note\n   over two lines #}\n{{ config(materialized='table') }}\nselect\n    a,\n"
        b"    ({{ cents('b') }} + ,\n    x\nfrom {{ ref('t') }}\n"
    )
    node = {
        **NODES["model.p.a"],
        "raw_code": raw.decode(),
        "compiled_code": '\nselect\n    a,\n    (b * 100 + ,\n    x\nfrom "db"."s"."t"\n',
    }
    files = [
        SourceFile("dbt/target/manifest.json", data=_manifest(12, {"model.p.a": node}), group="d0"),
        SourceFile("dbt/models/a.sql", data=raw, group="d0"),
    ]
    [model] = dbt.expand(files, [])
    assert model.parse_data is not None
    facts = worker.parse_file(model.parse_data.decode(), "postgres", None, 10.0)
    assert facts["errors"], facts["diagnostics"]
    compiled_line = facts["errors"][0]["line"]
    mapped = dbt.onto_original(facts, raw, model.parse_data)
    err = mapped["errors"][0]
    assert compiled_line == 4
    assert err["line"] == 6 and err["column"] is None  # the raw line "    ({{ cents('b') }} + ,"
    assert err["message"].endswith("(compiled SQL line 4)")
    assert [(s[1], s[2]) for s in mapped["statements"]] == [(1, 8)]  # the whole model file


def test_a_model_known_only_by_its_compiled_code_is_flagged() -> None:
    from finlineage.ingest import worker

    out = {sf.path: sf for sf in dbt.expand(_files(_manifest(12, NODES)), [])}
    snap = out["dbt/snapshots/c.sql"]  # no .sql file, no raw_code: only dbt's compiled SQL
    assert snap.parse_data is not None
    facts = worker.parse_file(snap.parse_data.decode(), "postgres", None, 10.0)
    mapped = dbt.onto_original(facts, snap.read(), snap.parse_data)
    assert "dbt_compiled_code_only" in {d["code"] for d in mapped["diagnostics"]}
    assert [o["definition"] for o in mapped["objects"]] == ['select x from "db"."s"."a"']


def test_a_dbt_projects_own_files_are_dropped_and_anything_else_still_goes_through() -> None:
    files = [
        *_files(_manifest(12, NODES)),
        SourceFile("dbt/dbt_project.yml", data=b"name: p\n", group="d0"),
        SourceFile("dbt/models/docs.md", data=b"{% docs x %}x{% enddocs %}\n", group="d0"),
        SourceFile("dbt/notes.bin", data=b"\x00\x01", group="d0"),
    ]
    out = {sf.path for sf in dbt.expand(files, [])}
    assert "dbt/dbt_project.yml" not in out and "dbt/models/docs.md" not in out
    assert "dbt/notes.bin" in out  # not a dbt file: the pipeline reports it

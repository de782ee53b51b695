"""dbt projects: a ``manifest.json`` (schema v7–v12, optional ``catalog.json`` beside it) found in
an upload, archive, directory or git ingest becomes the project's SQL.

    files = expand(files, warnings)     # in the ingestion pipeline, right after collection

For every manifest among the collected files:

* **models** (not ephemeral) and **snapshots** (tables) → the model's own file at its
  ``original_file_path``: the raw Jinja ``.sql`` as the user wrote it when the ingest has it, else
  the manifest's ``raw_code`` (flagged with a ``dbt_raw_code_from_manifest`` diagnostic). That is
  what is stored and served as evidence. What the engine parses (``SourceFile.parse_data``) is
  dbt's ``compiled_code`` materialised the way dbt runs it (``create view|table <relation> as``
  in front of it), with the manifest's and catalog's docs and types in a trailing comment line;
  ``ingest/dbt_lines.py`` maps the parsed facts back onto the file's lines. Ephemeral models are
  not objects: dbt inlines them as CTEs into the compiled code of their dependants (when a
  manifest has them as ``extra_ctes`` not yet injected, they are injected here the way dbt does).
  Dialect: the manifest's ``adapter_type``. Nodes a YAML file declares (snapshots of dbt >= 1.9,
  alone or together) are that file, one statement each, evidenced by their ``- name:`` entries; a
  snapshot's relation also has the validity columns dbt's snapshot materialisation adds.
* a model without compiled code (a manifest from ``dbt parse``) is read from its raw code when
  its only Jinja is ``ref``/``source``/``this``/``config``, a snapshot block or an
  ``is_incremental()`` block (``ingest/dbt_render.py``); any other Jinja needs ``dbt compile``
  and the model is reported by name, never guessed. Python models are
  reported too (not analysed); one whose columns the catalog or its YAML gives is a table of
  them (like a seed, evidenced by its ``.py`` file), so SQL models reading it resolve.
* **sources and seeds** → tables: ``create table <relation> (<columns>)`` with the columns and
  types of the catalog (else the manifest's documented columns; a seed's CSV header), one file
  per source YAML / seed path (a seed's ``config.column_types`` types the columns; a source or
  seed nothing gives columns for is still a table, of unknown columns, and is reported). These
  files are generated (YAML and CSV are not SQL): their first line says so. Installed packages' nodes live under ``dbt_packages/<package>/``.
* paths are the manifest's ``original_file_path`` with ``/`` separators (a manifest written on
  Windows has backslashes).
* relation names come from ``relation_name`` (else database/schema/alias, spelled the way the
  manifest spells its other relations: quotes, database part or not), so the compiled
  code's references and the created objects agree; the pipeline then parses models in
  dependency order with the schema of everything upstream, which resolves ``SELECT *`` and
  unqualified columns through upstream models.
* macros, tests, analyses and dbt's own ``target/`` output are ignored, and so are raw ``.sql``
  files of the project that are not models or snapshots and its non-SQL files. What the
  manifest declares that is no relation (analyses, data and unit tests, hooks, exposures,
  metrics, semantic models, saved queries, user-defined functions, disabled nodes) is reported
  by kind, with names, in one warning.

An artifact that cannot be read fails like a SQL file that does not parse: a ``manifest.json``
that is not valid JSON (JSON's own line:col; a file cut short says so), of the wrong shape, or of
an unsupported schema version, and a ``catalog.json`` likewise, are failed files
(``dbt_manifest_invalid`` / ``dbt_catalog_invalid``, never a mere warning), stored as failed files
of the repository (status ``error``, line:col: the failed-files lists show them) until a later run
reads a good one at that path (ingest/execution.py). Nothing of a project
whose manifest failed is half-written: its raw ``.sql`` files fail naming the manifest (what an
earlier ingest stored of them stays), dbt's output is dropped as always. A broken catalog leaves
the manifest ingested without it. A JSON file that does not claim to be a dbt artifact (another
tool's ``manifest.json``) is only reported and ignored.
A dbt project (``dbt_project.yml``) that comes without any ``manifest.json`` (a git repository
ignores ``target/``) is not SQL yet: its Jinja ``.sql`` files fail saying ``dbt compile`` is
needed (one warning lists them), its own YAML/CSV/docs are dropped, plain SQL goes through.

Size: artifacts have their own limit (``FINLINEAGE_DBT_ARTIFACT_MAX_MB``, default 512: a large
project's manifest is 20-150 MB), not the SQL files' ``FINLINEAGE_MAX_FILE_MB``. An artifact is
held once at a time as bytes, then as text, then as the document (its bytes go once decoded, its
text once checked), and of a manifest only ``metadata``, ``nodes`` and ``sources`` stay after
reading (its macros, docs and maps, most of a large manifest, go at once).

Manifest versions differ in field names; the readers (``ingest/dbt_manifest.py``) take each
version's spelling
(``raw_code``/``compiled_code``, ``raw_sql``/``compiled_sql`` in older manifests;
``config.materialized`` or ``materialized`` on the node, else the catalog's relation type;
``relation_name`` or ``database`` absent; ``adapter_type`` absent: the dialect is detected per
file).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from finlineage.ingest.dbt_bare import names, without_manifest
from finlineage.ingest.dbt_lines import meta_line, onto_original_text
from finlineage.ingest.dbt_manifest import (
    ARTIFACT_NAMES,
    ArtifactError,
    catalog_entry,
    check_catalog,
    check_manifest,
    columns_of,
    compiled_code,
    decode_json,
    docs_of,
    ignored,
    materialized,
    node_path,
    parse_json,
    quote,
    raw_code,
    relation,
    relation_style,
    root_package,
    snapshot_columns,
)
from finlineage.ingest.dbt_manifest import (  # re-exported: the collectors read them as dbt.<name>
    PROJECT_FILE as PROJECT_FILE,
)
from finlineage.ingest.dbt_manifest import (
    PROJECT_FILE_SUFFIXES as PROJECT_FILE_SUFFIXES,
)
from finlineage.ingest.dbt_manifest import (
    is_artifact as is_artifact,
)
from finlineage.ingest.dbt_manifest import (
    manifest_version as manifest_version,  # re-exported: dbt.manifest_version
)
from finlineage.ingest.dbt_render import Renderer

if TYPE_CHECKING:
    from finlineage.ingest.sources import SourceFile

SUPPORTED_VERSIONS = range(7, 13)
GENERATED_HEADER = "-- generated by finlineage from the dbt manifest{catalog}: {path} is not SQL\n"

ADAPTER_DIALECTS: dict[str, str] = {
    "duckdb": "duckdb",
    "postgres": "postgres",
    "redshift": "redshift",
    "snowflake": "snowflake",
    "bigquery": "bigquery",
    "databricks": "databricks",
    "spark": "spark",
    "trino": "trino",
    "athena": "athena",
    "sqlserver": "tsql",
    "fabric": "tsql",
    "synapse": "tsql",
    "oracle": "oracle",
    "mysql": "mysql",
    "clickhouse": "clickhouse",
    "sqlite": "sqlite",
    "teradata": "teradata",
    "materialize": "materialize",
    "glue": "spark",
    "hive": "hive",
    "presto": "presto",
    "starrocks": "starrocks",
    "doris": "doris",
    "dremio": "dremio",
    "exasol": "exasol",
    "risingwave": "risingwave",
    "mariadb": "mysql",
    "tidb": "mysql",
    "singlestore": "mysql",
    "greenplum": "postgres",
    "alloydb": "postgres",
}


KEPT_SECTIONS = ("metadata", "nodes", "sources")
"""What the ingest reads of a manifest once the project's own files are known; its other sections
(macros, docs, maps, ...: most of a large project's manifest) are let go right after reading."""


@dataclass(slots=True)
class _Project:
    prefix: str
    """Logical path of the dbt project root inside the ingest (``""`` or ``"sub/dir/"``)."""
    manifest: dict[str, Any]
    catalog: dict[str, Any] | None
    group: str
    manifest_dir: str = ""
    owned: set[str] = field(default_factory=set)
    """Logical paths of the project's own files (models, macros, tests, ... as dbt lists them)."""
    skipped: list[str] = field(default_factory=list)
    """Models without compiled code (a manifest from `dbt parse`, not `dbt compile`)."""
    from_manifest: list[str] = field(default_factory=list)
    """Models whose .sql file the ingest does not have (their text: the manifest's raw_code)."""
    rendered: list[str] = field(default_factory=list)
    """Models without compiled code whose raw code needed no Jinja but ref/source/config."""
    not_sql: list[str] = field(default_factory=list)
    """Models in another language (dbt Python models): not analysed."""
    package: str | None = None
    """The project's own package (others are installed under ``dbt_packages/<name>/``)."""
    location: Path | None = None
    """The project's folder on disk, when the manifest is a file there (directory, git, archive)."""
    loose: dict[str, SourceFile] = field(default_factory=dict)
    """The ingest's files of this group by path (seed CSVs of an upload of loose files)."""
    style: tuple[bool, str | None] = (True, '"')
    """How the manifest spells relations (for nodes without ``relation_name``)."""
    no_columns: list[str] = field(default_factory=list)
    """Sources and seeds whose columns nothing says (no catalog, no documented columns, no CSV
    header): created as tables of unknown columns."""
    unknown: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Those by unique id: (relation name unquoted, lower case; what a diagnostic about it adds)."""
    python_tables: list[str] = field(default_factory=list)
    """Python models whose columns are known (catalog, documented): tables of those columns."""
    ignored: dict[str, list[str]] = field(default_factory=dict)
    """The manifest's resources that are no relation of the warehouse, by kind (analyses,
    tests, exposures, metrics, ...): reported, never analysed."""


def _is_python_model(node: dict[str, Any]) -> bool:
    return node.get("resource_type") == "model" and str(node.get("language") or "sql").lower() == "python"


def _unknown_note(node: dict[str, Any]) -> str:
    """What a diagnostic of a model reading a source/seed of unknown columns adds: which one, why."""
    if node.get("resource_type") == "source":
        what = f"dbt source {node.get('source_name')}.{node.get('name')}"
        return f"{what}: its columns are unknown (no catalog.json, none in its YAML)"
    if _is_python_model(node):
        what = f"dbt Python model {node.get('name')}"
        return f"{what}: not analysed, its columns are unknown (no catalog.json, none documented)"
    return f"dbt seed {node.get('name')}: its columns are unknown (no catalog.json, none documented, no CSV header)"


def _root_of(path: str) -> str:
    parts = path.split("/")[:-1]
    if parts and parts[-1] == "target":
        parts = parts[:-1]
    return "/".join(parts) + "/" if parts else ""


@dataclass(slots=True)
class _Out:
    path: str
    parse: str
    raw: SourceFile | bytes


def _tables(p: _Project) -> list[_Out]:
    """Sources and seeds: one generated DDL file per YAML / CSV path."""
    m = p.manifest
    tables: dict[
        str, list[tuple[str, dict[str, Any] | None, dict[str, Any], list[tuple[str, str | None]]]]
    ] = {}
    done: set[str] = set()
    for uid, node in [*sorted((m.get("nodes") or {}).items()), *sorted((m.get("sources") or {}).items())]:
        if not isinstance(node, dict):
            continue
        python = _is_python_model(node)
        if node.get("resource_type") not in ("seed", "source") and not python:
            continue
        rel = relation(node, p.style)
        entry = catalog_entry(p.catalog, uid)
        path = node_path(node, p.package) or uid
        cols = columns_of(node, entry)
        if python and (not cols or rel is None or materialized(node, entry) == "ephemeral"):
            if rel is not None:  # nothing to say about it but its name: what reads it says so
                p.unknown[uid] = (re.sub(r'["`\[\]]', "", rel).lower(), _unknown_note(node))
            continue
        if python:
            p.python_tables.append(path)
        if entry is None and node.get("resource_type") == "seed":
            # no catalog: the CSV header is the seed's columns (dbt loads exactly those), its
            # documented columns only add types and descriptions (a YAML rarely lists them all)
            documented = {c.lower(): (c, t) for c, t in cols}
            header = [documented.pop(c.lower(), (c, None)) for c in _seed_header(p, path)]
            cols = header + list(documented.values()) if header else cols
        if node.get("resource_type") == "seed":  # a seed's config.column_types types its known columns
            declared = (node.get("config") or {}).get("column_types") or {}
            by_lower = {str(k).lower(): v for k, v in declared.items() if isinstance(v, str) and v}
            cols = [(c, t or by_lower.get(c.lower())) for c, t in cols]
        if rel is None or rel.lower() in done:
            continue
        done.add(rel.lower())
        if cols:
            # a column of unknown type gets a placeholder the parsers accept; its stored type stays unknown
            body = ",\n".join(f"    {quote(c)} {t or 'VARCHAR'}" for c, t in cols)
            ddl = f"create table {rel} (\n{body}\n);\n"
        else:  # still an object (nothing is dropped); its columns come from what reads it
            ddl = f"create table {rel};\n"
            p.no_columns.append(str(node.get("unique_id") or uid))
            p.unknown[uid] = (re.sub(r'["`\[\]]', "", rel).lower(), _unknown_note(node))
        tables.setdefault(path, []).append((ddl, entry, node, cols))
    out: list[_Out] = []
    header_args = {"catalog": " and catalog" if p.catalog is not None else ""}
    for path, stmts in tables.items():
        declared = _declared(p, path, stmts)
        text = GENERATED_HEADER.format(path=path, **header_args)
        objects = []
        for k, (ddl, entry, node, cols) in enumerate(stmts):
            doc = docs_of(node, entry, text.count("\n") + 1)
            doc["types"] = dict(cols)  # a seed's column_types too: the type dbt creates it with
            doc["untyped"] = [c for c, t in cols if not t]
            if declared is not None:
                doc["span"] = list(declared[1][k])
            objects.append(doc)
            text += ddl
        if declared is not None:  # the stored file is the YAML / CSV that declares the tables
            meta = {"origin": "declared", "objects": objects}
            out.append(_Out(p.prefix + path, text + meta_line(meta), declared[0]))
        else:  # only the manifest: the generated DDL is stored, and says so on its first line
            meta = {"origin": "generated", "objects": objects}
            out.append(_Out(p.prefix + path, text + meta_line(meta), text.encode("utf-8")))
    return out


MAX_SEED_HEADER = 64 * 1024
MAX_DECLARING_FILE = 1 << 20
"""A seed CSV larger than this is not stored as the seeds' evidence (its header line would be
the evidence of a file too large to keep); the generated DDL is, flagged."""


def _original(p: _Project, path: str) -> SourceFile | None:
    """A project file by its path: among the ingest's files, else beside the manifest on disk
    (inside the project's folder only)."""
    from finlineage.ingest.sources import SourceFile, UnsafePath, safe_relpath, within

    sf = p.loose.get(p.prefix + path)
    if sf is not None or p.location is None:
        return sf
    try:
        candidate = p.location / safe_relpath(path)
        if within(candidate, p.location) and candidate.is_file():
            return SourceFile(
                p.prefix + path, location=candidate, group=p.group, size=candidate.stat().st_size
            )
    except (OSError, UnsafePath):
        return None
    return None


def _head(sf: SourceFile | None, limit: int) -> bytes:
    if sf is None:
        return b""
    try:
        if sf.data is not None or sf.location is None:
            return sf.read()[:limit]
        with open(sf.location, "rb") as fh:
            return fh.read(limit)
    except OSError:
        return b""


def _seed_header(p: _Project, path: str) -> list[str]:
    """A seed's columns from its CSV header (no catalog, no documented columns)."""
    import csv

    data = _head(_original(p, path), MAX_SEED_HEADER)
    first = data.decode("utf-8-sig", errors="replace").splitlines()[:1]
    row = next(csv.reader(first), []) if first else []
    return [c.strip() for c in row if c.strip()]


def _entry(name: str) -> re.Pattern[str]:
    return re.compile(
        r"""^(\s*)-\s*name:\s*['"]?""" + re.escape(name) + r"""['"]?\s*(?:#.*)?$""", re.IGNORECASE
    )


def yaml_span(text: str, source: str | None, table: str) -> tuple[int, int] | None:
    """1-based lines of a table's ``- name: <table>`` entry (under its source's entry when
    ``source`` is given) in a dbt properties YAML file; None when it is not found."""
    lines = text.split("\n")
    lo, outer = 0, -1
    if source is not None:
        src = _entry(source)
        hit = next((i for i, ln in enumerate(lines) if src.match(ln)), None)
        if hit is None:
            return None
        lo, outer = hit + 1, len(src.match(lines[hit]).group(1))  # type: ignore[union-attr]
    pat = _entry(table)
    for i in range(lo, len(lines)):
        indent = len(lines[i]) - len(lines[i].lstrip())
        if lines[i].strip() and not lines[i].lstrip().startswith("#") and indent <= outer:
            return None  # past the source's entry
        m = pat.match(lines[i])
        if m is None:
            continue
        end = i
        for j in range(i + 1, len(lines)):
            body = lines[j].strip()
            if not body or body.startswith("#"):
                continue
            if len(lines[j]) - len(lines[j].lstrip()) <= len(m.group(1)):
                break
            end = j
        return i + 1, end + 1
    return None


def _declared(
    p: _Project, path: str, stmts: list[tuple[str, Any, dict[str, Any], Any]]
) -> tuple[SourceFile, list[tuple[int, int]]] | None:
    """The YAML / CSV file declaring these tables, and each table's declaration in it."""
    sf = _original(p, path)
    if sf is None or (path.lower().endswith(".csv") and (sf.size or 0) > MAX_DECLARING_FILE):
        return None
    if path.lower().endswith(".csv"):
        return sf, [(1, 1)] * len(stmts)
    text = _head(sf, MAX_DECLARING_FILE + 1)
    if len(text) > MAX_DECLARING_FILE:
        return None
    decoded = text.decode("utf-8-sig", errors="replace")
    spans = []
    for _, _, node, _ in stmts:
        source = node.get("source_name") if node.get("resource_type") == "source" else None
        span = yaml_span(decoded, str(source) if source else None, str(node.get("name") or ""))
        spans.append(span or (1, max(1, decoded.count("\n"))))
    return sf, spans


def _models(p: _Project, present: dict[str, SourceFile]) -> list[_Out]:
    by_path: dict[str, list[_Node]] = {}
    renderer = Renderer(p.manifest, partial(relation, style=p.style), materialized, raw_code)
    reads: list[tuple[dict[str, str], list[Any]]] = []
    for uid, node in sorted((p.manifest.get("nodes") or {}).items()):
        if not isinstance(node, dict) or node.get("resource_type") not in ("model", "snapshot"):
            continue
        entry = catalog_entry(p.catalog, uid)
        how = "snapshot" if node.get("resource_type") == "snapshot" else materialized(node, entry)
        if how == "ephemeral":
            continue  # dbt inlines it as a CTE into its dependants' compiled code
        code = compiled_code(node)
        rel = relation(node, p.style)
        path = node_path(node, p.package) or uid
        if str(node.get("language") or "sql").lower() != "sql":
            p.not_sql.append(path)
            continue
        if code is None and rel is not None:
            code = renderer.render(node)  # a manifest from `dbt parse`: only refs, sources, config
            if code is not None:
                p.rendered.append(path)
        if code is None or rel is None:
            p.skipped.append(path)
            if rel is not None:  # what reads it says why its columns are unknown
                name = f"dbt model {node.get('name')}: not read (its Jinja needs `dbt compile`)"
                p.unknown[uid] = (re.sub(r'["`\[\]]', "", rel).lower(), f"{name}, its columns are unknown")
            continue
        what = "view" if how in ("view", "materialized_view") else "table"
        head = f"create {what} {rel} as "
        body = code.rstrip().rstrip(";").rstrip()
        doc = docs_of(node, entry, 1)
        if snapshot_columns(node):  # the columns dbt's snapshot materialisation adds
            doc["added"] = snapshot_columns(node)
        unknown: dict[str, str] = {}  # filled once every model's fate is known
        reads.append((unknown, (node.get("depends_on") or {}).get("nodes") or []))
        by_path.setdefault(path, []).append((head, body, node, entry, doc, unknown))
    for unknown, deps in reads:
        unknown.update(p.unknown[d] for d in _through_ephemerals(p, deps) if d in p.unknown)
    out: list[_Out] = []
    for path, group in by_path.items():
        if len(group) > 1 or path.lower().endswith((".yml", ".yaml")):
            # declared in a YAML file (snapshots of dbt >= 1.9), alone or with others there
            out.append(_shared(p, path, group))
            continue
        [(head, body, node, entry, doc, unknown)] = group
        raw: SourceFile | bytes
        if p.prefix + path in present:
            raw, origin = present[p.prefix + path], "file"
        elif raw_code(node) is not None:
            raw, origin = str(raw_code(node)).encode("utf-8"), "manifest"
            p.from_manifest.append(path)
        else:
            raw, origin = body.encode("utf-8") + b"\n", "compiled"
        meta: dict[str, Any] = {"origin": origin, "prefix": len(head), "objects": [doc]}
        if unknown:  # relations it reads whose columns nothing says: its diagnostics name them
            meta["unknown"] = unknown
        out.append(_Out(p.prefix + path, f"{head}{body}\n{meta_line(meta)}", raw))
    return out


_Node = tuple[str, str, dict[str, Any], dict[str, Any] | None, dict[str, Any], dict[str, str]]


def _through_ephemerals(p: _Project, deps: list[Any]) -> list[str]:
    """The unique ids a model reads: its ``depends_on`` nodes, an ephemeral one (inlined into
    the model's SQL) replaced by what it reads in turn."""
    nodes = p.manifest.get("nodes") or {}
    out: list[str] = []
    todo = [d for d in deps if isinstance(d, str)]
    seen: set[str] = set()
    while todo:
        uid = todo.pop()
        if uid in seen:
            continue
        seen.add(uid)
        node = nodes.get(uid)
        if (
            isinstance(node, dict)
            and node.get("resource_type") == "model"
            and materialized(node, None) == "ephemeral"
        ):
            todo += [d for d in (node.get("depends_on") or {}).get("nodes") or [] if isinstance(d, str)]
        else:
            out.append(uid)
    return out


def _shared(p: _Project, path: str, group: list[_Node]) -> _Out:
    """Nodes one file declares together (YAML-defined snapshots): one statement each; the stored
    file is that YAML, each object at its ``- name:`` entry (else the statements themselves,
    generated, and their first line says so), like sources."""
    text = GENERATED_HEADER.format(path=path, catalog=" and catalog" if p.catalog is not None else "")
    objects: list[dict[str, Any]] = []
    stmts: list[tuple[str, Any, dict[str, Any], Any]] = []
    unknown: dict[str, str] = {}
    for head, body, node, entry, doc, deps in group:
        doc["line"] = text.count("\n") + 1
        objects.append(doc)
        stmts.append((head, entry, node, []))
        unknown.update(deps)
        text += f"{head}{body};\n"
    declared = _declared(p, path, stmts)
    meta: dict[str, Any] = {"origin": "generated", "objects": objects}
    raw: SourceFile | bytes = text.encode("utf-8")
    if declared is not None:
        for doc, span in zip(objects, declared[1], strict=True):
            doc["span"] = list(span)
        meta["origin"], raw = "declared", declared[0]
    if unknown:
        meta["unknown"] = unknown
    return _Out(p.prefix + path, text + meta_line(meta), raw)


def _read_artifacts(
    files: list[SourceFile], warnings: list[str]
) -> tuple[list[_Project], dict[tuple[str, str], dict[str, Any]], set[int], list[SourceFile]]:
    """The dbt projects among ``files``, their catalogs, the indexes of every artifact (consumed:
    never parsed as SQL) and the artifacts that cannot be read (each a failed file)."""
    projects: list[_Project] = []
    catalogs: dict[tuple[str, str], dict[str, Any]] = {}
    artifacts: set[int] = set()
    failed: list[SourceFile] = []
    for i, sf in enumerate(files):
        leaf = sf.path.rsplit("/", 1)[-1]
        if leaf not in ARTIFACT_NAMES:
            continue
        artifacts.add(i)
        if any(part in ("dbt_packages", "logs") for part in sf.path.split("/")[:-1]):
            continue  # an installed package's own artifacts: the project's manifest covers its nodes
        if sf.error is not None:  # not collected (too large, a link, ...): failed as it is
            failed.append(sf)
            continue
        what = "dbt manifest" if leaf == "manifest.json" else "dbt catalog"
        try:
            text = decode_json(sf.read())  # its bytes are dropped here, before the document is built
            doc = parse_json(text)
            if leaf == "catalog.json":
                version = None
                if not check_catalog(doc, text):
                    warnings.append(f"{sf.path}: a catalog.json that is not a dbt catalog: ignored")
                    continue
            else:
                version = check_manifest(doc, text, SUPPORTED_VERSIONS)
        except OSError as exc:
            sf.error, sf.error_code = (
                f"{what}: unreadable ({exc.strerror or exc})",
                f"{what.replace(' ', '_')}_invalid",
            )
            failed.append(sf)
            continue
        except ArtifactError as exc:
            sf.error, sf.error_line, sf.error_column = f"{what}: {exc.message}", exc.line, exc.column
            sf.error_code = f"{what.replace(' ', '_')}_invalid"
            failed.append(sf)
            continue
        text = ""  # only its errors' positions needed the text
        folder = sf.path.rsplit("/", 1)[0] if "/" in sf.path else ""
        if leaf == "catalog.json":
            catalogs[(sf.group, folder)] = doc
            continue
        if version is None:
            warnings.append(f"{sf.path}: a manifest.json that is not a dbt manifest: ignored")
            continue
        root = _root_of(sf.path)
        package = root_package(doc)
        keys = (
            "nodes",
            "macros",
            "sources",
            "exposures",
            "metrics",
            "semantic_models",
            "saved_queries",
            "unit_tests",
            "functions",
        )
        listed = [n for key in keys for n in (doc.get(key) or {}).values()]
        listed += [n for ns in (doc.get("disabled") or {}).values() if isinstance(ns, list) for n in ns]
        owned = {root + path for n in listed if isinstance(n, dict) and (path := node_path(n, package))}
        projects.append(
            _Project(
                root,
                {key: doc[key] for key in KEPT_SECTIONS if key in doc},  # the rest (macros, ...) goes now
                None,
                sf.group,
                folder,
                owned,
                package=package,
                location=_location(sf),
                style=relation_style(doc),
                ignored=ignored(doc, package),
            )
        )
    return projects, catalogs, artifacts, failed


def _location(sf: SourceFile) -> Path | None:
    """The dbt project's folder on disk of an artifact that is a file there."""
    if sf.location is None:
        return None
    return sf.location.parent.parent if sf.location.parent.name == "target" else sf.location.parent


def _hold_back(files: list[SourceFile], failed: list[SourceFile], projects: list[_Project]) -> set[int]:
    """A dbt project whose manifest cannot be read is not ingested at all (nothing half-written):
    its own SQL (raw Jinja, not SQL to parse as it is) fails naming the manifest, so what an
    earlier ingest stored of it stays as it was; dbt's output under it is dropped as always. A
    project is the manifest's folder when the manifest is in ``target/`` or beside
    ``dbt_project.yml``; a lone broken ``manifest.json`` holds nothing else back. A snapshot
    ingest removes nothing under a held project (``SourceFile.holds``: its sources' YAML and
    seeds' CSV are not among the files). Returns the indexes of files to drop."""
    from finlineage.ingest.sources import is_sql_name

    drop: set[int] = set()
    for bad in failed:
        if bad.path.rsplit("/", 1)[-1] != "manifest.json":
            continue
        root = _root_of(bad.path)
        location = _location(bad)
        marker = any(sf.group == bad.group and sf.path == root + PROJECT_FILE for sf in files) or (
            location is not None and (location / PROJECT_FILE).is_file()
        )
        if not (marker or bad.path.startswith(root + "target/")):
            continue
        bad.holds = root  # a snapshot ingest leaves what is stored of the project as it is
        here = _Project(root, {}, None, bad.group, bad.path.rsplit("/", 1)[0] if "/" in bad.path else "")
        for i, sf in enumerate(files):
            if sf is bad or sf.group != bad.group or not sf.path.startswith(root) or sf.error is not None:
                continue
            if any(
                sf.path.startswith(p.prefix) and sf.group == p.group
                for p in projects
                if len(p.prefix) > len(root)
            ):
                continue  # a readable project nested inside: its own rules
            if _owned(sf, [here]) or sf.path.rsplit("/", 1)[-1] == PROJECT_FILE:
                drop.add(i)  # dbt's output and the project's non-SQL files: never parsed
            elif is_sql_name(sf.path):
                sf.error = f"not ingested: its dbt project's manifest {bad.path} cannot be read"
    return drop


def expand(files: list[SourceFile], warnings: list[str]) -> list[SourceFile]:
    """Replace each dbt project among ``files`` (its manifest, catalog and raw Jinja files) by the
    files it stands for (each with the SQL the engine parses); other files pass through."""
    from finlineage.ingest.sources import SourceFile

    projects, catalogs, artifacts, failed = _read_artifacts(files, warnings)
    covered = {(p.group, p.prefix) for p in projects}
    covered |= {(b.group, _root_of(b.path)) for b in failed if b.path.rsplit("/", 1)[-1] == "manifest.json"}
    bare = without_manifest(files, covered, [(p.group, p.prefix) for p in projects], warnings)
    if not artifacts:
        return [sf for i, sf in enumerate(files) if i not in bare] if bare else files
    for p in projects:
        p.catalog = catalogs.get((p.group, p.manifest_dir))
        p.loose = {sf.path: sf for sf in files if sf.group == p.group and sf.error is None}
    held = _hold_back(files, failed, projects)
    out = [*failed]  # artifacts that cannot be read: failed files, at their line:col
    out += [
        sf
        for i, sf in enumerate(files)
        if i not in artifacts and i not in held and i not in bare and not _owned(sf, projects)
    ]
    for p in projects:
        present = {
            sf.path: sf for sf in files if sf.group == p.group and sf.error is None and sf.path in p.owned
        }
        adapter = str((p.manifest.get("metadata") or {}).get("adapter_type") or "").lower()
        dialect = ADAPTER_DIALECTS.get(adapter)
        for o in [*_tables(p), *_models(p, present)]:
            parse = o.parse.encode("utf-8")
            if isinstance(o.raw, bytes):
                out.append(
                    SourceFile(
                        o.path,
                        data=o.raw,
                        group=p.group,
                        explicit_dialect=dialect,
                        size=len(o.raw),
                        parse_data=parse,
                    )
                )
            else:
                o.raw.explicit_dialect = dialect
                o.raw.parse_data = parse
                out.append(o.raw)
        where = p.prefix or "./"
        if p.skipped:
            warnings.append(
                f"dbt project {where}: {len(p.skipped)} model(s) without compiled_code and with Jinja "
                f"beyond ref/source/config skipped (run `dbt compile` before ingesting): {names(p.skipped)}"
            )
        if p.rendered:
            warnings.append(
                f"dbt project {where}: {len(p.rendered)} model(s) without compiled_code read with their "
                f"ref/source/config calls substituted, snapshot and is_incremental() blocks as a first "
                f"build (no other Jinja in them): {names(p.rendered)}"
            )
        if p.from_manifest:
            warnings.append(
                f"dbt project {where}: {len(p.from_manifest)} model file(s) not in this ingest; their text is "
                f"the manifest's raw_code: {names(p.from_manifest)}"
            )
        if p.not_sql:
            tabled = (
                f"; {len(p.python_tables)} of them are tables of the columns the catalog/manifest "
                f"gives (no lineage into them): {names(p.python_tables)}"
                if p.python_tables
                else ""
            )
            warnings.append(
                f"dbt project {where}: {len(p.not_sql)} model(s) not in SQL (Python models) not analysed: "
                f"{names(p.not_sql)}{tabled}"
            )
        if p.ignored:
            kinds = "; ".join(f"{len(v)} {k} ({names(v, 5)})" for k, v in sorted(p.ignored.items()))
            warnings.append(f"dbt project {where}: not relations, not analysed: {kinds}")
        if p.no_columns:
            warnings.append(
                f"dbt project {where}: {len(p.no_columns)} source(s)/seed(s) without known columns (no "
                f"catalog.json, no documented columns, no seed CSV): created with their columns unknown: "
                f"{names(p.no_columns)}"
            )
        if adapter and dialect is None:
            warnings.append(
                f"dbt project {where}: adapter {adapter!r} has no known SQL dialect; detected per file"
            )
    return out


def _owned(sf: SourceFile, projects: list[_Project]) -> bool:
    """A file of a dbt project that is not SQL to parse as it is: the files dbt lists (raw Jinja,
    YAML, seeds), dbt's output (``target/``, or ``compiled/`` and ``run/`` beside a manifest
    handed over without its target folder), and the project's other own files under its root
    (``dbt_project.yml``, ``profiles.yml``, docs ``.md``, ... as an upload of loose files brings
    them; anything else still goes through, and fails visibly if it is not SQL)."""
    from finlineage.ingest.sources import CONFIG_NAME, is_sql_name

    generated = ("target/", "dbt_packages/", "logs/")
    return any(
        sf.group == p.group
        and (
            sf.path in p.owned
            or any(sf.path.startswith(p.prefix + d) for d in generated)
            or any(sf.path.startswith(f"{p.manifest_dir}/{d}".lstrip("/")) for d in ("compiled/", "run/"))
            or (
                sf.path.startswith(p.prefix)
                and sf.path.lower().endswith(PROJECT_FILE_SUFFIXES)
                and not is_sql_name(sf.path)
                and sf.path.rsplit("/", 1)[-1] != CONFIG_NAME
            )
        )
        for p in projects
    )


def _decode(data: bytes) -> str:
    """As evidence decodes stored bytes (query/evidence.decode_text), so the lines agree."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="replace")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace")
    return data.decode("utf-8", errors="replace")


def onto_original(facts: dict[str, Any], raw: bytes, parse: bytes) -> dict[str, Any]:
    """Facts parsed from ``parse`` (a file's ``parse_data``) on the lines of the file's own ``raw``
    bytes, with the docs and types the parse text carries (ingest/dbt_lines.py)."""
    return onto_original_text(facts, _decode(raw), _decode(parse))

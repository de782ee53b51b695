"""dbt projects: a ``manifest.json`` (schema v7–v12, optional ``catalog.json`` beside it) found in
an upload, archive, directory or git ingest becomes the project's SQL.

    files = expand(files, warnings)     # in the ingestion pipeline, right after collection

For every manifest among the collected files:

* **models** (not ephemeral) and **snapshots** (tables) → one source file at the model's ``original_file_path`` whose text is
  dbt's ``compiled_code`` materialised the way dbt runs it (``create view|table <relation> as``
  on the first line, in front of the compiled text, so line N is line N of the compiled model,
  which dbt keeps aligned with the raw Jinja where it only substitutes ``ref``/``source``/
  ``config`` calls). Ephemeral models are not objects: dbt already inlines them as CTEs into
  the compiled code of their dependants. Dialect: the manifest's ``adapter_type``.
* **sources and seeds** → tables: ``create table <relation> (<columns>)`` with the columns and
  types of the catalog (else of the manifest), one file per source YAML / seed path.
* relation names come from ``relation_name`` (else database/schema/alias), so the compiled
  code's references and the created objects agree; the pipeline then parses models in
  dependency order with the schema of everything upstream, which resolves ``SELECT *`` and
  unqualified columns through upstream models.
* macros, tests, analyses and snapshots are ignored, and so are the project's raw ``.sql``
  files (Jinja, not SQL) and dbt's own ``target/`` output.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from finlineage.ingest.sources import SourceFile

ARTIFACT_NAMES = ("manifest.json", "catalog.json")
SUPPORTED_VERSIONS = range(7, 13)

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
    "materialize": "postgres",
}


def is_artifact(name: str) -> bool:
    """A dbt artifact the collectors keep (next to SQL files and ``finlineage.toml``)."""
    return name.rsplit("/", 1)[-1] in ARTIFACT_NAMES


def manifest_version(doc: Any) -> int | None:
    """The manifest schema version (7..12) of a parsed ``manifest.json``, else None."""
    if not isinstance(doc, dict):
        return None
    url = str((doc.get("metadata") or {}).get("dbt_schema_version") or "")
    if "/manifest/v" not in url:
        return None
    try:
        return int(url.rsplit("/manifest/v", 1)[1].split(".", 1)[0])
    except ValueError:
        return None


def _quote(part: str) -> str:
    return '"' + part.replace('"', '""') + '"'


def relation(node: dict[str, Any]) -> str | None:
    """``relation_name`` as dbt renders it, else ``database.schema.alias`` quoted."""
    rel = node.get("relation_name")
    if isinstance(rel, str) and rel.strip():
        return rel.strip()
    parts = [
        node.get("database"),
        node.get("schema"),
        node.get("alias") or node.get("identifier") or node.get("name"),
    ]
    named = [p for p in parts if isinstance(p, str) and p]
    return ".".join(_quote(p) for p in named) if named else None


def _columns(node: dict[str, Any], catalog: dict[str, Any] | None, uid: str) -> list[tuple[str, str | None]]:
    cols: dict[str, str | None] = {}
    if catalog is not None:
        entry = (catalog.get("nodes") or {}).get(uid) or (catalog.get("sources") or {}).get(uid) or {}
        ordered = sorted((entry.get("columns") or {}).values(), key=lambda c: c.get("index") or 0)
        for c in ordered:
            if isinstance(c.get("name"), str):
                cols[c["name"]] = c.get("type") if isinstance(c.get("type"), str) else None
    for name, c in (node.get("columns") or {}).items():
        dtype = c.get("data_type") if isinstance(c, dict) else None
        if name not in cols or (cols[name] is None and dtype):
            cols[name] = dtype if isinstance(dtype, str) and dtype else cols.get(name)
    return list(cols.items())


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


def _root_of(path: str) -> str:
    parts = path.split("/")[:-1]
    if parts and parts[-1] == "target":
        parts = parts[:-1]
    return "/".join(parts) + "/" if parts else ""


def _build(p: _Project) -> tuple[list[tuple[str, str]], str | None]:
    """(logical path, text) of the files a manifest stands for, and the dialect."""
    m = p.manifest
    adapter = str((m.get("metadata") or {}).get("adapter_type") or "").lower()
    dialect = ADAPTER_DIALECTS.get(adapter)
    tables: dict[str, list[str]] = {}
    done: set[str] = set()
    nodes = m.get("nodes") or {}
    for uid, node in [*sorted(nodes.items()), *sorted((m.get("sources") or {}).items())]:
        kind = node.get("resource_type")
        if kind not in ("seed", "source"):
            continue
        rel = relation(node)
        cols = _columns(node, p.catalog, uid)
        if rel is None or rel.lower() in done or not cols:
            continue
        done.add(rel.lower())
        body = ",\n".join(f"    {_quote(c)} {t or 'VARCHAR'}" for c, t in cols)
        tables.setdefault(p.prefix + str(node.get("original_file_path") or uid), []).append(
            f"create table {rel} (\n{body}\n);\n"
        )
    out = [(path, "\n".join(stmts)) for path, stmts in tables.items()]
    for _, node in sorted(nodes.items()):
        if node.get("resource_type") not in ("model", "snapshot"):
            continue
        materialized = str((node.get("config") or {}).get("materialized") or "view")
        if node.get("resource_type") == "snapshot":
            materialized = "snapshot"  # a table dbt keeps from the snapshot's select
        code = node.get("compiled_code") or node.get("compiled_sql")
        rel = relation(node)
        if materialized == "ephemeral":
            continue  # dbt inlines it as a CTE into its dependants' compiled code
        if not isinstance(code, str) or not code.strip() or rel is None:
            p.skipped.append(str(node.get("original_file_path") or node.get("unique_id")))
            continue
        what = "view" if materialized in ("view", "materialized_view") else "table"
        body = code.rstrip().rstrip(";")
        out.append((p.prefix + str(node.get("original_file_path")), f"create {what} {rel} as {body}\n"))
    return out, dialect


def expand(files: list[SourceFile], warnings: list[str]) -> list[SourceFile]:
    """Replace each dbt project among ``files`` (its manifest, catalog and raw Jinja files) by the
    SQL files it stands for; other files pass through unchanged."""
    from finlineage.ingest.sources import SourceFile

    projects: list[_Project] = []
    catalogs: dict[tuple[str, str], dict[str, Any]] = {}
    artifacts: set[int] = set()
    for i, sf in enumerate(files):
        leaf = sf.path.rsplit("/", 1)[-1]
        if leaf not in ARTIFACT_NAMES or sf.error is not None:
            continue
        artifacts.add(i)
        try:
            doc = json.loads(sf.read())
        except (OSError, ValueError) as exc:
            warnings.append(f"{sf.path}: not a readable dbt artifact ({exc})")
            continue
        if leaf == "catalog.json":
            catalogs[(sf.group, sf.path.rsplit("/", 1)[0] if "/" in sf.path else "")] = doc
            continue
        version = manifest_version(doc)
        if version is None:
            warnings.append(f"{sf.path}: a manifest.json that is not a dbt manifest: ignored")
            continue
        if version not in SUPPORTED_VERSIONS:
            warnings.append(f"{sf.path}: dbt manifest v{version} is not supported (v7 to v12): ignored")
            continue
        root = _root_of(sf.path)
        owned = {
            root + str(n.get("original_file_path"))
            for key in ("nodes", "macros", "sources", "exposures", "metrics", "semantic_models", "unit_tests")
            for n in (doc.get(key) or {}).values()
            if isinstance(n, dict) and n.get("original_file_path")
        }
        projects.append(
            _Project(root, doc, None, sf.group, sf.path.rsplit("/", 1)[0] if "/" in sf.path else "", owned)
        )
    if not artifacts:
        return files
    for p in projects:
        p.catalog = catalogs.get((p.group, p.manifest_dir))
    out = [sf for i, sf in enumerate(files) if i not in artifacts and not _owned(sf, projects)]
    for p in projects:
        built, dialect = _build(p)
        if p.skipped:
            warnings.append(
                f"dbt project {p.prefix or './'}: {len(p.skipped)} model(s) without compiled_code skipped "
                f"(run `dbt compile` before ingesting): {', '.join(p.skipped[:5])}"
            )
        for path, text in built:
            data = text.encode("utf-8")
            out.append(SourceFile(path, data=data, group=p.group, explicit_dialect=dialect, size=len(data)))
    return out


def _owned(sf: SourceFile, projects: list[_Project]) -> bool:
    """A file of a dbt project that is not SQL to parse (raw Jinja, dbt's target/ output)."""
    generated = ("target/", "dbt_packages/", "logs/")
    return any(
        sf.group == p.group
        and (sf.path in p.owned or any(sf.path.startswith(p.prefix + d) for d in generated))
        for p in projects
    )

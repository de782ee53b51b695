"""Reading dbt artifacts the way every manifest version (v7 to v12) spells them: relation names,
raw and compiled code, materialisation, packages, columns and types (manifest and catalog), and
the documentation of each object (ingest/dbt.py turns them into files to parse)."""

from __future__ import annotations

import json
import re
from typing import Any

MANIFEST_SECTIONS = (
    "nodes",
    "sources",
    "macros",
    "docs",
    "exposures",
    "metrics",
    "groups",
    "selectors",
    "disabled",
    "parent_map",
    "child_map",
    "semantic_models",
    "saved_queries",
    "unit_tests",
    "functions",
)
"""Top-level members of a dbt manifest that are JSON objects in every schema version."""
NODE_SECTIONS = (
    "nodes",
    "sources",
    "macros",
    "exposures",
    "metrics",
    "semantic_models",
    "unit_tests",
    "functions",
)
"""Those whose every member is one resource (a JSON object)."""


ARTIFACT_NAMES = ("manifest.json", "catalog.json")
PROJECT_FILE = "dbt_project.yml"
PROJECT_FILE_SUFFIXES = (".yml", ".yaml", ".csv", ".md", ".py", ".lock")
"""A dbt project's own non-SQL files (properties, seeds, docs blocks, Python models, lock files)."""


def is_artifact(name: str) -> bool:
    """A dbt artifact the collectors keep (next to SQL files and ``finlineage.toml``)."""
    return name.rsplit("/", 1)[-1] in ARTIFACT_NAMES


class ArtifactError(ValueError):
    """A dbt artifact that cannot be read, with where in its text (1-based), when known."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.message, self.line, self.column = message, line, column


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _key_at(text: str, key: str) -> tuple[int | None, int | None]:
    """Line:col of the first member named ``key`` in a JSON text (None, None when absent)."""
    m = re.search(re.escape(json.dumps(key)) + r"\s*:", text)
    return _position(text, m.start()) if m else (None, None)


def _kind(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), "null" if value is None else "a number"
    )


def load_json(data: bytes) -> tuple[str, Any]:
    """(text, document) of a JSON artifact, else ArtifactError at JSON's own position: bytes that
    are not UTF-8, invalid JSON (a file cut short says it ends early), an empty file."""
    text = decode_json(data)
    return text, parse_json(text)


def decode_json(data: bytes) -> str:
    """The text of a JSON artifact's bytes (ArtifactError where they are not UTF-8). Separate
    from :func:`parse_json` so a caller holds the bytes, the text and the document of an
    artifact of hundreds of MB no longer than it must (the bytes go once decoded)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        head = data[: exc.start].decode("utf-8", errors="replace")
        raise ArtifactError(f"not UTF-8 text ({exc.reason})", *_position(head, len(head))) from None
    if not text.strip():
        raise ArtifactError("empty file", 1, 1)
    return text


def parse_json(text: str) -> Any:
    """The document of a JSON artifact's text, else ArtifactError at JSON's own position."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        ends = exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string")
        early = " (the file ends early: truncated?)" if ends else ""
        raise ArtifactError(f"invalid JSON: {exc.msg}{early}", exc.lineno, exc.colno) from None
    except RecursionError:
        raise ArtifactError("invalid JSON: nested too deeply") from None


_RESOURCE_KEYS = ("resource_type", "unique_id", "columns")


def _claims(doc: dict[str, Any], sections: tuple[str, ...]) -> bool:
    """The document says it is a dbt artifact: its metadata has dbt's ``dbt_schema_version``
    member, or one of dbt's sections holds a dbt resource (an object with ``resource_type``,
    ``unique_id`` or ``columns``). Another tool's JSON with a ``nodes`` member does not."""
    meta = doc.get("metadata")
    if isinstance(meta, dict) and "dbt_schema_version" in meta:
        return True
    for key in sections:
        value = doc.get(key)
        first = next(iter(value.values()), None) if isinstance(value, dict) else None
        if isinstance(first, dict) and any(k in first for k in _RESOURCE_KEYS):
            return True
    return False


def _check_sections(
    doc: dict[str, Any], text: str, sections: tuple[str, ...], resources: tuple[str, ...]
) -> None:
    for key in sections:
        value = doc.get(key)
        if value is not None and not isinstance(value, dict):
            raise ArtifactError(f"`{key}` is {_kind(value)}, not an object", *_key_at(text, key))
    for key in resources:
        for uid, node in (doc.get(key) or {}).items():
            if not isinstance(node, dict):
                raise ArtifactError(f"`{key}.{uid}` is {_kind(node)}, not an object", *_key_at(text, uid))


def check_manifest(doc: Any, text: str, supported: range) -> int | None:
    """The schema version of a dbt manifest; None for a JSON document that does not claim to be
    one (another tool's ``manifest.json``); ArtifactError for a dbt manifest that cannot be read:
    not an object, an unknown or unsupported schema version, a section of the wrong shape."""
    if not isinstance(doc, dict):
        raise ArtifactError(f"the document is {_kind(doc)}, not an object", 1, 1)
    version = manifest_version(doc)
    if version is None:
        if not _claims(doc, ("nodes", "sources", "macros")):
            return None
        raise ArtifactError(
            "metadata.dbt_schema_version is not a dbt manifest schema (.../manifest/vN.json)",
            *(
                _key_at(text, "dbt_schema_version")
                if "dbt_schema_version" in text
                else _key_at(text, "metadata")
            ),
        )
    if version not in supported:
        raise ArtifactError(
            f"schema v{version} is not supported (v{supported[0]} to v{supported[-1]})",
            *_key_at(text, "dbt_schema_version"),
        )
    _check_sections(doc, text, MANIFEST_SECTIONS, NODE_SECTIONS)
    return version


def check_catalog(doc: Any, text: str) -> bool:
    """True for a dbt catalog, False for a JSON document that does not claim to be one;
    ArtifactError for a dbt catalog that cannot be read."""
    if not isinstance(doc, dict):
        raise ArtifactError(f"the document is {_kind(doc)}, not an object", 1, 1)
    if not _claims(doc, ("nodes", "sources")):
        return False
    _check_sections(doc, text, ("nodes", "sources"), ("nodes", "sources"))
    for key in ("nodes", "sources"):
        for uid, entry in (doc.get(key) or {}).items():
            cols = entry.get("columns")
            if cols is not None and not isinstance(cols, dict):
                raise ArtifactError(
                    f"`{key}.{uid}.columns` is {_kind(cols)}, not an object", *_key_at(text, uid)
                )
    return True


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


def quote(part: str) -> str:
    return '"' + part.replace('"', '""') + '"'


def _parts(node: dict[str, Any]) -> list[str]:
    parts = [
        node.get("database"),
        node.get("schema"),
        node.get("alias") or node.get("identifier") or node.get("name"),
    ]
    return [p for p in parts if isinstance(p, str) and p]


_QUOTES = ('"', "`", "[")


def relation_style(manifest: dict[str, Any]) -> tuple[bool, str | None]:
    """How this manifest's own ``relation_name`` values spell a relation, for nodes that have
    none (seeds and sources of older manifests): whether the database part is written (some
    adapters leave it out: ``schema.alias``) and the quote character (``"``, a backtick, ``[``,
    or None for bare names). The first node whose ``relation_name`` is built from its own
    database/schema/alias decides; without one: database included, double quotes."""
    groups = [(manifest.get("nodes") or {}).items(), (manifest.get("sources") or {}).items()]
    for _uid, node in sorted(item for g in groups for item in g):
        rel = node.get("relation_name") if isinstance(node, dict) else None
        parts = _parts(node) if isinstance(node, dict) else []
        if not isinstance(rel, str) or not rel.strip() or len(parts) < 2:
            continue
        rel = rel.strip()
        q = rel[0] if rel[0] in _QUOTES else None
        close = {"[": "]"}.get(q or "", q or "")
        for with_db in (True, False):
            named = parts if with_db or len(parts) < 3 else parts[1:]
            if q is None:
                spelled = ".".join(named)
            else:
                spelled = ".".join(q + p.replace(close, close * 2) + close for p in named)
            if spelled.lower() == rel.lower():
                return with_db, q
    return True, '"'


def relation(node: dict[str, Any], style: tuple[bool, str | None] = (True, '"')) -> str | None:
    """``relation_name`` as dbt renders it, else ``database.schema.alias`` spelled the way the
    manifest spells its other relations (``style``: see ``relation_style``; a null ``database``,
    as some adapters have, is left out)."""
    rel = node.get("relation_name")
    if isinstance(rel, str) and rel.strip():
        return rel.strip()
    named = _parts(node)
    with_db, q = style
    if not with_db and len(named) == 3:
        named = named[1:]
    if not named:
        return None
    if q is None:
        return ".".join(named)
    close = {"[": "]"}.get(q, q)
    return ".".join(q + p.replace(close, close * 2) + close for p in named)


def root_package(doc: dict[str, Any]) -> str | None:
    """The project's own package: ``metadata.project_name``, else the package most models are in."""
    name = (doc.get("metadata") or {}).get("project_name")
    if isinstance(name, str) and name:
        return name
    counts: dict[str, int] = {}
    for n in (doc.get("nodes") or {}).values():
        if (
            isinstance(n, dict)
            and n.get("resource_type") == "model"
            and isinstance(n.get("package_name"), str)
        ):
            counts[n["package_name"]] = counts.get(n["package_name"], 0) + 1
    return max(counts, key=lambda k: counts[k]) if counts else None


def node_path(node: dict[str, Any], package: str | None) -> str | None:
    """A node's file, relative to the project root with ``/`` separators: ``original_file_path``
    for the project's own nodes, under ``dbt_packages/<package>/`` for an installed package's
    (where `dbt deps` puts it)."""
    path = node.get("original_file_path")
    if not isinstance(path, str) or not path:
        return None
    path = path.replace("\\", "/")  # a manifest written on Windows separates with backslashes
    pkg = node.get("package_name")
    if package and isinstance(pkg, str) and pkg and pkg != package:
        return f"dbt_packages/{pkg}/{path}"
    return path


def _text(node: dict[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = node.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return None


def raw_code(node: dict[str, Any]) -> str | None:
    """The model's Jinja as written (``raw_code``; ``raw_sql`` in older manifests)."""
    return _text(node, "raw_code", "raw_sql")


def compiled_code(node: dict[str, Any]) -> str | None:
    """dbt's compiled SQL (``compiled_code``; ``compiled_sql`` in older manifests), with
    ephemeral CTEs injected when the manifest lists them as not yet injected."""
    code = _text(node, "compiled_code", "compiled_sql")
    ctes = [c for c in node.get("extra_ctes") or [] if isinstance(c, dict) and c.get("sql") and c.get("id")]
    if code is None or not ctes or node.get("extra_ctes_injected", True):
        return code
    defs = ",\n".join(
        f"{c['sql'].strip()}"
        if c["sql"].lstrip().lower().startswith("__dbt__cte__")
        else f"__dbt__cte__{str(c['id']).rsplit('.', 1)[-1]} as (\n{c['sql'].strip()}\n)"
        for c in ctes
    )
    head = code.lstrip()
    if head[:4].lower() == "with" and (len(head) == 4 or not (head[4].isalnum() or head[4] == "_")):
        return f"with {defs},\n{head[4:].lstrip()}"
    return f"with {defs}\n{code}"


SNAPSHOT_META_COLUMNS = ("dbt_scd_id", "dbt_updated_at", "dbt_valid_from", "dbt_valid_to")


def snapshot_columns(node: dict[str, Any]) -> list[str]:
    """The columns dbt's snapshot materialisation adds to a snapshot's select (its validity
    range and row key), named as ``config.snapshot_meta_column_names`` renames them;
    ``dbt_is_deleted`` too when ``config.hard_deletes`` is ``new_record``. [] for other nodes."""
    if node.get("resource_type") != "snapshot":
        return []
    config = node.get("config") or {}
    names = config.get("snapshot_meta_column_names") or {}
    names = names if isinstance(names, dict) else {}
    keys = [
        *SNAPSHOT_META_COLUMNS,
        *(["dbt_is_deleted"] if config.get("hard_deletes") == "new_record" else []),
    ]
    return [v if isinstance(v := names.get(k), str) and v else k for k in keys]


def materialized(node: dict[str, Any], catalog_entry: dict[str, Any] | None) -> str:
    """``config.materialized`` (``materialized`` at the node's top level in some manifests);
    else the catalog's relation type; else dbt's default, a view."""
    value = (node.get("config") or {}).get("materialized") or node.get("materialized")
    if isinstance(value, str) and value:
        return value
    kind = str(((catalog_entry or {}).get("metadata") or {}).get("type") or "").upper()
    if kind:
        return "view" if "VIEW" in kind else "table"
    return "view"


def catalog_entry(catalog: dict[str, Any] | None, uid: str) -> dict[str, Any] | None:
    if catalog is None:
        return None
    entry = (catalog.get("nodes") or {}).get(uid) or (catalog.get("sources") or {}).get(uid)
    return entry if isinstance(entry, dict) else None


def columns_of(node: dict[str, Any], entry: dict[str, Any] | None) -> list[tuple[str, str | None]]:
    """Columns and types: the catalog's (what the warehouse has), then the manifest's
    ``data_type`` for columns the catalog has no type for, then the documented-only ones."""
    cols: dict[str, str | None] = {}
    if entry is not None:
        ordered = sorted((entry.get("columns") or {}).values(), key=lambda c: c.get("index") or 0)
        for c in ordered:
            if isinstance(c, dict) and isinstance(c.get("name"), str):
                cols[c["name"]] = c.get("type") if isinstance(c.get("type"), str) else None
    lower = {k.lower(): k for k in cols}
    for name, c in (node.get("columns") or {}).items():
        dtype = c.get("data_type") if isinstance(c, dict) else None
        dtype = dtype if isinstance(dtype, str) and dtype else None
        key = lower.get(str(name).lower(), str(name))
        if key not in cols or (cols[key] is None and dtype):
            cols[key] = dtype if dtype else cols.get(key)
    return list(cols.items())


def docs_of(node: dict[str, Any], entry: dict[str, Any] | None, line: int) -> dict[str, Any]:
    """What the parse-text meta line says about the object created on ``line``: the manifest's
    descriptions, else the warehouse comments the catalog read (``metadata.comment``,
    ``columns.*.comment``)."""

    def text(value: Any) -> str | None:
        return value.strip() if isinstance(value, str) and value.strip() else None

    col_docs = {
        str(c["name"]): doc
        for c in ((entry or {}).get("columns") or {}).values()
        if isinstance(c, dict) and isinstance(c.get("name"), str) and (doc := text(c.get("comment")))
    }
    col_docs.update(
        {
            str(name): doc
            for name, c in (node.get("columns") or {}).items()
            if isinstance(c, dict) and (doc := text(c.get("description")))
        }
    )
    desc = text(node.get("description")) or text(((entry or {}).get("metadata") or {}).get("comment"))
    return {
        "line": line,
        "description": desc,
        "columns": col_docs,
        "types": dict(columns_of(node, entry)),
    }


IGNORED_NODES = {
    "analysis": "analyses",
    "test": "data tests",
    "unit_test": "unit tests",
    "operation": "hooks",
    "sql_operation": "hooks",
}
"""Nodes of these resource types are SQL dbt runs or compiles without building a relation."""
IGNORED_SECTIONS = {
    "unit_tests": "unit tests",
    "exposures": "exposures",
    "metrics": "metrics",
    "semantic_models": "semantic models",
    "saved_queries": "saved queries",
    "functions": "user-defined functions",
}
"""Sections of a manifest whose resources are no relation (``functions``: dbt >= 1.11 UDFs)."""


def ignored(doc: dict[str, Any], package: str | None) -> dict[str, list[str]]:
    """What the manifest declares that is not ingested as a relation, by kind: each by its file
    (analyses, disabled nodes: ``.sql`` files a user may look for) or its name."""
    out: dict[str, list[str]] = {}

    def name(n: dict[str, Any]) -> str:
        if n.get("resource_type") in ("analysis", "model", "snapshot", "seed"):
            return node_path(n, package) or str(n.get("unique_id") or n.get("name"))
        return str(n.get("name") or n.get("unique_id"))

    for n in (doc.get("nodes") or {}).values():
        kind = IGNORED_NODES.get(str(n.get("resource_type")))
        if kind is not None:
            out.setdefault(kind, []).append(name(n))
    for key, kind in IGNORED_SECTIONS.items():
        for n in (doc.get(key) or {}).values():
            if isinstance(n, dict):
                out.setdefault(kind, []).append(name(n))
    disabled = [n for ns in (doc.get("disabled") or {}).values() if isinstance(ns, list) for n in ns]
    for n in disabled:
        if isinstance(n, dict):
            out.setdefault("disabled", []).append(name(n))
    return {k: sorted(set(v)) for k, v in out.items()}

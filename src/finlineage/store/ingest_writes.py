"""Store functions the ingestion service needs on top of :mod:`finlineage.store.repositories`.

Like the repositories, every function takes the session first and never commits. Facts come in
as the plain dictionaries produced by ``finlineage.ingest.worker`` (one per parsed file):

``objects``       ``[{canonical, kind, columns: [(name, ordinal, type)], line_start, line_end, definition}]``
``statements``    ``[(stmt_index, line_start, line_end, type, process, defined object, target)]`` (true lines)
``table_edges``   ``[(source, target, kind, expression, confidence, stmt_index, line_start, line_end, process)]``
``column_edges``  ``[(source "tbl.col", target "tbl.col", kind, expression, confidence, stmt_index, ls, le, process,
                    subtype, formula, steps "i j k")]``
``chunks``        ``[(object canonical | None, line_start, line_end, text)]``
``diagnostics``   ``[{code, message, severity, line, statement_index}]``
``descriptions``  optional ``{object canonical: (description | None, {column: description})}`` (dbt docs)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from finlineage.lineage.model import ColumnDef
from finlineage.store import repositories as repo
from finlineage.store.bulk import _chunks
from finlineage.store.models import (
    CatalogObject,
    Column,
    File,
    Project,
    Repository,
    Statement,
    TableEdge,
    UnresolvedRead,
)

SCHEMA_KINDS = ("table", "view", "materialized_view", "function")
"""Objects whose columns other files read: relations, and functions returning rows (their result
columns: a reader of such a function in another file reads it like a view of them)."""


# --------------------------------------------------------------------------------------
# projects and repositories
# --------------------------------------------------------------------------------------


def find_project(session: Session, ref: int | str) -> Project | None:
    """The project ``ref`` names: an id (int or digit string; a digit string that is no id is
    tried as a name), else the exact name, else the one name equal ignoring case. Never creates:
    ``finlineage.query.projects.resolve_project`` is the resolver callers use (creation is their
    explicit choice)."""
    if isinstance(ref, int) or (isinstance(ref, str) and ref.strip().isdecimal()):
        found = repo.get_project(session, int(ref))
        if found is not None or isinstance(ref, int):
            return found
    name = str(ref).strip()
    if not name:
        return None
    exact = repo.get_project_by_name(session, name)
    if exact is not None:
        return exact
    folded = list(session.scalars(select(Project).where(func.lower(Project.name) == name.lower()).limit(2)))
    return folded[0] if len(folded) == 1 else None


def ensure_project(session: Session, ref: int | str, *, create: bool = False) -> Project | None:
    """:func:`find_project`, or (only when ``create``) a new project named ``ref``."""
    found = find_project(session, ref)
    name = str(ref).strip()
    if found is not None or not create or isinstance(ref, int) or not name:
        return found
    return repo.create_project(session, name)


def resolve_repository(
    session: Session,
    project_id: int,
    *,
    repository_id: int | None,
    name: str | None,
    kind: str,
    url: str | None = None,
    ref: str | None = None,
) -> Repository | None:
    """By id (must belong to the project), else get-or-create by name."""
    if repository_id is not None:
        found = repo.get_repository(session, repository_id)
        if found is None or found.project_id != project_id:
            return None
        return found
    assert name
    existing = repo.get_repository_by_name(session, project_id, name)
    if existing is not None:
        if url is not None and (existing.url != url or existing.ref != ref):
            existing.url = url
            existing.ref = ref
            session.flush()
        return existing
    return repo.create_repository(session, project_id, name, kind=kind, url=url, ref=ref)


# --------------------------------------------------------------------------------------
# files
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CurrentFile:
    id: int
    sha256: str
    status: str
    version: int
    parse_sha256: str | None = None
    """The parsed text's digest when it is not the file's own (``File.parse_sha256``)."""


def current_files(session: Session, repository_id: int) -> dict[str, CurrentFile]:
    """The newest version of every path of a repository (one query)."""
    out: dict[str, CurrentFile] = {}
    rows = session.execute(
        select(File.path, File.id, File.sha256, File.status, File.version, File.parse_sha256)
        .where(File.repository_id == repository_id)
        .order_by(File.path, File.version)
    )
    for path, fid, sha, status, version, parse_sha in rows:
        out[path] = CurrentFile(int(fid), sha, status, int(version), parse_sha)
    return out


def add_file_version(
    session: Session,
    repository_id: int,
    path: str,
    sha256: str,
    *,
    size: int,
    dialect: str | None,
    run_id: int,
    previous: CurrentFile | None,
    status: str = "active",
    error: str | None = None,
    error_line: int | None = None,
    error_column: int | None = None,
    parse_sha256: str | None = None,
) -> int:
    """Insert the next version of ``path``; the previous version (if any) is superseded and
    its facts removed. Returns the new file id."""
    row = File(
        repository_id=repository_id,
        path=path,
        sha256=sha256,
        parse_sha256=parse_sha256,
        size=size,
        dialect=dialect,
        run_id=run_id,
        version=(previous.version + 1) if previous else 1,
        status=status,
        error=error,
        error_line=error_line,
        error_column=error_column,
    )
    session.add(row)
    session.flush()
    if previous is not None:
        repo.delete_facts_by_file(session, previous.id)
        repo.supersede_file(session, previous.id, row.id)
    return int(row.id)


def mark_file(
    session: Session,
    file_id: int,
    *,
    status: str,
    error: str | None,
    dialect: str | None,
    run_id: int,
    error_line: int | None = None,
    error_column: int | None = None,
) -> None:
    session.execute(
        update(File)
        .where(File.id == file_id)
        .values(
            status=status,
            error=error,
            dialect=dialect,
            run_id=run_id,
            error_line=error_line,
            error_column=error_column,
        )
    )


def co_definers(session: Session, file_ids: Iterable[int]) -> list[int]:
    """Other active files with a statement defining an object these files define (so that object
    is re-adopted by them, not left ``external``, once these files' facts are gone)."""
    ids = sorted(set(file_ids))
    found: set[int] = set()
    for part in _chunks(ids):
        defined = select(CatalogObject.id).where(CatalogObject.file_id.in_(part))
        rows = session.scalars(
            select(Statement.file_id)
            .join(File, File.id == Statement.file_id)
            .where(Statement.object_id.in_(defined), File.status.in_(("active", "error")))
            .distinct()
        )
        found.update(int(x) for x in rows)
    return sorted(found - set(ids))


def absent_files(session: Session, repository_id: int, present: Iterable[str]) -> dict[str, CurrentFile]:
    """Current files of a repository (active or error) whose path is not in ``present``."""
    keep = set(present)
    return {
        path: f
        for path, f in current_files(session, repository_id).items()
        if path not in keep and f.status in ("active", "error")
    }


def remove_file(session: Session, file_id: int) -> None:
    """A file absent from a snapshot: its facts go (objects only it defined disappear, or stay
    ``external`` while referenced) and the version is marked superseded by nothing."""
    repo.delete_facts_by_file(session, file_id)
    repo.supersede_file(session, file_id, None)


def files_by_id(session: Session, file_ids: Sequence[int]) -> list[File]:
    out: list[File] = []
    for part in _chunks(list(file_ids)):
        out.extend(session.scalars(select(File).where(File.id.in_(part))))
    return out


# --------------------------------------------------------------------------------------
# the project's schema (what the engine needs for SELECT * and unqualified columns)
# --------------------------------------------------------------------------------------


def project_schema(session: Session, project_id: int) -> dict[str, dict[str, str | None]]:
    """``{canonical: {column: type}}`` of every defined table/view with declared columns."""
    out: dict[str, dict[str, str | None]] = {}
    rows = session.execute(
        select(CatalogObject.canonical_id, Column.name, Column.data_type)
        .join(Column, Column.object_id == CatalogObject.id)
        .where(
            CatalogObject.project_id == project_id,
            CatalogObject.kind.in_(SCHEMA_KINDS),
            Column.ordinal.is_not(None),
        )
        .order_by(CatalogObject.id, Column.ordinal, Column.id)
    )
    for cid, name, dtype in rows:
        out.setdefault(cid, {})[name] = dtype
    return out


def dependent_files(
    session: Session, project_id: int, names: Iterable[str], *, exclude: Iterable[int] = ()
) -> list[int]:
    """Active files whose table edges read or write an object called one of ``names``
    (last name part, case-insensitive), not counting the file that defines the object."""
    wanted = sorted({n.lower() for n in names if n})
    skip = set(exclude)
    found: set[int] = set()
    for part in _chunks(wanted):
        obj_ids = [
            int(x)
            for x in session.scalars(
                select(CatalogObject.id).where(
                    CatalogObject.project_id == project_id, func.lower(CatalogObject.name).in_(part)
                )
            )
        ]
        for ids in _chunks(obj_ids):
            for col in (TableEdge.source_object_id, TableEdge.target_object_id):
                rows = session.execute(
                    select(TableEdge.file_id, CatalogObject.file_id)
                    .join(CatalogObject, CatalogObject.id == col)
                    .join(File, File.id == TableEdge.file_id)
                    .where(col.in_(ids), File.status == "active")
                    .distinct()
                )
                for fid, definer in rows:
                    if fid is not None and fid != definer and int(fid) not in skip:
                        found.add(int(fid))
        # files that read one of them before anything declared its columns (no edge names it)
        for (fid,) in session.execute(
            select(UnresolvedRead.file_id)
            .join(File, File.id == UnresolvedRead.file_id)
            .where(
                UnresolvedRead.project_id == project_id,
                UnresolvedRead.name.in_(part),
                File.status == "active",
            )
            .distinct()
        ):
            if int(fid) not in skip:
                found.add(int(fid))
    return sorted(found)


# --------------------------------------------------------------------------------------
# facts
# --------------------------------------------------------------------------------------


@dataclass(slots=True)
class BatchWritten:
    nodes_created: int = 0
    edges_created: int = 0
    edges_per_file: dict[int, int] | None = None


def _object_diags(obj: Mapping[str, Any], diags: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]] | None:
    ls, le = obj.get("line_start") or 0, obj.get("line_end") or 0
    hits = [dict(d) for d in diags if d.get("line") is not None and ls <= int(d["line"]) <= le]
    return hits or None


def write_facts(
    session: Session,
    project_id: int,
    run_id: int,
    items: Sequence[tuple[int, Mapping[str, Any]]],
) -> BatchWritten:
    """Write the facts of several files (``(file_id, facts)``) in bulk: defined objects (adopting
    external placeholders), referenced objects as ``external`` nodes, columns on both ends of
    every column edge, table/column edges with provenance, and code chunks."""
    specs: list[repo.ObjectSpec] = []
    refs: set[str] = set()
    for file_id, facts in items:
        dialect = facts.get("dialect")
        for obj in facts["objects"]:
            specs.append(
                repo.ObjectSpec(
                    obj["canonical"],
                    obj["kind"],
                    obj["definition"] or None,
                    file_id,
                    obj["line_start"],
                    obj["line_end"],
                    dialect,
                    _object_diags(obj, facts["diagnostics"]),
                    tuple(ColumnDef(n, o or 0, t) for n, o, t in obj["columns"]),
                )
            )
        for e in facts["table_edges"]:
            refs.add(e[0])
            refs.add(e[1])
        for c in facts["chunks"]:
            if c[0]:
                refs.add(c[0])
    defined = {s.canonical_id for s in specs}
    specs.extend(repo.ObjectSpec(r) for r in sorted(refs - defined))
    ids = repo.ensure_objects(session, project_id, specs)
    nodes = sum(1 for _, created in ids.values() if created)

    col_refs: set[str] = set()
    tables: set[str] = set(ids)
    for _, facts in items:
        tables.update(facts.get("tables", ()))
        for e in facts["column_edges"]:
            col_refs.add(e[0])
            col_refs.add(e[1])
    before = _count_objects(session, project_id) if col_refs else 0
    col_ids = (
        repo.ensure_column_refs(session, project_id, sorted(col_refs), tables=tables) if col_refs else {}
    )
    if col_refs:
        nodes += _count_objects(session, project_id) - before
        obj_ids = {cid: oid for cid, (oid, _) in ids.items()}
    else:
        obj_ids = {cid: oid for cid, (oid, _) in ids.items()}

    table_rows: list[dict[str, Any]] = []
    column_rows: list[dict[str, Any]] = []
    chunk_rows: list[dict[str, Any]] = []
    per_file: dict[int, int] = {}
    for file_id, facts in items:
        n = 0
        for s, t, kind, expr, conf, idx, ls, le, proc in facts["table_edges"]:
            table_rows.append(
                {
                    "source_object_id": obj_ids[s],
                    "target_object_id": obj_ids[t],
                    "kind": kind,
                    "expression": expr or None,
                    "confidence": conf,
                    "statement_index": idx,
                    "line_start": ls,
                    "line_end": le,
                    "process_object_id": obj_ids.get(proc) if proc else None,
                    "file_id": file_id,
                    "run_id": run_id,
                }
            )
            n += 1
        for s, t, kind, expr, conf, idx, ls, le, proc, subtype, formula, steps in facts["column_edges"]:
            column_rows.append(
                {
                    "source_column_id": col_ids[s],
                    "target_column_id": col_ids[t],
                    "kind": kind,
                    "subtype": subtype or None,
                    "expression": expr or None,
                    "formula": formula or None,
                    "steps": steps or None,
                    "confidence": conf,
                    "statement_index": idx,
                    "line_start": ls,
                    "line_end": le,
                    "process_object_id": obj_ids.get(proc) if proc else None,
                    "file_id": file_id,
                    "run_id": run_id,
                }
            )
            n += 1
        per_file[file_id] = n
        for owner, ls, le, text in facts["chunks"]:
            chunk_rows.append(
                {
                    "project_id": project_id,
                    "object_id": obj_ids.get(owner) if owner else None,
                    "file_id": file_id,
                    "line_start": ls,
                    "line_end": le,
                    "text": text,
                    "embedding": None,
                }
            )
    write_statements(session, items, obj_ids)
    write_unresolved_reads(session, project_id, items)
    docs = {
        obj_ids[cid]: (desc, cols)
        for _, facts in items
        for cid, (desc, cols) in (facts.get("descriptions") or {}).items()
        if cid in obj_ids
    }
    if docs:  # documentation that came with the code (ingest/dbt.py)
        repo.set_descriptions(session, docs)
    edges = 0
    if table_rows:
        edges += bulk_insert_edges(
            session, "table_edges", "source_object_id", "target_object_id", project_id, table_rows
        )
    if column_rows:
        edges += bulk_insert_edges(
            session, "column_edges", "source_column_id", "target_column_id", project_id, column_rows
        )
    repo.insert_code_chunks(session, chunk_rows)
    return BatchWritten(nodes, edges, per_file)


def write_statements(
    session: Session, items: Sequence[tuple[int, Mapping[str, Any]]], obj_ids: Mapping[str, int]
) -> int:
    """The statement spans of each file (replacing the file's earlier ones, e.g. on re-resolution)."""
    file_ids = [fid for fid, _ in items]
    for ids in _chunks(file_ids):
        session.execute(delete(Statement).where(Statement.file_id.in_(ids)))
    params = [
        (
            fid,
            idx,
            ls,
            le,
            kind or "unknown",
            target,
            obj_ids.get(proc) if proc else None,
            obj_ids.get(defines) if defines else None,
        )
        for fid, facts in items
        for idx, ls, le, kind, proc, defines, target in facts.get("statements", ())
    ]
    if not params:
        return 0
    # driver-level executemany (like the edges): one row per statement of a large ingestion
    conn = session.connection()
    marker = "?" if conn.dialect.name == "sqlite" else "%s"
    cols = "file_id, statement_index, line_start, line_end, type, target, process_object_id, object_id"
    sql = f"INSERT INTO statements ({cols}) VALUES ({', '.join([marker] * 8)})"
    for i in range(0, len(params), 20_000):
        conn.exec_driver_sql(sql, params[i : i + 20_000])
    return len(params)


_EDGE_COLS = (
    "kind",
    "subtype",
    "expression",
    "formula",
    "steps",
    "confidence",
    "statement_index",
    "line_start",
    "line_end",
    "process_object_id",
    "file_id",
    "run_id",
)


def write_unresolved_reads(
    session: Session, project_id: int, items: Sequence[tuple[int, Mapping[str, Any]]]
) -> None:
    """The relations each file read with unknown columns (replacing the file's earlier ones)."""
    for ids in _chunks([fid for fid, _ in items]):
        session.execute(delete(UnresolvedRead).where(UnresolvedRead.file_id.in_(ids)))
    rows = [
        {"project_id": project_id, "file_id": fid, "name": name}
        for fid, facts in items
        for name in sorted(
            {str(n).rsplit(".", 1)[-1].lower()[:200] for n in facts.get("unknown_functions", ())}
        )
    ]
    if rows:
        session.execute(insert(UnresolvedRead), rows)


def bulk_insert_edges(
    session: Session,
    table: str,
    source_key: str,
    target_key: str,
    project_id: int,
    rows: Sequence[Mapping[str, Any]],
    *,
    batch: int = 20_000,
) -> int:
    """Driver-level ``executemany`` of parser edges (the hot path of a large ingestion: several
    times faster than a Core insert, which converts every parameter of every row)."""
    conn = session.connection()
    sqlite = conn.dialect.name == "sqlite"
    now = datetime.now(UTC)
    created: Any = now.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else now
    cols = ("project_id", source_key, target_key, *_EDGE_COLS, "origin", "status", "created_by", "created_at")
    marker = "?" if sqlite else "%s"
    sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join([marker] * len(cols))})"
    params = [
        (
            project_id,
            r[source_key],
            r[target_key],
            *(r.get(c) for c in _EDGE_COLS),
            "parser",
            "observed",
            "parser",
            created,
        )
        for r in rows
    ]
    for i in range(0, len(params), batch):
        conn.exec_driver_sql(sql, params[i : i + batch])
    return len(params)


def _count_objects(session: Session, project_id: int) -> int:
    return int(
        session.scalar(
            select(func.count()).select_from(CatalogObject).where(CatalogObject.project_id == project_id)
        )
        or 0
    )


def remove_facts(session: Session, file_ids: Iterable[int]) -> None:
    """Remove the facts of files about to be re-parsed (same content, new schema)."""
    for fid in file_ids:
        repo.delete_facts_by_file(session, fid)

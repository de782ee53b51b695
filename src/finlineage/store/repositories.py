"""Data-access functions over a :class:`~sqlalchemy.orm.Session`, one section per aggregate.

Every function takes the session first and never commits: the caller owns the transaction
(``with Session.begin(): ...`` or :func:`finlineage.store.db.session_scope`). Functions flush
when they need generated ids. Bulk paths (objects, columns, edges, activity, chunks) use Core
``insert()`` executemany (SQLAlchemy's "insertmanyvalues" batching), never ORM objects one
by one.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, TypeVar, cast

from sqlalchemy import (
    ColumnElement,
    Float,
    Table,
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy import cast as sa_cast
from sqlalchemy.orm import Session

from finlineage.lineage.model import ColumnDef, Diagnostic
from finlineage.store.models import (
    ActivityEvent,
    ApiKey,
    Base,
    CatalogObject,
    CodeChunk,
    Column,
    ColumnEdge,
    File,
    Project,
    Repository,
    Run,
    StatsSnapshot,
    TableEdge,
    utcnow,
)

CHUNK = 500
"""Max bound parameters per IN-list (SQLite's limit is 32766 variables; keep statements small)."""

T = TypeVar("T")


def _chunks(items: Sequence[T], size: int = CHUNK) -> Iterable[Sequence[T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _table(model: type[Base]) -> Table:
    return cast(Table, model.__table__)


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def is_sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


# ======================================================================================
# projects
# ======================================================================================


def create_project(session: Session, name: str, description: str | None = None) -> Project:
    project = Project(name=name, description=description)
    session.add(project)
    session.flush()
    return project


def get_project(session: Session, project_id: int) -> Project | None:
    return session.get(Project, project_id)


def get_project_by_name(session: Session, name: str) -> Project | None:
    return session.scalar(select(Project).where(Project.name == name))


def get_or_create_project(session: Session, name: str, description: str | None = None) -> Project:
    return get_project_by_name(session, name) or create_project(session, name, description)


def list_projects(session: Session) -> list[Project]:
    return list(session.scalars(select(Project).order_by(Project.name)))


def update_project(
    session: Session, project_id: int, *, name: str | None = None, description: str | None = None
) -> Project | None:
    project = session.get(Project, project_id)
    if project is None:
        return None
    if name is not None:
        project.name = name
    if description is not None:
        project.description = description
    session.flush()
    return project


def delete_project(session: Session, project_id: int) -> bool:
    """Delete a project and (by cascade) everything in it."""
    if is_sqlite(session):
        session.execute(text("DELETE FROM search_index WHERE project_id = :p"), {"p": project_id})
    result = session.execute(delete(Project).where(Project.id == project_id))
    session.expire_all()
    return _rowcount(result) > 0


# ======================================================================================
# repositories (sources)
# ======================================================================================


def create_repository(
    session: Session,
    project_id: int,
    name: str,
    kind: str = "upload",
    *,
    url: str | None = None,
    ref: str | None = None,
) -> Repository:
    repo = Repository(project_id=project_id, name=name, kind=kind, url=url, ref=ref)
    session.add(repo)
    session.flush()
    return repo


def get_repository(session: Session, repository_id: int) -> Repository | None:
    return session.get(Repository, repository_id)


def get_repository_by_name(session: Session, project_id: int, name: str) -> Repository | None:
    return session.scalar(
        select(Repository).where(Repository.project_id == project_id, Repository.name == name)
    )


def get_or_create_repository(
    session: Session,
    project_id: int,
    name: str,
    kind: str = "upload",
    *,
    url: str | None = None,
    ref: str | None = None,
) -> Repository:
    existing = get_repository_by_name(session, project_id, name)
    if existing is not None:
        return existing
    return create_repository(session, project_id, name, kind, url=url, ref=ref)


def list_repositories(session: Session, project_id: int) -> list[Repository]:
    return list(
        session.scalars(
            select(Repository).where(Repository.project_id == project_id).order_by(Repository.name)
        )
    )


def delete_repository(session: Session, repository_id: int) -> bool:
    """Delete a source, its files and (by cascade) every edge/chunk those files produced."""
    file_ids = list(session.scalars(select(File.id).where(File.repository_id == repository_id)))
    for fid in file_ids:
        delete_facts_by_file(session, fid)
    result = session.execute(delete(Repository).where(Repository.id == repository_id))
    session.expire_all()
    return _rowcount(result) > 0


# ======================================================================================
# runs
# ======================================================================================

RunCounter = Literal[
    "files_processed", "files_failed", "files_skipped_duplicate", "nodes_created", "edges_created"
]


def create_run(
    session: Session,
    project_id: int,
    repository_id: int | None = None,
    *,
    params: dict[str, Any] | None = None,
    ingestion_id: str | None = None,
    status: str = "queued",
) -> Run:
    run = Run(project_id=project_id, repository_id=repository_id, params=params, status=status)
    if ingestion_id is not None:
        run.ingestion_id = ingestion_id
    session.add(run)
    session.flush()
    return run


def get_run(session: Session, run_id: int) -> Run | None:
    return session.get(Run, run_id)


def get_run_by_ingestion_id(session: Session, ingestion_id: str) -> Run | None:
    return session.scalar(select(Run).where(Run.ingestion_id == ingestion_id))


def list_runs(
    session: Session,
    project_id: int | None = None,
    *,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Run]:
    stmt = select(Run).order_by(Run.created_at.desc(), Run.id.desc()).limit(limit).offset(offset)
    if project_id is not None:
        stmt = stmt.where(Run.project_id == project_id)
    if status is not None:
        stmt = stmt.where(Run.status == status)
    return list(session.scalars(stmt))


def start_run(session: Session, run_id: int) -> Run | None:
    run = session.get(Run, run_id)
    if run is None:
        return None
    run.status = "running"
    run.started_at = utcnow()
    session.flush()
    return run


def finish_run(
    session: Session, run_id: int, status: str = "completed", error: str | None = None
) -> Run | None:
    """Set a terminal status, ``finished_at`` and ``duration_ms`` (from ``started_at``)."""
    run = session.get(Run, run_id)
    if run is None:
        return None
    now = utcnow()
    run.status = status
    run.finished_at = now
    if error is not None:
        run.error = error
    begin = run.started_at or run.created_at
    if begin is not None:
        run.duration_ms = max(0, int((now - begin).total_seconds() * 1000))
    session.flush()
    return run


def increment_run_counters(session: Session, run_id: int, **deltas: int) -> None:
    """Atomic ``UPDATE runs SET files_processed = files_processed + :d, ...``."""
    allowed = set(RunCounter.__args__)  # type: ignore[attr-defined]
    values: dict[str, Any] = {}
    for key, delta in deltas.items():
        if key not in allowed:
            raise ValueError(f"unknown run counter {key!r}")
        values[key] = getattr(Run, key) + delta
    if values:
        session.execute(update(Run).where(Run.id == run_id).values(**values))
        session.expire_all()


def mark_interrupted_runs(session: Session) -> int:
    """On start-up: runs left ``queued``/``running`` by a dead process become ``interrupted``."""
    result = session.execute(
        update(Run)
        .where(Run.status.in_(("queued", "running")))
        .values(status="interrupted", finished_at=utcnow())
    )
    return _rowcount(result)


# ======================================================================================
# files
# ======================================================================================

FileChange = Literal["new", "changed", "unchanged"]


def latest_file(session: Session, repository_id: int, path: str) -> File | None:
    """The newest version of ``path`` in a source (any status)."""
    return session.scalar(
        select(File)
        .where(File.repository_id == repository_id, File.path == path)
        .order_by(File.version.desc())
        .limit(1)
    )


def get_file(session: Session, file_id: int) -> File | None:
    return session.get(File, file_id)


def find_file_by_sha(session: Session, repository_id: int, sha256: str) -> File | None:
    """An active file with this content anywhere in the source (duplicate detection)."""
    return session.scalar(
        select(File)
        .where(File.repository_id == repository_id, File.sha256 == sha256, File.status == "active")
        .limit(1)
    )


def record_file(
    session: Session,
    repository_id: int,
    path: str,
    sha256: str,
    *,
    size: int = 0,
    dialect: str | None = None,
    run_id: int | None = None,
) -> tuple[File, FileChange]:
    """Register a file version. Same content as the latest version → ``unchanged`` (latest is
    returned). Otherwise a new row with ``version+1`` is created and the previous version is
    superseded (``changed``), or version 1 is created (``new``). The caller then calls
    :func:`delete_facts_by_file` on the previous version (if changed) before inserting facts."""
    prev = latest_file(session, repository_id, path)
    if prev is not None and prev.sha256 == sha256 and prev.status != "superseded":
        return prev, "unchanged"
    new = File(
        repository_id=repository_id,
        path=path,
        sha256=sha256,
        size=size,
        dialect=dialect,
        run_id=run_id,
        version=(prev.version + 1) if prev is not None else 1,
    )
    session.add(new)
    session.flush()
    if prev is not None:
        supersede_file(session, prev.id, new.id)
        return new, "changed"
    return new, "new"


def supersede_file(session: Session, old_file_id: int, new_file_id: int | None) -> None:
    session.execute(
        update(File).where(File.id == old_file_id).values(status="superseded", superseded_by=new_file_id)
    )
    session.expire_all()


def set_file_error(session: Session, file_id: int, error: str) -> None:
    session.execute(update(File).where(File.id == file_id).values(status="error", error=error))
    session.expire_all()


def list_files(
    session: Session, repository_id: int, *, active_only: bool = True, limit: int | None = None
) -> list[File]:
    stmt = select(File).where(File.repository_id == repository_id).order_by(File.path, File.version)
    if active_only:
        stmt = stmt.where(File.status == "active")
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(session.scalars(stmt))


def list_project_files(session: Session, project_id: int, *, active_only: bool = True) -> list[File]:
    stmt = (
        select(File)
        .join(Repository, Repository.id == File.repository_id)
        .where(Repository.project_id == project_id)
        .order_by(File.path, File.version)
    )
    if active_only:
        stmt = stmt.where(File.status == "active")
    return list(session.scalars(stmt))


# ======================================================================================
# catalog objects
# ======================================================================================


def split_canonical(canonical_id: str) -> tuple[str | None, str | None, str]:
    """``db.schema.name`` → (db, schema, name); fewer parts leave the leading ones ``None``."""
    parts = canonical_id.split(".")
    name = parts[-1]
    schema = parts[-2] if len(parts) >= 2 else None
    database = ".".join(parts[:-2]) if len(parts) >= 3 else None
    return database, schema, name


@dataclass(frozen=True, slots=True)
class ObjectSpec:
    """Input for :func:`ensure_objects` (bulk get-or-create / adopt)."""

    canonical_id: str
    kind: str = "external"
    definition: str | None = None
    file_id: int | None = None
    line_start: int | None = None
    line_end: int | None = None
    dialect: str | None = None
    diagnostics: Sequence[Diagnostic | Mapping[str, Any]] | None = None
    columns: Sequence[ColumnDef] = field(default_factory=tuple)


def _diag_json(diags: Sequence[Diagnostic | Mapping[str, Any]] | None) -> list[dict[str, Any]] | None:
    if diags is None:
        return None
    out: list[dict[str, Any]] = []
    for d in diags:
        if isinstance(d, Diagnostic):
            out.append(
                {
                    "code": d.code,
                    "message": d.message,
                    "severity": d.severity,
                    "line": d.line,
                    "statement_index": d.statement_index,
                }
            )
        else:
            out.append(dict(d))
    return out


def get_object(session: Session, object_id: int) -> CatalogObject | None:
    return session.get(CatalogObject, object_id)


def get_object_by_canonical(session: Session, project_id: int, canonical_id: str) -> CatalogObject | None:
    return session.scalar(
        select(CatalogObject).where(
            CatalogObject.project_id == project_id, CatalogObject.canonical_id == canonical_id
        )
    )


def upsert_object(
    session: Session,
    project_id: int,
    canonical_id: str,
    *,
    kind: str = "external",
    definition: str | None = None,
    file_id: int | None = None,
    line_start: int | None = None,
    line_end: int | None = None,
    dialect: str | None = None,
    diagnostics: Sequence[Diagnostic | Mapping[str, Any]] | None = None,
) -> tuple[CatalogObject, bool]:
    """Get-or-create by canonical id; returns ``(object, created)``.

    * absent → created with the given attributes;
    * present and the new ``kind`` is ``external`` → returned unchanged (a reference never
      downgrades a definition);
    * present otherwise → adopted/redefined: kind, definition, file, lines, dialect and
      diagnostics are replaced (an ``external`` placeholder becomes the real object, keeping
      its id and therefore every edge that already points at it).
    """
    ids = ensure_objects(
        session,
        project_id,
        [
            ObjectSpec(
                canonical_id,
                kind,
                definition,
                file_id,
                line_start,
                line_end,
                dialect,
                diagnostics,
            )
        ],
    )
    obj_id, created = ids[canonical_id]
    obj = session.get(CatalogObject, obj_id, populate_existing=True)
    assert obj is not None
    return obj, created


def ensure_external(session: Session, project_id: int, canonical_id: str) -> CatalogObject:
    obj, _ = upsert_object(session, project_id, canonical_id)
    return obj


def _existing_objects(
    session: Session, project_id: int, canonical_ids: Sequence[str]
) -> dict[str, tuple[int, str]]:
    found: dict[str, tuple[int, str]] = {}
    for part in _chunks(list(canonical_ids)):
        rows = session.execute(
            select(CatalogObject.canonical_id, CatalogObject.id, CatalogObject.kind).where(
                CatalogObject.project_id == project_id, CatalogObject.canonical_id.in_(part)
            )
        )
        for cid, oid, kind in rows:
            found[cid] = (int(oid), kind)
    return found


def ensure_objects(
    session: Session, project_id: int, specs: Iterable[ObjectSpec]
) -> dict[str, tuple[int, bool]]:
    """Bulk get-or-create/adopt (same rules as :func:`upsert_object`); also ensures each spec's
    columns. Returns ``{canonical_id: (object_id, created)}``. Later specs for the same
    canonical id win over earlier ones."""
    merged: dict[str, ObjectSpec] = {}
    for spec in specs:
        prev = merged.get(spec.canonical_id)
        if prev is None or spec.kind != "external" or prev.kind == "external":
            if prev is not None and spec.kind == "external":
                continue
            merged[spec.canonical_id] = spec
    if not merged:
        return {}
    existing = _existing_objects(session, project_id, list(merged))
    now = utcnow()
    new_rows: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for cid, spec in merged.items():
        database, schema, name = split_canonical(cid)
        values = {
            "kind": spec.kind,
            "definition": spec.definition,
            "file_id": spec.file_id,
            "line_start": spec.line_start,
            "line_end": spec.line_end,
            "dialect": spec.dialect,
            "diagnostics": _diag_json(spec.diagnostics),
        }
        if cid not in existing:
            new_rows.append(
                {
                    "project_id": project_id,
                    "canonical_id": cid,
                    "database": database,
                    "schema": schema,
                    "name": name,
                    "created_at": now,
                    "updated_at": now,
                    "column_names": " ".join(c.name for c in spec.columns) or None,
                    **values,
                }
            )
        elif spec.kind != "external":
            updates.append({"_id": existing[cid][0], **values})
    if new_rows:
        session.execute(insert(_table(CatalogObject)), new_rows)
    if updates:
        t = _table(CatalogObject)
        stmt = (
            update(t)
            .where(t.c.id == bindparam("_id"))
            .values(
                kind=bindparam("kind"),
                definition=bindparam("definition"),
                file_id=bindparam("file_id"),
                line_start=bindparam("line_start"),
                line_end=bindparam("line_end"),
                dialect=bindparam("dialect"),
                diagnostics=bindparam("diagnostics"),
                updated_at=now,
            )
        )
        session.connection().execute(stmt, updates)
    session.expire_all()
    after = _existing_objects(session, project_id, [r["canonical_id"] for r in new_rows]) if new_rows else {}
    out: dict[str, tuple[int, bool]] = {}
    for cid in merged:
        if cid in existing:
            out[cid] = (existing[cid][0], False)
        else:
            out[cid] = (after[cid][0], True)
    with_columns = {out[cid][0]: list(spec.columns) for cid, spec in merged.items() if spec.columns}
    if with_columns:
        ensure_columns_bulk(session, with_columns, refresh=False)
    refresh_search(session, [oid for oid, _ in out.values()])
    return out


def list_objects(
    session: Session,
    project_id: int,
    *,
    kind: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[CatalogObject]:
    stmt = (
        select(CatalogObject)
        .where(CatalogObject.project_id == project_id)
        .order_by(CatalogObject.canonical_id)
        .limit(limit)
        .offset(offset)
    )
    if kind is not None:
        stmt = stmt.where(CatalogObject.kind == kind)
    return list(session.scalars(stmt))


def delete_object(session: Session, object_id: int) -> bool:
    if is_sqlite(session):
        session.execute(text("DELETE FROM search_index WHERE rowid = :i"), {"i": object_id})
    result = session.execute(delete(CatalogObject).where(CatalogObject.id == object_id))
    session.expire_all()
    return _rowcount(result) > 0


# ======================================================================================
# columns
# ======================================================================================


def get_or_create_column(
    session: Session,
    object_id: int,
    name: str,
    *,
    ordinal: int | None = None,
    data_type: str | None = None,
) -> Column:
    ids = ensure_columns_bulk(session, {object_id: [ColumnDef(name, ordinal or 0, data_type)]})
    col = session.get(Column, ids[(object_id, name)], populate_existing=True)
    assert col is not None
    return col


def ensure_columns(session: Session, object_id: int, columns: Sequence[ColumnDef | str]) -> dict[str, int]:
    """Get-or-create columns of one object; returns ``{name: column_id}``."""
    defs = [c if isinstance(c, ColumnDef) else ColumnDef(c, 0) for c in columns]
    ids = ensure_columns_bulk(session, {object_id: defs})
    return {name: cid for (_, name), cid in ids.items()}


def ensure_columns_bulk(
    session: Session, columns_by_object: Mapping[int, Sequence[ColumnDef]], *, refresh: bool = True
) -> dict[tuple[int, str], int]:
    """Bulk get-or-create columns for many objects; returns ``{(object_id, name): column_id}``.
    Existing columns get ``ordinal``/``data_type`` filled in when the new definition has them
    (ordinal 0 means unknown)."""
    wanted: dict[tuple[int, str], ColumnDef] = {}
    for oid, cols in columns_by_object.items():
        for c in cols:
            wanted[(oid, c.name)] = c
    if not wanted:
        return {}
    found = _existing_columns(session, list(columns_by_object))
    new_rows = [
        {"object_id": oid, "name": name, "ordinal": c.ordinal or None, "data_type": c.data_type}
        for (oid, name), c in wanted.items()
        if (oid, name) not in found
    ]
    upd = [
        {"_id": found[key][0], "ordinal": c.ordinal, "data_type": c.data_type}
        for key, c in wanted.items()
        if key in found
        and ((c.ordinal and c.ordinal != found[key][1]) or (c.data_type and c.data_type != found[key][2]))
    ]
    if new_rows:
        session.execute(insert(_table(Column)), new_rows)
    if upd:
        t = _table(Column)
        session.connection().execute(
            update(t)
            .where(t.c.id == bindparam("_id"))
            .values(
                ordinal=func.coalesce(bindparam("ordinal"), t.c.ordinal),
                data_type=func.coalesce(bindparam("data_type"), t.c.data_type),
            ),
            upd,
        )
    if new_rows:
        found = _existing_columns(session, list(columns_by_object))
        if refresh:
            refresh_search(session, list(columns_by_object))
        else:
            _refresh_column_names(session, list(columns_by_object))
    session.expire_all()
    return {key: found[key][0] for key in wanted}


def _existing_columns(
    session: Session, object_ids: Sequence[int]
) -> dict[tuple[int, str], tuple[int, int | None, str | None]]:
    found: dict[tuple[int, str], tuple[int, int | None, str | None]] = {}
    for part in _chunks(list(object_ids)):
        rows = session.execute(
            select(Column.object_id, Column.name, Column.id, Column.ordinal, Column.data_type).where(
                Column.object_id.in_(part)
            )
        )
        for oid, name, cid, ordinal, dtype in rows:
            found[(int(oid), name)] = (int(cid), ordinal, dtype)
    return found


def list_columns(session: Session, object_id: int) -> list[Column]:
    return list(
        session.scalars(
            select(Column)
            .where(Column.object_id == object_id)
            .order_by(Column.ordinal.asc().nulls_last(), Column.name)
        )
    )


def get_column(session: Session, column_id: int) -> Column | None:
    return session.get(Column, column_id)


def get_column_by_ref(session: Session, project_id: int, ref: str) -> Column | None:
    """``<canonical object id>.<column>`` → the column, if both exist."""
    obj_id, _, col = ref.rpartition(".")
    if not obj_id:
        return None
    return session.scalar(
        select(Column)
        .join(CatalogObject, CatalogObject.id == Column.object_id)
        .where(
            CatalogObject.project_id == project_id,
            CatalogObject.canonical_id == obj_id,
            Column.name == col,
        )
    )


def ensure_column_refs(session: Session, project_id: int, refs: Iterable[str]) -> dict[str, int]:
    """Bulk resolve ``<canonical object>.<column>`` references to column ids, creating
    ``external`` objects and columns for anything not known yet."""
    by_obj: dict[str, list[str]] = {}
    for ref in refs:
        obj, _, col = ref.rpartition(".")
        if not obj or not col:
            raise ValueError(f"column reference {ref!r} is not <object>.<column>")
        by_obj.setdefault(obj, []).append(col)
    if not by_obj:
        return {}
    existing = _existing_objects(session, project_id, list(by_obj))
    missing = [ObjectSpec(cid) for cid in by_obj if cid not in existing]
    obj_ids = {cid: v[0] for cid, v in existing.items()}
    if missing:
        for cid, (oid, _) in ensure_objects(session, project_id, missing).items():
            obj_ids[cid] = oid
    col_ids = ensure_columns_bulk(
        session,
        {obj_ids[cid]: [ColumnDef(c, 0) for c in dict.fromkeys(cols)] for cid, cols in by_obj.items()},
    )
    return {f"{cid}.{c}": col_ids[(obj_ids[cid], c)] for cid, cols in by_obj.items() for c in cols}


# ======================================================================================
# edges
# ======================================================================================

EDGE_DEFAULTS: dict[str, Any] = {
    "kind": "direct",
    "expression": None,
    "statement_index": None,
    "process_object_id": None,
    "file_id": None,
    "line_start": None,
    "line_end": None,
    "confidence": 1.0,
    "origin": "parser",
    "status": "proposed",
    "run_id": None,
}


def _edge_rows(
    project_id: int,
    edges: Iterable[Mapping[str, Any]],
    endpoint_keys: tuple[str, str],
    defaults: Mapping[str, Any],
) -> list[dict[str, Any]]:
    now = utcnow()
    base = {**EDGE_DEFAULTS, **defaults, "project_id": project_id, "created_at": now}
    rows: list[dict[str, Any]] = []
    allowed = set(base) | set(endpoint_keys)
    for edge in edges:
        unknown = set(edge) - allowed
        if unknown:
            raise ValueError(f"unknown edge field(s): {sorted(unknown)}")
        row = {**base, **edge}
        for key in endpoint_keys:
            if row.get(key) is None:
                raise ValueError(f"edge without {key}")
        rows.append(row)
    return rows


def insert_table_edges(
    session: Session,
    project_id: int,
    edges: Iterable[Mapping[str, Any]],
    *,
    file_id: int | None = None,
    run_id: int | None = None,
    batch_size: int = 5000,
) -> int:
    """Bulk insert table-level edges. Each mapping needs ``source_object_id`` and
    ``target_object_id``; any other edge attribute is optional (see ``EDGE_DEFAULTS``);
    ``file_id``/``run_id`` given here apply to every row that does not set its own."""
    rows = _edge_rows(
        project_id,
        edges,
        ("source_object_id", "target_object_id"),
        {"file_id": file_id, "run_id": run_id},
    )
    for part in _chunks(rows, batch_size):
        session.execute(insert(_table(TableEdge)), list(part))
    return len(rows)


def insert_column_edges(
    session: Session,
    project_id: int,
    edges: Iterable[Mapping[str, Any]],
    *,
    file_id: int | None = None,
    run_id: int | None = None,
    batch_size: int = 5000,
) -> int:
    """Bulk insert column-level edges (``source_column_id``, ``target_column_id`` + optional
    attributes); see :func:`insert_table_edges`."""
    rows = _edge_rows(
        project_id,
        edges,
        ("source_column_id", "target_column_id"),
        {"file_id": file_id, "run_id": run_id},
    )
    for part in _chunks(rows, batch_size):
        session.execute(insert(_table(ColumnEdge)), list(part))
    return len(rows)


def set_edge_status(
    session: Session, granularity: Literal["table", "column"], edge_id: int, status: str
) -> bool:
    model: type[TableEdge] | type[ColumnEdge] = TableEdge if granularity == "table" else ColumnEdge
    result = session.execute(update(model).where(model.id == edge_id).values(status=status))
    session.expire_all()
    return _rowcount(result) > 0


def list_edges_for_file(session: Session, file_id: int) -> tuple[list[TableEdge], list[ColumnEdge]]:
    tables = list(
        session.scalars(select(TableEdge).where(TableEdge.file_id == file_id).order_by(TableEdge.id))
    )
    cols = list(
        session.scalars(select(ColumnEdge).where(ColumnEdge.file_id == file_id).order_by(ColumnEdge.id))
    )
    return tables, cols


@dataclass(frozen=True, slots=True)
class FileFactsDeleted:
    table_edges: int = 0
    column_edges: int = 0
    code_chunks: int = 0
    objects_demoted: int = 0
    objects_deleted: int = 0
    columns_deleted: int = 0


def delete_facts_by_file(session: Session, file_id: int) -> FileFactsDeleted:
    """Remove exactly what ingesting ``file_id`` produced, so the file can be re-ingested:

    * its table and column edges and its code chunks are deleted;
    * objects it defined are demoted to ``external`` (definition, file, lines cleared) — they
      keep their ids because other files' edges may point at them, and a re-ingest adopts
      them again;
    * objects touched by the deleted edges or defined by the file that are now ``external``
      and referenced by no remaining edge are deleted, together with their columns; orphaned
      columns of remaining external objects are deleted too.
    """
    touched: set[int] = set()
    touched.update(session.scalars(select(CatalogObject.id).where(CatalogObject.file_id == file_id)))
    te_rows = session.execute(
        select(TableEdge.source_object_id, TableEdge.target_object_id).where(TableEdge.file_id == file_id)
    ).all()
    for s, t in te_rows:
        touched.update((int(s), int(t)))
    col_ids: set[int] = set()
    for s, t in session.execute(
        select(ColumnEdge.source_column_id, ColumnEdge.target_column_id).where(ColumnEdge.file_id == file_id)
    ):
        col_ids.update((int(s), int(t)))
    for part in _chunks(sorted(col_ids)):
        touched.update(int(x) for x in session.scalars(select(Column.object_id).where(Column.id.in_(part))))
    for model in (TableEdge, ColumnEdge):
        for x in session.scalars(
            select(model.process_object_id).where(
                model.file_id == file_id, model.process_object_id.is_not(None)
            )
        ):
            if x is not None:
                touched.add(int(x))

    n_te = _rowcount(session.execute(delete(TableEdge).where(TableEdge.file_id == file_id)))
    n_ce = _rowcount(session.execute(delete(ColumnEdge).where(ColumnEdge.file_id == file_id)))
    n_ch = _rowcount(session.execute(delete(CodeChunk).where(CodeChunk.file_id == file_id)))
    n_dem = _rowcount(
        session.execute(
            update(CatalogObject)
            .where(CatalogObject.file_id == file_id)
            .values(
                kind="external",
                definition=None,
                file_id=None,
                line_start=None,
                line_end=None,
                diagnostics=None,
                updated_at=utcnow(),
            )
        )
    )
    n_obj = 0
    n_col = 0
    ids = sorted(touched)
    for part in _chunks(ids):
        # orphan columns of external objects
        col_used = or_(
            exists().where(ColumnEdge.source_column_id == Column.id),
            exists().where(ColumnEdge.target_column_id == Column.id),
        )
        ext_ids = select(CatalogObject.id).where(CatalogObject.id.in_(part), CatalogObject.kind == "external")
        n_col += _rowcount(session.execute(delete(Column).where(Column.object_id.in_(ext_ids), ~col_used)))
        obj_used = or_(
            exists().where(TableEdge.source_object_id == CatalogObject.id),
            exists().where(TableEdge.target_object_id == CatalogObject.id),
            exists().where(TableEdge.process_object_id == CatalogObject.id),
            exists().where(ColumnEdge.process_object_id == CatalogObject.id),
            exists().where(Column.object_id == CatalogObject.id),
        )
        doomed = list(
            session.scalars(
                select(CatalogObject.id).where(
                    CatalogObject.id.in_(part), CatalogObject.kind == "external", ~obj_used
                )
            )
        )
        if doomed:
            if is_sqlite(session):
                _delete_search_rows(session, doomed)
            n_obj += _rowcount(session.execute(delete(CatalogObject).where(CatalogObject.id.in_(doomed))))
            touched.difference_update(doomed)
    session.expire_all()
    refresh_search(session, sorted(touched))
    return FileFactsDeleted(n_te, n_ce, n_ch, n_dem, n_obj, n_col)


# ======================================================================================
# full-text search maintenance
# ======================================================================================


def _refresh_column_names(session: Session, object_ids: Sequence[int]) -> None:
    """Recompute ``objects.column_names``; only rows whose value changes are written (each
    write re-indexes the search columns on PostgreSQL)."""
    t = _table(CatalogObject)
    for part in _chunks(list(object_ids)):
        names: dict[int, list[str]] = {int(i): [] for i in part}
        for oid, name in session.execute(
            select(Column.object_id, Column.name)
            .where(Column.object_id.in_(part))
            .order_by(Column.object_id, Column.ordinal.asc().nulls_last(), Column.name)
        ):
            names[int(oid)].append(name)
        current = {
            int(oid): cn
            for oid, cn in session.execute(select(t.c.id, t.c.column_names).where(t.c.id.in_(part)))
        }
        changed = [
            {"_id": oid, "cn": " ".join(cols) or None}
            for oid, cols in names.items()
            if oid in current and current[oid] != (" ".join(cols) or None)
        ]
        if changed:
            session.connection().execute(
                update(t).where(t.c.id == bindparam("_id")).values(column_names=bindparam("cn")), changed
            )


def _delete_search_rows(session: Session, object_ids: Sequence[int]) -> None:
    for part in _chunks(list(object_ids)):
        params = {f"i{n}": oid for n, oid in enumerate(part)}
        placeholders = ", ".join(f":{k}" for k in params)
        session.execute(text(f"DELETE FROM search_index WHERE rowid IN ({placeholders})"), params)


def refresh_search(session: Session, object_ids: Sequence[int]) -> None:
    """Recompute the denormalised ``column_names`` of these objects and, on SQLite, their rows
    in the FTS5 ``search_index`` (PostgreSQL's ``search_tsv`` is a generated column)."""
    if not object_ids:
        return
    _refresh_column_names(session, object_ids)
    if not is_sqlite(session):
        session.expire_all()
        return
    _delete_search_rows(session, object_ids)
    for part in _chunks(list(object_ids)):
        params = {f"i{n}": oid for n, oid in enumerate(part)}
        placeholders = ", ".join(f":{k}" for k in params)
        session.execute(
            text(
                "INSERT INTO search_index(rowid, object_id, project_id, name, columns, definition) "
                "SELECT id, id, project_id, canonical_id, coalesce(column_names, ''), "
                f"coalesce(definition, '') FROM objects WHERE id IN ({placeholders})"
            ),
            params,
        )
    session.expire_all()


def rebuild_search_index(session: Session, project_id: int | None = None) -> int:
    """Rebuild search data for a project (or everything); returns the number of objects."""
    stmt = select(CatalogObject.id)
    if project_id is not None:
        stmt = stmt.where(CatalogObject.project_id == project_id)
    ids = [int(x) for x in session.scalars(stmt)]
    refresh_search(session, ids)
    return len(ids)


# ======================================================================================
# api keys
# ======================================================================================

API_KEY_PREFIX = "flk_"


def hash_api_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def create_api_key(session: Session, name: str, role: str = "viewer") -> tuple[ApiKey, str]:
    """Create a key; returns ``(row, plaintext)``. The plaintext is not stored and cannot be
    recovered: only its SHA-256 and its first 8 characters (for display) are kept."""
    plaintext = API_KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(name=name, role=role, key_hash=hash_api_key(plaintext), prefix=plaintext[:8])
    session.add(key)
    session.flush()
    return key, plaintext


def verify_api_key(session: Session, plaintext: str, *, touch: bool = True) -> ApiKey | None:
    """The active key whose hash matches, else ``None``; updates ``last_used_at``."""
    if not plaintext:
        return None
    digest = hash_api_key(plaintext)
    key = session.scalar(select(ApiKey).where(ApiKey.key_hash == digest))
    if key is None or not hmac.compare_digest(key.key_hash, digest) or key.revoked:
        return None
    if touch:
        key.last_used_at = utcnow()
        session.flush()
    return key


def list_api_keys(session: Session, *, include_revoked: bool = False) -> list[ApiKey]:
    stmt = select(ApiKey).order_by(ApiKey.name)
    if not include_revoked:
        stmt = stmt.where(ApiKey.revoked.is_(False))
    return list(session.scalars(stmt))


def get_api_key_by_name(session: Session, name: str) -> ApiKey | None:
    return session.scalar(select(ApiKey).where(ApiKey.name == name))


def revoke_api_key(session: Session, key_id: int) -> bool:
    result = session.execute(update(ApiKey).where(ApiKey.id == key_id).values(revoked=True))
    session.expire_all()
    return _rowcount(result) > 0


def delete_api_key(session: Session, key_id: int) -> bool:
    result = session.execute(delete(ApiKey).where(ApiKey.id == key_id))
    return _rowcount(result) > 0


# ======================================================================================
# activity events
# ======================================================================================

ACTIVITY_FIELDS = (
    "ts",
    "type",
    "method",
    "route",
    "status_code",
    "latency_ms",
    "client_ip",
    "key_name",
    "project_id",
    "data",
)


def insert_activity_events(session: Session, events: Sequence[Mapping[str, Any]]) -> int:
    """Bulk insert; each mapping needs ``type``, other fields optional (``ts`` defaults to now)."""
    if not events:
        return 0
    now = utcnow()
    rows = []
    for ev in events:
        unknown = set(ev) - set(ACTIVITY_FIELDS)
        if unknown:
            raise ValueError(f"unknown activity field(s): {sorted(unknown)}")
        row = {f: ev.get(f) for f in ACTIVITY_FIELDS}
        row["ts"] = row["ts"] or now
        rows.append(row)
    session.execute(insert(_table(ActivityEvent)), rows)
    return len(rows)


def list_activity_events(
    session: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    type: str | None = None,
    project_id: int | None = None,
    limit: int = 100,
) -> list[ActivityEvent]:
    stmt = select(ActivityEvent).order_by(ActivityEvent.ts.desc(), ActivityEvent.id.desc()).limit(limit)
    conds: list[ColumnElement[bool]] = []
    if since is not None:
        conds.append(ActivityEvent.ts >= since)
    if until is not None:
        conds.append(ActivityEvent.ts < until)
    if type is not None:
        conds.append(ActivityEvent.type == type)
    if project_id is not None:
        conds.append(ActivityEvent.project_id == project_id)
    if conds:
        stmt = stmt.where(and_(*conds))
    return list(session.scalars(stmt))


def prune_activity_events(session: Session, before: datetime) -> int:
    return _rowcount(session.execute(delete(ActivityEvent).where(ActivityEvent.ts < before)))


# ======================================================================================
# code chunks (retrieval)
# ======================================================================================

CHUNK_FIELDS = ("project_id", "object_id", "file_id", "line_start", "line_end", "text", "embedding")


def insert_code_chunks(session: Session, chunks: Sequence[Mapping[str, Any]]) -> int:
    if not chunks:
        return 0
    rows = [{f: c.get(f) for f in CHUNK_FIELDS} for c in chunks]
    session.execute(insert(_table(CodeChunk)), rows)
    return len(rows)


def set_chunk_embeddings(session: Session, embeddings: Mapping[int, Sequence[float]]) -> None:
    for chunk_id, vec in embeddings.items():
        session.execute(update(CodeChunk).where(CodeChunk.id == chunk_id).values(embedding=list(vec)))


def chunks_without_embedding(session: Session, project_id: int, limit: int = 256) -> list[CodeChunk]:
    return list(
        session.scalars(
            select(CodeChunk)
            .where(CodeChunk.project_id == project_id, CodeChunk.embedding.is_(None))
            .order_by(CodeChunk.id)
            .limit(limit)
        )
    )


def projects_with_unembedded_chunks(session: Session) -> list[int]:
    """Projects that still have code chunks without an embedding."""
    stmt = select(CodeChunk.project_id).where(CodeChunk.embedding.is_(None)).distinct()
    return sorted(int(pid) for pid in session.scalars(stmt))


def nearest_chunks(
    session: Session, project_id: int, embedding: Sequence[float], *, limit: int = 8
) -> list[tuple[CodeChunk, float]]:
    """Chunks by cosine distance (ascending). pgvector ``<=>`` on PostgreSQL; a scan in
    Python elsewhere (fine for the project sizes the SQLite store targets)."""
    vec = [float(x) for x in embedding]
    if not is_sqlite(session):
        dist = CodeChunk.embedding.op("<=>", return_type=CodeChunk.embedding.type)(vec)
        dist_f = sa_cast(dist, Float)
        rows = session.execute(
            select(CodeChunk, dist_f)
            .where(CodeChunk.project_id == project_id, CodeChunk.embedding.is_not(None))
            .order_by(dist_f)
            .limit(limit)
        ).all()
        return [(row[0], float(row[1])) for row in rows]
    norm_q = math.sqrt(sum(x * x for x in vec)) or 1.0
    scored: list[tuple[float, int]] = []
    for cid, emb in session.execute(
        select(CodeChunk.id, CodeChunk.embedding).where(
            CodeChunk.project_id == project_id, CodeChunk.embedding.is_not(None)
        )
    ):
        if emb is None:
            continue
        dot = sum(a * b for a, b in zip(vec, emb, strict=False))
        norm = math.sqrt(sum(b * b for b in emb)) or 1.0
        scored.append((1.0 - dot / (norm_q * norm), int(cid)))
    scored.sort()
    out: list[tuple[CodeChunk, float]] = []
    for dist_v, cid in scored[:limit]:
        chunk = session.get(CodeChunk, cid)
        if chunk is not None:
            out.append((chunk, dist_v))
    return out


# ======================================================================================
# stats
# ======================================================================================


def compute_stats(session: Session, project_id: int | None = None) -> dict[str, Any]:
    """Counts: objects (total and by kind), columns, table/column edges (and by status), files
    (active), runs. Scoped to a project when ``project_id`` is given."""

    def scoped(stmt: Any, col: Any) -> Any:
        return stmt.where(col == project_id) if project_id is not None else stmt

    by_kind = {
        kind: int(n)
        for kind, n in session.execute(
            scoped(
                select(CatalogObject.kind, func.count()).group_by(CatalogObject.kind),
                CatalogObject.project_id,
            )
        )
    }
    n_cols = session.scalar(
        scoped(
            select(func.count())
            .select_from(Column)
            .join(CatalogObject, CatalogObject.id == Column.object_id),
            CatalogObject.project_id,
        )
    )
    te_status = {
        s: int(n)
        for s, n in session.execute(
            scoped(select(TableEdge.status, func.count()).group_by(TableEdge.status), TableEdge.project_id)
        )
    }
    ce_status = {
        s: int(n)
        for s, n in session.execute(
            scoped(select(ColumnEdge.status, func.count()).group_by(ColumnEdge.status), ColumnEdge.project_id)
        )
    }
    n_files = session.scalar(
        scoped(
            select(func.count())
            .select_from(File)
            .join(Repository, Repository.id == File.repository_id)
            .where(File.status == "active"),
            Repository.project_id,
        )
    )
    n_runs = session.scalar(scoped(select(func.count()).select_from(Run), Run.project_id))
    return {
        "objects": sum(by_kind.values()),
        "objects_by_kind": by_kind,
        "columns": int(n_cols or 0),
        "table_edges": sum(te_status.values()),
        "column_edges": sum(ce_status.values()),
        "table_edges_by_status": te_status,
        "column_edges_by_status": ce_status,
        "files": int(n_files or 0),
        "runs": int(n_runs or 0),
    }


def record_stats_snapshot(
    session: Session, project_id: int | None = None, counts: dict[str, Any] | None = None
) -> StatsSnapshot:
    snap = StatsSnapshot(project_id=project_id, counts=counts or compute_stats(session, project_id))
    session.add(snap)
    session.flush()
    return snap


def list_stats_snapshots(
    session: Session,
    project_id: int | None = None,
    *,
    since: datetime | None = None,
    limit: int = 500,
) -> list[StatsSnapshot]:
    """Oldest first (for trend lines). ``project_id=None`` selects global snapshots."""
    stmt = select(StatsSnapshot).order_by(StatsSnapshot.ts.desc()).limit(limit)
    stmt = stmt.where(
        StatsSnapshot.project_id == project_id
        if project_id is not None
        else StatsSnapshot.project_id.is_(None)
    )
    if since is not None:
        stmt = stmt.where(StatsSnapshot.ts >= since)
    return list(reversed(list(session.scalars(stmt))))

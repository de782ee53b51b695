"""Catalog objects (nodes) and their columns.

Every function takes the session first and never commits: the caller owns the transaction.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    bindparam,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import Executable

from finlineage.lineage.model import ColumnDef, Diagnostic
from finlineage.lineage.names import split_column_ref
from finlineage.store.bulk import _chunks, _rowcount, _table, is_sqlite
from finlineage.store.models import (
    CatalogObject,
    Column,
    utcnow,
)
from finlineage.store.search import _refresh_column_names, column_names, refresh_search


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


@functools.cache
def _statement(name: str) -> Executable:
    """Statements of the get-or-create paths, built once (``IN`` lists as expanding parameters:
    no per-call expression building or cache-key work; ingest runs them per event)."""
    objects, columns = _table(CatalogObject), _table(Column)
    if name == "objects":
        return select(objects.c.canonical_id, objects.c.id, objects.c.kind).where(
            objects.c.project_id == bindparam("pid"),
            objects.c.canonical_id.in_(bindparam("ids", expanding=True)),
        )
    if name == "columns":
        return select(
            columns.c.object_id, columns.c.name, columns.c.id, columns.c.ordinal, columns.c.data_type
        ).where(columns.c.object_id.in_(bindparam("ids", expanding=True)))
    raise KeyError(name)


def _existing_objects(
    session: Session, project_id: int, canonical_ids: Sequence[str]
) -> dict[str, tuple[int, str]]:
    found: dict[str, tuple[int, str]] = {}
    for part in _chunks(list(canonical_ids)):
        for cid, oid, kind in session.execute(_statement("objects"), {"pid": project_id, "ids": list(part)}):
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
                    "column_names": column_names(spec.columns),
                    **values,
                }
            )
        elif spec.kind != "external":
            updates.append({"_id": existing[cid][0], **values})
    after: dict[str, tuple[int, str]] = {}
    if new_rows:
        t = _table(CatalogObject)
        for cid, oid, kind in session.execute(
            insert(t).returning(t.c.canonical_id, t.c.id, t.c.kind), new_rows
        ):
            after[cid] = (int(oid), kind)
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
    out: dict[str, tuple[int, bool]] = {}
    for cid in merged:
        if cid in existing:
            out[cid] = (existing[cid][0], False)
        else:
            out[cid] = (after[cid][0], True)
    with_columns = {out[cid][0]: list(spec.columns) for cid, spec in merged.items() if spec.columns}
    if with_columns:
        # no refresh here: refresh_search below recomputes the column names once
        ensure_columns_bulk(session, with_columns, refresh=None)
    # a new object's column names were written with it (it has no other columns)
    refresh_search(
        session,
        [oid for oid, _ in out.values()],
        names_current={after[r["canonical_id"]][0] for r in new_rows},
    )
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
    session: Session, columns_by_object: Mapping[int, Sequence[ColumnDef]], *, refresh: bool | None = True
) -> dict[tuple[int, str], int]:
    """Bulk get-or-create columns for many objects; returns ``{(object_id, name): column_id}``.
    Existing columns get ``ordinal``/``data_type`` filled in when the new definition has them
    (ordinal 0 means unknown). When columns are created, ``refresh`` True refreshes the objects'
    search data, False only their column names, None nothing (the caller refreshes)."""
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
        t = _table(Column)
        returned = t.c.object_id, t.c.name, t.c.id, t.c.ordinal, t.c.data_type
        for oid, name, cid, ordinal, dtype in session.execute(insert(t).returning(*returned), new_rows):
            found[(int(oid), name)] = (int(cid), ordinal, dtype)
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
        if refresh:
            refresh_search(session, list(columns_by_object))
        elif refresh is not None:
            _refresh_column_names(session, list(columns_by_object))
    session.expire_all()
    return {key: found[key][0] for key in wanted}


def _existing_columns(
    session: Session, object_ids: Sequence[int]
) -> dict[tuple[int, str], tuple[int, int | None, str | None]]:
    found: dict[tuple[int, str], tuple[int, int | None, str | None]] = {}
    for part in _chunks(list(object_ids)):
        rows = session.execute(_statement("columns"), {"ids": list(part)})
        for oid, name, cid, ordinal, dtype in rows:
            found[(int(oid), name)] = (int(cid), ordinal, dtype)
    return found


def set_descriptions(session: Session, docs: Mapping[int, tuple[str | None, Mapping[str, str]]]) -> None:
    """Documentation that came with the code: ``{object_id: (description, {column: description})}``
    is the whole documentation of each object listed (``None`` / a column not listed: none, so a
    description removed from the code is removed here too); columns the object does not have are
    not created (documented but not produced). Objects not listed keep theirs."""
    if not docs:
        return
    t = _table(CatalogObject)
    c = _table(Column)
    conn = session.connection()
    conn.execute(
        update(t).where(t.c.id == bindparam("_id")).values(description=bindparam("d")),
        [{"_id": oid, "d": desc or None} for oid, (desc, _) in docs.items()],
    )
    conn.execute(
        update(c).where(c.c.object_id == bindparam("_o")).values(description=None),
        [{"_o": oid} for oid in docs],
    )
    cols = [
        {"_o": oid, "_n": name, "d": d}
        for oid, (_, by_col) in docs.items()
        for name, d in by_col.items()
        if d
    ]
    if cols:
        conn.execute(
            update(c)
            .where(c.c.object_id == bindparam("_o"), func.lower(c.c.name) == func.lower(bindparam("_n")))
            .values(description=bindparam("d")),
            cols,
        )
    session.expire_all()


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
    """``<canonical object id>.<column>[.<field>...]`` → the column, if both exist."""
    obj_id, col = split_column_refs(session, project_id, [ref])[ref] if "." in ref else ("", "")
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


def split_column_refs(
    session: Session, project_id: int, refs: Iterable[str], tables: Iterable[str] = ()
) -> dict[str, tuple[str, str]]:
    """``{ref: (object, column)}`` for ``<object>.<column>[.<field>...]`` references.

    A nested field (`ds.orders.customer.city`: column `customer.city` of `ds.orders`) keeps its
    dots in the column: the object is the longest prefix that is one of ``tables`` (the tables
    the caller's statements read or write) or, failing that, an object of the project; without
    either, the last dot splits."""
    known = set(tables)
    out: dict[str, tuple[str, str]] = {}
    unmatched: list[str] = []
    for ref in dict.fromkeys(refs):
        obj, col = split_column_ref(ref, _prefixes(ref) & known)
        if not obj or not col:
            raise ValueError(f"column reference {ref!r} is not <object>.<column>")
        out[ref] = (obj, col)
        if col.count(".") == 0 and obj.count(".") >= 1 and obj not in known:
            unmatched.append(ref)
    if unmatched:  # a nested field of a table only the store knows
        candidates = sorted({p for ref in unmatched for p in _prefixes(ref)})
        stored = set(_existing_objects(session, project_id, candidates))
        for ref in unmatched:
            obj, col = split_column_ref(ref, _prefixes(ref) & stored)
            out[ref] = (obj, col)
    return out


def _prefixes(ref: str) -> set[str]:
    """Every dotted prefix of ``ref`` that leaves at least one part for the column."""
    parts = ref.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts))}


def ensure_column_refs(
    session: Session, project_id: int, refs: Iterable[str], *, tables: Iterable[str] = ()
) -> dict[str, int]:
    """Bulk resolve ``<canonical object>.<column>[.<field>...]`` references to column ids,
    creating ``external`` objects and columns for anything not known yet (split as
    :func:`split_column_refs` does, with ``tables`` the tables the references come from)."""
    by_obj: dict[str, list[str]] = {}
    for obj, col in split_column_refs(session, project_id, refs, tables).values():
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

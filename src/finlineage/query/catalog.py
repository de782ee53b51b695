"""Catalog reads: name resolution, node lists, node detail, edge lists."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from finlineage.query.common import (
    PageParams,
    Scope,
    check_scope,
    count,
    edge_model,
    edge_out,
    edge_select,
)
from finlineage.query.errors import AmbiguousNameError, InvalidQueryError, not_found
from finlineage.query.evidence import SourceReader, content_link
from finlineage.query.schemas import (
    ColumnOut,
    EdgeOut,
    FileRef,
    Granularity,
    NeighbourOut,
    NodeDetail,
    NodeOut,
    Page,
)
from finlineage.store.models import CatalogObject, Column, ColumnEdge, File, TableEdge
from finlineage.store.versions import edge_visibility

# --------------------------------------------------------------------------------------
# name resolution
# --------------------------------------------------------------------------------------


def _candidates_out(objs: Sequence[CatalogObject]) -> list[dict[str, Any]]:
    return [
        {"id": o.id, "project_id": o.project_id, "canonical_id": o.canonical_id, "kind": o.kind}
        for o in sorted(objs, key=lambda o: (o.project_id, o.canonical_id, o.id))
    ]


def _pick(objs: Sequence[CatalogObject], ident: str, what: str) -> CatalogObject | None:
    if not objs:
        return None
    if len(objs) == 1:
        return objs[0]
    exact = [o for o in objs if o.canonical_id == ident]
    if len(exact) == 1:
        return exact[0]
    raise AmbiguousNameError(
        f"{what} {ident!r} is ambiguous: {len(objs)} candidates (pass project_id or a fuller name)",
        details={"candidates": _candidates_out(objs)},
    )


def resolve_object(session: Session, ident: str | int, *, project_id: int | None = None) -> CatalogObject:
    """An object by numeric id or canonical name (`stg.trades`).

    Names match case-insensitively (identifiers are normalised per dialect, so a user's casing
    is not reliable); an exact-case match wins over case variants. If nothing matches the full
    name, a unique match on a trailing part (`trades` for `stg.trades`, `stg.trades` for
    `dw.stg.trades`) is accepted. Several candidates → AmbiguousNameError (409) listing them.
    """
    text_ident = str(ident).strip()
    if not text_ident:
        raise InvalidQueryError("empty node id")
    if text_ident.isdecimal():
        obj = session.get(CatalogObject, int(text_ident))
        if obj is None or (project_id is not None and obj.project_id != project_id):
            raise not_found("node", ident)
        return obj

    def scoped(stmt: Any) -> Any:
        if project_id is not None:
            stmt = stmt.where(CatalogObject.project_id == project_id)
        return stmt.order_by(CatalogObject.project_id, CatalogObject.id).limit(50)

    # 1. exact (uses the unique (project_id, canonical_id) index)
    exact = list(
        session.scalars(scoped(select(CatalogObject).where(CatalogObject.canonical_id == text_ident)))
    )
    if len(exact) == 1:
        found_exact: CatalogObject = exact[0]
        return found_exact
    lowered = text_ident.lower()
    # 2. case-insensitive
    ci = list(
        session.scalars(
            scoped(select(CatalogObject).where(func.lower(CatalogObject.canonical_id) == lowered))
        )
    )
    found = _pick(ci, text_ident, "node")
    if found is not None:
        return found
    # 3. unique trailing-part match
    suffix = list(
        session.scalars(
            scoped(
                select(CatalogObject).where(
                    func.lower(CatalogObject.canonical_id).like(f"%.{_escape(lowered)}", escape="\\")
                )
            )
        )
    )
    found = _pick(suffix, text_ident, "node")
    if found is not None:
        return found
    raise not_found("node", ident)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def resolve_column(session: Session, ident: str | int, *, project_id: int | None = None) -> Column:
    """A column by numeric id or `<object name>.<column>` (`stg.trades.amount`)."""
    text_ident = str(ident).strip()
    if text_ident.isdecimal():
        col = session.get(Column, int(text_ident))
        if col is None:
            raise not_found("column", ident)
        if project_id is not None and col.object.project_id != project_id:
            raise not_found("column", ident)
        return col
    obj_name, _, col_name = text_ident.rpartition(".")
    if not obj_name or not col_name:
        raise InvalidQueryError(
            f"column reference {text_ident!r} must be <schema>.<table>.<column> (or a numeric id)"
        )
    try:
        obj = resolve_object(session, obj_name, project_id=project_id)
    except Exception as exc:
        if getattr(exc, "status_code", None) == 404:
            raise not_found("column", ident) from None
        raise
    cols = list(
        session.scalars(
            select(Column).where(Column.object_id == obj.id, func.lower(Column.name) == col_name.lower())
        )
    )
    if not cols:
        raise not_found("column", ident)
    exact = [c for c in cols if c.name == col_name]
    return exact[0] if exact else cols[0]


# --------------------------------------------------------------------------------------
# nodes
# --------------------------------------------------------------------------------------


def _column_count() -> Any:
    return (
        select(func.count())
        .select_from(Column)
        .where(Column.object_id == CatalogObject.id)
        .correlate(CatalogObject)
        .scalar_subquery()
    )


def node_select() -> Any:
    return (
        select(CatalogObject, File.path, File.repository_id, _column_count().label("ncols"))
        .select_from(CatalogObject)
        .outerjoin(File, File.id == CatalogObject.file_id)
    )


def node_out(obj: CatalogObject, path: str | None, repository_id: int | None, ncols: int | None) -> NodeOut:
    return NodeOut(**_node_fields(obj, path, repository_id, ncols))


def _node_fields(
    obj: CatalogObject, path: str | None, repository_id: int | None, ncols: int | None
) -> dict[str, Any]:
    file = (
        FileRef(id=obj.file_id, path=path, repository_id=repository_id)
        if obj.file_id is not None and path is not None and repository_id is not None
        else None
    )
    return {
        "id": obj.id,
        "project_id": obj.project_id,
        "canonical_id": obj.canonical_id,
        "kind": obj.kind,
        "name": obj.name,
        "schema_name": obj.schema,
        "database": obj.database,
        "dialect": obj.dialect,
        "file": file,
        "line_start": obj.line_start,
        "line_end": obj.line_end,
        "column_count": int(ncols or 0),
        "description": obj.description,
    }


def list_nodes(
    session: Session,
    scope: Scope,
    page: PageParams,
    *,
    kinds: Sequence[str] = (),
    name: str | None = None,
) -> Page[NodeOut]:
    check_scope(session, scope)
    stmt = node_select()
    if scope.project_id is not None:
        stmt = stmt.where(CatalogObject.project_id == scope.project_id)
    if scope.repository_id is not None:
        stmt = stmt.where(File.repository_id == scope.repository_id)
    if kinds:
        stmt = stmt.where(CatalogObject.kind.in_(list(kinds)))
    if name:
        stmt = stmt.where(
            func.lower(CatalogObject.canonical_id).like(f"%{_escape(name.lower())}%", escape="\\")
        )
    total = count(session, stmt)
    rows = session.execute(
        stmt.order_by(CatalogObject.canonical_id, CatalogObject.id).limit(page.limit).offset(page.offset)
    )
    items = [node_out(obj, path, repo, n) for obj, path, repo, n in rows]
    return Page[NodeOut](items=items, total=total, limit=page.limit, offset=page.offset)


def _neighbours(
    session: Session, obj: CatalogObject, sources: SourceReader | None = None
) -> tuple[list[NeighbourOut], list[NeighbourOut]]:
    """Objects the node reads from and writes to (the current graph's visible table edges
    to/from it, and, for a routine, the edges it runs as their process). Two queries."""
    rows = list(
        session.execute(
            edge_select("table").where(
                or_(
                    TableEdge.target_object_id == obj.id,
                    TableEdge.source_object_id == obj.id,
                    TableEdge.process_object_id == obj.id,
                ),
                edge_visibility(TableEdge),
            )
        )
    )
    if sources is not None:
        sources.prefetch([r.file_id for r in rows])
    other_ids = {int(r.source) for r in rows} | {int(r.target) for r in rows}
    kinds: dict[int, str] = {}
    if other_ids:
        kinds = {
            int(i): k
            for i, k in session.execute(
                select(CatalogObject.id, CatalogObject.kind).where(CatalogObject.id.in_(list(other_ids)))
            )
        }
    reads: dict[tuple[int, str], NeighbourOut] = {}
    writes: dict[tuple[int, str], NeighbourOut] = {}

    def add(bucket: dict[tuple[int, str], NeighbourOut], oid: int, canon: str, via: str, r: Any) -> None:
        key = (oid, via)
        if key in bucket or oid == obj.id:
            return
        bucket[key] = NeighbourOut(
            id=oid,
            canonical_id=canon,
            kind=kinds.get(oid, "external"),
            via=via,  # type: ignore[arg-type]
            expression=r.expression,
            file=r.file_path,
            file_id=r.file_id,
            line_start=r.line_start,
            line_end=r.line_end,
            source_text=sources.text(r.file_id, r.line_start, r.line_end) if sources else None,
            content_url=content_link(r.file_id, r.line_start, r.line_end),
        )

    for r in sorted(rows, key=lambda r: r.id):
        if int(r.target) == obj.id:
            add(reads, int(r.source), r.source_canonical, "edge", r)
        if int(r.source) == obj.id:
            add(writes, int(r.target), r.target_canonical, "edge", r)
        if r.process_object_id is not None and int(r.process_object_id) == obj.id:
            add(reads, int(r.source), r.source_canonical, "process", r)
            add(writes, int(r.target), r.target_canonical, "process", r)
    order = lambda n: (n.canonical_id, n.via)  # noqa: E731
    return sorted(reads.values(), key=order), sorted(writes.values(), key=order)


def node_detail(
    session: Session, ident: str | int, *, project_id: int | None = None, data_dir: Path | None = None
) -> NodeDetail:
    """One object. ``definition`` is the original text of its statement (the lines of its stored
    file, given ``data_dir``); the parser's regenerated SQL only when that text is unavailable,
    flagged by ``definition_source``."""
    obj = resolve_object(session, ident, project_id=project_id)
    row = session.execute(node_select().where(CatalogObject.id == obj.id)).one()
    _, path, repo, ncols = row
    columns = [
        ColumnOut(id=c.id, name=c.name, ordinal=c.ordinal, data_type=c.data_type, description=c.description)
        for c in session.scalars(
            select(Column).where(Column.object_id == obj.id).order_by(Column.ordinal, Column.name, Column.id)
        )
    ]
    reader = SourceReader(session, data_dir)
    reads, writes = _neighbours(session, obj, reader if data_dir is not None else None)
    reader.prefetch([obj.file_id])
    original = reader.text(obj.file_id, obj.line_start, obj.line_end)
    source: Literal["file", "regenerated"] = "file" if original is not None else "regenerated"
    definition = original if original is not None else obj.definition
    return NodeDetail(
        **_node_fields(obj, path, repo, ncols),
        definition=definition,
        definition_source=source if definition is not None else None,
        content_url=content_link(obj.file_id, obj.line_start, obj.line_end),
        columns=columns,
        reads=reads,
        writes=writes,
        diagnostics=list(obj.diagnostics or []),
        created_at=obj.created_at,
        updated_at=obj.updated_at,
    )


# --------------------------------------------------------------------------------------
# edges
# --------------------------------------------------------------------------------------


def list_edges(
    session: Session,
    scope: Scope,
    page: PageParams,
    *,
    granularity: Granularity = "table",
    origins: Sequence[str] = (),
    statuses: Sequence[str] = (),
    kinds: Sequence[str] = (),
    node: str | None = None,
    as_of: int | None = None,
    data_dir: Path | None = None,
) -> Page[EdgeOut]:
    """Edges visible in the current graph (``as_of``: in that version) with ``statuses``
    (none given: observed + approved, the edges walks follow)."""
    check_scope(session, scope)
    if as_of is not None:
        from finlineage.query.governance import check_version  # governance imports this module

        if scope.project_id is None:
            raise InvalidQueryError("as_of needs project_id (versions are per project)")
        check_version(session, scope.project_id, as_of)
    model = edge_model(granularity)
    stmt = edge_select(granularity).where(
        edge_visibility(model, statuses=list(statuses) or None, as_of=as_of)
    )
    if scope.project_id is not None:
        stmt = stmt.where(model.project_id == scope.project_id)
    if scope.repository_id is not None:
        stmt = stmt.where(File.repository_id == scope.repository_id)
    if origins:
        stmt = stmt.where(model.origin.in_(list(origins)))
    if kinds:
        stmt = stmt.where(model.kind.in_(list(kinds)))
    if node:
        obj = resolve_object(session, node, project_id=scope.project_id)
        if granularity == "table":
            stmt = stmt.where(or_(TableEdge.source_object_id == obj.id, TableEdge.target_object_id == obj.id))
        else:
            cols = select(Column.id).where(Column.object_id == obj.id)
            stmt = stmt.where(
                or_(ColumnEdge.source_column_id.in_(cols), ColumnEdge.target_column_id.in_(cols))
            )
    total = count(session, stmt)
    rows = session.execute(stmt.order_by(model.id).limit(page.limit).offset(page.offset))
    listed = list(rows)
    sources = SourceReader(session, data_dir) if data_dir is not None else None
    if sources is not None:
        sources.prefetch([r.file_id for r in listed])
    items = [edge_out(r, granularity, sources) for r in listed]
    return Page[EdgeOut](items=items, total=total, limit=page.limit, offset=page.offset)

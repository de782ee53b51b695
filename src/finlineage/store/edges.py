"""Table- and column-level lineage edges, and removal of a file's facts.

Every function takes the session first and never commits: the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import (
    and_,
    delete,
    exists,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from finlineage.store.bulk import _chunks, _rowcount, _table, is_sqlite
from finlineage.store.models import (
    CatalogObject,
    CodeChunk,
    Column,
    ColumnEdge,
    TableEdge,
    utcnow,
)
from finlineage.store.search import _delete_search_rows, refresh_search
from finlineage.store.versions import project_of_file, working_version

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
    "status": "observed",
    "run_id": None,
    "created_by": None,
    "note": None,
    "version_from": None,
    "version_to": None,
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
    """The file's current edges (closed facts of earlier versions are not listed)."""
    tables = list(
        session.scalars(
            select(TableEdge)
            .where(TableEdge.file_id == file_id, TableEdge.version_to.is_(None))
            .order_by(TableEdge.id)
        )
    )
    cols = list(
        session.scalars(
            select(ColumnEdge)
            .where(ColumnEdge.file_id == file_id, ColumnEdge.version_to.is_(None))
            .order_by(ColumnEdge.id)
        )
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

    * its current table and column edges are *closed* (``version_to`` = the project's open
      version, see :mod:`finlineage.store.versions`): they stay valid in the versions they were
      in, for point-in-time answers and diffs; edges no finalised version contains yet (written
      earlier in the same run) are deleted. Its code chunks are deleted;
    * objects it defined are demoted to ``external`` (definition, file, lines cleared) — they
      keep their ids because other files' edges may point at them, and a re-ingest adopts
      them again;
    * objects touched by the deleted edges or defined by the file that are now ``external``
      and referenced by no remaining edge are deleted, together with their columns; orphaned
      columns of remaining external objects are deleted too.
    """
    touched: set[int] = set()
    touched.update(session.scalars(select(CatalogObject.id).where(CatalogObject.file_id == file_id)))
    live_te = and_(TableEdge.file_id == file_id, TableEdge.version_to.is_(None))
    live_ce = and_(ColumnEdge.file_id == file_id, ColumnEdge.version_to.is_(None))
    te_rows = session.execute(
        select(TableEdge.source_object_id, TableEdge.target_object_id).where(live_te)
    ).all()
    for s, t in te_rows:
        touched.update((int(s), int(t)))
    col_ids: set[int] = set()
    for s, t in session.execute(
        select(ColumnEdge.source_column_id, ColumnEdge.target_column_id).where(live_ce)
    ):
        col_ids.update((int(s), int(t)))
    for part in _chunks(sorted(col_ids)):
        touched.update(int(x) for x in session.scalars(select(Column.object_id).where(Column.id.in_(part))))
    for model in (TableEdge, ColumnEdge):
        for x in session.scalars(
            select(model.process_object_id).where(
                model.file_id == file_id, model.version_to.is_(None), model.process_object_id.is_not(None)
            )
        ):
            if x is not None:
                touched.add(int(x))

    n_te, n_ce = _close_file_edges(session, file_id)
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


def _close_file_edges(session: Session, file_id: int) -> tuple[int, int]:
    """Close the file's current edges in the project's open version; delete the ones no
    finalised version holds. Returns (table edges, column edges) removed from the current graph."""
    counts: list[int] = []
    pid = project_of_file(session, file_id)
    version = working_version(session, pid) if pid is not None else None
    for model in (TableEdge, ColumnEdge):
        n = _rowcount(
            session.execute(
                delete(model).where(
                    model.file_id == file_id, model.version_to.is_(None), model.version_from.is_(None)
                )
            )
        )
        if version is not None:
            n += _rowcount(
                session.execute(
                    update(model)
                    .where(model.file_id == file_id, model.version_to.is_(None))
                    .values(version_to=version)
                    .execution_options(synchronize_session=False)
                )
            )
        counts.append(n)
    return counts[0], counts[1]

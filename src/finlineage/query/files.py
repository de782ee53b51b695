"""Source files: list, statistics, most recent, and line ranges of their stored text (read the
way `query.evidence` reads it, so line N is line N of the engine's spans)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from finlineage.query.common import PageParams, Scope, check_scope, count
from finlineage.query.errors import GoneError, InvalidQueryError, not_found
from finlineage.query.evidence import decode_text, split_lines
from finlineage.query.schemas import FileContent, FileOut, FileStats, Page
from finlineage.store.blobs import blob_path
from finlineage.store.models import CatalogObject, ColumnEdge, File, Repository, TableEdge
from finlineage.store.versions import edge_visibility


def _base(scope: Scope) -> Any:
    stmt = select(File, Repository.project_id).join(Repository, Repository.id == File.repository_id)
    if scope.project_id is not None:
        stmt = stmt.where(Repository.project_id == scope.project_id)
    if scope.repository_id is not None:
        stmt = stmt.where(File.repository_id == scope.repository_id)
    return stmt


def _file_out(f: File, project_id: int) -> FileOut:
    return FileOut(
        id=f.id,
        project_id=int(project_id),
        repository_id=f.repository_id,
        path=f.path,
        sha256=f.sha256,
        size=int(f.size or 0),
        dialect=f.dialect,
        version=f.version,
        status=f.status,
        error=f.error,
        error_line=f.error_line,
        error_column=f.error_column,
        superseded_by=f.superseded_by,
        run_id=f.run_id,
        created_at=f.created_at,
    )


def list_files(
    session: Session,
    scope: Scope,
    page: PageParams,
    *,
    statuses: Sequence[str] = (),
    dialects: Sequence[str] = (),
    path: str | None = None,
) -> Page[FileOut]:
    check_scope(session, scope)
    stmt = _base(scope)
    if statuses:
        stmt = stmt.where(File.status.in_(list(statuses)))
    if dialects:
        stmt = stmt.where(File.dialect.in_(list(dialects)))
    if path:
        stmt = stmt.where(func.lower(File.path).contains(path.lower(), autoescape=True))
    total = count(session, stmt)
    rows = session.execute(
        stmt.order_by(File.path, File.version, File.id).limit(page.limit).offset(page.offset)
    )
    return Page[FileOut](
        items=[_file_out(f, p) for f, p in rows], total=total, limit=page.limit, offset=page.offset
    )


def recent_files(session: Session, scope: Scope, limit: int = 20) -> list[FileOut]:
    check_scope(session, scope)
    rows = session.execute(_base(scope).order_by(File.created_at.desc(), File.id.desc()).limit(limit))
    return [_file_out(f, p) for f, p in rows]


def get_file(session: Session, file_id: int) -> FileOut:
    row = session.execute(_base(Scope()).where(File.id == file_id)).one_or_none()
    if row is None:
        raise not_found("file", file_id)
    return _file_out(*row)


MAX_CONTENT_LINES = 5000


def file_content(
    session: Session, data_dir: Path, file_id: int, line_from: int = 1, line_to: int | None = None
) -> FileContent:
    """Lines `line_from..line_to` of a stored file version, from its content-addressed copy."""
    f = session.get(File, file_id)
    if f is None:
        raise not_found("file", file_id)
    path = blob_path(data_dir, f.sha256)
    if not path.is_file():
        raise GoneError(f"the text of file {file_id} ({f.path}) is not stored")
    lines = split_lines(decode_text(path.read_bytes()))
    total = len(lines)
    end = min(line_to if line_to is not None else total, total, line_from + MAX_CONTENT_LINES - 1)
    if line_from > max(total, 1) or (line_to is not None and line_to < line_from):
        raise InvalidQueryError(f"line range {line_from}-{line_to} is outside 1-{total}")
    return FileContent(
        file_id=f.id,
        path=f.path,
        sha256=f.sha256,
        dialect=f.dialect,
        line_start=line_from,
        line_end=max(end, line_from - 1),
        total_lines=total,
        lines=lines[line_from - 1 : end],
    )


def file_stats(session: Session, scope: Scope) -> FileStats:
    check_scope(session, scope)
    base = select(File.status, File.dialect, File.size).join(Repository, Repository.id == File.repository_id)
    if scope.project_id is not None:
        base = base.where(Repository.project_id == scope.project_id)
    if scope.repository_id is not None:
        base = base.where(File.repository_id == scope.repository_id)
    sub = base.subquery()
    by_status: dict[str, int] = {}
    by_dialect: dict[str, int] = {}
    files = total_bytes = active_bytes = 0
    for status, dialect, n, nbytes in session.execute(
        select(sub.c.status, sub.c.dialect, func.count(), func.coalesce(func.sum(sub.c.size), 0)).group_by(
            sub.c.status, sub.c.dialect
        )
    ):
        n, nbytes = int(n), int(nbytes or 0)
        files += n
        total_bytes += nbytes
        by_status[status] = by_status.get(status, 0) + n
        if status == "active":
            active_bytes += nbytes
            key = dialect or "unknown"
            by_dialect[key] = by_dialect.get(key, 0) + n

    def scoped_count(model: Any, project_col: Any, file_col: Any, *where: Any) -> int:
        stmt = select(func.count()).select_from(model).where(*where)
        if scope.project_id is not None:
            stmt = stmt.where(project_col == scope.project_id)
        if scope.repository_id is not None:
            stmt = stmt.where(file_col.in_(select(File.id).where(File.repository_id == scope.repository_id)))
        return int(session.scalar(stmt) or 0)

    return FileStats(
        files=files,
        total_bytes=total_bytes,
        active_bytes=active_bytes,
        by_status=dict(sorted(by_status.items())),
        by_dialect=dict(sorted(by_dialect.items())),
        objects=scoped_count(CatalogObject, CatalogObject.project_id, CatalogObject.file_id),
        # the current graph's visible edges, as /api/v1/stats and /lineage/edges count them
        table_edges=scoped_count(
            TableEdge, TableEdge.project_id, TableEdge.file_id, edge_visibility(TableEdge)
        ),
        column_edges=scoped_count(
            ColumnEdge, ColumnEdge.project_id, ColumnEdge.file_id, edge_visibility(ColumnEdge)
        ),
    )

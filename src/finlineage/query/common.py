"""Shared pieces of the read side: pagination, scoping filters, edge row selection/hydration."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import func, literal, select
from sqlalchemy.orm import Session, aliased

from finlineage.query.errors import not_found
from finlineage.query.evidence import SourceReader, content_link
from finlineage.query.schemas import MAX_LIMIT, EdgeOut, Granularity, GraphEdge
from finlineage.store.models import CatalogObject, Column, ColumnEdge, File, Project, Repository, TableEdge

T = TypeVar("T")

CHUNK = 500
"""Max ids per IN-list."""


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterable[Sequence[T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


@dataclass(frozen=True, slots=True)
class PageParams:
    limit: int = 50
    offset: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "limit", max(1, min(int(self.limit), MAX_LIMIT)))
        object.__setattr__(self, "offset", max(0, int(self.offset)))


@dataclass(frozen=True, slots=True)
class Scope:
    """Project / repository filter shared by every list endpoint."""

    project_id: int | None = None
    repository_id: int | None = None


def check_scope(session: Session, scope: Scope) -> None:
    """404 for an unknown project or repository; a repository outside the project is unknown too."""
    if scope.project_id is not None and session.get(Project, scope.project_id) is None:
        raise not_found("project", scope.project_id)
    if scope.repository_id is not None:
        repo = session.get(Repository, scope.repository_id)
        if repo is None or (scope.project_id is not None and repo.project_id != scope.project_id):
            raise not_found("repository", scope.repository_id)


def count(session: Session, stmt: Any) -> int:
    """Total rows of ``stmt`` (ordering and paging dropped)."""
    sub = stmt.order_by(None).limit(None).offset(None).subquery()
    return int(session.scalar(select(func.count()).select_from(sub)) or 0)


def column_canonical(object_canonical: str, column: str) -> str:
    return f"{object_canonical}.{column}"


# --------------------------------------------------------------------------------------
# edges: one SELECT per granularity returning everything a response needs (no N+1)
# --------------------------------------------------------------------------------------


def edge_select(granularity: Granularity) -> Any:
    """Edge rows with source/target canonical names, file path and process name joined in."""
    src_o = aliased(CatalogObject, name="src_o")
    tgt_o = aliased(CatalogObject, name="tgt_o")
    proc = aliased(CatalogObject, name="proc_o")
    stmt: Any
    if granularity == "table":
        e = TableEdge
        stmt = (
            select(
                e.id,
                e.project_id,
                e.source_object_id.label("source"),
                e.target_object_id.label("target"),
                src_o.canonical_id.label("source_canonical"),
                tgt_o.canonical_id.label("target_canonical"),
                literal(None).label("source_column"),
                literal(None).label("target_column"),
                e.source_object_id.label("source_object_id"),
                e.target_object_id.label("target_object_id"),
                e.kind,
                e.subtype,
                e.expression,
                e.formula,
                e.steps,
                e.file_id,
                File.path.label("file_path"),
                File.repository_id.label("repository_id"),
                e.line_start,
                e.line_end,
                proc.canonical_id.label("process"),
                e.process_object_id,
                e.confidence,
                e.origin,
                e.status,
            )
            .select_from(e)
            .join(src_o, src_o.id == e.source_object_id)
            .join(tgt_o, tgt_o.id == e.target_object_id)
        )
    else:
        ce = ColumnEdge
        src_c = aliased(Column, name="src_c")
        tgt_c = aliased(Column, name="tgt_c")
        stmt = (
            select(
                ce.id,
                ce.project_id,
                ce.source_column_id.label("source"),
                ce.target_column_id.label("target"),
                src_o.canonical_id.label("source_canonical"),
                tgt_o.canonical_id.label("target_canonical"),
                src_c.name.label("source_column"),
                tgt_c.name.label("target_column"),
                src_c.object_id.label("source_object_id"),
                tgt_c.object_id.label("target_object_id"),
                ce.kind,
                ce.subtype,
                ce.expression,
                ce.formula,
                ce.steps,
                ce.file_id,
                File.path.label("file_path"),
                File.repository_id.label("repository_id"),
                ce.line_start,
                ce.line_end,
                proc.canonical_id.label("process"),
                ce.process_object_id,
                ce.confidence,
                ce.origin,
                ce.status,
            )
            .select_from(ce)
            .join(src_c, src_c.id == ce.source_column_id)
            .join(tgt_c, tgt_c.id == ce.target_column_id)
            .join(src_o, src_o.id == src_c.object_id)
            .join(tgt_o, tgt_o.id == tgt_c.object_id)
        )
    model: type[TableEdge] | type[ColumnEdge] = TableEdge if granularity == "table" else ColumnEdge
    return stmt.outerjoin(File, File.id == model.file_id).outerjoin(proc, proc.id == model.process_object_id)


def edge_model(granularity: Granularity) -> type[TableEdge] | type[ColumnEdge]:
    return TableEdge if granularity == "table" else ColumnEdge


def _canon(row: Any, side: str) -> str:
    obj = str(getattr(row, f"{side}_canonical"))
    col = getattr(row, f"{side}_column")
    return obj if col is None else column_canonical(obj, str(col))


def parse_steps(value: str | None) -> list[int]:
    return [int(x) for x in value.split()] if value else []


def graph_edge(row: Any, sources: SourceReader | None = None) -> GraphEdge:
    """An edge row as the API shows it; with ``sources`` its original text is attached."""
    return GraphEdge(
        id=int(row.id),
        source=int(row.source),
        target=int(row.target),
        source_canonical_id=_canon(row, "source"),
        target_canonical_id=_canon(row, "target"),
        kind=row.kind,
        subtype=row.subtype,
        expression=row.expression,
        formula=row.formula,
        steps=parse_steps(row.steps),
        source_text=sources.text(row.file_id, row.line_start, row.line_end) if sources else None,
        file=row.file_path,
        file_id=row.file_id,
        line_start=row.line_start,
        line_end=row.line_end,
        content_url=content_link(row.file_id, row.line_start, row.line_end),
        process=row.process,
        confidence=float(row.confidence),
        origin=row.origin,
        status=row.status,
    )


def edge_out(row: Any, granularity: Granularity, sources: SourceReader | None = None) -> EdgeOut:
    g = graph_edge(row, sources)
    return EdgeOut(project_id=int(row.project_id), granularity=granularity, **g.model_dump())


def load_edges(session: Session, granularity: Granularity, edge_ids: Sequence[int]) -> list[Any]:
    """Hydrate edges by id, in chunks, ordered by id."""
    model = edge_model(granularity)
    rows: list[Any] = []
    for part in chunks(sorted(set(edge_ids))):
        rows.extend(session.execute(edge_select(granularity).where(model.id.in_(part))))
    rows.sort(key=lambda r: r.id)
    return rows

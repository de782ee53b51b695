"""Source files: `/api/v1/files` (+ `/stats`, `/recent`, `/{id}`). Uploads are ingestion's routes."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy.orm import Session

from finlineage.api.auth import viewer
from finlineage.api.context import AppContext, get_ctx, get_session
from finlineage.api.params import multi, page_params, scope_params
from finlineage.query import files as q
from finlineage.query.common import PageParams, Scope
from finlineage.query.schemas import FileContent, FileOut, FileStats, Page
from finlineage.store.models import FILE_STATUSES

router = APIRouter(prefix="/api/v1/files", tags=["files"])


@router.get("", response_model=Page[FileOut], summary="List source files", dependencies=[viewer])
def list_files(
    scope: Scope = Depends(scope_params),
    page: PageParams = Depends(page_params),
    status: list[str] | None = Query(
        None, description="active, superseded, error (repeat or comma-separate)"
    ),
    dialect: list[str] | None = Query(None, description="Dialect recorded for the file"),
    path: str | None = Query(None, max_length=1024, description="Case-insensitive substring of the path"),
    session: Session = Depends(get_session),
) -> Page[FileOut]:
    return q.list_files(
        session,
        scope,
        page,
        statuses=multi(status, "status", FILE_STATUSES),
        dialects=multi(dialect, "dialect"),
        path=path,
    )


@router.get(
    "/stats",
    response_model=FileStats,
    summary="File counts by status and dialect, bytes, objects and edges",
    dependencies=[viewer],
)
def stats(scope: Scope = Depends(scope_params), session: Session = Depends(get_session)) -> FileStats:
    return q.file_stats(session, scope)


@router.get(
    "/recent", response_model=list[FileOut], summary="Most recently ingested files", dependencies=[viewer]
)
def recent(
    scope: Scope = Depends(scope_params),
    limit: int = Query(20, ge=1, le=500),
    session: Session = Depends(get_session),
) -> list[FileOut]:
    return q.recent_files(session, scope, limit)


@router.get("/{file_id}", response_model=FileOut, summary="One file version", dependencies=[viewer])
def get_file(file_id: int = Path(ge=1), session: Session = Depends(get_session)) -> FileOut:
    return q.get_file(session, file_id)


@router.get(
    "/{file_id}/content",
    response_model=FileContent,
    summary="Lines of a stored file version (for showing a statement in context)",
    dependencies=[viewer],
)
def file_content(
    file_id: int = Path(ge=1),
    line_from: int = Query(1, alias="from", ge=1, description="First line (1-based)"),
    line_to: int | None = Query(None, alias="to", ge=1, description="Last line (inclusive); default: end"),
    ctx: AppContext = Depends(get_ctx),
    session: Session = Depends(get_session),
) -> FileContent:
    return q.file_content(session, ctx.settings.data_dir, file_id, line_from, line_to)

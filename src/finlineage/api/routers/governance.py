"""Governed lineage: manual edges (maker-checker), history, review queue, versions and diffs.

Edges are addressed by ref: ``c<id>`` (column edge), ``t<id>`` (table edge), or a bare number
(column edge).
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, FastAPI, File, Form, Path, Query, UploadFile
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy.orm import Session

from finlineage.api.auth import Principal, editor, viewer
from finlineage.api.context import AppContext, get_ctx, get_session
from finlineage.api.params import edge_statuses
from finlineage.query import diff as qdiff
from finlineage.query import governance as q
from finlineage.query.errors import InvalidQueryError

router = APIRouter(tags=["governance"])

_ERR = {"description": "Error envelope {error, message, request_id, details}"}
EdgeRefP = Path(description="Edge ref: `c<id>` (column edge), `t<id>` (table edge) or a number (column edge)")
MAX_CSV_BYTES = 5 * 1024 * 1024


@router.post(
    "/api/v1/lineage/edges",
    status_code=201,
    response_model=q.GovernedEdgeOut,
    summary="Propose a manual edge (origin manual, status proposed)",
    responses={404: _ERR, 409: _ERR, 422: _ERR},
)
def create_edge(
    body: q.ManualEdgeIn, session: Session = Depends(get_session), principal: Principal = editor
) -> q.GovernedEdgeOut:
    out = q.create_edge(session, body, principal.name)
    session.commit()
    return out


@router.post(
    "/api/v1/lineage/edges/import",
    status_code=201,
    response_model=q.ImportOut,
    summary="Bulk-propose manual edges from CSV (source,target,kind,note): all rows or none",
    responses={404: _ERR, 409: _ERR, 413: _ERR, 422: _ERR},
)
def import_edges(
    project_id: str = Form(..., description="Project id or name"),
    file: UploadFile | None = File(None, description="CSV file with header source,target,kind,note"),
    csv_text: str | None = Form(None, alias="csv", description="The CSV as text (instead of a file)"),
    session: Session = Depends(get_session),
    principal: Principal = editor,
) -> q.ImportOut:
    if file is not None:
        raw = file.file.read(MAX_CSV_BYTES + 1)
        if len(raw) > MAX_CSV_BYTES:
            raise InvalidQueryError(f"the CSV is larger than {MAX_CSV_BYTES} bytes")
        data = raw.decode("utf-8", errors="replace")
    elif csv_text is not None:
        data = csv_text
    else:
        raise InvalidQueryError("send the CSV as a file field `file` or a text field `csv`")
    out = q.import_csv(session, project_id, data, principal.name)
    session.commit()
    return out


@router.post(
    "/api/v1/lineage/edges/{edge_id}/review",
    response_model=q.EdgeHistoryOut,
    summary="Approve or reject a proposed edge (not by its maker, unless an admin overrides)",
    responses={403: _ERR, 404: _ERR, 409: _ERR, 422: _ERR},
)
def review_edge(
    body: q.ReviewIn,
    edge_id: str = EdgeRefP,
    session: Session = Depends(get_session),
    principal: Principal = editor,
) -> q.EdgeHistoryOut:
    out = q.review_edge(session, edge_id, body, actor=principal.name, role=principal.role)
    session.commit()
    return out


@router.delete(
    "/api/v1/lineage/edges/{edge_id}",
    response_model=q.EdgeHistoryOut,
    summary="Remove a governed edge from the current graph (kept in earlier versions and in history)",
    responses={404: _ERR, 409: _ERR, 422: _ERR},
)
def remove_edge(
    edge_id: str = EdgeRefP,
    comment: str | None = Query(None, max_length=4000),
    session: Session = Depends(get_session),
    principal: Principal = editor,
) -> q.EdgeHistoryOut:
    out = q.remove_edge(session, edge_id, actor=principal.name, comment=comment)
    session.commit()
    return out


@router.get(
    "/api/v1/lineage/edges/{edge_id}/history",
    response_model=q.EdgeHistoryOut,
    summary="Every action on an edge (created, reviewed, superseded, removed, orphaned, restored)",
    responses={404: _ERR, 422: _ERR},
    dependencies=[viewer],
)
def edge_history(edge_id: str = EdgeRefP, session: Session = Depends(get_session)) -> q.EdgeHistoryOut:
    return q.history_of(session, edge_id)


@router.get(
    "/api/v1/lineage/reviews",
    response_model=q.ReviewQueueOut,
    summary="Governed edges waiting for review: proposed, and orphaned (an endpoint left the graph)",
    responses={404: _ERR},
    dependencies=[viewer],
)
def review_queue(
    project_id: str = Query(..., description="Project id or name"), session: Session = Depends(get_session)
) -> q.ReviewQueueOut:
    return q.review_queue(session, project_id)


@router.get(
    "/api/v1/projects/{project_id}/versions",
    response_model=q.VersionsOut,
    summary="Graph versions of a project (one per run that changed the graph)",
    responses={404: _ERR},
    dependencies=[viewer],
)
def project_versions(
    project_id: str = Path(description="Project id or name"), session: Session = Depends(get_session)
) -> q.VersionsOut:
    return q.list_versions(session, project_id)


@router.get(
    "/api/v1/lineage/diff",
    response_model=qdiff.DiffOut,
    summary="What changed between two versions: added/removed/changed edges, objects, downstream impact",
    responses={
        200: {"content": {"text/markdown": {}}, "description": "JSON, or Markdown with format=markdown"},
        404: _ERR,
        422: _ERR,
    },
    dependencies=[viewer],
)
def lineage_diff(
    project_id: str = Query(..., description="Project id or name"),
    from_version: int | None = Query(None, alias="from", ge=0, description="Base version (default: to - 1)"),
    to_version: int | None = Query(None, alias="to", ge=1, description="Head version (default: the latest)"),
    format: Literal["json", "markdown"] = Query("json"),
    statuses: list[str] = Depends(edge_statuses),
    session: Session = Depends(get_session),
    ctx: AppContext = Depends(get_ctx),
) -> Any:
    d = qdiff.diff(
        session, project_id, from_version, to_version, data_dir=ctx.settings.data_dir, statuses=statuses
    )
    if format == "markdown":
        return PlainTextResponse(qdiff.render_markdown(d), media_type="text/markdown")
    return JSONResponse(d.public())


def register(app: FastAPI) -> None:
    """ROUTERS hook: the governance API."""
    app.include_router(router)

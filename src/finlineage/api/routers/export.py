"""`/api/v1/export?format=openlineage|graphml|mermaid|dot|csv`: the graph in scope as a file."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy.orm import Session

from finlineage.api.auth import viewer
from finlineage.api.context import AppContext, get_ctx, get_session
from finlineage.api.params import AsOfQ, edge_statuses, scope_params
from finlineage.query import export as q
from finlineage.query.common import Scope

router = APIRouter(prefix="/api/v1", tags=["export"])

_EXAMPLES = {
    "application/json": {"description": "OpenLineage: a JSON array of COMPLETE RunEvents"},
    "application/graphml+xml": {"description": "GraphML"},
    "text/plain": {"description": "Mermaid (`flowchart LR`)"},
    "text/vnd.graphviz": {"description": "Graphviz DOT"},
    "text/csv": {"description": "CSV, one row per edge"},
}


@router.get(
    "/export",
    response_class=Response,
    summary="Export the lineage graph (OpenLineage, GraphML, Mermaid, DOT or CSV)",
    responses={200: {"content": {k: {} for k in _EXAMPLES}, "description": "The export file"}},
    dependencies=[viewer],
)
def export(
    format: Literal["openlineage", "graphml", "mermaid", "dot", "csv"] = Query(
        "openlineage", description="Output format"
    ),
    granularity: Literal["table", "column"] | None = Query(
        None, description="Default: column for OpenLineage (columnLineage facet), table otherwise"
    ),
    scope: Scope = Depends(scope_params),
    statuses: list[str] | None = Depends(edge_statuses),
    as_of: int | None = AsOfQ,
    download: bool = Query(False, description="Send Content-Disposition: attachment"),
    session: Session = Depends(get_session),
    ctx: AppContext = Depends(get_ctx),
) -> Response:
    body, media_type, filename = q.export(
        session,
        format,
        scope,
        granularity=granularity,
        statuses=statuses,
        data_dir=ctx.settings.data_dir,
        as_of=as_of,
    )
    headers = {"Content-Disposition": f'{"attachment" if download else "inline"}; filename="{filename}"'}
    return Response(content=body, media_type=media_type, headers=headers)

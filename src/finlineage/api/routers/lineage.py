"""The lineage graph API (`/api/v1/lineage/...`).

`register(app)` (in `api.services.ROUTERS`) mounts this router and the projects, files,
export and config routers, and maps query-layer errors to the error envelope. Parameters shared
with other routers live in `api.params`. Walks default to the full closure (`depth=all`) capped
by the `walk_node_cap` setting; every edge carries its original text and a file content link.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from finlineage.api.auth import viewer
from finlineage.api.context import AppContext, get_ctx, get_session
from finlineage.api.errors import envelope
from finlineage.api.params import (
    AsOfQ,
    ColumnRefP,
    NodeIdP,
    ProjectQ,
    depth_param,
    edge_kinds_param,
    edge_statuses,
    multi,
    node_cap,
    page_params,
    parse_depth,
    path_edge_kinds,
    scope_params,
)
from finlineage.query import catalog, explain, impact_export, lineage, search
from finlineage.query.common import PageParams, Scope
from finlineage.query.errors import QueryError
from finlineage.query.schemas import (
    EdgeOut,
    ExplainOut,
    GraphOut,
    ImpactOut,
    NodeDetail,
    NodeOut,
    Page,
    PathOut,
    SearchHit,
)
from finlineage.store.models import EDGE_KINDS, EDGE_ORIGINS, EDGE_STATUSES, OBJECT_KINDS

router = APIRouter(prefix="/api/v1/lineage", tags=["lineage"])

GranularityQ = Literal["table", "column"]


# --------------------------------------------------------------------------------------
# routes
# --------------------------------------------------------------------------------------


@router.get("/nodes", response_model=Page[NodeOut], summary="Catalog objects", dependencies=[viewer])
def nodes(
    scope: Scope = Depends(scope_params),
    page: PageParams = Depends(page_params),
    kind: list[str] | None = Query(
        None, description="table, view, procedure, ... (repeat or comma-separate)"
    ),
    name: str | None = Query(
        None, max_length=700, description="Case-insensitive substring of the canonical name"
    ),
    session: Session = Depends(get_session),
) -> Page[NodeOut]:
    return catalog.list_nodes(session, scope, page, kinds=multi(kind, "kind", OBJECT_KINDS), name=name)


@router.get("/edges", response_model=Page[EdgeOut], summary="Lineage edges", dependencies=[viewer])
def edges(
    scope: Scope = Depends(scope_params),
    page: PageParams = Depends(page_params),
    granularity: GranularityQ = Query("table"),
    origin: list[str] | None = Query(None, description="parser, manual, openlineage, inferred"),
    status: list[str] | None = Query(
        None,
        description="observed, proposed, approved, rejected (default: observed,approved, the "
        "edges walks follow)",
    ),
    kind: list[str] | None = Query(None, description="direct, indirect"),
    node: str | None = Query(
        None, max_length=700, description="Only edges touching this object (id or name)"
    ),
    as_of: int | None = AsOfQ,
    ctx: AppContext = Depends(get_ctx),
    session: Session = Depends(get_session),
) -> Page[EdgeOut]:
    return catalog.list_edges(
        session,
        scope,
        page,
        granularity=granularity,
        origins=multi(origin, "origin", EDGE_ORIGINS),
        statuses=multi(status, "status", EDGE_STATUSES),
        kinds=multi(kind, "kind", EDGE_KINDS),
        node=node,
        as_of=as_of,
        data_dir=ctx.settings.data_dir,
    )


@router.get(
    "/search",
    response_model=Page[SearchHit],
    summary="Full-text and fuzzy search over names, columns and definitions",
    dependencies=[viewer],
)
def search_nodes(
    q: str = Query(..., min_length=1, max_length=200, description="Search text"),
    scope: Scope = Depends(scope_params),
    page: PageParams = Depends(page_params),
    kind: list[str] | None = Query(None, description="Only these object kinds"),
    session: Session = Depends(get_session),
) -> Page[SearchHit]:
    return search.search(session, q, scope, page, kinds=multi(kind, "kind", OBJECT_KINDS))


@router.get(
    "/node/{node_id}",
    response_model=NodeDetail,
    summary="One object: definition, file and lines, columns, what it reads and writes, diagnostics",
    dependencies=[viewer],
)
def node(
    node_id: str = NodeIdP,
    project_id: int | None = ProjectQ,
    ctx: AppContext = Depends(get_ctx),
    session: Session = Depends(get_session),
) -> NodeDetail:
    return catalog.node_detail(session, node_id, project_id=project_id, data_dir=ctx.settings.data_dir)


FormatQ = Query(
    "json", alias="format", description="json, or csv: object, kind, column, hop, path, file, line"
)
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/csv": {"schema": {"type": "string"}}},
        "description": "JSON, or CSV with format=csv",
    }
}


def _node_walk(direction: Literal["upstream", "downstream"]) -> Callable[..., GraphOut]:
    def walk(
        node_id: str = NodeIdP,
        depth: int | None = Depends(depth_param),
        granularity: GranularityQ = Query("table", description="table: objects; column: every column of it"),
        project_id: int | None = ProjectQ,
        statuses: list[str] = Depends(edge_statuses),
        as_of: int | None = AsOfQ,
        kinds: list[str] = Depends(edge_kinds_param(lineage.NODE_WALK_KINDS)),
        cap: int = Depends(node_cap),
        ctx: AppContext = Depends(get_ctx),
        session: Session = Depends(get_session),
    ) -> GraphOut:
        return lineage.node_lineage(
            session,
            node_id,
            direction,
            depth=depth,
            granularity=granularity,
            project_id=project_id,
            statuses=statuses,
            as_of=as_of,
            kinds=kinds,
            max_nodes=cap,
            data_dir=ctx.settings.data_dir,
        )

    walk.__name__ = f"node_{direction}"
    return walk


def _column_walk(direction: Literal["upstream", "downstream"]) -> Callable[..., GraphOut | Response]:
    def walk(
        column_ref: str = ColumnRefP,
        depth: int | None = Depends(depth_param),
        project_id: int | None = ProjectQ,
        statuses: list[str] = Depends(edge_statuses),
        as_of: int | None = AsOfQ,
        kinds: list[str] = Depends(edge_kinds_param(lineage.COLUMN_WALK_KINDS)),
        cap: int = Depends(node_cap),
        ctx: AppContext = Depends(get_ctx),
        session: Session = Depends(get_session),
        fmt: Literal["json", "csv"] = FormatQ,
    ) -> GraphOut | Response:
        out = lineage.column_lineage(
            session,
            column_ref,
            direction,
            depth=depth,
            project_id=project_id,
            statuses=statuses,
            as_of=as_of,
            kinds=kinds,
            max_nodes=cap,
            data_dir=ctx.settings.data_dir,
        )
        if fmt == "csv":  # object, kind, column, hop, path, file, line (query/impact_export.py)
            return Response(impact_export.graph_csv(out), media_type=impact_export.CSV_MEDIA_TYPE)
        return out

    walk.__name__ = f"column_{direction}"
    return walk


_DIRECTIONS: tuple[Literal["upstream", "downstream"], ...] = ("upstream", "downstream")
for _direction in _DIRECTIONS:
    router.add_api_route(
        f"/node/{{node_id}}/{_direction}",
        _node_walk(_direction),
        methods=["GET"],
        response_model=GraphOut,
        summary=f"Objects (or columns) {_direction} of an object, with hop distance and edge provenance",
        dependencies=[viewer],
    )
    router.add_api_route(
        f"/column/{{column_ref}}/{_direction}",
        _column_walk(_direction),
        methods=["GET"],
        response_model=GraphOut,
        responses=CSV_RESPONSE,
        summary=f"Transitive column lineage {_direction}; each edge with its expression and file/lines",
        dependencies=[viewer],
    )


@router.get(
    "/path",
    response_model=PathOut,
    summary="A shortest path along data flow between two objects (or columns)",
    dependencies=[viewer],
)
def path(
    source: str = Query(..., alias="from", min_length=1, max_length=700, description="Start (id or name)"),
    target: str = Query(..., alias="to", min_length=1, max_length=700, description="End (id or name)"),
    granularity: GranularityQ = Query("table"),
    max_depth: str = Query("all", max_length=8, description="Longest path searched: `all` or hops"),
    project_id: int | None = ProjectQ,
    statuses: list[str] = Depends(edge_statuses),
    as_of: int | None = AsOfQ,
    kinds: list[str] | None = Depends(path_edge_kinds),
    ctx: AppContext = Depends(get_ctx),
    session: Session = Depends(get_session),
) -> PathOut:
    return lineage.find_path(
        session,
        source,
        target,
        granularity=granularity,
        max_depth=parse_depth(max_depth, "max_depth"),
        project_id=project_id,
        statuses=statuses,
        as_of=as_of,
        kinds=kinds,
        data_dir=ctx.settings.data_dir,
    )


@router.get(
    "/impact/{node_id}",
    response_model=ImpactOut,
    responses=CSV_RESPONSE,
    summary="Everything downstream of an object, grouped by kind and hop",
    dependencies=[viewer],
)
def impact(
    node_id: str = NodeIdP,
    depth: int | None = Depends(depth_param),
    project_id: int | None = ProjectQ,
    statuses: list[str] = Depends(edge_statuses),
    as_of: int | None = AsOfQ,
    cap: int = Depends(node_cap),
    session: Session = Depends(get_session),
    fmt: Literal["json", "csv"] = FormatQ,
) -> ImpactOut | Response:
    out = lineage.impact(
        session, node_id, depth=depth, project_id=project_id, statuses=statuses, as_of=as_of, max_nodes=cap
    )
    if fmt == "csv":  # object, kind, column, hop, path (along the downstream walk), file, line
        walk = lineage.node_lineage(
            session,
            node_id,
            "downstream",
            depth=depth,
            project_id=project_id,
            statuses=statuses,
            as_of=as_of,
            max_nodes=cap,
        )
        return Response(impact_export.impact_csv(out, walk.edges), media_type=impact_export.CSV_MEDIA_TYPE)
    return out


@router.get(
    "/column/{column_ref}/explain",
    response_model=ExplainOut,
    summary="How a column is computed: one formula over base columns, with every contributing "
    "statement's original text and lines",
    dependencies=[viewer],
)
def explain_column(
    column_ref: str = ColumnRefP,
    project_id: int | None = ProjectQ,
    through: Literal["persistent", "all"] = Query(
        "persistent",
        description="persistent: formula over the persistent columns the statements read (temporary "
        "tables, CTEs and earlier writes substituted); all: also through views and persistent "
        "tables, down to the leaves",
    ),
    statuses: list[str] = Depends(edge_statuses),
    as_of: int | None = AsOfQ,
    cap: int = Depends(node_cap),
    ctx: AppContext = Depends(get_ctx),
    session: Session = Depends(get_session),
) -> ExplainOut:
    return explain.explain_column(
        session,
        Scope(project_id=project_id),
        column_ref,
        through=through,
        statuses=statuses,
        as_of=as_of,
        data_dir=ctx.settings.data_dir,
        max_nodes=cap,
    )


# --------------------------------------------------------------------------------------
# registration
# --------------------------------------------------------------------------------------


async def _query_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, QueryError)
    return envelope(request, exc.status_code, exc.code, exc.message, exc.details)


def register(app: FastAPI) -> None:
    """ROUTERS hook: the read API (projects, lineage, files, export, config)."""
    from finlineage.api.routers import config, export, files, projects

    app.add_exception_handler(QueryError, _query_error)
    app.include_router(projects.router)
    app.include_router(router)
    app.include_router(files.router)
    app.include_router(export.router)
    app.include_router(config.router)

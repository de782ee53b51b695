"""The lineage graph API (`/api/v1/lineage/...`) and the read side's shared parameters.

`register(app)` (in `api.services.ROUTERS`) mounts this router and the projects, files,
export and config routers, and maps query-layer errors to the error envelope.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from finlineage.api.auth import viewer
from finlineage.api.context import get_session
from finlineage.api.errors import envelope
from finlineage.query import catalog, lineage, search
from finlineage.query.common import PageParams, Scope
from finlineage.query.errors import InvalidQueryError, QueryError
from finlineage.query.schemas import (
    DEFAULT_DEPTH,
    DEFAULT_LIMIT,
    MAX_DEPTH,
    MAX_LIMIT,
    EdgeOut,
    GraphOut,
    ImpactOut,
    NodeDetail,
    NodeOut,
    Page,
    PathOut,
    SearchHit,
)
from finlineage.store.graph import DEFAULT_STATUSES
from finlineage.store.models import EDGE_KINDS, EDGE_ORIGINS, EDGE_STATUSES, OBJECT_KINDS

router = APIRouter(prefix="/api/v1/lineage", tags=["lineage"])

GranularityQ = Literal["table", "column"]


# --------------------------------------------------------------------------------------
# shared parameters
# --------------------------------------------------------------------------------------


def page_params(
    limit: int = Query(DEFAULT_LIMIT, ge=1, description=f"Page size (capped at {MAX_LIMIT})"),
    offset: int = Query(0, ge=0, description="Items to skip"),
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


def scope_params(
    project_id: int | None = Query(None, ge=1, description="Only this project"),
    repository_id: int | None = Query(None, ge=1, description="Only this repository (source)"),
) -> Scope:
    return Scope(project_id=project_id, repository_id=repository_id)


def multi(values: Sequence[str] | None, name: str, allowed: Sequence[str] | None = None) -> list[str]:
    """Repeated and/or comma-separated query values, validated against `allowed` (→ 422)."""
    out = [v.strip() for raw in values or () for v in raw.split(",") if v.strip()]
    if allowed is not None:
        bad = sorted(set(out) - set(allowed))
        if bad:
            raise InvalidQueryError(
                f"invalid {name}: {', '.join(bad)} (allowed: {', '.join(allowed)})",
                details=[{"loc": ["query", name], "msg": f"must be one of {list(allowed)}", "type": "enum"}],
            )
    return list(dict.fromkeys(out))


def edge_statuses(
    status: list[str] | None = Query(
        None,
        description="Edge statuses to follow (repeat or comma-separate); default proposed,approved "
        "(rejected edges are not lineage)",
    ),
) -> list[str]:
    chosen = multi(status, "status", EDGE_STATUSES)
    return chosen or list(DEFAULT_STATUSES)


def edge_kinds_param(default: str) -> Callable[..., list[str]]:
    """`edge_kind`: direct (data flows into the value) and/or indirect (filters, joins, grouping)."""

    def edge_kinds(
        edge_kind: list[str] | None = Query(
            None,
            description=f"Edge kinds to follow: direct, indirect (repeat or comma-separate); default {default}",
        ),
    ) -> list[str]:
        return multi(edge_kind, "edge_kind", EDGE_KINDS) or default.split(",")

    return edge_kinds


ProjectQ = Query(None, ge=1, description="Resolve names in this project only")
NodeIdP = Path(description="Numeric object id or canonical name such as `stg.trades` (case-insensitive)")
DepthQ = Query(DEFAULT_DEPTH, ge=0, le=MAX_DEPTH, description="Maximum hops")


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
    origin: list[str] | None = Query(None, description="parser, llm, manual"),
    status: list[str] | None = Query(None, description="proposed, approved, rejected (default: all)"),
    kind: list[str] | None = Query(None, description="direct, indirect"),
    node: str | None = Query(
        None, max_length=700, description="Only edges touching this object (id or name)"
    ),
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
    node_id: str = NodeIdP, project_id: int | None = ProjectQ, session: Session = Depends(get_session)
) -> NodeDetail:
    return catalog.node_detail(session, node_id, project_id=project_id)


def _node_walk(direction: Literal["upstream", "downstream"]) -> Callable[..., GraphOut]:
    def walk(
        node_id: str = NodeIdP,
        depth: int = DepthQ,
        granularity: GranularityQ = Query("table", description="table: objects; column: every column of it"),
        project_id: int | None = ProjectQ,
        statuses: list[str] = Depends(edge_statuses),
        kinds: list[str] = Depends(edge_kinds_param("direct,indirect")),
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
            kinds=kinds,
        )

    walk.__name__ = f"node_{direction}"
    return walk


def _column_walk(direction: Literal["upstream", "downstream"]) -> Callable[..., GraphOut]:
    def walk(
        column_ref: str = Path(description="`schema.table.column` (case-insensitive) or numeric column id"),
        depth: int = DepthQ,
        project_id: int | None = ProjectQ,
        statuses: list[str] = Depends(edge_statuses),
        kinds: list[str] = Depends(edge_kinds_param("direct")),
        session: Session = Depends(get_session),
    ) -> GraphOut:
        return lineage.column_lineage(
            session, column_ref, direction, depth=depth, project_id=project_id, statuses=statuses, kinds=kinds
        )

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
    max_depth: int = Query(10, ge=0, le=MAX_DEPTH),
    project_id: int | None = ProjectQ,
    statuses: list[str] = Depends(edge_statuses),
    session: Session = Depends(get_session),
) -> PathOut:
    return lineage.find_path(
        session,
        source,
        target,
        granularity=granularity,
        max_depth=max_depth,
        project_id=project_id,
        statuses=statuses,
    )


@router.get(
    "/impact/{node_id}",
    response_model=ImpactOut,
    summary="Everything downstream of an object, grouped by kind and hop",
    dependencies=[viewer],
)
def impact(
    node_id: str = NodeIdP,
    depth: int = Query(10, ge=1, le=MAX_DEPTH),
    project_id: int | None = ProjectQ,
    statuses: list[str] = Depends(edge_statuses),
    session: Session = Depends(get_session),
) -> ImpactOut:
    return lineage.impact(session, node_id, depth=depth, project_id=project_id, statuses=statuses)


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

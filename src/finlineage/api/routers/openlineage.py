"""OpenLineage: receive events (`POST /api/v1/lineage`), Marquez-compatible reads, jobs and runs,
and the repository `namespace` setting."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import unquote

from fastapi import APIRouter, Body, Depends, FastAPI, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from finlineage.api.auth import editor, viewer
from finlineage.api.context import AppContext, get_session
from finlineage.api.errors import ApiError
from finlineage.ingest import openlineage as ingest
from finlineage.query import marquez
from finlineage.query import openlineage_reads as reads

router = APIRouter(prefix="/api/v1", tags=["openlineage"])

_ERR = {"description": "Error envelope {error, message, request_id, details}"}


class LineageAccepted(BaseModel):
    status: str = "accepted"
    kind: str
    project_id: int
    project: str
    job: str | None = None
    run_id: str | None = None
    datasets: int
    matched: int
    table_edges: int
    column_edges: int


class NamespaceBody(BaseModel):
    namespace: str | None = Field(
        None,
        max_length=500,
        description="Authority such as `sql-host:1433` (or `mssql://sql-host:1433`); null resets",
    )


@router.post(
    "/lineage",
    status_code=201,
    response_model=LineageAccepted,
    summary="Receive one OpenLineage event (RunEvent, JobEvent or DatasetEvent; JSON, optionally gzip)",
    responses={400: _ERR, 401: _ERR, 403: _ERR, 413: _ERR},
    dependencies=[editor],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"type": "object", "description": "An OpenLineage event"}}
            },
        }
    },
)
async def post_lineage(request: Request) -> JSONResponse:
    # the context straight from the app: a plain-`def` dependency would cost a thread-pool hop
    ctx: AppContext = request.app.state.ctx
    body = await request.body()
    try:
        event = ingest.parse_event(body, request.headers.get("content-encoding"))
    except ingest.OpenLineageError as exc:
        raise ApiError(400, "invalid_event", exc.message, exc.details) from None

    def write() -> ingest.Outcome:
        return ingest.ingest(ctx.sessions, event, default_project=ctx.settings.openlineage_project)

    async with ctx.db_slots:
        try:
            outcome = await asyncio.to_thread(write)
        except ingest.OpenLineageError as exc:
            raise ApiError(400, "invalid_event", exc.message, exc.details) from None
    out = LineageAccepted(
        kind=outcome.kind,
        project_id=outcome.project_id,
        project=outcome.project,
        job=outcome.job,
        run_id=outcome.run_id,
        datasets=outcome.datasets,
        matched=outcome.matched,
        table_edges=outcome.table_edges,
        column_edges=outcome.column_edges,
    )
    return JSONResponse(out.model_dump(), status_code=201)


NodeIdQ = Query(
    ...,
    max_length=2000,
    description="dataset:<namespace>:<name>, datasetField:<namespace>:<name>:<field> or job:<namespace>:<name> "
    "(URL-encoded; parsed from the right, so namespaces may contain ':')",
)


@router.get(
    "/lineage",
    summary="Marquez-compatible lineage graph around a dataset or job",
    responses={404: _ERR, 422: _ERR},
    dependencies=[viewer],
)
def get_lineage(
    node_id: str = Query(..., alias="nodeId", max_length=2000, description=NodeIdQ.description),
    depth: int = Query(20, ge=0, le=marquez.MAX_DEPTH),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    return marquez.lineage(session, unquote(node_id), depth=depth)


@router.get(
    "/column-lineage",
    summary="Marquez-compatible column lineage of a dataset field (or of every field of a dataset)",
    responses={404: _ERR, 422: _ERR},
    dependencies=[viewer],
)
def get_column_lineage(
    node_id: str = Query(..., alias="nodeId", max_length=2000, description=NodeIdQ.description),
    depth: int = Query(20, ge=0, le=marquez.MAX_DEPTH),
    with_downstream: bool = Query(False, alias="withDownstream"),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    return marquez.column_lineage(session, unquote(node_id), depth=depth, with_downstream=with_downstream)


@router.get(
    "/jobs",
    summary="Jobs received as OpenLineage events, with their latest run",
    dependencies=[viewer],
)
def list_jobs(
    namespace: str | None = Query(None, max_length=500),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    return reads.jobs(session, namespace=namespace, limit=limit, offset=offset)


@router.get(
    "/jobs/{job_path:path}",
    summary="Runs of one job: /api/v1/jobs/{namespace}/{name}/runs (URL-encode the namespace)",
    responses={404: _ERR},
    dependencies=[viewer],
)
def job_runs(
    request: Request,
    job_path: str = Path(..., description="`{namespace}/{name}/runs`, each part URL-encoded"),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    parts = _raw_tail(request, "/api/v1/jobs/")
    if len(parts) < 3 or parts[-1] != "runs":
        raise ApiError(404, "not_found", "expected /api/v1/jobs/{namespace}/{name}/runs")
    name = unquote(parts[-2])
    namespace = unquote("/".join(parts[:-2]))
    return reads.runs(session, namespace, name, limit=limit, offset=offset)


@router.get(
    "/namespaces", summary="Namespaces with datasets or jobs (Marquez-compatible)", dependencies=[viewer]
)
def list_namespaces(session: Session = Depends(get_session)) -> dict[str, Any]:
    return marquez.namespaces(session)


@router.get(
    "/namespaces/{ns_path:path}",
    summary="Jobs or datasets of a namespace: /api/v1/namespaces/{namespace}/jobs|datasets (URL-encode it)",
    responses={404: _ERR},
    dependencies=[viewer],
)
def namespace_items(
    request: Request,
    ns_path: str = Path(
        ..., description="`{namespace}/jobs` or `{namespace}/datasets`, the namespace URL-encoded"
    ),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    parts = _raw_tail(request, "/api/v1/namespaces/")
    if len(parts) != 2 or parts[1] not in ("jobs", "datasets"):
        raise ApiError(404, "not_found", "expected /api/v1/namespaces/{namespace}/jobs or .../datasets")
    namespace = unquote(parts[0])
    if parts[1] == "jobs":
        return marquez.namespace_jobs(session, namespace, limit=limit, offset=offset)
    return marquez.namespace_datasets(session, namespace, limit=limit, offset=offset)


def _raw_tail(request: Request, prefix: str) -> list[str]:
    """The still-encoded path segments after ``prefix`` (so an encoded ``/`` in a namespace
    stays inside its segment)."""
    raw: bytes = request.scope.get("raw_path") or b""
    tail: str = raw.decode("latin-1").split(prefix, 1)[-1].split("?", 1)[0]
    return tail.split("/")


@router.put(
    "/repositories/{repository_id}/namespace",
    summary="Set a repository's OpenLineage namespace (authority); null resets to the repository name",
    responses={404: _ERR},
    dependencies=[editor],
)
def set_namespace(
    repository_id: int = Path(..., ge=1),
    body: NamespaceBody = Body(...),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    return reads.set_namespace(session, repository_id, body.namespace)


def register(app: FastAPI) -> None:
    app.include_router(router)

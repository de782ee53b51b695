"""OpenLineage: receive events (`POST /api/v1/lineage`) and the repository `namespace` setting.
The reads (Marquez-compatible lineage, namespaces, datasets, jobs and runs) are in `marquez.py`."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Body, Depends, FastAPI, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from finlineage.api.auth import editor
from finlineage.api.context import AppContext, get_session
from finlineage.api.errors import ApiError
from finlineage.ingest import openlineage as ingest
from finlineage.ingest import openlineage_writer as writer
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


_ACCEPTED_FIELDS = tuple(name for name in LineageAccepted.model_fields if name != "status")


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
    # a compressed event gets the limit a plain body gets (the guard middleware's event limit)
    limit = int(ctx.settings.openlineage_max_event_mb * 1024 * 1024)
    try:
        event = ingest.parse_event(body, request.headers.get("content-encoding"), max_bytes=limit)
    except ingest.EventTooLarge as exc:
        raise ApiError(
            413,
            "too_large",
            f"event over {exc.limit / (1024 * 1024):g} MiB once decompressed (raise FINLINEAGE_OPENLINEAGE_MAX_EVENT_MB)",
            exc.details,
        ) from None
    except ingest.OpenLineageError as exc:
        raise ApiError(400, "invalid_event", exc.message, exc.details) from None

    # the writer commits the events of concurrent requests together; this answers once it is durable
    queued = writer.submit(ctx.sessions, event, default_project=ctx.settings.openlineage_project)
    try:
        outcome = await asyncio.wrap_future(queued)
    except ingest.OpenLineageError as exc:
        raise ApiError(400, "invalid_event", exc.message, exc.details) from None
    # the documented LineageAccepted shape, built directly (this answers every event)
    out = {"status": "accepted", **{name: getattr(outcome, name) for name in _ACCEPTED_FIELDS}}
    return JSONResponse(out, status_code=201)


@router.put(
    "/repositories/{repository_id}/namespace",
    summary="Set a repository's OpenLineage namespace (authority); null resets to the repository name",
    responses={404: _ERR, 422: _ERR},
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

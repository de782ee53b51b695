"""Ingestion routes (thin: validate, call `IngestionService`, shape the response).

    POST   /api/v1/files/upload                 multipart `files` (+ project_id, repository_name|_id, dialect)
    POST   /api/v1/ingest/sql                   raw SQL text
    POST   /api/v1/ingest                       a directory on the server (admin; under FINLINEAGE_INGEST_ROOTS)
    POST   /api/v1/ingest/git                   clone a git URL at a ref
    GET    /api/v1/ingestion/logs               runs with their JSONL logs
    GET    /api/v1/ingestion/logs/{id}          one run's per-file JSONL log
    GET    /api/v1/ingestion/{id}               status (+ per-file results once finished)
    DELETE /api/v1/ingestion/{id}               cancel
    POST   /api/v1/ingestion/{id}/resume        resume an interrupted/failed/cancelled run

`?wait=true` returns the full `IngestionResult` (200); otherwise 202 with the `ingestion_id`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, Literal

from fastapi import APIRouter, Depends, FastAPI, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse
from starlette.concurrency import run_in_threadpool

from finlineage.api.auth import admin, editor, viewer
from finlineage.api.context import AppContext, get_ctx
from finlineage.api.errors import ApiError
from finlineage.chat.embeddings import after_run_embedder
from finlineage.ingest.models import (
    DirectoryRequest,
    GitRequest,
    IngestionAccepted,
    IngestionLogInfo,
    IngestionResult,
    IngestionStatus,
    RawSqlRequest,
)
from finlineage.ingest.service import IngestError, IngestionService
from finlineage.store import repositories as repo
from finlineage.store.models import Run

router = APIRouter(prefix="/api/v1", tags=["ingestion"])

WAIT = Query(False, description="Wait for the run to finish and return the full result.")


def get_service(ctx: AppContext = Depends(get_ctx)) -> IngestionService:
    service = ctx.services.get("ingestion")
    if service is None:
        raise ApiError(503, "unavailable", "the ingestion service is not running")
    return service  # type: ignore[no-any-return]


def _api_error(exc: IngestError) -> ApiError:
    return ApiError(exc.status, exc.code, exc.message)


async def _call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    try:
        return await run_in_threadpool(fn, *args, **kwargs)
    except IngestError as exc:
        raise _api_error(exc) from None


async def _launch(service: IngestionService, run: Run, wait: bool) -> Any:
    try:
        future = service.start(run)
    except IngestError as exc:
        raise _api_error(exc) from None
    if wait:
        result: IngestionResult = await asyncio.wrap_future(future)
        return JSONResponse(result.model_dump(mode="json"), status_code=200)
    accepted = IngestionAccepted(
        ingestion_id=run.ingestion_id,
        run_id=run.id,
        project_id=run.project_id,
        repository_id=run.repository_id or 0,
        status="queued",
        status_url=f"/api/v1/ingestion/{run.ingestion_id}",
        log_url=f"/api/v1/ingestion/logs/{run.ingestion_id}",
    )
    return JSONResponse(accepted.model_dump(mode="json"), status_code=202)


_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": IngestionResult, "description": "`wait=true`: the finished run"},
    202: {"model": IngestionAccepted, "description": "accepted; poll the status URL"},
}


def _project_ref(value: str) -> int | str:
    value = value.strip()
    if not value:
        raise ApiError(422, "validation_error", "project_id is required")
    return int(value) if value.isdecimal() else value


@router.post(
    "/files/upload",
    summary="Upload SQL files, folders or .zip/.tar.gz archives and ingest them",
    status_code=202,
    responses=_RESPONSES,
    dependencies=[editor],
)
async def upload(
    request: Request,
    files: list[UploadFile] = File(..., description="Files; names may carry folder-relative paths."),
    project_id: str = Form(..., description="Project id or name (an unknown name is a 404)."),
    create_project: bool = Form(False, description="Create the project when the name is new."),
    repository_name: str | None = Form(None),
    repository_id: int | None = Form(None),
    dialect: str = Form("auto"),
    mode: Literal["add", "snapshot"] = Form(
        "add",
        description="add: add/update these files; snapshot: they are the whole repository "
        "(its files absent from the upload are removed with their facts).",
    ),
    file_dialects: str | None = Form(
        None, description='JSON {"path": "dialect"}: explicit per-file dialects'
    ),
    wait: bool = WAIT,
    service: IngestionService = Depends(get_service),
) -> Any:
    limit = service.settings.request_max_body_mb * 1024 * 1024
    length = request.headers.get("content-length")
    if length and length.isdecimal() and int(length) > limit:
        raise ApiError(
            413,
            "too_large",
            f"request over {service.settings.request_max_body_mb} MiB (raise FINLINEAGE_REQUEST_MAX_BODY_MB)",
        )
    per_file: dict[str, str] = {}
    if file_dialects:
        try:
            loaded = json.loads(file_dialects)
        except json.JSONDecodeError:
            raise ApiError(422, "validation_error", "file_dialects must be a JSON object") from None
        if not isinstance(loaded, dict):
            raise ApiError(422, "validation_error", "file_dialects must be a JSON object")
        per_file = {str(k): str(v) for k, v in loaded.items()}
    run = await _call(
        service.create_upload_run,
        project=_project_ref(project_id),
        repository_id=repository_id,
        repository_name=repository_name,
        dialect=dialect,
        file_dialects=per_file,
        create_project=create_project,
        mode=mode,
    )
    entries = [(f.filename or "", f.file) for f in files]
    await _call(service.save_upload, run, entries)
    return await _launch(service, run, wait)


@router.post(
    "/ingest/sql",
    summary="Ingest raw SQL text",
    status_code=202,
    responses=_RESPONSES,
    dependencies=[editor],
)
async def ingest_sql(
    body: RawSqlRequest, wait: bool = WAIT, service: IngestionService = Depends(get_service)
) -> Any:
    run = await _call(
        service.create_sql_run,
        project=body.project_id,
        sql=body.sql,
        repository_id=body.repository_id,
        repository_name=body.repository_name,
        dialect=body.dialect,
        path=body.path,
        create_project=body.create_project,
    )
    return await _launch(service, run, wait)


@router.post(
    "/ingest",
    summary="Ingest a directory on the server (admin; only under FINLINEAGE_INGEST_ROOTS)",
    status_code=202,
    responses=_RESPONSES,
    dependencies=[admin],
)
async def ingest_directory(
    body: DirectoryRequest, wait: bool = WAIT, service: IngestionService = Depends(get_service)
) -> Any:
    paths = [body.path] if isinstance(body.path, str) else list(body.path)
    run = await _call(
        service.create_directory_run,
        project=body.project_id,
        paths=paths,
        repository_id=body.repository_id,
        repository_name=body.repository_name,
        dialect=body.dialect,
        create_project=body.create_project,
        mode=body.mode,
    )
    return await _launch(service, run, wait)


@router.post(
    "/ingest/git",
    summary="Clone a git repository at a ref and ingest it (always a snapshot of the ref)",
    status_code=202,
    responses=_RESPONSES,
    dependencies=[editor],
)
async def ingest_git(
    body: GitRequest, wait: bool = WAIT, service: IngestionService = Depends(get_service)
) -> Any:
    run = await _call(
        service.create_git_run,
        project=body.project_id,
        url=body.url,
        ref=body.ref,
        subdir=body.subdir,
        repository_id=body.repository_id,
        repository_name=body.repository_name,
        dialect=body.dialect,
        create_project=body.create_project,
    )
    return await _launch(service, run, wait)


@router.get(
    "/ingestion/logs",
    response_model=list[IngestionLogInfo],
    summary="Ingestion runs and their per-file logs",
    dependencies=[viewer],
)
async def list_logs(
    project_id: int | None = Query(None),
    status: str | None = Query(None),
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0),
    service: IngestionService = Depends(get_service),
) -> list[IngestionLogInfo]:
    def _list() -> list[IngestionLogInfo]:
        with service.sessions() as s:
            runs = repo.list_runs(s, project_id, status=status, limit=limit, offset=offset)
            out = []
            for r in runs:
                path = service.log_path(r.ingestion_id)
                out.append(
                    IngestionLogInfo(
                        ingestion_id=r.ingestion_id,
                        run_id=r.id,
                        project_id=r.project_id,
                        status=r.status,
                        created_at=r.created_at,
                        log_url=f"/api/v1/ingestion/logs/{r.ingestion_id}",
                        size_bytes=path.stat().st_size if path.exists() else 0,
                    )
                )
            return out

    return await run_in_threadpool(_list)


@router.get(
    "/ingestion/logs/{ingestion_id}",
    summary="One run's per-file log (JSON lines)",
    response_class=FileResponse,
    responses={200: {"content": {"application/x-ndjson": {}}}},
    dependencies=[viewer],
)
async def get_log(ingestion_id: str, service: IngestionService = Depends(get_service)) -> Any:
    def _find() -> bool:
        with service.sessions() as s:
            return repo.get_run_by_ingestion_id(s, ingestion_id) is not None

    if not await run_in_threadpool(_find):
        raise ApiError(404, "not_found", f"ingestion {ingestion_id!r} not found")
    path = service.log_path(ingestion_id)
    if not path.exists():
        return JSONResponse(content=None, status_code=200, media_type="application/x-ndjson")
    return FileResponse(path, media_type="application/x-ndjson", filename=f"{ingestion_id}.jsonl")


@router.get(
    "/ingestion/{ingestion_id}",
    response_model=IngestionStatus,
    summary="Status of an ingestion (per-file results once finished)",
    dependencies=[viewer],
)
async def get_status(ingestion_id: str, service: IngestionService = Depends(get_service)) -> IngestionStatus:
    return await _call(service.status, ingestion_id)  # type: ignore[no-any-return]


@router.delete(
    "/ingestion/{ingestion_id}",
    response_model=IngestionStatus,
    summary="Cancel an ingestion",
    dependencies=[editor],
)
async def cancel(ingestion_id: str, service: IngestionService = Depends(get_service)) -> IngestionStatus:
    return await _call(service.cancel, ingestion_id)  # type: ignore[no-any-return]


@router.post(
    "/ingestion/{ingestion_id}/resume",
    summary="Resume an interrupted, failed or cancelled ingestion (done files are not redone)",
    status_code=202,
    responses=_RESPONSES,
    dependencies=[editor],
)
async def resume(
    ingestion_id: str, wait: bool = WAIT, service: IngestionService = Depends(get_service)
) -> Any:
    run = await _call(service.resume, ingestion_id)
    return await _launch(service, run, wait)


# --------------------------------------------------------------------------------------
# registration
# --------------------------------------------------------------------------------------


class _LazyEvents:
    """Looks the hub up at publish time (starters open in any order; realtime may be off)."""

    def __init__(self, ctx: AppContext) -> None:
        self._ctx = ctx

    def publish(self, type_: str, data: dict[str, Any], project_id: object = None) -> Any:
        hub = self._ctx.services.get("events")
        if hub is None:
            return False
        return hub.publish(type_, data, project_id=project_id)


@asynccontextmanager
async def start_ingestion(app: FastAPI, ctx: AppContext) -> AsyncIterator[None]:
    """Lifespan starter: one service (and one lazily started process pool) per app."""
    settings = ctx.settings
    if settings.workers <= 1 and not settings.redis_url:
        # runs left queued/running by a dead process of this single-worker server
        # (with Redis, `finlineage worker`s own queued/running runs and resume orphaned ones)
        def _sweep() -> None:
            with ctx.sessions.begin() as s:
                repo.mark_interrupted_runs(s)

        await run_in_threadpool(_sweep)
    from finlineage.ingest.queue import service_class  # Redis: runs go to the job queue

    service = service_class(settings.redis_url)(
        settings, ctx.sessions, events=_LazyEvents(ctx), after_run=after_run_embedder(settings, ctx.sessions)
    )
    ctx.services["ingestion"] = service
    if service.after_run is not None:
        # chunks ingested by the CLI (or before a restart) are embedded in the background too
        def _pending_projects() -> list[int]:
            with ctx.sessions() as s:
                return repo.projects_with_unembedded_chunks(s)

        for project_id in await run_in_threadpool(_pending_projects):
            service.schedule_after_run(project_id)
    try:
        yield
    finally:
        ctx.services.pop("ingestion", None)
        await asyncio.to_thread(service.close)


def register(app: FastAPI) -> None:
    app.include_router(router)

"""Marquez-compatible reads: what the Marquez web UI calls, read-only, on finlineage's store.

Namespaces contain ``:`` and ``/`` (``mssql://sql-host:1433``); clients URL-encode them into one
path segment. The decoded path loses that boundary, so namespace and job paths are parsed from
the still-encoded request path, from the right (``.../datasets/{name}``, ``.../jobs/{name}/runs``).
``/api/v1/jobs`` (the jobs producers reported) and ``/api/v1/jobs/{ns}/{name}/runs`` answer with
the same Job and Run objects as the namespace routes (``query.marquez_runs``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import unquote

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from sqlalchemy.orm import Session

from finlineage.api.auth import viewer
from finlineage.api.context import get_session
from finlineage.api.errors import ApiError
from finlineage.api.params import node_cap
from finlineage.query import marquez
from finlineage.query import marquez_catalog as catalog
from finlineage.query import marquez_runs as runs
from finlineage.query import marquez_stats as stats
from finlineage.query import openlineage_reads as reads
from finlineage.query.errors import InvalidQueryError
from finlineage.query.schemas import MAX_DEPTH

router = APIRouter(prefix="/api/v1", tags=["marquez"])

_ERR = {"description": "Error envelope {error, message, request_id, details}"}
_NODE_ID = (
    "dataset:<namespace>:<name>, datasetField:<namespace>:<name>:<field> or job:<namespace>:<name> "
    "(plain or URL-encoded; parsed from the right, so namespaces may contain ':')"
)
_DEPTH = "Hops to follow each way; default: the full closure (up to the node cap, `truncated` says so)"


def _depth() -> Any:
    return Query(None, ge=0, le=MAX_DEPTH, description=_DEPTH)


def _last_run_states() -> Any:
    return Query(
        [],
        alias="lastRunStates",
        max_length=8,
        description="Only jobs whose latest run is NEW, RUNNING, COMPLETED, ABORTED or FAILED (repeatable)",
    )


def get_lineage(
    node_id: str = Query(..., alias="nodeId", max_length=2000, description=_NODE_ID),
    depth: int | None = _depth(),
    cap: int = Depends(node_cap),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    return marquez.lineage(session, _node_id(node_id), depth=depth, max_nodes=cap)


router.add_api_route(
    "/lineage",
    get_lineage,
    methods=["GET"],
    summary="Marquez-compatible lineage graph around a dataset or job",
    responses={404: _ERR, 422: _ERR},
    dependencies=[viewer],
)
router.add_api_route(  # the Marquez UI asks for /lineage/?nodeId=
    "/lineage/", get_lineage, methods=["GET"], include_in_schema=False, dependencies=[viewer]
)


def _node_id(value: str) -> str:
    """``nodeId`` as the client meant it. The query string was decoded once already; an id with
    no ``:`` left was encoded twice (decoded again), while a name holding a literal ``%xx`` stays."""
    return value if ":" in value else unquote(value)


@router.get(
    "/column-lineage",
    summary="Marquez-compatible column lineage of a dataset field (or of every field of a dataset)",
    responses={404: _ERR, 422: _ERR},
    dependencies=[viewer],
)
def get_column_lineage(
    node_id: str = Query(..., alias="nodeId", max_length=2000, description=_NODE_ID),
    depth: int | None = _depth(),
    with_downstream: bool = Query(False, alias="withDownstream"),
    cap: int = Depends(node_cap),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    return marquez.column_lineage(
        session, _node_id(node_id), depth=depth, with_downstream=with_downstream, max_nodes=cap
    )


def search(
    q: str = Query(..., min_length=1, max_length=500, description="Substring of a dataset or job name"),
    filter_: Literal["DATASET", "JOB", "dataset", "job"] | None = Query(None, alias="filter"),
    sort: Literal["NAME", "UPDATE_AT", "name", "update_at"] = Query("NAME"),
    limit: int = Query(10, ge=0, le=1000),
    namespace: str | None = Query(None, max_length=500),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    kind: Literal["DATASET", "JOB"] | None = None
    if filter_ is not None:
        kind = "JOB" if filter_.upper() == "JOB" else "DATASET"
    order: Literal["NAME", "UPDATE_AT"] = "UPDATE_AT" if sort.upper() == "UPDATE_AT" else "NAME"
    return catalog.search(session, q, kind=kind, sort=order, limit=limit, namespace_filter=namespace)


router.add_api_route(
    "/search",
    search,
    methods=["GET"],
    summary="Marquez-compatible search of datasets and jobs by name",
    responses={422: _ERR},
    dependencies=[viewer],
)
router.add_api_route(  # the Marquez UI asks for /search/?q=
    "/search/", search, methods=["GET"], include_in_schema=False, dependencies=[viewer]
)


@router.get("/tags", summary="Marquez-compatible tag list (finlineage keeps no tags)", dependencies=[viewer])
def list_tags() -> dict[str, Any]:
    return {"tags": []}


@router.get(
    "/namespaces", summary="Namespaces with datasets or jobs (Marquez-compatible)", dependencies=[viewer]
)
def list_namespaces(session: Session = Depends(get_session)) -> dict[str, Any]:
    return catalog.namespaces(session)


@router.get(
    "/namespaces/{ns_path:path}",
    summary="A namespace, its datasets and jobs (Marquez-compatible; URL-encode the namespace and names)",
    description=(
        "`{namespace}`, `{namespace}/datasets`, `{namespace}/datasets/{name}`, "
        "`{namespace}/datasets/{name}/versions[/{version}]`, `{namespace}/jobs`, `{namespace}/jobs/{name}`, "
        "`{namespace}/jobs/{name}/runs`. `lastRunStates` (repeatable) filters `{namespace}/jobs`."
    ),
    responses={400: _ERR, 404: _ERR},
    dependencies=[viewer],
)
def namespace_items(
    request: Request,
    ns_path: str = Path(..., description="`{namespace}[/datasets|jobs[/{name}[/versions|runs]]]`"),
    limit: int = Query(100, ge=0, le=1000),
    offset: int = Query(0, ge=0),
    last_run_states: list[str] = _last_run_states(),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    parts = _raw_tail(request, "/api/v1/namespaces/")
    if parts and parts[-1] == "":
        parts = parts[:-1]

    def ns(n: int) -> str:
        return unquote("/".join(parts[:n]))

    if not parts or not ns(len(parts)):
        raise ApiError(404, "not_found", "expected /api/v1/namespaces/{namespace}")
    size = len(parts)
    if size >= 5 and parts[-2] == "versions" and parts[-4] == "datasets":
        return runs.dataset_version(session, ns(size - 4), unquote(parts[-3]), unquote(parts[-1]))
    if size >= 4 and parts[-1] == "versions" and parts[-3] == "datasets":
        return runs.dataset_versions(session, ns(size - 3), unquote(parts[-2]), limit=limit, offset=offset)
    if size >= 4 and parts[-1] == "runs" and parts[-3] == "jobs":
        return runs.job_runs(session, ns(size - 3), unquote(parts[-2]), limit=limit, offset=offset)
    if size >= 3 and parts[-2] == "datasets":
        return catalog.dataset(session, ns(size - 2), unquote(parts[-1]))
    if size >= 3 and parts[-2] == "jobs":
        return runs.job(session, ns(size - 2), unquote(parts[-1]))
    if size >= 2 and parts[-1] == "datasets":
        return catalog.datasets(session, ns(size - 1), limit=limit, offset=offset)
    if size >= 2 and parts[-1] == "jobs":
        return runs.jobs(session, ns(size - 1), last_run_states=last_run_states, limit=limit, offset=offset)
    return catalog.namespace(session, ns(size))


@router.get(
    "/jobs",
    summary="Every job, parsed from SQL or reported by producers, as Marquez Jobs (Marquez-compatible)",
    description=(
        "Each job is the one `/namespaces/{namespace}/jobs/{name}` serves. `lastRunStates` "
        "(repeatable: NEW, RUNNING, COMPLETED, ABORTED, FAILED) keeps the jobs whose latest run is in "
        "one of them (jobs parsed from SQL have no runs, so it keeps only reported jobs). "
        "`namespace` keeps one namespace's jobs."
    ),
    responses={400: _ERR, 422: _ERR},
    dependencies=[viewer],
)
def list_jobs(
    namespace: str | None = Query(None, max_length=500),
    last_run_states: list[str] = _last_run_states(),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    return runs.all_jobs(
        session, namespace=namespace, last_run_states=last_run_states, limit=limit, offset=offset
    )


_ISO_TIME = r"^(\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?(Z|[+-]\d{2}:?\d{2})?)?$"
"""An ISO 8601 time, or nothing: the Marquez web UI sends ``before=&after=`` when no date is picked."""


def _timestamp(name: str, value: str | None) -> datetime | None:
    """An ISO 8601 time (UTC when it names no offset); never a bare number, unlike pydantic."""
    if not value:
        return None
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidQueryError(
            f"{name} is not an ISO 8601 time: {value!r}",
            details=[{"loc": ["query", name], "msg": "not an ISO 8601 time", "type": "datetime"}],
        ) from None
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


@router.get(
    "/events/lineage",
    summary="OpenLineage events as received, newest first (Marquez-compatible)",
    dependencies=[viewer],
)
def list_events(
    before: str | None = Query(
        None,
        pattern=_ISO_TIME,
        description="Only events with eventTime at or before this (ISO 8601; empty: any)",
    ),
    after: str | None = Query(
        None,
        pattern=_ISO_TIME,
        description="Only events with eventTime at or after this (ISO 8601; empty: any)",
    ),
    sort_direction: Literal["asc", "desc"] = Query("desc", alias="sortDirection"),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    return reads.events(
        session,
        limit=limit,
        offset=offset,
        before=_timestamp("before", before),
        after=_timestamp("after", after),
        ascending=sort_direction == "asc",
    )


_PERIOD = Query(..., description="DAY: the last 24 hours by hour; WEEK: the last 7 days by day")
_TZ = Query(None, max_length=64, description="IANA time zone of the WEEK days (required for lineage-events)")


@router.get(
    "/stats/lineage-events",
    summary="OpenLineage events received per interval, by run state (Marquez-compatible)",
    responses={400: _ERR},
    dependencies=[viewer],
)
def stats_lineage_events(
    period: stats.Period = _PERIOD, timezone: str | None = _TZ, session: Session = Depends(get_session)
) -> list[dict[str, Any]]:
    return stats.lineage_events(session, period, timezone)


@router.get(
    "/stats/{what}",
    summary="Jobs, datasets or sources existing at the end of each interval (Marquez-compatible)",
    responses={400: _ERR},
    dependencies=[viewer],
)
def stats_counts(
    what: Literal["jobs", "datasets", "sources"],
    period: stats.Period = _PERIOD,
    timezone: str | None = _TZ,
    session: Session = Depends(get_session),
) -> list[dict[str, Any]]:
    return stats.counts(session, what, period, timezone)


@router.get(
    "/jobs/runs/{run_id}",
    summary="One run of a received job (Marquez-compatible)",
    responses={404: _ERR},
    dependencies=[viewer],
)
def get_run(
    run_id: str = Path(..., max_length=64), session: Session = Depends(get_session)
) -> dict[str, Any]:
    return runs.run(session, run_id)


@router.get(
    "/jobs/runs/{run_id}/facets",
    summary="The facets of a run, or of its job with type=job (Marquez-compatible)",
    responses={404: _ERR},
    dependencies=[viewer],
)
def get_run_facets(
    run_id: str = Path(..., max_length=64),
    kind: Literal["run", "job"] = Query("run", alias="type"),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    return runs.run_facets(session, run_id, kind)


@router.get(
    "/jobs/{job_path:path}",
    summary="Runs of one job: /api/v1/jobs/{namespace}/{name}/runs (URL-encode the namespace)",
    description="The runs `/namespaces/{namespace}/jobs/{name}/runs` serves (Marquez Runs).",
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
    return runs.job_runs(session, namespace, name, limit=limit, offset=offset)


def _raw_tail(request: Request, prefix: str) -> list[str]:
    """The still-encoded path segments after ``prefix`` (so an encoded ``/`` in a namespace
    stays inside its segment)."""
    raw: bytes = request.scope.get("raw_path") or b""
    tail: str = raw.decode("latin-1").split(prefix, 1)[-1].split("?", 1)[0]
    return tail.split("/")


def register(app: FastAPI) -> None:
    app.include_router(router)

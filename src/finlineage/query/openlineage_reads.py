"""Jobs and runs received as OpenLineage events, and the repository namespace setting."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from finlineage.query.errors import not_found
from finlineage.store import openlineage as ol
from finlineage.store import openlineage_events as ol_events
from finlineage.store.models import OLJob, OLRun, Repository


def _run_out(run: OLRun) -> dict[str, Any]:
    return {
        "id": run.run_id,
        "state": run.state,
        "eventTime": run.event_time.isoformat() if run.event_time else None,
        "startedAt": run.started_at.isoformat() if run.started_at else None,
        "endedAt": run.ended_at.isoformat() if run.ended_at else None,
        "facets": run.facets or {},
    }


def _job_out(job: OLJob, latest: OLRun | None) -> dict[str, Any]:
    return {
        "id": {"namespace": job.namespace, "name": job.name},
        "namespace": job.namespace,
        "name": job.name,
        "type": job.job_type,
        "project_id": job.project_id,
        "inputs": [{"namespace": ns, "name": n} for ns, n in job.inputs or []],
        "outputs": [{"namespace": ns, "name": n} for ns, n in job.outputs or []],
        "facets": job.facets or {},
        "latestRun": _run_out(latest) if latest is not None else None,
        "updatedAt": job.updated_at.isoformat() if job.updated_at else None,
    }


def jobs(
    session: Session, *, namespace: str | None = None, limit: int = 100, offset: int = 0
) -> dict[str, Any]:
    rows, total = ol.list_jobs(session, namespace=namespace, limit=limit, offset=offset)
    latest = ol.latest_runs(session, [j.id for j in rows])
    return {
        "jobs": [_job_out(j, latest.get(j.id)) for j in rows],
        "totalCount": total,
        "limit": limit,
        "offset": offset,
        "truncated": offset + len(rows) < total,
    }


def runs(session: Session, namespace: str, name: str, *, limit: int = 100, offset: int = 0) -> dict[str, Any]:
    job = ol.get_job(session, namespace, name)
    if job is None:
        raise not_found("job", f"{namespace}:{name}")
    rows, total = ol.list_runs(session, job.id, limit=limit, offset=offset)
    return {
        "job": {"namespace": job.namespace, "name": job.name},
        "runs": [_run_out(r) for r in rows],
        "totalCount": total,
        "limit": limit,
        "offset": offset,
        "truncated": offset + len(rows) < total,
    }


def set_namespace(session: Session, repository_id: int, namespace: str | None) -> dict[str, Any]:
    if not ol.set_repository_namespace(session, repository_id, namespace):
        raise not_found("repository", repository_id)
    session.commit()
    repo = session.get(Repository, repository_id)
    assert repo is not None
    return {
        "repository_id": repo.id,
        "project_id": repo.project_id,
        "name": repo.name,
        "namespace": repo.namespace,
        "authority": ol.authority_of(repo.name, repo.namespace),
    }


def events(
    session: Session,
    *,
    before: datetime | None = None,
    after: datetime | None = None,
    ascending: bool = False,
    limit: int = 100,
    offset: int = 0,
) -> dict[str, Any]:
    """Received events as their producers sent them (Marquez's ``/events/lineage`` page:
    ``{events, totalCount}``), newest first unless ``ascending``."""
    rows, total = ol_events.list_events(
        session, before=before, after=after, ascending=ascending, limit=limit, offset=offset
    )
    return {
        "events": [json.loads(r.payload) for r in rows],
        "totalCount": total,
        "limit": limit,
        "offset": offset,
        "truncated": offset + len(rows) < total,
    }

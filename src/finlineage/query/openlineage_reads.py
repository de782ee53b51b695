"""OpenLineage events kept as received, and the repository namespace setting. (Jobs and runs are
read in Marquez's shapes: ``query.marquez_runs``.)"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session

from finlineage.query.errors import InvalidQueryError, not_found
from finlineage.store import openlineage as ol
from finlineage.store import openlineage_events as ol_events
from finlineage.store.models import Repository


def set_namespace(session: Session, repository_id: int, namespace: str | None) -> dict[str, Any]:
    """Set (None or blank: reset to the repository name) a repository's namespace authority;
    a value that names no usable authority is a 422 and changes nothing."""
    problem = ol.authority_problem(namespace) if namespace and namespace.strip() else None
    if problem is not None:
        raise InvalidQueryError(
            f"namespace {namespace!r} {problem}",
            details=[{"loc": ["body", "namespace"], "msg": problem, "type": "value_error"}],
        )
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


def events(session: Session, *, limit: int = 100, offset: int = 0, **filters: Any) -> dict[str, Any]:
    """Received events as their producers sent them (Marquez's ``/events/lineage`` page:
    ``{events, totalCount}``); ``filters`` are those of ``store.openlineage_events.list_events``."""
    rows, total = ol_events.list_events(session, limit=limit, offset=offset, **filters)
    return {
        "events": [json.loads(r.payload) for r in rows],
        "totalCount": total,
        "limit": limit,
        "offset": offset,
        "truncated": offset + len(rows) < total,
    }

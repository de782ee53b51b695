"""OpenLineage events kept as received, and the repository namespace setting. (Jobs and runs are
read in Marquez's shapes: ``query.marquez_runs``.)"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session

from finlineage.query.errors import not_found
from finlineage.store import openlineage as ol
from finlineage.store import openlineage_events as ol_events
from finlineage.store.models import Repository


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

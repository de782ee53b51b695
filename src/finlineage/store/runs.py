"""Ingestion runs: create, start, finish, counters, interrupted runs.

Every function takes the session first and never commits: the caller owns the transaction.
"""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import (
    select,
    update,
)
from sqlalchemy.orm import Session

from finlineage.store.bulk import _rowcount
from finlineage.store.governance import close_run_version
from finlineage.store.models import (
    Run,
    utcnow,
)

RunCounter = Literal[
    "files_processed", "files_failed", "files_skipped_duplicate", "nodes_created", "edges_created"
]


def create_run(
    session: Session,
    project_id: int,
    repository_id: int | None = None,
    *,
    params: dict[str, Any] | None = None,
    ingestion_id: str | None = None,
    status: str = "queued",
) -> Run:
    run = Run(project_id=project_id, repository_id=repository_id, params=params, status=status)
    if ingestion_id is not None:
        run.ingestion_id = ingestion_id
    session.add(run)
    session.flush()
    return run


def get_run(session: Session, run_id: int) -> Run | None:
    return session.get(Run, run_id)


def get_run_by_ingestion_id(session: Session, ingestion_id: str) -> Run | None:
    return session.scalar(select(Run).where(Run.ingestion_id == ingestion_id))


def list_runs(
    session: Session,
    project_id: int | None = None,
    *,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Run]:
    stmt = select(Run).order_by(Run.created_at.desc(), Run.id.desc()).limit(limit).offset(offset)
    if project_id is not None:
        stmt = stmt.where(Run.project_id == project_id)
    if status is not None:
        stmt = stmt.where(Run.status == status)
    return list(session.scalars(stmt))


def start_run(session: Session, run_id: int) -> Run | None:
    run = session.get(Run, run_id)
    if run is None:
        return None
    run.status = "running"
    run.started_at = utcnow()
    session.flush()
    return run


def finish_run(
    session: Session, run_id: int, status: str = "completed", error: str | None = None
) -> Run | None:
    """Set a terminal status, ``finished_at`` and ``duration_ms`` (from ``started_at``)."""
    run = session.get(Run, run_id)
    if run is None:
        return None
    now = utcnow()
    run.status = status
    run.finished_at = now
    if error is not None:
        run.error = error
    begin = run.started_at or run.created_at
    if begin is not None:
        run.duration_ms = max(0, int((now - begin).total_seconds() * 1000))
    session.flush()
    close_run_version(session, run.id)  # a run that changed the graph makes a version
    return run


def increment_run_counters(session: Session, run_id: int, **deltas: int) -> None:
    """Atomic ``UPDATE runs SET files_processed = files_processed + :d, ...``."""
    allowed = set(RunCounter.__args__)  # type: ignore[attr-defined]
    values: dict[str, Any] = {}
    for key, delta in deltas.items():
        if key not in allowed:
            raise ValueError(f"unknown run counter {key!r}")
        values[key] = getattr(Run, key) + delta
    if values:
        session.execute(update(Run).where(Run.id == run_id).values(**values))
        session.expire_all()


def mark_interrupted_runs(session: Session) -> int:
    """On start-up: runs left ``queued``/``running`` by a dead process become ``interrupted``."""
    result = session.execute(
        update(Run)
        .where(Run.status.in_(("queued", "running")))
        .values(status="interrupted", finished_at=utcnow())
    )
    return _rowcount(result)

"""The activity log.

Every function takes the session first and never commits: the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    delete,
    insert,
    select,
)
from sqlalchemy.orm import Session

from finlineage.store.bulk import _rowcount, _table
from finlineage.store.models import (
    ActivityEvent,
    utcnow,
)

ACTIVITY_FIELDS = (
    "ts",
    "type",
    "method",
    "route",
    "status_code",
    "latency_ms",
    "client_ip",
    "key_name",
    "project_id",
    "data",
)


def insert_activity_events(session: Session, events: Sequence[Mapping[str, Any]]) -> int:
    """Bulk insert; each mapping needs ``type``, other fields optional (``ts`` defaults to now)."""
    if not events:
        return 0
    now = utcnow()
    rows = []
    for ev in events:
        unknown = set(ev) - set(ACTIVITY_FIELDS)
        if unknown:
            raise ValueError(f"unknown activity field(s): {sorted(unknown)}")
        row = {f: ev.get(f) for f in ACTIVITY_FIELDS}
        row["ts"] = row["ts"] or now
        rows.append(row)
    session.execute(insert(_table(ActivityEvent)), rows)
    return len(rows)


def list_activity_events(
    session: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    type: str | None = None,
    project_id: int | None = None,
    limit: int = 100,
) -> list[ActivityEvent]:
    stmt = select(ActivityEvent).order_by(ActivityEvent.ts.desc(), ActivityEvent.id.desc()).limit(limit)
    conds: list[ColumnElement[bool]] = []
    if since is not None:
        conds.append(ActivityEvent.ts >= since)
    if until is not None:
        conds.append(ActivityEvent.ts < until)
    if type is not None:
        conds.append(ActivityEvent.type == type)
    if project_id is not None:
        conds.append(ActivityEvent.project_id == project_id)
    if conds:
        stmt = stmt.where(and_(*conds))
    return list(session.scalars(stmt))


def prune_activity_events(session: Session, before: datetime) -> int:
    return _rowcount(session.execute(delete(ActivityEvent).where(ActivityEvent.ts < before)))

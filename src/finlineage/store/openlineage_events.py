"""OpenLineage events kept as received (``ol_events``): written in the ingest transaction of the
event, listed newest or oldest first by event time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from finlineage.store.bulk import _table
from finlineage.store.models import OLEvent, utcnow

__all__ = ["add_events", "list_events"]

_INSERT = insert(_table(OLEvent))


def add_events(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Insert events (dicts of :class:`OLEvent` columns; ``received_at`` defaults to now)."""
    if not rows:
        return
    now = utcnow()
    # Core, not the ORM's bulk insert: this runs in every ingest transaction
    session.connection().execute(_INSERT, [{"received_at": now, **r} for r in rows])


def list_events(
    session: Session,
    *,
    before: datetime | None = None,
    after: datetime | None = None,
    ascending: bool = False,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[OLEvent], int]:
    """A page of events with ``after <= event_time <= before`` and the total that matched."""
    conds = []
    if before is not None:
        conds.append(OLEvent.event_time <= before)
    if after is not None:
        conds.append(OLEvent.event_time >= after)
    total = int(session.scalar(select(func.count()).select_from(OLEvent).where(*conds)) or 0)
    order = (
        (OLEvent.event_time.asc(), OLEvent.id.asc())
        if ascending
        else (OLEvent.event_time.desc(), OLEvent.id.desc())
    )
    rows = list(session.scalars(select(OLEvent).where(*conds).order_by(*order).limit(limit).offset(offset)))
    return rows, total

"""Marquez's dashboard statistics (``/api/v1/stats/...``) from finlineage's store.

* ``lineage-events``: OpenLineage events received per interval, by run state (``start``,
  ``complete``, ``fail``, ``abort``), from the events kept as received (``ol_events``);
* ``jobs`` / ``datasets`` / ``sources``: how many existed at the end of each interval (cumulative,
  as Marquez counts them). Jobs are the jobs the export names: received OpenLineage jobs, parsed
  routines and views' defining statements; datasets are tables, views and referenced (external)
  objects; sources are the repositories SQL was ingested from.

``DAY``: the last 24 hours in hourly intervals (the current hour last); ``WEEK``: the last 7 days
in daily intervals of the given time zone (the current day last)."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from finlineage.query.errors import InvalidQueryError
from finlineage.store.models import CatalogObject, OLEvent, OLJob, Repository

Period = Literal["DAY", "WEEK"]
JOB_OBJECT_KINDS = ("procedure", "function", "trigger", "view", "materialized_view")
DATASET_OBJECT_KINDS = ("table", "view", "materialized_view", "external")
_STATES = {"START": "start", "COMPLETE": "complete", "FAIL": "fail", "ABORT": "abort"}


def intervals(
    period: Period, timezone: str | None, now: datetime | None = None
) -> list[tuple[datetime, datetime]]:
    """The (start, end) pairs of ``period``, oldest first, as aware UTC datetimes."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    if period == "DAY":
        last = now.replace(minute=0, second=0, microsecond=0)
        starts = [last - timedelta(hours=23 - i) for i in range(24)]
        return [(s, s + timedelta(hours=1)) for s in starts]
    try:
        zone = ZoneInfo(timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidQueryError(f"unknown time zone {timezone!r}") from None
    today = now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    # local midnights: aware arithmetic in one ZoneInfo is wall-clock, the offset follows DST
    days = [today - timedelta(days=6 - i) for i in range(8)]
    return [(days[i].astimezone(UTC), days[i + 1].astimezone(UTC)) for i in range(7)]


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def _cumulative(
    session: Session, spans: list[tuple[datetime, datetime]], sources: Iterable[tuple[Any, Any]]
) -> list[dict[str, Any]]:
    """Count of rows created before each interval's end; ``sources``: (created_at column, where)."""
    start = spans[0][0]
    before = 0
    stamps: list[datetime] = []
    for created, where in sources:
        column: InstrumentedAttribute[datetime] = created
        before += int(session.scalar(select(func.count()).where(where, column < start)) or 0)
        stamps.extend(_aware(t) for t in session.scalars(select(column).where(where, column >= start)))
    stamps.sort()
    out, i, total = [], 0, before
    for s, e in spans:
        while i < len(stamps) and stamps[i] < e:
            total, i = total + 1, i + 1
        out.append({"startInterval": _iso(s), "endInterval": _iso(e), "count": total})
    return out


def lineage_events(session: Session, period: Period, timezone: str | None) -> list[dict[str, Any]]:
    if period == "WEEK" and not timezone:
        raise InvalidQueryError("a time zone is required for period WEEK (timezone=Europe/London)")
    spans = intervals(period, timezone)
    rows = session.execute(
        select(OLEvent.received_at, OLEvent.event_type).where(
            OLEvent.received_at >= spans[0][0], OLEvent.received_at < spans[-1][1]
        )
    ).all()
    out: list[dict[str, Any]] = [
        {"startInterval": _iso(s), "endInterval": _iso(e), "fail": 0, "start": 0, "complete": 0, "abort": 0}
        for s, e in spans
    ]
    starts = [s for s, _ in spans]
    for received, state in rows:
        key = _STATES.get(state or "")
        if key is not None:  # the query kept only times inside the spans
            out[bisect_right(starts, _aware(received)) - 1][key] += 1
    return out


def counts(
    session: Session, what: Literal["jobs", "datasets", "sources"], period: Period, timezone: str | None
) -> list[dict[str, Any]]:
    spans = intervals(period, timezone)
    if what == "jobs":
        sources = [
            (OLJob.created_at, OLJob.id.is_not(None)),
            (CatalogObject.created_at, CatalogObject.kind.in_(JOB_OBJECT_KINDS)),
        ]
    elif what == "datasets":
        sources = [(CatalogObject.created_at, CatalogObject.kind.in_(DATASET_OBJECT_KINDS))]
    else:
        sources = [(Repository.created_at, Repository.id.is_not(None))]
    return _cumulative(session, spans, sources)

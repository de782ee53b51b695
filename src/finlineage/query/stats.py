"""The dashboard numbers (`GET /api/v1/stats` and every `stats_update`), read from the store.

Counts come from `store.repositories.compute_stats`; the live numbers (queries in flight,
connected clients) are passed in by the caller. Trends compare against the stored snapshot
history (`stats_snapshots`): the newest snapshot at least `window` old, else the oldest one we
have; with no history yet every change is null.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from finlineage.store.activity import list_activity_events
from finlineage.store.models import (
    VISIBLE_STATUSES,
    CatalogObject,
    Column,
    ColumnEdge,
    File,
    Repository,
    Run,
    StatsSnapshot,
    TableEdge,
    utcnow,
)
from finlineage.store.versions import edge_validity

COUNT_FIELDS = ("totalNodes", "tables", "views", "procedures", "columns", "edges", "filesProcessed")
VIEW_KINDS = ("view", "materialized_view")
ROUTINE_KINDS = ("procedure", "function")


def store_counts(session: Session, project_id: int | None = None) -> dict[str, int]:
    """The stored counts in dashboard terms."""
    raw = compute_stats(session, project_id)
    by_kind: dict[str, int] = raw.get("objects_by_kind", {})
    files_processed = session.scalar(
        select(func.count()).select_from(File).where(File.status != "error")
        if project_id is None
        else select(func.count())
        .select_from(File)
        .join(Run, Run.id == File.run_id)
        .where(File.status != "error", Run.project_id == project_id)
    )
    return {
        "totalNodes": int(raw.get("objects", 0)),
        "tables": int(by_kind.get("table", 0)),
        "views": sum(int(by_kind.get(k, 0)) for k in VIEW_KINDS),
        "procedures": sum(int(by_kind.get(k, 0)) for k in ROUTINE_KINDS),
        "columns": int(raw.get("columns", 0)),
        "edges": int(raw.get("table_edges", 0)) + int(raw.get("column_edges", 0)),
        "filesProcessed": int(files_processed or 0),
    }


def active_ingestions(session: Session) -> int:
    n = session.scalar(select(func.count()).select_from(Run).where(Run.status.in_(("queued", "running"))))
    return int(n or 0)


def _baseline(session: Session, window: timedelta, now: datetime) -> StatsSnapshot | None:
    base = session.scalars(
        select(StatsSnapshot)
        .where(StatsSnapshot.project_id.is_(None), StatsSnapshot.ts <= now - window)
        .order_by(StatsSnapshot.ts.desc())
        .limit(1)
    ).first()
    if base is None:
        base = session.scalars(
            select(StatsSnapshot)
            .where(StatsSnapshot.project_id.is_(None))
            .order_by(StatsSnapshot.ts.asc())
            .limit(1)
        ).first()
    return base


def trends(
    session: Session, current: dict[str, int], *, window_h: float, now: datetime | None = None
) -> dict[str, Any]:
    """Change of each count since the baseline snapshot (see module docstring)."""
    now = now or utcnow()
    base = _baseline(session, timedelta(hours=window_h), now)
    out: dict[str, Any] = {"window_hours": window_h, "since": None}
    previous: dict[str, Any] = {}
    if base is not None:
        out["since"] = base.ts.isoformat()
        previous = dict(base.counts or {})
    for name in COUNT_FIELDS:
        before = previous.get(name)
        if isinstance(before, int | float):
            change = current[name] - int(before)
            percent = round(100.0 * change / before, 2) if before else None
            out[name] = {"change": change, "percent": percent}
        else:
            out[name] = {"change": None, "percent": None}
    return out


def stats(
    session: Session,
    *,
    active_queries: int,
    connected_clients: int,
    window_h: float = 24.0,
) -> dict[str, Any]:
    """The `GET /api/v1/stats` payload (also `stats_update.data`)."""
    counts = store_counts(session)
    return {
        **counts,
        "activeQueries": int(active_queries),
        "activeIngestions": active_ingestions(session),
        "connectedClients": int(connected_clients),
        "trends": trends(session, counts, window_h=window_h),
    }


def maybe_snapshot(session: Session, counts: dict[str, Any], *, min_interval_s: float) -> bool:
    """Store a global snapshot unless the newest one is younger than `min_interval_s`."""
    newest = session.scalar(select(func.max(StatsSnapshot.ts)).where(StatsSnapshot.project_id.is_(None)))
    if newest is not None:
        if newest.tzinfo is None:
            from datetime import UTC

            newest = newest.replace(tzinfo=UTC)
        if (utcnow() - newest).total_seconds() < min_interval_s:
            return False
    record_stats_snapshot(session, None, {k: counts[k] for k in COUNT_FIELDS})
    session.commit()
    return True


# --------------------------------------------------------------------------------------
# activity metrics
# --------------------------------------------------------------------------------------

ACTIVITY_ROW_CAP = 200_000


def _percentile(sorted_values: list[float], q: float) -> float | None:
    if not sorted_values:
        return None
    k = max(0, min(len(sorted_values) - 1, round(q / 100.0 * (len(sorted_values) - 1))))
    return round(sorted_values[k], 3)


def activity_metrics(session: Session, since: datetime) -> dict[str, Any]:
    """Request counts, error rate and latency percentiles per endpoint since `since`,
    plus counts of every other activity type."""
    from finlineage.store.models import ActivityEvent

    rows = session.execute(
        select(ActivityEvent.method, ActivityEvent.route, ActivityEvent.status_code, ActivityEvent.latency_ms)
        .where(ActivityEvent.type == "request", ActivityEvent.ts >= since)
        .order_by(ActivityEvent.ts.desc())
        .limit(ACTIVITY_ROW_CAP)
    ).all()
    per: dict[str, dict[str, Any]] = {}
    all_latencies: list[float] = []
    errors = 0
    for method, route, status, latency in rows:
        key = f"{method or ''} {route or '<unknown>'}"
        entry = per.setdefault(key, {"count": 0, "errors": 0, "client_errors": 0, "latencies": []})
        entry["count"] += 1
        if status is not None and status >= 500:
            entry["errors"] += 1
            errors += 1
        elif status is not None and status >= 400:
            entry["client_errors"] += 1
        if latency is not None:
            entry["latencies"].append(float(latency))
            all_latencies.append(float(latency))
    endpoints = []
    for key, entry in per.items():
        lat = sorted(entry.pop("latencies"))
        method, _, route = key.partition(" ")
        endpoints.append(
            {
                "method": method,
                "route": route,
                "count": entry["count"],
                "errors": entry["errors"],
                "client_errors": entry["client_errors"],
                "error_rate": round(entry["errors"] / entry["count"], 4) if entry["count"] else 0.0,
                "latency_ms": {
                    "p50": _percentile(lat, 50),
                    "p95": _percentile(lat, 95),
                    "p99": _percentile(lat, 99),
                },
            }
        )
    endpoints.sort(key=lambda e: -int(e["count"]))
    by_type = {
        str(t): int(n)
        for t, n in session.execute(
            select(ActivityEvent.type, func.count())
            .where(ActivityEvent.ts >= since)
            .group_by(ActivityEvent.type)
        )
    }
    all_latencies.sort()
    total = len(rows)
    return {
        "since": since.isoformat(),
        "requests": total,
        "errors": errors,
        "error_rate": round(errors / total, 4) if total else 0.0,
        "latency_ms": {
            "p50": _percentile(all_latencies, 50),
            "p95": _percentile(all_latencies, 95),
            "p99": _percentile(all_latencies, 99),
        },
        "events_by_type": by_type,
        "endpoints": endpoints,
        "truncated": total >= ACTIVITY_ROW_CAP,
    }


def recent_activity(
    session: Session, *, limit: int, type_: str | None, include_identity: bool
) -> list[dict[str, Any]]:
    """Newest first. Client IP and key name only for admins (`include_identity`)."""
    out = []
    for ev in list_activity_events(session, type=type_, limit=limit):
        item: dict[str, Any] = {
            "id": ev.id,
            "ts": ev.ts.isoformat(),
            "type": ev.type,
            "method": ev.method,
            "route": ev.route,
            "status_code": ev.status_code,
            "latency_ms": ev.latency_ms,
            "project_id": ev.project_id,
            "data": ev.data,
        }
        if include_identity:
            item["client_ip"] = ev.client_ip
            item["key_name"] = ev.key_name
        out.append(item)
    return out


def compute_stats(session: Session, project_id: int | None = None) -> dict[str, Any]:
    """Counts: objects (total and by kind), columns, table/column edges, files (active), runs.
    Scoped to a project when ``project_id`` is given.

    Edge totals count the current graph's visible edges (``store.versions.edge_visibility``:
    what walks and ``/lineage/edges`` answer by default); ``*_by_status`` counts the current
    edges of every status (closed, old-version edges in neither)."""

    def scoped(stmt: Any, col: Any) -> Any:
        return stmt.where(col == project_id) if project_id is not None else stmt

    by_kind = {
        kind: int(n)
        for kind, n in session.execute(
            scoped(
                select(CatalogObject.kind, func.count()).group_by(CatalogObject.kind),
                CatalogObject.project_id,
            )
        )
    }
    n_cols = session.scalar(
        scoped(
            select(func.count())
            .select_from(Column)
            .join(CatalogObject, CatalogObject.id == Column.object_id),
            CatalogObject.project_id,
        )
    )
    te_status = {
        s: int(n)
        for s, n in session.execute(
            scoped(
                select(TableEdge.status, func.count())
                .where(edge_validity(TableEdge))
                .group_by(TableEdge.status),
                TableEdge.project_id,
            )
        )
    }
    ce_status = {
        s: int(n)
        for s, n in session.execute(
            scoped(
                select(ColumnEdge.status, func.count())
                .where(edge_validity(ColumnEdge))
                .group_by(ColumnEdge.status),
                ColumnEdge.project_id,
            )
        )
    }
    # edge_visibility(model) = edge_validity(model) AND status IN VISIBLE_STATUSES: from the same rows
    te_visible = sum(te_status.get(s, 0) for s in VISIBLE_STATUSES)
    ce_visible = sum(ce_status.get(s, 0) for s in VISIBLE_STATUSES)
    n_files = session.scalar(
        scoped(
            select(func.count())
            .select_from(File)
            .join(Repository, Repository.id == File.repository_id)
            .where(File.status == "active"),
            Repository.project_id,
        )
    )
    n_runs = session.scalar(scoped(select(func.count()).select_from(Run), Run.project_id))
    return {
        "objects": sum(by_kind.values()),
        "objects_by_kind": by_kind,
        "columns": int(n_cols or 0),
        "table_edges": te_visible,
        "column_edges": ce_visible,
        "table_edges_by_status": te_status,
        "column_edges_by_status": ce_status,
        "files": int(n_files or 0),
        "runs": int(n_runs or 0),
    }


def record_stats_snapshot(
    session: Session, project_id: int | None = None, counts: dict[str, Any] | None = None
) -> StatsSnapshot:
    snap = StatsSnapshot(project_id=project_id, counts=counts or compute_stats(session, project_id))
    session.add(snap)
    session.flush()
    return snap


def list_stats_snapshots(
    session: Session,
    project_id: int | None = None,
    *,
    since: datetime | None = None,
    limit: int = 500,
) -> list[StatsSnapshot]:
    """Oldest first (for trend lines). ``project_id=None`` selects global snapshots."""
    stmt = select(StatsSnapshot).order_by(StatsSnapshot.ts.desc()).limit(limit)
    stmt = stmt.where(
        StatsSnapshot.project_id == project_id
        if project_id is not None
        else StatsSnapshot.project_id.is_(None)
    )
    if since is not None:
        stmt = stmt.where(StatsSnapshot.ts >= since)
    return list(reversed(list(session.scalars(stmt))))

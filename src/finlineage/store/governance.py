"""Governed edges: manual edges, maker-checker review, append-only history, orphans.

A *governed* edge is one a person or a heuristic vouches for (origin ``manual`` or
``inferred``); it has no source file, so re-ingesting files (snapshot included) never touches
it. When an endpoint object leaves the graph the edge is kept and marked ``orphaned`` (and
listed for review), never silently deleted.

Every function takes the session first and never commits.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import InstrumentedAttribute, Session

from finlineage.store import versions
from finlineage.store.models import (
    EDGE_STATUSES,
    VISIBLE_STATUSES,
    CatalogObject,
    Column,
    ColumnEdge,
    EdgeEvent,
    Run,
    TableEdge,
    utcnow,
)

log = logging.getLogger(__name__)

Granularity = Literal["table", "column"]
GOVERNED_ORIGINS = ("manual", "inferred")


def edge_model(granularity: Granularity) -> type[TableEdge] | type[ColumnEdge]:
    return TableEdge if granularity == "table" else ColumnEdge


def edge_endpoints(granularity: Granularity) -> tuple[InstrumentedAttribute[int], InstrumentedAttribute[int]]:
    """The source and target endpoint columns of the edge table of ``granularity``."""
    if granularity == "table":
        return TableEdge.source_object_id, TableEdge.target_object_id
    return ColumnEdge.source_column_id, ColumnEdge.target_column_id


def add_event(
    session: Session,
    project_id: int,
    granularity: Granularity,
    edge_id: int,
    action: str,
    actor: str,
    *,
    comment: str | None = None,
    data: dict[str, Any] | None = None,
) -> EdgeEvent:
    """Append one history event (the only write the history table ever gets)."""
    ev = EdgeEvent(
        project_id=project_id,
        granularity=granularity,
        edge_id=edge_id,
        action=action,
        actor=actor,
        comment=comment,
        data=data,
        ts=utcnow(),
    )
    session.add(ev)
    session.flush()
    return ev


def history(session: Session, granularity: Granularity, edge_id: int) -> list[EdgeEvent]:
    return list(
        session.scalars(
            select(EdgeEvent)
            .where(EdgeEvent.granularity == granularity, EdgeEvent.edge_id == edge_id)
            .order_by(EdgeEvent.id)
        )
    )


def get_edge(session: Session, granularity: Granularity, edge_id: int) -> TableEdge | ColumnEdge | None:
    if granularity == "table":
        return session.get(TableEdge, edge_id)
    return session.get(ColumnEdge, edge_id)


@dataclass(frozen=True, slots=True)
class NewEdge:
    """One manual edge to create: endpoint ids (objects or columns per ``granularity``)."""

    granularity: Granularity
    source_id: int
    target_id: int
    kind: str = "direct"
    note: str | None = None


def create_manual_edges(
    session: Session, project_id: int, edges: Sequence[NewEdge], actor: str
) -> list[TableEdge | ColumnEdge]:
    """Insert manual edges as ``proposed`` (valid from the project's next version; current at
    once) with a ``created`` history event each."""
    start = versions.next_version(session, project_id)
    out: list[TableEdge | ColumnEdge] = []
    for e in edges:
        common: dict[str, Any] = {
            "project_id": project_id,
            "kind": e.kind,
            "origin": "manual",
            "status": "proposed",
            "created_by": actor,
            "note": e.note,
            "confidence": 1.0,
            "version_from": start,
            "created_at": utcnow(),
        }
        row: TableEdge | ColumnEdge
        if e.granularity == "table":
            row = TableEdge(source_object_id=e.source_id, target_object_id=e.target_id, **common)
        else:
            row = ColumnEdge(source_column_id=e.source_id, target_column_id=e.target_id, **common)
        session.add(row)
        session.flush()
        add_event(session, project_id, e.granularity, int(row.id), "created", actor, comment=e.note)
        out.append(row)
    return out


def review(
    session: Session,
    granularity: Granularity,
    edge: TableEdge | ColumnEdge,
    *,
    decision: Literal["approve", "reject"],
    actor: str,
    comment: str | None,
    override: bool,
) -> EdgeEvent:
    """Record a review (the caller checked maker-checker rules) and set the status."""
    edge.status = "approved" if decision == "approve" else "rejected"
    session.flush()
    data: dict[str, Any] = {"decision": decision, "status": edge.status}
    if override:
        data["override"] = True
    return add_event(
        session,
        int(edge.project_id),
        granularity,
        int(edge.id),
        "reviewed",
        actor,
        comment=comment,
        data=data,
    )


def remove(
    session: Session, granularity: Granularity, edge: TableEdge | ColumnEdge, actor: str, comment: str | None
) -> EdgeEvent:
    """Take a governed edge out of the current graph (it stays in the versions it was in)."""
    edge.version_to = versions.next_version(session, int(edge.project_id))
    if edge.version_from is None or edge.version_from > edge.version_to:
        edge.version_from = edge.version_to  # an empty range: never part of a finalised version
    session.flush()
    return add_event(
        session, int(edge.project_id), granularity, int(edge.id), "removed", actor, comment=comment
    )


def governed_edges(
    session: Session, project_id: int, *, statuses: Sequence[str] | None = None, orphaned: bool | None = None
) -> list[tuple[Granularity, TableEdge | ColumnEdge]]:
    """Current governed edges of a project (oldest first), by status (None: observed + approved,
    as every read in ``store/``; ``EDGE_STATUSES`` for every status) and optionally orphan flag."""
    out: list[tuple[Granularity, TableEdge | ColumnEdge]] = []
    grans: tuple[Granularity, ...] = ("table", "column")
    for gran in grans:
        model = edge_model(gran)
        stmt = select(model).where(
            model.project_id == project_id,
            model.origin.in_(GOVERNED_ORIGINS),
            versions.edge_validity(model),
        )
        stmt = stmt.where(model.status.in_(list(VISIBLE_STATUSES if statuses is None else statuses)))
        if orphaned is not None:
            stmt = stmt.where(model.orphaned.is_(orphaned))
        out.extend((gran, row) for row in session.scalars(stmt.order_by(model.id)))  # type: ignore[misc]
    out.sort(key=lambda ge: (ge[1].created_at, ge[0], ge[1].id))
    return out


def _endpoint_objects(session: Session, granularity: Granularity, edge: TableEdge | ColumnEdge) -> list[int]:
    if isinstance(edge, TableEdge):
        return [int(edge.source_object_id), int(edge.target_object_id)]
    ids = [int(edge.source_column_id), int(edge.target_column_id)]
    return [int(x) for x in session.scalars(select(Column.object_id).where(Column.id.in_(ids)))]


def check_orphans(session: Session, project_id: int, actor: str) -> tuple[int, int]:
    """Mark governed edges whose endpoint object left the graph ``orphaned`` (and restore the
    ones whose objects came back), with a history event each. Returns (orphaned, restored)."""
    governed = governed_edges(session, project_id, statuses=EDGE_STATUSES)
    if not governed:
        return 0, 0
    present = versions.present_objects(session, project_id, exclude_origins=GOVERNED_ORIGINS)
    n_orphaned = n_restored = 0
    for gran, edge in governed:
        if edge.status == "rejected":
            continue
        missing = [o for o in _endpoint_objects(session, gran, edge) if o not in present]
        if missing and not edge.orphaned:
            edge.orphaned = True
            names = list(
                session.scalars(select(CatalogObject.canonical_id).where(CatalogObject.id.in_(missing)))
            )
            add_event(
                session,
                project_id,
                gran,
                int(edge.id),
                "orphaned",
                actor,
                comment="endpoint object no longer in the graph: " + ", ".join(sorted(names)),
                data={"objects": sorted(names)},
            )
            n_orphaned += 1
        elif not missing and edge.orphaned:
            edge.orphaned = False
            add_event(
                session,
                project_id,
                gran,
                int(edge.id),
                "restored",
                actor,
                comment="endpoints back in the graph",
            )
            n_restored += 1
    session.flush()
    return n_orphaned, n_restored


def supersede_observed(session: Session, project_id: int, version: int, actor: str) -> int:
    """Governed edges (proposed/approved) that the parser or a run now observes with the same
    endpoints and kind are superseded: closed in ``version`` (the observed fact takes over),
    with a history event naming the observed edge."""
    n = 0
    for gran, edge in governed_edges(session, project_id, statuses=["proposed", "approved"]):
        model = edge_model(gran)
        source, target = edge_endpoints(gran)
        found = session.scalar(
            select(model.id).where(
                source == getattr(edge, source.key),
                target == getattr(edge, target.key),
                model.kind == edge.kind,
                model.origin.not_in(GOVERNED_ORIGINS),
                versions.edge_visibility(model, statuses=["observed"]),
            )
        )
        if found is None:
            continue
        edge.version_to = version
        if edge.version_from is None or edge.version_from > version:
            edge.version_from = version
        prefix = "t" if gran == "table" else "c"
        add_event(
            session,
            project_id,
            gran,
            int(edge.id),
            "superseded",
            actor,
            comment=f"observed in version {version} (edge {prefix}{found})",
            data={"observed_edge": f"{prefix}{found}", "version": version},
        )
        n += 1
    session.flush()
    return n


def close_run_version(session: Session, run_id: int) -> versions.VersionInfo | None:
    """When a run finishes: make its version (if it changed the graph), supersede governed edges
    the run now observes, and re-check orphans. In a savepoint: if that fails (a concurrent run of
    the same project took the version number), the run's status is still written, its error says
    so, and the facts are stamped by the project's next run."""
    try:
        with session.begin_nested():
            info = versions.finalize_run_version(session, run_id)
            run = session.get(Run, run_id)
            if info is not None and run is not None:
                supersede_observed(session, int(run.project_id), info.version, f"run:{run_id}")
                check_orphans(session, int(run.project_id), f"run:{run_id}")
        return info
    except SQLAlchemyError as exc:
        log.exception("graph version of run %s not recorded", run_id)
        run = session.get(Run, run_id)
        if run is not None:
            note = (
                f"graph version not recorded ({type(exc).__name__}); the next run of the project records it"
            )
            run.error = f"{run.error}; {note}" if run.error else note
            session.flush()
        return None

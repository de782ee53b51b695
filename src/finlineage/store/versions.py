"""Graph versions and validity ranges of facts.

Every run that changes a project's graph creates a *version* (1, 2, ...). Facts are never
copied per version: each edge carries ``version_from`` (first version it is valid in) and
``version_to`` (first version it is no longer valid in; NULL = current). Re-ingesting a changed
file closes the old file's facts (``version_to`` = the run's version) and writes new ones, so a
1 % change costs about 1 % of the store. Objects carry the same ranges in ``object_presence``.

While a run writes, its version is *open*: new parser edges have ``version_from`` NULL (visible
in the current graph, in no finalised version yet) and closing facts allocates the open version;
:func:`finalize_version` (called when the run finishes) stamps the new facts, records object
presence and the counts.

``edge_visibility(model, statuses=None, as_of=None)`` is THE condition for "edges visible in this
version with these statuses" (default: observed + approved, current graph); the raw-SQL walks
(``store.graph``) use :func:`edge_visibility_sql`, its text twin. ``statuses=None`` means observed +
approved in every reader of ``store/``; proposed or rejected edges are only ever included by
naming them (``store.graph.ALL_STATUSES``: every status).

Every function takes the session first and never commits.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, func, insert, or_, select, union, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from finlineage.store.bulk import _chunks
from finlineage.store.models import (
    VISIBLE_STATUSES,
    CatalogObject,
    Column,
    ColumnEdge,
    File,
    GraphVersion,
    ObjectPresence,
    Repository,
    Run,
    TableEdge,
    utcnow,
)

EdgeModel = type[TableEdge] | type[ColumnEdge]


# --------------------------------------------------------------------------------------
# visibility
# --------------------------------------------------------------------------------------


def edge_visibility(
    model: EdgeModel, *, statuses: Collection[str] | None = None, as_of: int | None = None
) -> ColumnElement[bool]:
    """Edges of ``model`` visible in version ``as_of`` (None: the current graph) whose status is
    one of ``statuses`` (None: observed + approved; rejected or proposed edges only when named,
    e.g. ``EDGE_STATUSES`` for every status)."""
    wanted = list(VISIBLE_STATUSES if statuses is None else statuses)
    cond: ColumnElement[bool] = model.status.in_(wanted)
    if as_of is None:
        return and_(cond, model.version_to.is_(None))
    return and_(
        cond,
        model.version_from.is_not(None),
        model.version_from <= as_of,
        or_(model.version_to.is_(None), model.version_to > as_of),
    )


def edge_validity(model: EdgeModel, as_of: int | None = None) -> ColumnElement[bool]:
    """Only the version part of :func:`edge_visibility` (any status)."""
    if as_of is None:
        return model.version_to.is_(None)
    return and_(
        model.version_from.is_not(None),
        model.version_from <= as_of,
        or_(model.version_to.is_(None), model.version_to > as_of),
    )


def validity_sql(alias: str = "e", *, as_of: int | None = None) -> tuple[str, dict[str, Any]]:
    """The version part of :func:`edge_visibility` as SQL text (``" AND ..."``) and its params."""
    if as_of is None:
        return f" AND {alias}.version_to IS NULL", {}
    return (
        f" AND {alias}.version_from <= :as_of AND ({alias}.version_to IS NULL OR {alias}.version_to > :as_of)",
        {"as_of": int(as_of)},
    )


def edge_visibility_sql(
    alias: str = "e", *, statuses: Collection[str] | None = None, as_of: int | None = None
) -> tuple[str, dict[str, Any]]:
    """:func:`edge_visibility` as SQL text for raw-SQL walks: ``(" AND ...", params)``; bind
    ``vis_statuses`` as an expanding parameter."""
    sql, params = validity_sql(alias, as_of=as_of)
    params["vis_statuses"] = list(VISIBLE_STATUSES if statuses is None else statuses)
    return f" AND {alias}.status IN :vis_statuses{sql}", params


# --------------------------------------------------------------------------------------
# versions
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VersionInfo:
    version: int
    run_id: int | None
    created_at: Any
    files: int
    objects: int
    edges: int
    source: str | None
    ref: str | None
    commit: str | None
    label: str | None

    @classmethod
    def of(cls, row: GraphVersion) -> VersionInfo:
        return cls(
            int(row.version),
            row.run_id,
            row.finalized_at or row.created_at,
            int(row.files),
            int(row.objects),
            int(row.edges),
            row.source,
            row.ref,
            row.commit,
            row.label,
        )


def latest_version(session: Session, project_id: int) -> int:
    """The highest finalised version of a project (0: none yet)."""
    v = session.scalar(
        select(func.max(GraphVersion.version)).where(
            GraphVersion.project_id == project_id, GraphVersion.finalized_at.is_not(None)
        )
    )
    return int(v or 0)


def next_version(session: Session, project_id: int) -> int:
    """The number the next version of the project will get (open or not yet created)."""
    v = session.scalar(select(func.max(GraphVersion.version)).where(GraphVersion.project_id == project_id))
    return int(v or 0) + (0 if open_version(session, project_id) is not None else 1)


def open_version(session: Session, project_id: int) -> GraphVersion | None:
    return session.scalar(
        select(GraphVersion)
        .where(GraphVersion.project_id == project_id, GraphVersion.finalized_at.is_(None))
        .order_by(GraphVersion.version.desc())
        .limit(1)
    )


def working_version(session: Session, project_id: int) -> int:
    """The open version of the project (created, numbered max + 1, if there is none)."""
    row = open_version(session, project_id)
    if row is None:
        top = session.scalar(
            select(func.max(GraphVersion.version)).where(GraphVersion.project_id == project_id)
        )
        try:
            with session.begin_nested():  # a concurrent run of the project may take the number first
                row = GraphVersion(project_id=project_id, version=int(top or 0) + 1)
                session.add(row)
                session.flush()
        except IntegrityError:
            row = open_version(session, project_id)
            if row is None:
                raise
    return int(row.version)


def list_versions(session: Session, project_id: int) -> list[VersionInfo]:
    rows = session.scalars(
        select(GraphVersion)
        .where(GraphVersion.project_id == project_id, GraphVersion.finalized_at.is_not(None))
        .order_by(GraphVersion.version)
    )
    return [VersionInfo.of(r) for r in rows]


def get_version(session: Session, project_id: int, version: int) -> VersionInfo | None:
    row = session.scalar(
        select(GraphVersion).where(
            GraphVersion.project_id == project_id,
            GraphVersion.version == version,
            GraphVersion.finalized_at.is_not(None),
        )
    )
    return VersionInfo.of(row) if row is not None else None


def project_of_file(session: Session, file_id: int) -> int | None:
    pid = session.scalar(
        select(Repository.project_id)
        .join(File, File.repository_id == Repository.id)
        .where(File.id == file_id)
    )
    return int(pid) if pid is not None else None


def present_objects(
    session: Session, project_id: int, *, exclude_origins: Collection[str] = ()
) -> dict[int, str]:
    """``{object id: kind}`` of the objects in the current graph: defined ones, and endpoints
    of visible current edges (not counting edges of ``exclude_origins``)."""
    skip = list(exclude_origins)
    te = [
        select(col.label("oid")).where(
            TableEdge.project_id == project_id, edge_visibility(TableEdge), TableEdge.origin.not_in(skip)
        )
        for col in (TableEdge.source_object_id, TableEdge.target_object_id)
    ]
    ce = [
        select(Column.object_id.label("oid"))
        .join(ColumnEdge, col == Column.id)
        .where(
            ColumnEdge.project_id == project_id, edge_visibility(ColumnEdge), ColumnEdge.origin.not_in(skip)
        )
        for col in (ColumnEdge.source_column_id, ColumnEdge.target_column_id)
    ]
    defined = select(CatalogObject.id.label("oid")).where(
        CatalogObject.project_id == project_id, CatalogObject.kind != "external"
    )
    ids = union(defined, *te, *ce).subquery()
    rows = session.execute(
        select(CatalogObject.id, CatalogObject.kind).join(ids, ids.c.oid == CatalogObject.id)
    )
    return {int(i): str(k) for i, k in rows}


def _has_unstamped(session: Session, project_id: int) -> bool:
    for model in (TableEdge, ColumnEdge):
        hit = session.scalar(
            select(model.id)
            .where(model.project_id == project_id, model.version_from.is_(None), model.version_to.is_(None))
            .limit(1)
        )
        if hit is not None:
            return True
    return False


def _count_edges(session: Session, project_id: int) -> int:
    total = 0
    for model in (TableEdge, ColumnEdge):
        total += int(
            session.scalar(
                select(func.count())
                .select_from(model)
                .where(model.project_id == project_id, edge_visibility(model))
            )
            or 0
        )
    return total


def _count_files(session: Session, project_id: int) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(File)
            .join(Repository, Repository.id == File.repository_id)
            .where(Repository.project_id == project_id, File.status == "active")
        )
        or 0
    )


def finalize_version(
    session: Session,
    project_id: int,
    *,
    run_id: int | None = None,
    source: str | None = None,
    ref: str | None = None,
    commit: str | None = None,
    label: str | None = None,
) -> VersionInfo | None:
    """Close the project's open version if the graph changed: stamp the new facts, record
    object presence, store counts and provenance. Returns the version, or None (no change).

    Cheap checks first: with no open version, no unstamped fact and no file written by
    ``run_id``, nothing changed and the object-presence scan is skipped."""
    if (
        open_version(session, project_id) is None
        and not _has_unstamped(session, project_id)
        and (run_id is None or session.scalar(select(File.id).where(File.run_id == run_id).limit(1)) is None)
    ):
        return None
    now_present = present_objects(session, project_id)
    open_rows = {
        int(o): int(pid)
        for pid, o in session.execute(
            select(ObjectPresence.id, ObjectPresence.object_id).where(
                ObjectPresence.project_id == project_id, ObjectPresence.version_to.is_(None)
            )
        )
    }
    gone = [pid for oid, pid in open_rows.items() if oid not in now_present]
    new = [oid for oid in now_present if oid not in open_rows]
    row = open_version(session, project_id)
    if row is None and not gone and not new and not _has_unstamped(session, project_id):
        return None
    v = working_version(session, project_id)
    row = open_version(session, project_id)
    assert row is not None
    for model in (TableEdge, ColumnEdge):
        session.execute(
            update(model)
            .where(model.project_id == project_id, model.version_from.is_(None), model.version_to.is_(None))
            .values(version_from=v)
            .execution_options(synchronize_session=False)
        )
    for part in _chunks(gone):
        session.execute(
            update(ObjectPresence)
            .where(ObjectPresence.id.in_(part))
            .values(version_to=v)
            .execution_options(synchronize_session=False)
        )
    if new:
        session.execute(
            insert(ObjectPresence),
            [
                {"project_id": project_id, "object_id": oid, "kind": now_present[oid], "version_from": v}
                for oid in new
            ],
        )
    row.run_id = run_id
    row.files = _count_files(session, project_id)
    row.objects = len(now_present)
    row.edges = _count_edges(session, project_id)
    row.source, row.ref, row.commit, row.label = source, ref, commit, label
    row.finalized_at = utcnow()
    session.flush()
    return VersionInfo.of(row)


def finalize_run_version(session: Session, run_id: int) -> VersionInfo | None:
    """:func:`finalize_version` for a finished ingestion run (provenance from its parameters)."""
    run = session.get(Run, run_id)
    if run is None:
        return None
    params = run.params or {}
    source = params.get("source")
    if source is None and run.repository_id is not None:
        repo_row = session.get(Repository, run.repository_id)
        source = repo_row.kind if repo_row is not None else None
    return finalize_version(
        session,
        run.project_id,
        run_id=run.id,
        source=str(source) if source else None,
        ref=params.get("ref"),
        commit=params.get("commit"),
        label=params.get("label"),
    )


def set_provenance(
    session: Session,
    project_id: int,
    version: int,
    *,
    source: str | None = None,
    ref: str | None = None,
    commit: str | None = None,
    label: str | None = None,
) -> None:
    """Record where a version's facts came from (fields left None are kept)."""
    row = session.scalar(
        select(GraphVersion).where(GraphVersion.project_id == project_id, GraphVersion.version == version)
    )
    if row is None:
        return
    for key, value in (("source", source), ("ref", ref), ("commit", commit), ("label", label)):
        if value is not None:
            setattr(row, key, value)
    session.flush()

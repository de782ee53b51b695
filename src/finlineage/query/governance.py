"""Governed lineage: manual edges with maker-checker review, history, review queue, versions.

Edges live in two tables (table- and column-level), so an edge is addressed by a *ref*:
``c<id>`` (column edge) or ``t<id>`` (table edge); a bare number means a column edge.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, cast

from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from finlineage.query.catalog import resolve_object
from finlineage.query.errors import ConflictError, InvalidQueryError, NotFoundError, QueryError
from finlineage.query.projects import resolve_project
from finlineage.store import governance as gov
from finlineage.store import versions
from finlineage.store.models import EDGE_KINDS, EDGE_STATUSES, CatalogObject, Column, ColumnEdge, TableEdge

Granularity = Literal["table", "column"]
MAX_IMPORT_ROWS = 10_000


class ForbiddenError(QueryError):
    status_code = 403
    code = "forbidden"


# --------------------------------------------------------------------------------------
# schemas
# --------------------------------------------------------------------------------------


class ManualEdgeIn(BaseModel):
    project_id: int | str = Field(description="Project id or name")
    source: str = Field(min_length=1, max_length=1000, description="`schema.table` or `schema.table.column`")
    target: str = Field(min_length=1, max_length=1000, description="`schema.table` or `schema.table.column`")
    kind: Literal["direct", "indirect"] = "direct"
    note: str | None = Field(None, max_length=4000)


class ReviewIn(BaseModel):
    decision: Literal["approve", "reject"]
    comment: str | None = Field(None, max_length=4000)
    override: bool = Field(False, description="Admins only: review an edge you made yourself (recorded)")


class GovernedEdgeOut(BaseModel):
    id: int
    ref: str
    """`c<id>` (column edge) or `t<id>` (table edge): the id used by /review and /history."""
    granularity: Granularity
    project_id: int
    source: str
    target: str
    kind: str
    note: str | None = None
    origin: str
    status: str
    created_by: str | None = None
    created_at: datetime
    orphaned: bool = False
    version_from: int | None = None
    version_to: int | None = None


class EdgeEventOut(BaseModel):
    id: int
    edge: str
    action: str
    actor: str
    ts: datetime
    comment: str | None = None
    data: dict[str, Any] | None = None


class EdgeHistoryOut(BaseModel):
    edge: GovernedEdgeOut
    events: list[EdgeEventOut]


class ImportOut(BaseModel):
    created: int
    edges: list[GovernedEdgeOut]


class ReviewQueueOut(BaseModel):
    project_id: int
    proposed: list[GovernedEdgeOut]
    orphaned: list[GovernedEdgeOut]


class VersionOut(BaseModel):
    version: int
    run_id: int | None = None
    created_at: datetime | None = None
    files: int
    objects: int
    edges: int
    source: str | None = None
    ref: str | None = None
    commit: str | None = None
    label: str | None = None


class VersionsOut(BaseModel):
    project_id: int
    current: int
    """The latest version (0: the project has no version yet)."""
    versions: list[VersionOut]


# --------------------------------------------------------------------------------------
# refs and names
# --------------------------------------------------------------------------------------

_REF = re.compile(r"^(?:(c|t|column:|table:))?(\d+)$", re.IGNORECASE)


def parse_edge_ref(ref: str) -> tuple[Granularity, int]:
    m = _REF.match(ref.strip())
    if m is None:
        raise InvalidQueryError(
            f"edge id {ref!r} must be c<id> (column edge), t<id> (table edge) or a number",
            details={"edge": ref},
        )
    prefix = (m.group(1) or "c").lower()
    return ("table" if prefix.startswith("t") else "column"), int(m.group(2))


def edge_ref(granularity: Granularity, edge_id: int) -> str:
    return f"{'t' if granularity == 'table' else 'c'}{edge_id}"


def _names(session: Session, edges: list[tuple[Granularity, TableEdge | ColumnEdge]]) -> dict[str, str]:
    """``{"o<id>"|"c<id>": qualified name}`` of every endpoint."""
    obj_ids = {int(e.source_object_id) for g, e in edges if isinstance(e, TableEdge)}
    obj_ids |= {int(e.target_object_id) for g, e in edges if isinstance(e, TableEdge)}
    col_ids = {int(e.source_column_id) for g, e in edges if isinstance(e, ColumnEdge)}
    col_ids |= {int(e.target_column_id) for g, e in edges if isinstance(e, ColumnEdge)}
    out: dict[str, str] = {}
    if obj_ids:
        for oid, cid in session.execute(
            select(CatalogObject.id, CatalogObject.canonical_id).where(CatalogObject.id.in_(sorted(obj_ids)))
        ):
            out[f"o{oid}"] = cid
    if col_ids:
        for colid, name, cid in session.execute(
            select(Column.id, Column.name, CatalogObject.canonical_id)
            .join(CatalogObject, CatalogObject.id == Column.object_id)
            .where(Column.id.in_(sorted(col_ids)))
        ):
            out[f"c{colid}"] = f"{cid}.{name}"
    return out


def _out(granularity: Granularity, e: TableEdge | ColumnEdge, names: dict[str, str]) -> GovernedEdgeOut:
    if isinstance(e, TableEdge):
        src, tgt = names.get(f"o{e.source_object_id}", "?"), names.get(f"o{e.target_object_id}", "?")
    else:
        src, tgt = names.get(f"c{e.source_column_id}", "?"), names.get(f"c{e.target_column_id}", "?")
    return GovernedEdgeOut(
        id=int(e.id),
        ref=edge_ref(granularity, int(e.id)),
        granularity=granularity,
        project_id=int(e.project_id),
        source=src,
        target=tgt,
        kind=e.kind,
        note=e.note,
        origin=e.origin,
        status=e.status,
        created_by=e.created_by,
        created_at=e.created_at,
        orphaned=bool(e.orphaned),
        version_from=e.version_from,
        version_to=e.version_to,
    )


def edges_out(
    session: Session, edges: list[tuple[Granularity, TableEdge | ColumnEdge]]
) -> list[GovernedEdgeOut]:
    names = _names(session, edges)
    return [_out(g, e, names) for g, e in edges]


# --------------------------------------------------------------------------------------
# endpoint resolution
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Endpoint:
    granularity: Granularity
    id: int
    name: str


def _find_object(session: Session, project_id: int, name: str) -> CatalogObject | None:
    try:
        return resolve_object(session, name, project_id=project_id)
    except NotFoundError:
        return None


def resolve_endpoint(session: Session, project_id: int, ref: str, field: str) -> Endpoint:
    """``schema.table`` → the object; ``schema.table.column`` → the column. Unknown → 422 naming
    the missing object or column."""
    ref = ref.strip()
    if ref.isdecimal():
        raise InvalidQueryError(
            f"{field}: give a name (schema.table[.column]), not an id", details=[{"field": field}]
        )
    obj = _find_object(session, project_id, ref)
    if obj is not None and obj.canonical_id.lower() == ref.lower():
        return Endpoint("table", int(obj.id), obj.canonical_id)
    owner, _, col_name = ref.rpartition(".")
    parent = _find_object(session, project_id, owner) if owner else None
    if parent is None:
        if obj is not None:  # a unique trailing-part match of the whole name
            return Endpoint("table", int(obj.id), obj.canonical_id)
        missing = owner if owner and "." in owner else ref
        raise InvalidQueryError(
            f"{field}: object {missing!r} not found in the project",
            details=[{"field": field, "ref": ref, "missing": "object", "object": missing}],
        )
    cols = list(
        session.scalars(
            select(Column).where(Column.object_id == parent.id, func.lower(Column.name) == col_name.lower())
        )
    )
    if not cols:
        if obj is not None:
            return Endpoint("table", int(obj.id), obj.canonical_id)
        raise InvalidQueryError(
            f"{field}: column {col_name!r} not found in {parent.canonical_id}",
            details=[
                {
                    "field": field,
                    "ref": ref,
                    "missing": "column",
                    "object": parent.canonical_id,
                    "column": col_name,
                }
            ],
        )
    exact = [c for c in cols if c.name == col_name]
    col = exact[0] if exact else cols[0]
    return Endpoint("column", int(col.id), f"{parent.canonical_id}.{col.name}")


def _validate(
    session: Session, project_id: int, source: str, target: str, kind: str
) -> tuple[gov.NewEdge, list[dict[str, Any]]]:
    errors: list[dict[str, Any]] = []
    ends: dict[str, Endpoint] = {}
    for field, ref in (("source", source), ("target", target)):
        try:
            ends[field] = resolve_endpoint(session, project_id, ref, field)
        except InvalidQueryError as exc:
            detail = exc.details if isinstance(exc.details, list) else [{"field": field}]
            errors.extend({**d, "message": exc.message} for d in detail)
        except QueryError as exc:  # ambiguous name
            errors.append({"field": field, "ref": ref, "message": exc.message, "details": exc.details})
    if kind not in EDGE_KINDS:
        errors.append({"field": "kind", "message": f"kind must be one of {list(EDGE_KINDS)}", "ref": kind})
    if not errors:
        s, t = ends["source"], ends["target"]
        if s.granularity != t.granularity:
            errors.append(
                {
                    "field": "target",
                    "message": f"source is a {s.granularity} and target a {t.granularity}: both must be "
                    "tables or both columns",
                }
            )
        elif s.id == t.id:
            errors.append({"field": "target", "message": "source and target are the same"})
        else:
            return gov.NewEdge(s.granularity, s.id, t.id, kind), []
    return gov.NewEdge("column", 0, 0, kind), errors


def _duplicate(session: Session, project_id: int, e: gov.NewEdge) -> TableEdge | ColumnEdge | None:
    """A current governed edge (proposed/approved) with the same endpoints and kind."""
    model = gov.edge_model(e.granularity)
    source, target = gov.edge_endpoints(e.granularity)
    found = session.scalar(
        select(model)
        .where(
            model.project_id == project_id,
            source == e.source_id,
            target == e.target_id,
            model.kind == e.kind,
            model.origin.in_(gov.GOVERNED_ORIGINS),
            versions.edge_visibility(model, statuses=("proposed", "approved")),
        )
        .limit(1)
    )
    return cast("TableEdge | ColumnEdge | None", found)  # select() of a model union types as Base


# --------------------------------------------------------------------------------------
# commands
# --------------------------------------------------------------------------------------


def create_edge(session: Session, body: ManualEdgeIn, actor: str) -> GovernedEdgeOut:
    project = resolve_project(session, body.project_id)
    new, errors = _validate(session, int(project.id), body.source, body.target, body.kind)
    if errors:
        raise InvalidQueryError("; ".join(str(e["message"]) for e in errors), details=errors)
    dup = _duplicate(session, int(project.id), new)
    if dup is not None:
        ref = edge_ref(new.granularity, int(dup.id))
        raise ConflictError(f"the same edge already exists ({ref}, {dup.status})", details={"edge": ref})
    new = gov.NewEdge(new.granularity, new.source_id, new.target_id, new.kind, body.note)
    (row,) = gov.create_manual_edges(session, int(project.id), [new], actor)
    return edges_out(session, [(new.granularity, row)])[0]


def import_csv(session: Session, project_ref: int | str, data: str, actor: str) -> ImportOut:
    """Rows ``source,target,kind,note`` (header required; kind defaults to direct). Every row is
    validated; any error → 422 listing the errors per row (CSV line number) and nothing is written."""
    project = resolve_project(session, project_ref)
    try:
        return _import_rows(session, int(project.id), data, actor)
    except csv.Error as exc:
        raise InvalidQueryError(f"not a readable CSV: {exc}") from None


def _import_rows(session: Session, project_id: int, data: str, actor: str) -> ImportOut:
    reader = csv.DictReader(io.StringIO(data.lstrip("\ufeff")))
    fields = [f.strip().lower() for f in (reader.fieldnames or [])]
    if "source" not in fields or "target" not in fields:
        raise InvalidQueryError(
            "the CSV needs a header row with at least source,target (optional: kind,note)",
            details=[{"row": 1, "errors": [{"message": f"header is {fields}"}]}],
        )
    reader.fieldnames = fields
    todo: list[gov.NewEdge] = []
    row_errors: list[dict[str, Any]] = []
    seen: dict[tuple[str, int, int, str], int] = {}
    for n, row in enumerate(reader, start=2):
        if n - 1 > MAX_IMPORT_ROWS:
            raise InvalidQueryError(f"at most {MAX_IMPORT_ROWS} rows per import")
        src = (row.get("source") or "").strip()
        tgt = (row.get("target") or "").strip()
        if not src and not tgt and not any((v or "").strip() for v in row.values() if isinstance(v, str)):
            continue  # blank line
        kind = (row.get("kind") or "direct").strip().lower() or "direct"
        note = (row.get("note") or "").strip() or None
        errs: list[dict[str, Any]] = []
        if not src:
            errs.append({"field": "source", "message": "source is empty"})
        if not tgt:
            errs.append({"field": "target", "message": "target is empty"})
        if not errs:
            new, errs = _validate(session, project_id, src, tgt, kind)
            if not errs:
                key = (new.granularity, new.source_id, new.target_id, new.kind)
                if key in seen:
                    errs.append({"field": "source", "message": f"duplicate of row {seen[key]}"})
                elif (dup := _duplicate(session, project_id, new)) is not None:
                    ref = edge_ref(new.granularity, int(dup.id))
                    errs.append({"field": "source", "message": f"the same edge already exists ({ref})"})
                else:
                    seen[key] = n
                    todo.append(gov.NewEdge(new.granularity, new.source_id, new.target_id, new.kind, note))
        if errs:
            row_errors.append({"row": n, "source": src, "target": tgt, "errors": errs})
    if row_errors:
        raise InvalidQueryError(
            f"{len(row_errors)} row(s) invalid; nothing was imported",
            details=row_errors,
        )
    if not todo:
        raise InvalidQueryError("the CSV has no rows")
    rows = gov.create_manual_edges(session, project_id, todo, actor)
    pairs: list[tuple[Granularity, TableEdge | ColumnEdge]] = [
        (e.granularity, r) for e, r in zip(todo, rows, strict=True)
    ]
    return ImportOut(created=len(rows), edges=edges_out(session, pairs))


def _load(session: Session, ref: str) -> tuple[Granularity, TableEdge | ColumnEdge]:
    gran, edge_id = parse_edge_ref(ref)
    edge = gov.get_edge(session, gran, edge_id)
    if edge is None:
        raise NotFoundError(f"edge {ref!r} not found", details={"edge": ref})
    return gran, edge


def review_edge(session: Session, ref: str, body: ReviewIn, *, actor: str, role: str) -> EdgeHistoryOut:
    """Maker-checker: the maker may not review their own edge (403) unless an admin passes
    ``override`` (recorded); an edge is reviewed once (409)."""
    gran, edge = _load(session, ref)
    if edge.origin not in gov.GOVERNED_ORIGINS:
        raise ConflictError(
            f"edge {ref} is {edge.status} ({edge.origin}): only manual or inferred edges are reviewed",
            details={"edge": ref, "status": edge.status, "origin": edge.origin},
        )
    if edge.status != "proposed":
        last = [ev for ev in gov.history(session, gran, int(edge.id)) if ev.action == "reviewed"]
        who = f" by {last[-1].actor}" if last else ""
        raise ConflictError(
            f"edge {ref} was already reviewed{who} (status {edge.status})",
            details={"edge": ref, "status": edge.status},
        )
    if edge.version_to is not None:
        raise ConflictError(f"edge {ref} was removed", details={"edge": ref})
    self_review = edge.created_by is not None and edge.created_by == actor
    if body.override and role != "admin":
        raise ForbiddenError("override needs the admin role", details={"edge": ref})
    if self_review and not body.override:
        raise ForbiddenError(
            f"{actor} made edge {ref} and may not review it (maker-checker); another editor must, "
            "or an admin with override=true",
            details={"edge": ref, "maker": edge.created_by},
        )
    gov.review(
        session,
        gran,
        edge,
        decision=body.decision,
        actor=actor,
        comment=body.comment,
        override=body.override and self_review,
    )
    return history_of(session, ref)


def remove_edge(session: Session, ref: str, *, actor: str, comment: str | None) -> EdgeHistoryOut:
    gran, edge = _load(session, ref)
    if edge.origin not in gov.GOVERNED_ORIGINS:
        raise ConflictError(f"edge {ref} comes from {edge.origin}; only governed edges are removed by hand")
    if edge.version_to is not None:
        raise ConflictError(f"edge {ref} was already removed", details={"edge": ref})
    gov.remove(session, gran, edge, actor, comment)
    return history_of(session, ref)


def history_of(session: Session, ref: str) -> EdgeHistoryOut:
    gran, edge = _load(session, ref)
    events = [
        EdgeEventOut(
            id=int(ev.id),
            edge=edge_ref(gran, int(edge.id)),
            action=ev.action,
            actor=ev.actor,
            ts=ev.ts,
            comment=ev.comment,
            data=ev.data,
        )
        for ev in gov.history(session, gran, int(edge.id))
    ]
    return EdgeHistoryOut(edge=edges_out(session, [(gran, edge)])[0], events=events)


def review_queue(session: Session, project_ref: int | str) -> ReviewQueueOut:
    project = resolve_project(session, project_ref)
    pid = int(project.id)
    return ReviewQueueOut(
        project_id=pid,
        proposed=edges_out(session, gov.governed_edges(session, pid, statuses=["proposed"])),
        orphaned=edges_out(session, gov.governed_edges(session, pid, statuses=EDGE_STATUSES, orphaned=True)),
    )


def list_versions(session: Session, project_ref: int | str) -> VersionsOut:
    project = resolve_project(session, project_ref)
    rows = versions.list_versions(session, int(project.id))
    return VersionsOut(
        project_id=int(project.id),
        current=rows[-1].version if rows else 0,
        versions=[
            VersionOut(
                version=v.version,
                run_id=v.run_id,
                created_at=v.created_at,
                files=v.files,
                objects=v.objects,
                edges=v.edges,
                source=v.source,
                ref=v.ref,
                commit=v.commit,
                label=v.label,
            )
            for v in rows
        ],
    )


def check_version(session: Session, project_id: int, version: int | None, name: str = "as_of") -> int | None:
    """``version`` if it is a finalised version of the project (None passes through); else 404."""
    if version is None:
        return None
    if versions.get_version(session, project_id, version) is None:
        latest = versions.latest_version(session, project_id)
        raise NotFoundError(
            f"{name}: project {project_id} has no version {version} (latest: {latest})",
            details={name: version, "latest": latest},
        )
    return version

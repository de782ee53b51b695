"""The vocabulary of one project: every object, column, schema and file name, for entity linking.

This is a names-only snapshot (no edges, no traversal): lineage questions are answered by
`finlineage.query` (one traversal, one shortest path, one set of defaults). Linking needs every
name at hand (exact, fuzzy, abbreviations), so the names are kept per project and reloaded when
the project's fingerprint (counts and max ids of objects, columns and edges, latest object
update) changes. Besides names it keeps two counts per object and column (edges in and out), so
the linker can prefer objects that carry lineage and the engine can tell end consumers (nothing
downstream) without a walk.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from finlineage.chat.lexicon import Lexicon
from finlineage.store.models import CatalogObject, ColumnEdge, File, Project, TableEdge
from finlineage.store.models import Column as ColumnModel
from finlineage.store.versions import edge_visibility

__all__ = ["ColInfo", "ObjInfo", "Vocab", "VocabCache", "fingerprint", "load_vocab"]

ROUTINE_KINDS = ("procedure", "function", "trigger")


@dataclass(slots=True)
class ObjInfo:
    id: int
    canonical_id: str
    schema: str | None
    name: str
    kind: str
    file_id: int | None
    line_start: int | None
    line_end: int | None
    repository_id: int | None = None
    n_in: int = 0
    """Table edges into the object (data flow, not routine calls)."""
    n_out: int = 0
    """Table edges out of the object (data flow, not routine calls)."""


@dataclass(slots=True)
class ColInfo:
    id: int
    object_id: int
    name: str
    data_type: str | None = None
    n_in: int = 0
    n_out: int = 0


@dataclass
class Vocab:
    project_id: int
    project_name: str
    fingerprint: tuple[Any, ...]
    objects: dict[int, ObjInfo] = field(default_factory=dict)
    columns: dict[int, ColInfo] = field(default_factory=dict)
    files: dict[int, str] = field(default_factory=dict)
    cols_by_object: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    by_canonical: dict[str, int] = field(default_factory=dict)
    by_name: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    by_schema: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    cols_by_name: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    col_by_object_name: dict[tuple[int, str], int] = field(default_factory=dict)
    lexicon: Lexicon = field(default_factory=Lexicon)
    extras: dict[str, Any] = field(default_factory=dict)
    """Derived per-snapshot caches of other modules (e.g. the entity linker's name indexes)."""

    def col_label(self, column_id: int) -> str:
        c = self.columns[column_id]
        return f"{self.objects[c.object_id].canonical_id}.{c.name}"

    def file_of(self, object_id: int) -> str | None:
        o = self.objects.get(object_id)
        if o is None or o.file_id is None:
            return None
        return self.files.get(o.file_id)

    def degree(self, object_id: int) -> int:
        o = self.objects[object_id]
        return o.n_in + o.n_out

    def is_routine(self, object_id: int) -> bool:
        return self.objects[object_id].kind in ROUTINE_KINDS

    def restrict(self, repository_id: int | None) -> set[int] | None:
        """Object ids defined in one repository (None: no restriction)."""
        if repository_id is None:
            return None
        return {o.id for o in self.objects.values() if o.repository_id == repository_id}


def fingerprint(session: Session, project_id: int) -> tuple[Any, ...]:
    """Cheap change detector for a project (counts, max ids, latest object update, file
    statuses), one round trip of scalar subqueries."""
    obj_n = select(func.count(CatalogObject.id)).where(CatalogObject.project_id == project_id)
    obj_max = select(func.max(CatalogObject.id)).where(CatalogObject.project_id == project_id)
    obj_upd = select(func.max(CatalogObject.updated_at)).where(CatalogObject.project_id == project_id)
    col = (
        select(func.count(ColumnModel.id))
        .join(CatalogObject, CatalogObject.id == ColumnModel.object_id)
        .where(CatalogObject.project_id == project_id)
    )
    # visible edges: a review (approve/reject) or a closed old-version edge changes the count
    te_n = select(func.count(TableEdge.id)).where(
        TableEdge.project_id == project_id, edge_visibility(TableEdge)
    )
    te_max = select(func.max(TableEdge.id)).where(TableEdge.project_id == project_id)
    ce_n = select(func.count(ColumnEdge.id)).where(
        ColumnEdge.project_id == project_id, edge_visibility(ColumnEdge)
    )
    ce_max = select(func.max(ColumnEdge.id)).where(ColumnEdge.project_id == project_id)
    row = session.execute(
        select(*(q.scalar_subquery() for q in (obj_n, obj_max, obj_upd, col, te_n, te_max, ce_n, ce_max)))
    ).one()
    return tuple(str(v) for v in row)


def load_vocab(session: Session, project_id: int, fp: tuple[Any, ...] | None = None) -> Vocab:
    project = session.get(Project, project_id)
    v = Vocab(
        project_id=project_id,
        project_name=project.name if project else str(project_id),
        fingerprint=fp if fp is not None else fingerprint(session, project_id),
    )
    for r in session.execute(
        select(
            CatalogObject.id,
            CatalogObject.canonical_id,
            CatalogObject.schema,
            CatalogObject.name,
            CatalogObject.kind,
            CatalogObject.file_id,
            CatalogObject.line_start,
            CatalogObject.line_end,
            File.repository_id,
        )
        .outerjoin(File, File.id == CatalogObject.file_id)
        .where(CatalogObject.project_id == project_id)
    ):
        o = ObjInfo(int(r[0]), r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8])
        v.objects[o.id] = o
        v.by_canonical[o.canonical_id.lower()] = o.id
        v.by_name[o.name.lower()].append(o.id)
        if o.schema:
            v.by_schema[o.schema.lower()].append(o.id)
            v.by_canonical.setdefault(f"{o.schema}.{o.name}".lower(), o.id)
    for rc in session.execute(
        select(ColumnModel.id, ColumnModel.object_id, ColumnModel.name, ColumnModel.data_type)
        .join(CatalogObject, CatalogObject.id == ColumnModel.object_id)
        .where(CatalogObject.project_id == project_id)
        .order_by(ColumnModel.object_id, ColumnModel.ordinal, ColumnModel.id)
    ):
        c = ColInfo(int(rc[0]), int(rc[1]), str(rc[2]), rc[3])
        v.columns[c.id] = c
        v.cols_by_object[c.object_id].append(c.id)
        v.cols_by_name[c.name.lower()].append(c.id)
        v.col_by_object_name[(c.object_id, c.name.lower())] = c.id
    live = edge_visibility(TableEdge)  # the current graph's edges that walks follow
    flow = func.coalesce(TableEdge.expression, "").not_like("CALL %")
    for oid, n in session.execute(
        select(TableEdge.target_object_id, func.count())
        .where(TableEdge.project_id == project_id, live, flow)
        .group_by(TableEdge.target_object_id)
    ):
        if int(oid) in v.objects:
            v.objects[int(oid)].n_in = int(n)
    for oid, n in session.execute(
        select(TableEdge.source_object_id, func.count())
        .where(TableEdge.project_id == project_id, live, flow)
        .group_by(TableEdge.source_object_id)
    ):
        if int(oid) in v.objects:
            v.objects[int(oid)].n_out = int(n)
    clive = edge_visibility(ColumnEdge)
    for cid, n in session.execute(
        select(ColumnEdge.target_column_id, func.count())
        .where(ColumnEdge.project_id == project_id, clive)
        .group_by(ColumnEdge.target_column_id)
    ):
        if int(cid) in v.columns:
            v.columns[int(cid)].n_in = int(n)
    for cid, n in session.execute(
        select(ColumnEdge.source_column_id, func.count())
        .where(ColumnEdge.project_id == project_id, clive)
        .group_by(ColumnEdge.source_column_id)
    ):
        if int(cid) in v.columns:
            v.columns[int(cid)].n_out = int(n)
    file_ids = sorted({o.file_id for o in v.objects.values() if o.file_id is not None})
    for i in range(0, len(file_ids), 900):
        for fid, path in session.execute(
            select(File.id, File.path).where(File.id.in_(file_ids[i : i + 900]))
        ):
            v.files[int(fid)] = path
    names = [o.name for o in v.objects.values()] + [c.name for c in v.columns.values()]
    names += [s for s in v.by_schema]
    v.lexicon = Lexicon.learn(names)
    return v


class VocabCache:
    """Vocabularies per project, reloaded when the fingerprint changes (thread-safe)."""

    def __init__(self, max_projects: int = 8, recheck_s: float = 1.0) -> None:
        self._items: dict[int, Vocab] = {}
        self._checked: dict[int, float] = {}
        self._lock = threading.Lock()
        self._max = max_projects
        self.recheck_s = recheck_s
        """A snapshot younger than this is used without re-reading the fingerprint."""

    def get(self, session: Session, project_id: int) -> Vocab:
        now = time.monotonic()
        with self._lock:
            cached = self._items.get(project_id)
            fresh = cached is not None and now - self._checked.get(project_id, 0.0) < self.recheck_s
        if cached is not None and fresh:
            return cached
        fp = fingerprint(session, project_id)
        if cached is not None and cached.fingerprint == fp:
            with self._lock:
                self._checked[project_id] = now
            return cached
        vocab = load_vocab(session, project_id, fp)
        with self._lock:
            self._items[project_id] = vocab
            self._checked[project_id] = time.monotonic()
            while len(self._items) > self._max:
                self._items.pop(next(iter(self._items)))
        return vocab

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

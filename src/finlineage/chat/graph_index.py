"""An in-memory, read-only snapshot of one project's lineage graph for the chat engine.

Entity linking needs every name of a project at hand (exact, fuzzy, column names) and the offline
engine walks the graph many hops per question, so the chat layer keeps a compact snapshot per
project: objects, columns, table edges and column edges (rejected edges excluded). The snapshot
is rebuilt when the project's fingerprint (counts and max ids of the four tables, latest object
update) changes, which costs one cheap aggregate query per question.

Definitions (the SQL text of objects) are not held in memory; `definitions()` loads them on
demand.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from finlineage.store.models import (
    CatalogObject,
    CodeChunk,
    ColumnEdge,
    File,
    Project,
    TableEdge,
)
from finlineage.store.models import Column as ColumnModel

__all__ = ["ColEdge", "ColInfo", "GraphIndex", "ObjInfo", "TabEdge", "fingerprint", "load_index"]


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
    database: str | None = None

    @property
    def label(self) -> str:
        return self.canonical_id


@dataclass(slots=True)
class ColInfo:
    id: int
    object_id: int
    name: str
    data_type: str | None = None


@dataclass(slots=True)
class TabEdge:
    id: int
    source: int
    target: int
    process: int | None
    file_id: int | None
    line_start: int | None
    line_end: int | None
    kind: str


@dataclass(slots=True)
class ColEdge:
    id: int
    source: int
    target: int
    expression: str | None
    process: int | None
    file_id: int | None
    line_start: int | None
    line_end: int | None
    kind: str


@dataclass
class GraphIndex:
    project_id: int
    project_name: str
    fingerprint: tuple[Any, ...]
    objects: dict[int, ObjInfo] = field(default_factory=dict)
    columns: dict[int, ColInfo] = field(default_factory=dict)
    files: dict[int, str] = field(default_factory=dict)
    cols_by_object: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    t_up: dict[int, list[TabEdge]] = field(default_factory=lambda: defaultdict(list))
    t_down: dict[int, list[TabEdge]] = field(default_factory=lambda: defaultdict(list))
    t_by_process: dict[int, list[TabEdge]] = field(default_factory=lambda: defaultdict(list))
    c_up: dict[int, list[ColEdge]] = field(default_factory=lambda: defaultdict(list))
    c_down: dict[int, list[ColEdge]] = field(default_factory=lambda: defaultdict(list))
    c_by_process: dict[int, list[ColEdge]] = field(default_factory=lambda: defaultdict(list))
    by_canonical: dict[str, int] = field(default_factory=dict)
    by_name: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    by_schema: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    cols_by_name: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    col_by_object_name: dict[tuple[int, str], int] = field(default_factory=dict)
    table_edges: dict[int, TabEdge] = field(default_factory=dict)
    column_edges: dict[int, ColEdge] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)
    """Derived per-snapshot caches of other modules (e.g. the entity linker's name indexes)."""

    # ------------------------------------------------------------------ lookups
    def obj(self, object_id: int) -> ObjInfo:
        return self.objects[object_id]

    def col(self, column_id: int) -> ColInfo:
        return self.columns[column_id]

    def col_label(self, column_id: int) -> str:
        c = self.columns[column_id]
        return f"{self.objects[c.object_id].canonical_id}.{c.name}"

    def file_of(self, object_id: int) -> str | None:
        o = self.objects.get(object_id)
        if o is None or o.file_id is None:
            return None
        return self.files.get(o.file_id)

    def degree(self, object_id: int) -> int:
        return len(self.t_up.get(object_id, ())) + len(self.t_down.get(object_id, ()))

    def schemas(self) -> list[str]:
        return sorted(self.by_schema)

    # ------------------------------------------------------------------ traversal
    def walk_tables(
        self, start: int, direction: str, max_depth: int = 12, limit: int = 5000
    ) -> tuple[dict[int, int], list[TabEdge]]:
        """BFS over table edges. Returns ({object_id: depth}, edges used), start excluded."""
        adj = self.t_up if direction == "up" else self.t_down
        depth: dict[int, int] = {start: 0}
        used: list[TabEdge] = []
        seen_edges: set[int] = set()
        queue: deque[int] = deque([start])
        while queue:
            node = queue.popleft()
            d = depth[node]
            if d >= max_depth:
                continue
            for e in adj.get(node, ()):
                nxt = e.source if direction == "up" else e.target
                if e.id not in seen_edges:
                    seen_edges.add(e.id)
                    used.append(e)
                if nxt not in depth:
                    depth[nxt] = d + 1
                    if len(depth) > limit:
                        break
                    queue.append(nxt)
        depth.pop(start, None)
        return depth, used

    def walk_columns(
        self,
        starts: Iterable[int],
        direction: str,
        max_depth: int = 12,
        limit: int = 5000,
        direct_only: bool = False,
    ) -> tuple[dict[int, int], list[ColEdge]]:
        """BFS over column edges; `direct_only` skips indirect edges (join keys, filters)."""
        adj = self.c_up if direction == "up" else self.c_down
        starts = list(starts)
        depth: dict[int, int] = {s: 0 for s in starts}
        used: list[ColEdge] = []
        seen_edges: set[int] = set()
        queue: deque[int] = deque(starts)
        while queue:
            node = queue.popleft()
            d = depth[node]
            if d >= max_depth:
                continue
            for e in adj.get(node, ()):
                if direct_only and e.kind != "direct":
                    continue
                nxt = e.source if direction == "up" else e.target
                if e.id not in seen_edges:
                    seen_edges.add(e.id)
                    used.append(e)
                if nxt not in depth:
                    depth[nxt] = d + 1
                    if len(depth) > limit:
                        break
                    queue.append(nxt)
        for s in starts:
            depth.pop(s, None)
        return depth, used

    def shortest_path(self, a: int, b: int, max_depth: int = 20) -> list[TabEdge] | None:
        """Directed shortest path a → b over table edges (None when b is not downstream of a)."""
        if a == b:
            return []
        prev: dict[int, TabEdge] = {}
        seen = {a}
        queue: deque[tuple[int, int]] = deque([(a, 0)])
        while queue:
            node, d = queue.popleft()
            if d >= max_depth:
                continue
            for e in self.t_down.get(node, ()):
                if e.target in seen:
                    continue
                seen.add(e.target)
                prev[e.target] = e
                if e.target == b:
                    path: list[TabEdge] = []
                    cur = b
                    while cur != a:
                        edge = prev[cur]
                        path.append(edge)
                        cur = edge.source
                    return list(reversed(path))
                queue.append((e.target, d + 1))
        return None

    def definitions(self, session: Session, object_ids: Iterable[int]) -> dict[int, str]:
        ids = list(dict.fromkeys(object_ids))
        if not ids:
            return {}
        rows = session.execute(
            select(CatalogObject.id, CatalogObject.definition).where(CatalogObject.id.in_(ids))
        ).all()
        return {int(r[0]): r[1] for r in rows if r[1]}


def fingerprint(session: Session, project_id: int) -> tuple[Any, ...]:
    """Cheap change detector for a project's graph (counts, max ids, latest object update),
    one round trip of scalar subqueries."""
    obj_n = select(func.count(CatalogObject.id)).where(CatalogObject.project_id == project_id)
    obj_max = select(func.max(CatalogObject.id)).where(CatalogObject.project_id == project_id)
    obj_upd = select(func.max(CatalogObject.updated_at)).where(CatalogObject.project_id == project_id)
    col = (
        select(func.count(ColumnModel.id))
        .join(CatalogObject, CatalogObject.id == ColumnModel.object_id)
        .where(CatalogObject.project_id == project_id)
    )
    te_n = select(func.count(TableEdge.id)).where(TableEdge.project_id == project_id)
    te_max = select(func.max(TableEdge.id)).where(TableEdge.project_id == project_id)
    ce_n = select(func.count(ColumnEdge.id)).where(ColumnEdge.project_id == project_id)
    ce_max = select(func.max(ColumnEdge.id)).where(ColumnEdge.project_id == project_id)
    row = session.execute(
        select(*(q.scalar_subquery() for q in (obj_n, obj_max, obj_upd, col, te_n, te_max, ce_n, ce_max)))
    ).one()
    return tuple(str(v) for v in row)


def chunk_fingerprint(session: Session, project_id: int) -> tuple[Any, ...]:
    row = session.execute(
        select(func.count(CodeChunk.id), func.max(CodeChunk.id)).where(CodeChunk.project_id == project_id)
    ).one()
    return (int(row[0] or 0), int(row[1] or 0))


def load_index(session: Session, project_id: int, fp: tuple[Any, ...] | None = None) -> GraphIndex:
    project = session.get(Project, project_id)
    g = GraphIndex(
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
            CatalogObject.database,
        ).where(CatalogObject.project_id == project_id)
    ):
        o = ObjInfo(int(r[0]), r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8])
        g.objects[o.id] = o
        g.by_canonical[o.canonical_id.lower()] = o.id
        g.by_name[o.name.lower()].append(o.id)
        if o.schema:
            g.by_schema[o.schema.lower()].append(o.id)
            g.by_canonical.setdefault(f"{o.schema}.{o.name}".lower(), o.id)
    file_ids = {o.file_id for o in g.objects.values() if o.file_id is not None}
    for rc in session.execute(
        select(ColumnModel.id, ColumnModel.object_id, ColumnModel.name, ColumnModel.data_type)
        .join(CatalogObject, CatalogObject.id == ColumnModel.object_id)
        .where(CatalogObject.project_id == project_id)
    ):
        c = ColInfo(int(rc[0]), int(rc[1]), str(rc[2]), rc[3])
        g.columns[c.id] = c
        g.cols_by_object[c.object_id].append(c.id)
        g.cols_by_name[c.name.lower()].append(c.id)
        g.col_by_object_name[(c.object_id, c.name.lower())] = c.id
    for rt in session.execute(
        select(
            TableEdge.id,
            TableEdge.source_object_id,
            TableEdge.target_object_id,
            TableEdge.process_object_id,
            TableEdge.file_id,
            TableEdge.line_start,
            TableEdge.line_end,
            TableEdge.kind,
        ).where(TableEdge.project_id == project_id, TableEdge.status != "rejected")
    ):
        te = TabEdge(int(rt[0]), int(rt[1]), int(rt[2]), rt[3], rt[4], rt[5], rt[6], str(rt[7]))
        g.table_edges[te.id] = te
        g.t_up[te.target].append(te)
        g.t_down[te.source].append(te)
        if te.process is not None:
            g.t_by_process[te.process].append(te)
        if te.file_id is not None:
            file_ids.add(te.file_id)
    for re_ in session.execute(
        select(
            ColumnEdge.id,
            ColumnEdge.source_column_id,
            ColumnEdge.target_column_id,
            ColumnEdge.expression,
            ColumnEdge.process_object_id,
            ColumnEdge.file_id,
            ColumnEdge.line_start,
            ColumnEdge.line_end,
            ColumnEdge.kind,
        ).where(ColumnEdge.project_id == project_id, ColumnEdge.status != "rejected")
    ):
        ce = ColEdge(
            int(re_[0]), int(re_[1]), int(re_[2]), re_[3], re_[4], re_[5], re_[6], re_[7], str(re_[8])
        )
        g.column_edges[ce.id] = ce
        g.c_up[ce.target].append(ce)
        g.c_down[ce.source].append(ce)
        if ce.process is not None:
            g.c_by_process[ce.process].append(ce)
    if file_ids:
        ids = sorted(file_ids)
        for i in range(0, len(ids), 900):
            for fr in session.execute(select(File.id, File.path).where(File.id.in_(ids[i : i + 900]))):
                g.files[int(fr[0])] = fr[1]
    return g


class IndexCache:
    """Snapshots per project, rebuilt when the fingerprint changes (thread-safe)."""

    def __init__(self, max_projects: int = 8, recheck_s: float = 1.0) -> None:
        self._items: dict[int, GraphIndex] = {}
        self._checked: dict[int, float] = {}
        self._lock = threading.Lock()
        self._max = max_projects
        self.recheck_s = recheck_s
        """A snapshot younger than this is used without re-reading the fingerprint."""

    def get(self, session: Session, project_id: int) -> GraphIndex:
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
        index = load_index(session, project_id, fp)
        with self._lock:
            self._items[project_id] = index
            self._checked[project_id] = time.monotonic()
            while len(self._items) > self._max:
                self._items.pop(next(iter(self._items)))
        return index

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

"""Graph reads: upstream/downstream (table or column), path, impact.

Traversal is `finlineage.store.graph` (one recursive CTE per walk); this module resolves names,
then hydrates the result with a constant number of bulk queries (objects, files, processes),
never one query per node. One set of defaults for every caller (API, CLI, chat, page): the full
closure (`depth=None`), capped at `max_nodes` (the `walk_node_cap` setting), the edge kinds of
`NODE_WALK_KINDS` (from an object) or `COLUMN_WALK_KINDS` (from a column) and the statuses of
`store.graph.DEFAULT_STATUSES` (observed + approved; `statuses=None` means the same); answers
say `truncated` and `omitted` whenever anything reachable is left out. Given `data_dir`, every edge
carries its original text (`source_text`) read from the stored file.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from finlineage.query.catalog import resolve_column, resolve_object
from finlineage.query.common import chunks
from finlineage.query.errors import InvalidQueryError
from finlineage.query.evidence import SourceReader, content_link
from finlineage.query.governance import check_version
from finlineage.query.schemas import (
    DEFAULT_DEPTH,
    MAX_DEPTH,
    Direction,
    Granularity,
    GraphEdge,
    GraphNode,
    GraphOut,
    ImpactGroup,
    ImpactOut,
    PathOut,
)
from finlineage.store import graph as store_graph
from finlineage.store.models import EDGE_KINDS, CatalogObject, Column, File

MAX_NODES = store_graph.DEFAULT_NODE_CAP
"""Default cap of one traversal response (nearest hops first; `truncated`/`omitted` tell)."""

# The walks' default edge kinds: THE one definition. The API's `edge_kind` defaults and their
# OpenAPI text, the chat's tools and answers, the MCP tools, explain, impact and path read them
# from here; `kinds=None` in this module means "the default of this walk".
DATA_FLOW_KINDS: tuple[str, ...] = ("direct",)
"""Edges along which values flow (not join keys, filters, grouping or procedure calls)."""
NODE_WALK_KINDS: tuple[str, ...] = tuple(EDGE_KINDS)
"""Edge kinds a walk from an object (node upstream/downstream, impact, table path) follows by
default: every kind (data flow and the tables joins/filters read)."""
COLUMN_WALK_KINDS: tuple[str, ...] = DATA_FLOW_KINDS
"""Edge kinds a walk from a column (column upstream/downstream, column path, explain) follows by
default: data flow only."""
ALL_KINDS: tuple[str, ...] = tuple(EDGE_KINDS)
"""Every edge kind: the explicit value for "join and filter columns too"."""


def walk_kinds(start: Literal["node", "column"], kinds: Collection[str] | None = None) -> tuple[str, ...]:
    """The edge kinds a walk follows: ``kinds`` when given, else the default of a walk from an
    object (``node``, at either granularity) or from a column (``column``)."""
    if kinds is not None:
        return tuple(kinds)
    return COLUMN_WALK_KINDS if start == "column" else NODE_WALK_KINDS


def check_depth(depth: int | None) -> int | None:
    if depth is not None and (depth < 0 or depth > MAX_DEPTH):
        raise InvalidQueryError(f"depth must be `all` or between 0 and {MAX_DEPTH}", details={"depth": depth})
    return depth


# --------------------------------------------------------------------------------------
# hydration (bulk)
# --------------------------------------------------------------------------------------


@dataclass(slots=True)
class _ObjInfo:
    name: str
    canonical_id: str
    kind: str
    project_id: int
    file_id: int | None
    line_start: int | None
    line_end: int | None


class _Hydrator:
    """Collects ids, then loads objects, files and processes in a few IN-list queries."""

    def __init__(self, session: Session, data_dir: Path | None = None) -> None:
        self.session = session
        self.objects: dict[int, _ObjInfo] = {}
        self.files: dict[int, str] = {}
        self.sources = SourceReader(session, data_dir) if data_dir is not None else None

    def load_objects(self, ids: Iterable[int]) -> None:
        want = sorted({i for i in ids if i not in self.objects})
        for part in chunks(want):
            for row in self.session.execute(
                select(
                    CatalogObject.id,
                    CatalogObject.name,
                    CatalogObject.canonical_id,
                    CatalogObject.kind,
                    CatalogObject.project_id,
                    CatalogObject.file_id,
                    CatalogObject.line_start,
                    CatalogObject.line_end,
                ).where(CatalogObject.id.in_(part))
            ):
                self.objects[int(row.id)] = _ObjInfo(
                    row.name,
                    row.canonical_id,
                    row.kind,
                    int(row.project_id),
                    row.file_id,
                    row.line_start,
                    row.line_end,
                )

    def load_files(self, ids: Iterable[int | None]) -> None:
        want = sorted({i for i in ids if i is not None and i not in self.files})
        for part in chunks(want):
            for fid, path in self.session.execute(select(File.id, File.path).where(File.id.in_(part))):
                self.files[int(fid)] = path

    def prepare(self, nodes: Sequence[store_graph.GraphNode], edges: Sequence[store_graph.GraphEdge]) -> None:
        self.load_objects(
            [n.object_id for n in nodes] + [e.process_object_id for e in edges if e.process_object_id]
        )
        self.load_files([o.file_id for o in self.objects.values()] + [e.file_id for e in edges])
        if self.sources is not None:  # one query for every edge's file digest (no N+1)
            self.sources.prefetch([e.file_id for e in edges])

    def node(self, n: store_graph.GraphNode, hop: int | None = None) -> GraphNode:
        obj = self.objects.get(n.object_id)
        file_id = obj.file_id if obj else None
        is_col = n.column_name is not None
        return GraphNode(
            id=n.id,
            canonical_id=n.canonical_id,
            kind="column" if is_col else n.object_kind,
            hop=n.hop if hop is None else hop,
            project_id=n.project_id,
            name=n.column_name
            if n.column_name is not None
            else (obj.name if obj else n.canonical_id.rsplit(".", 1)[-1]),
            object_id=n.object_id,
            object_canonical_id=obj.canonical_id if obj else None,
            object_kind=n.object_kind,
            file=self.files.get(file_id) if file_id is not None else None,
            line_start=obj.line_start if obj else None,
            line_end=obj.line_end if obj else None,
        )

    def edge(self, e: store_graph.GraphEdge, names: dict[int, str]) -> GraphEdge:
        proc = self.objects.get(e.process_object_id) if e.process_object_id is not None else None
        return GraphEdge(
            id=e.id,
            source=e.source_id,
            target=e.target_id,
            source_canonical_id=names.get(e.source_id, str(e.source_id)),
            target_canonical_id=names.get(e.target_id, str(e.target_id)),
            kind=e.kind,
            subtype=e.subtype,
            expression=e.expression,
            formula=e.formula,
            steps=list(e.steps),
            source_text=self.sources.text(e.file_id, e.line_start, e.line_end) if self.sources else None,
            file=self.files.get(e.file_id) if e.file_id is not None else None,
            file_id=e.file_id,
            line_start=e.line_start,
            line_end=e.line_end,
            content_url=content_link(e.file_id, e.line_start, e.line_end),
            process=proc.canonical_id if proc else None,
            confidence=e.confidence,
            origin=e.origin,
            status=e.status,
        )


def _object_root(session: Session, obj: CatalogObject) -> GraphNode:
    path = session.scalar(select(File.path).where(File.id == obj.file_id)) if obj.file_id else None
    return GraphNode(
        id=obj.id,
        canonical_id=obj.canonical_id,
        kind=obj.kind,
        hop=0,
        project_id=obj.project_id,
        name=obj.name,
        object_id=obj.id,
        object_canonical_id=obj.canonical_id,
        object_kind=obj.kind,
        file=path,
        line_start=obj.line_start,
        line_end=obj.line_end,
    )


def _graph_out(
    session: Session,
    t: store_graph.Traversal,
    *,
    root: GraphNode | None,
    root_ids: Collection[int],
    data_dir: Path | None = None,
) -> GraphOut:
    h = _Hydrator(session, data_dir)
    h.prepare(t.nodes, t.edges)
    nodes = [h.node(n) for n in t.nodes]
    names = {n.id: n.canonical_id for n in t.nodes}
    edges = [h.edge(e, names) for e in t.edges]
    roots = [n for n in nodes if n.id in root_ids and n.hop == 0]
    if root is None and len(roots) == 1:
        root = roots[0]
    return GraphOut(
        root=root,
        roots=roots,
        direction=t.direction,
        granularity=t.granularity,
        depth=t.depth,
        nodes=nodes,
        edges=edges,
        truncated=t.truncated,
        omitted=t.omitted,
    )


# --------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------


def node_lineage(
    session: Session,
    ident: str | int,
    direction: Direction,
    *,
    depth: int | None = DEFAULT_DEPTH,
    granularity: Granularity = "table",
    project_id: int | None = None,
    statuses: Collection[str] | None = store_graph.DEFAULT_STATUSES,
    as_of: int | None = None,
    kinds: Collection[str] | None = None,
    max_nodes: int | None = MAX_NODES,
    data_dir: Path | None = None,
) -> GraphOut:
    """Upstream or downstream of an object. Column granularity walks from every column of it.
    ``kinds`` None: `NODE_WALK_KINDS`."""
    check_depth(depth)
    kinds = walk_kinds("node", kinds)
    obj = resolve_object(session, ident, project_id=project_id)
    check_version(session, obj.project_id, as_of)
    root = _object_root(session, obj)
    if granularity == "table":
        t = store_graph.traverse(
            session,
            obj.id,
            direction=direction,
            granularity="table",
            depth=depth,
            statuses=statuses,
            as_of=as_of,
            kinds=kinds,
            max_nodes=max_nodes,
        )
        out = _graph_out(session, t, root=None, root_ids={obj.id}, data_dir=data_dir)
        out.root = root
        return out
    col_ids = [int(c) for c in session.scalars(select(Column.id).where(Column.object_id == obj.id))]
    t = store_graph.traverse(
        session,
        col_ids,
        direction=direction,
        granularity="column",
        depth=depth,
        statuses=statuses,
        as_of=as_of,
        kinds=kinds,
        max_nodes=max_nodes,
    )
    if not col_ids:
        t.direction, t.depth = direction, depth
    out = _graph_out(session, t, root=root, root_ids=set(col_ids), data_dir=data_dir)
    out.root = root
    return out


def column_lineage(
    session: Session,
    ref: str | int,
    direction: Direction,
    *,
    depth: int | None = DEFAULT_DEPTH,
    project_id: int | None = None,
    statuses: Collection[str] | None = store_graph.DEFAULT_STATUSES,
    as_of: int | None = None,
    kinds: Collection[str] | None = None,
    max_nodes: int | None = MAX_NODES,
    data_dir: Path | None = None,
) -> GraphOut:
    """Transitive column lineage of one column (`schema.table.column` or column id).
    ``kinds`` None: `COLUMN_WALK_KINDS`."""
    check_depth(depth)
    col = resolve_column(session, ref, project_id=project_id)
    check_version(session, col.object.project_id, as_of)
    t = column_walk(
        session,
        col.id,
        direction,
        depth=depth,
        statuses=statuses,
        as_of=as_of,
        kinds=kinds,
        max_nodes=max_nodes,
    )
    return _graph_out(session, t, root=None, root_ids={col.id}, data_dir=data_dir)


def column_walk(
    session: Session,
    column_id: int,
    direction: Direction,
    *,
    depth: int | None = DEFAULT_DEPTH,
    statuses: Collection[str] | None = store_graph.DEFAULT_STATUSES,
    as_of: int | None = None,
    kinds: Collection[str] | None = None,
    max_nodes: int | None = MAX_NODES,
) -> store_graph.Traversal:
    """The one column walk with the one set of defaults (full closure, node cap, `kinds` None:
    `COLUMN_WALK_KINDS`): `column_lineage` (API, chat, MCP, Marquez reads) and `explain_column`
    both walk through it."""
    return store_graph.traverse(
        session,
        column_id,
        direction=direction,
        granularity="column",
        depth=depth,
        statuses=statuses,
        as_of=as_of,
        kinds=walk_kinds("column", kinds),
        max_nodes=max_nodes,
    )


def find_path(
    session: Session,
    source: str,
    target: str,
    *,
    granularity: Granularity = "table",
    max_depth: int | None = DEFAULT_DEPTH,
    project_id: int | None = None,
    statuses: Collection[str] | None = store_graph.DEFAULT_STATUSES,
    as_of: int | None = None,
    kinds: Collection[str] | None = None,
    data_dir: Path | None = None,
) -> PathOut:
    """A shortest path along data flow from `source` to `target` (≤ max_depth hops; None: any),
    along the edge kinds the walks follow (`kinds` None: `NODE_WALK_KINDS` between objects,
    `COLUMN_WALK_KINDS` between columns): a path is found exactly when the target is in the
    source's downstream walk."""
    check_depth(max_depth)
    kinds = walk_kinds("column" if granularity == "column" else "node", kinds)
    h = _Hydrator(session, data_dir)
    if granularity == "table":
        a = resolve_object(session, source, project_id=project_id)
        b = resolve_object(session, target, project_id=project_id)
        ends = [
            store_graph.GraphNode(o.id, 0, o.id, o.canonical_id, o.kind, o.project_id, None) for o in (a, b)
        ]
    else:
        ca = resolve_column(session, source, project_id=project_id)
        cb = resolve_column(session, target, project_id=project_id)
        h.load_objects([ca.object_id, cb.object_id])
        ends = []
        for c in (ca, cb):
            o = h.objects[c.object_id]
            ends.append(
                store_graph.GraphNode(
                    c.id, 0, c.object_id, f"{o.canonical_id}.{c.name}", o.kind, o.project_id, c.name
                )
            )
    result = None
    if ends[0].project_id == ends[1].project_id:
        check_version(session, ends[0].project_id, as_of)
        result = store_graph.path(
            session,
            ends[0].id,
            ends[1].id,
            granularity=granularity,
            max_depth=max_depth,
            kinds=kinds,
            statuses=statuses,
            as_of=as_of,
        )
    nodes_in = result.nodes if result else []
    edges_in = result.edges if result else []
    h.prepare([*ends, *nodes_in], edges_in)
    names = {n.id: n.canonical_id for n in nodes_in}
    return PathOut(
        source=h.node(ends[0], hop=0),
        target=h.node(ends[1], hop=result.length if result else 0),
        found=result is not None,
        hops=result.length if result else None,
        granularity=granularity,
        nodes=[h.node(n) for n in nodes_in],
        edges=[h.edge(e, names) for e in edges_in],
    )


def impact(
    session: Session,
    ident: str | int,
    *,
    depth: int | None = DEFAULT_DEPTH,
    project_id: int | None = None,
    statuses: Collection[str] | None = store_graph.DEFAULT_STATUSES,
    as_of: int | None = None,
    kinds: Collection[str] | None = None,
    max_nodes: int | None = MAX_NODES,
) -> ImpactOut:
    """Everything downstream of an object, grouped by kind and hop (the full closure by default;
    the walk from an object: `kinds` None is `NODE_WALK_KINDS`)."""
    check_depth(depth)
    obj = resolve_object(session, ident, project_id=project_id)
    check_version(session, obj.project_id, as_of)
    imp = store_graph.impact(
        session,
        obj.id,
        depth=depth,
        kinds=walk_kinds("node", kinds),
        statuses=statuses,
        as_of=as_of,
        max_nodes=max_nodes,
    )
    flat = [n for per_kind in imp.by_hop.values() for ns in per_kind.values() for n in ns]
    h = _Hydrator(session)
    h.prepare(flat, [])
    groups: list[ImpactGroup] = []
    by_hop: dict[int, int] = {}
    for hop in sorted(imp.by_hop):
        for kind in sorted(imp.by_hop[hop]):
            members = sorted(imp.by_hop[hop][kind], key=lambda n: n.canonical_id)
            groups.append(
                ImpactGroup(kind=kind, hop=hop, count=len(members), nodes=[h.node(n) for n in members])
            )
            by_hop[hop] = by_hop.get(hop, 0) + len(members)
    return ImpactOut(
        root=_object_root(session, obj),
        depth=depth,
        total=imp.total,
        by_kind=dict(sorted(imp.by_kind.items())),
        by_hop=by_hop,
        groups=groups,
        truncated=imp.truncated,
        omitted=imp.omitted,
    )

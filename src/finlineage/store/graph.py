"""Lineage graph queries: upstream/downstream traversal, shortest path, impact.

Walks default to the full closure (``depth=None``); the only bound is a node cap
(``DEFAULT_NODE_CAP``, the ``walk_node_cap`` setting). Whenever a depth limit or the cap leaves
reachable nodes out, the answer says ``truncated`` and how many were ``omitted``.

Each traversal is ONE recursive CTE (plain SQL that runs unchanged on SQLite and
PostgreSQL)::

    WITH RECURSIVE walk(node_id, hop) AS (
        SELECT id, 0 FROM columns WHERE id IN (:start)          -- anchor (validates ids)
        UNION                                                   -- dedupe (node, hop) pairs
        SELECT e.source_column_id, w.hop + 1
        FROM walk w JOIN column_edges e ON e.target_column_id = w.node_id
        WHERE w.hop < :bound AND e.status IN (...) [AND e.kind IN (...)]
    ),
    reached AS (SELECT node_id, MIN(hop) AS hop FROM walk GROUP BY node_id)
    SELECT <node columns>, <edge columns>
    FROM reached r JOIN columns c ... JOIN objects o ...
    LEFT JOIN column_edges e ON e.target_column_id = r.node_id AND r.hop < :limit AND <filters>

Cycle safety: the recursion is bounded by a hop limit and ``UNION`` (not ``UNION ALL``) drops
duplicate ``(node, hop)`` rows, so a node reached along several equal-length paths is
expanded once per hop level. The full closure is found with a probing bound: the walk runs to
``B + 1`` hops; if no node's shortest distance is ``B + 1`` the closure is complete within ``B``
(a node farther away would have a predecessor at exactly ``B + 1``), otherwise ``B`` doubles. A
depth limit ``d`` runs to ``d + 1`` the same way: nodes at ``d + 1`` prove the answer is cut. The recursive step is served by the covering indexes
``ix_column_edges_up (target, source, status, kind)`` / ``ix_column_edges_down (source,
target, status, kind)`` (same for table edges) — index-only lookups. The final LEFT JOIN
returns, for every reached node closer than ``depth``, the edges that lead one hop further,
which is exactly the edge set of the bounded subgraph, with expression/file/lines; the full
closure (no depth limit) also joins the edges of its farthest nodes (a cross edge between two
columns at the largest hop is lineage too), and edges to nodes the node cap left out are dropped.

Edges never cross projects (objects belong to one project and columns to one object), so the
optional ``project_id`` filter is applied to the reached nodes only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from finlineage.store.models import EDGE_STATUSES, VISIBLE_STATUSES
from finlineage.store.versions import edge_visibility_sql

Direction = Literal["upstream", "downstream"]
Granularity = Literal["table", "column"]

DEFAULT_STATUSES: tuple[str, ...] = tuple(VISIBLE_STATUSES)
"""The statuses a walk follows unless told otherwise: observed + approved (proposed edges await
review, rejected edges are not lineage). ``statuses=None`` means exactly this everywhere in
``store/`` (:func:`store.versions.edge_visibility` is the one visibility rule, the walks use its SQL
twin); to include proposed or rejected edges pass them explicitly, e.g. ``ALL_STATUSES``. Every
walk also takes ``as_of``: None walks the current graph, a version number the facts valid in
that version."""
ALL_STATUSES: tuple[str, ...] = tuple(EDGE_STATUSES)
"""Every edge status, proposed and rejected included: the explicit value for "include rejected"."""


@dataclass(frozen=True, slots=True)
class GraphNode:
    id: int
    """Column id (column granularity) or object id (table granularity)."""
    hop: int
    object_id: int
    canonical_id: str
    """Object canonical id; for columns ``<object canonical id>.<column>``."""
    object_kind: str
    project_id: int
    column_name: str | None = None


@dataclass(frozen=True, slots=True)
class GraphEdge:
    id: int
    source_id: int
    target_id: int
    kind: str
    expression: str | None
    statement_index: int | None
    process_object_id: int | None
    file_id: int | None
    line_start: int | None
    line_end: int | None
    confidence: float
    origin: str
    status: str
    subtype: str | None = None
    formula: str | None = None
    steps: tuple[int, ...] = ()
    """Indexes of the file's statements that contributed (data-flow order)."""


DEFAULT_NODE_CAP = 10_000
"""Most nodes one walk returns (the ``walk_node_cap`` setting overrides it per call)."""
_FIRST_BOUND = 32


@dataclass(slots=True)
class Traversal:
    granularity: Granularity
    direction: Direction
    depth: int | None
    """The hop limit asked for; ``None``: the full closure."""
    roots: tuple[int, ...]
    nodes: list[GraphNode] = field(default_factory=list)
    edges: list[GraphEdge] = field(default_factory=list)
    truncated: bool = False
    """Reachable nodes were left out (depth limit or node cap)."""
    omitted: int = 0
    """How many reachable nodes were left out."""

    def node(self, node_id: int) -> GraphNode | None:
        for n in self.nodes:
            if n.id == node_id:
                return n
        return None

    @property
    def hops(self) -> dict[int, int]:
        return {n.id: n.hop for n in self.nodes}


@dataclass(slots=True)
class PathResult:
    granularity: Granularity
    nodes: list[GraphNode]
    edges: list[GraphEdge]

    @property
    def length(self) -> int:
        return len(self.edges)


@dataclass(slots=True)
class Impact:
    object_id: int
    depth: int | None
    by_hop: dict[int, dict[str, list[GraphNode]]]
    """hop → object kind → affected objects (the root itself is not included)."""
    by_kind: dict[str, int]
    total: int
    edges: list[GraphEdge]
    truncated: bool = False
    omitted: int = 0


# --------------------------------------------------------------------------------------
# SQL building
# --------------------------------------------------------------------------------------

_EDGE_COLS = (
    "e.id, e.kind, e.expression, e.statement_index, e.process_object_id, e.file_id, "
    "e.line_start, e.line_end, e.confidence, e.origin, e.status, e.subtype, e.formula, e.steps"
)


def _spec(granularity: Granularity, direction: Direction) -> dict[str, str]:
    if granularity == "column":
        table, src, tgt = "column_edges", "source_column_id", "target_column_id"
        anchor = "SELECT id, 0 FROM columns WHERE id IN :start"
        nodes = (
            "JOIN columns c ON c.id = r.node_id JOIN objects o ON o.id = c.object_id",
            "c.name",
        )
    else:
        table, src, tgt = "table_edges", "source_object_id", "target_object_id"
        anchor = "SELECT id, 0 FROM objects WHERE id IN :start"
        nodes = ("JOIN objects o ON o.id = r.node_id", "NULL")
    # upstream: from a target to its sources; downstream: from a source to its targets
    near, far = (tgt, src) if direction == "upstream" else (src, tgt)
    return {
        "table": table,
        "near": near,
        "far": far,
        "src": src,
        "tgt": tgt,
        "anchor": anchor,
        "node_join": nodes[0],
        "col_name": nodes[1],
    }


def _filters(
    statuses: Collection[str] | None, kinds: Collection[str] | None, as_of: int | None = None
) -> tuple[str, dict[str, Any]]:
    # the one visibility rule: statuses (None: observed + approved) and validity (the current
    # graph when as_of is None, else the facts valid in version ``as_of``)
    sql, params = edge_visibility_sql("e", statuses=statuses, as_of=as_of)
    if kinds is not None:
        sql += " AND e.kind IN :kinds"
        params["kinds"] = list(kinds)
    return sql, params


def _walk_cte(s: dict[str, str], filt: str, dialect: str) -> str:
    # SQLite: with ANALYZE statistics and a status/kind filter the planner over-estimates the
    # working set and builds a Bloom filter over the whole edge index on every recursive step
    # (~20 ms at 100k edges). ``likelihood()`` tells it the step is selective, which restores
    # the covering-index lookup (~10 us).
    bound = "likelihood(w.hop < :bound, 0.001)" if dialect == "sqlite" else "w.hop < :bound"
    return (
        "WITH RECURSIVE walk(node_id, hop) AS ("
        f" {s['anchor']}"
        " UNION"
        f" SELECT e.{s['far']}, w.hop + 1 FROM walk w"
        f" JOIN {s['table']} e ON e.{s['near']} = w.node_id"
        f" WHERE {bound}{filt}"
        "), reached AS (SELECT node_id, MIN(hop) AS hop FROM walk GROUP BY node_id) "
    )


def _bind(sql: str, params: dict[str, Any]) -> Any:
    stmt = text(sql)
    for key in ("start", "vis_statuses", "kinds"):
        if key in params:
            stmt = stmt.bindparams(bindparam(key, expanding=True))
    return stmt


def _make_edge(row: Any, offset: int, src: int, tgt: int) -> GraphEdge:
    r = tuple(row)
    return GraphEdge(
        id=int(r[offset]),
        source_id=src,
        target_id=tgt,
        kind=r[offset + 1],
        expression=r[offset + 2],
        statement_index=r[offset + 3],
        process_object_id=r[offset + 4],
        file_id=r[offset + 5],
        line_start=r[offset + 6],
        line_end=r[offset + 7],
        confidence=float(r[offset + 8]),
        origin=r[offset + 9],
        status=r[offset + 10],
        subtype=r[offset + 11],
        formula=r[offset + 12],
        steps=parse_steps(r[offset + 13]),
    )


def parse_steps(text_value: str | None) -> tuple[int, ...]:
    return tuple(int(x) for x in text_value.split()) if text_value else ()


# --------------------------------------------------------------------------------------
# traversal
# --------------------------------------------------------------------------------------


def _probe(limit: int | None, cap: int | None) -> list[int]:
    """Hop limits to try: ``limit`` (one walk), else doubling up to the node cap."""
    if limit is not None:
        return [limit]
    top = max(cap if cap is not None else DEFAULT_NODE_CAP, 1)
    out = [min(_FIRST_BOUND, top)]
    while out[-1] < top:
        out.append(min(out[-1] * 2, top))
    return out


def traverse(
    session: Session,
    start: int | Sequence[int],
    *,
    direction: Direction = "upstream",
    granularity: Granularity = "column",
    depth: int | None = None,
    project_id: int | None = None,
    kinds: Collection[str] | None = None,
    statuses: Collection[str] | None = DEFAULT_STATUSES,
    as_of: int | None = None,
    max_nodes: int | None = DEFAULT_NODE_CAP,
) -> Traversal:
    """Nodes reachable from ``start`` (column or object ids; several roots allowed) with their
    minimum hop distance (roots are hop 0), and the edges among them. ``depth=None`` walks the
    full closure; an int limits the hops. ``max_nodes`` caps the result (nearest hops first).
    Whenever reachable nodes are left out, ``truncated`` is set and ``omitted`` counts them.
    ``statuses``: the edge statuses followed (None: observed + approved, as every read in
    ``store/``; ``ALL_STATUSES`` to include proposed and rejected edges); ``kinds``: the edge
    kinds followed (None: every kind — the query layer passes its walk defaults explicitly)."""
    roots = (start,) if isinstance(start, int) else tuple(start)
    result = Traversal(granularity, direction, depth, roots)
    if not roots or (depth is not None and depth < 0):
        return result
    s = _spec(granularity, direction)
    filt, params = _filters(statuses, kinds, as_of)
    params["start"] = list(roots)
    proj = ""
    if project_id is not None:
        proj = " WHERE o.project_id = :project_id"
        params["project_id"] = project_id
    sql = (
        _walk_cte(s, filt, session.get_bind().dialect.name)
        + "SELECT r.node_id, r.hop, o.id, o.canonical_id, o.kind, o.project_id, "
        + f"{s['col_name']}, e.{s['src']}, e.{s['tgt']}, {_EDGE_COLS} "
        + f"FROM reached r {s['node_join']} "
        + f"LEFT JOIN {s['table']} e ON e.{s['near']} = r.node_id AND r.hop < :limit{filt}"
        + proj
        + " ORDER BY r.hop, r.node_id"
    )
    nodes: dict[int, GraphNode] = {}
    edges: dict[int, GraphEdge] = {}
    limit = 0
    beyond = False
    for limit in _probe(depth, max_nodes):
        # a depth limit keeps the edges that lead one hop further from nodes nearer than it; the
        # full closure also those of its farthest nodes (edges back among the reached nodes)
        params.update(bound=limit + 1, limit=limit if depth is not None else limit + 1)
        nodes, edges = {}, {}
        for row in session.execute(_bind(sql, params), params):
            node_id = int(row[0])
            if node_id not in nodes:
                col = row[6]
                canonical = row[3] if col is None else f"{row[3]}.{col}"
                nodes[node_id] = GraphNode(
                    id=node_id,
                    hop=int(row[1]),
                    object_id=int(row[2]),
                    canonical_id=canonical,
                    object_kind=row[4],
                    project_id=int(row[5]),
                    column_name=col,
                )
            if row[9] is not None:
                edges[int(row[9])] = _make_edge(row, 9, int(row[7]), int(row[8]))
        beyond = any(n.hop > limit for n in nodes.values())
        if not beyond or depth is not None or (max_nodes is not None and len(nodes) > max_nodes):
            break
    ordered = sorted((n for n in nodes.values() if n.hop <= limit), key=lambda n: (n.hop, n.id))
    if beyond:
        result.truncated = True
        closure = reach(
            session,
            roots,
            direction=direction,
            granularity=granularity,
            kinds=kinds,
            statuses=statuses,
            as_of=as_of,
        )
        result.omitted = max(len(closure) - len(ordered), 0)
    if max_nodes is not None and len(ordered) > max_nodes:
        result.truncated = True
        result.omitted += len(ordered) - max_nodes
        ordered = ordered[:max_nodes]
    keep = {n.id for n in ordered}
    result.nodes = ordered
    result.edges = sorted(
        (e for e in edges.values() if e.source_id in keep and e.target_id in keep), key=lambda e: e.id
    )
    return result


def upstream(session: Session, start: int | Sequence[int], **kwargs: Any) -> Traversal:
    return traverse(session, start, direction="upstream", **kwargs)


def downstream(session: Session, start: int | Sequence[int], **kwargs: Any) -> Traversal:
    return traverse(session, start, direction="downstream", **kwargs)


def reach(
    session: Session,
    start: int | Sequence[int],
    *,
    direction: Direction = "upstream",
    granularity: Granularity = "column",
    depth: int | None = None,
    kinds: Collection[str] | None = None,
    statuses: Collection[str] | None = DEFAULT_STATUSES,
    as_of: int | None = None,
    max_hops: int = DEFAULT_NODE_CAP,
) -> dict[int, int]:
    """Just ``{node_id: hop}`` of the walk (no details): the cheapest query. ``depth=None``: the
    full closure (probing hop bounds up to ``max_hops``)."""
    roots = [start] if isinstance(start, int) else list(start)
    if not roots:
        return {}
    s = _spec(granularity, direction)
    filt, params = _filters(statuses, kinds, as_of)
    params["start"] = roots
    sql = _walk_cte(s, filt, session.get_bind().dialect.name) + "SELECT node_id, hop FROM reached"
    found: dict[int, int] = {}
    for limit in _probe(depth, max_hops):
        params["bound"] = limit if depth is not None else limit + 1
        found = {int(a): int(b) for a, b in session.execute(_bind(sql, params), params)}
        if depth is not None or all(h <= limit for h in found.values()):
            return found
    return found


# --------------------------------------------------------------------------------------
# shortest path
# --------------------------------------------------------------------------------------


def path(
    session: Session,
    source: int,
    target: int,
    *,
    granularity: Granularity = "column",
    max_depth: int | None = None,
    kinds: Collection[str] | None = None,
    statuses: Collection[str] | None = DEFAULT_STATUSES,
    as_of: int | None = None,
) -> PathResult | None:
    """A shortest directed path along data flow from ``source`` to ``target`` (≤ ``max_depth``
    hops; ``None``: any length), or ``None``. Two bounded CTE walks: downstream from ``source`` gives the distance
    ``d``; upstream from ``target`` bounded by ``d`` keeps only nodes on shortest paths; the
    path is then threaded through those (lowest edge id first, deterministic)."""
    if source == target:
        t = traverse(
            session, source, granularity=granularity, depth=0, statuses=statuses, as_of=as_of, kinds=kinds
        )
        return PathResult(granularity, t.nodes, []) if t.nodes else None
    fwd = reach(
        session,
        source,
        direction="downstream",
        granularity=granularity,
        depth=max_depth,
        kinds=kinds,
        statuses=statuses,
        as_of=as_of,
    )
    if target not in fwd:
        return None
    d = fwd[target]
    back = reach(
        session,
        target,
        direction="upstream",
        granularity=granularity,
        depth=d,
        kinds=kinds,
        statuses=statuses,
        as_of=as_of,
    )
    on_path = {n for n, h in back.items() if n in fwd and fwd[n] + h == d}
    s = _spec(granularity, direction="downstream")
    filt, params = _filters(statuses, kinds, as_of)
    params["start"] = sorted(on_path)
    sql = (
        f"SELECT e.{s['src']}, e.{s['tgt']}, {_EDGE_COLS} FROM {s['table']} e "
        f"WHERE e.{s['src']} IN :start{filt} ORDER BY e.id"
    )
    out_edges: dict[int, list[GraphEdge]] = defaultdict(list)
    for row in session.execute(_bind(sql, params), params):
        src, tgt = int(row[0]), int(row[1])
        if tgt in on_path and fwd[tgt] == fwd[src] + 1:
            out_edges[src].append(_make_edge(row, 2, src, tgt))
    chain: list[GraphEdge] = []
    cur = source
    while cur != target:
        nxt = out_edges.get(cur)
        if not nxt:  # cannot happen with a consistent snapshot
            return None
        chain.append(nxt[0])
        cur = nxt[0].target_id
    ids = [source, *(e.target_id for e in chain)]
    detail = _node_details(session, ids, granularity)
    nodes = [
        GraphNode(n.id, hop, n.object_id, n.canonical_id, n.object_kind, n.project_id, n.column_name)
        for hop, n in enumerate(detail[i] for i in ids)
    ]
    return PathResult(granularity, nodes, chain)


def _node_details(session: Session, ids: Sequence[int], granularity: Granularity) -> dict[int, GraphNode]:
    if granularity == "column":
        sql = (
            "SELECT c.id, o.id, o.canonical_id, o.kind, o.project_id, c.name "
            "FROM columns c JOIN objects o ON o.id = c.object_id WHERE c.id IN :start"
        )
    else:
        sql = "SELECT o.id, o.id, o.canonical_id, o.kind, o.project_id, NULL FROM objects o WHERE o.id IN :start"
    params: dict[str, Any] = {"start": list(ids)}
    out: dict[int, GraphNode] = {}
    for row in session.execute(_bind(sql, params), params):
        col = row[5]
        canonical = row[2] if col is None else f"{row[2]}.{col}"
        out[int(row[0])] = GraphNode(int(row[0]), 0, int(row[1]), canonical, row[3], int(row[4]), col)
    return out


# --------------------------------------------------------------------------------------
# impact
# --------------------------------------------------------------------------------------


def impact(
    session: Session,
    object_id: int,
    *,
    depth: int | None = None,
    kinds: Collection[str] | None = None,
    statuses: Collection[str] | None = DEFAULT_STATUSES,
    as_of: int | None = None,
    max_nodes: int | None = DEFAULT_NODE_CAP,
) -> Impact:
    """Everything downstream of an object (table-level edges), grouped by hop and kind."""
    t = traverse(
        session,
        object_id,
        direction="downstream",
        granularity="table",
        depth=depth,
        kinds=kinds,
        statuses=statuses,
        as_of=as_of,
        max_nodes=max_nodes,
    )
    by_hop: dict[int, dict[str, list[GraphNode]]] = {}
    by_kind: dict[str, int] = defaultdict(int)
    for n in t.nodes:
        if n.hop == 0:
            continue
        by_hop.setdefault(n.hop, {}).setdefault(n.object_kind, []).append(n)
        by_kind[n.object_kind] += 1
    return Impact(
        object_id=object_id,
        depth=depth,
        by_hop=by_hop,
        by_kind=dict(by_kind),
        total=sum(by_kind.values()),
        edges=t.edges,
        truncated=t.truncated,
        omitted=t.omitted,
    )

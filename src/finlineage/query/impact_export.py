"""Impact and walk results as CSV (``format=csv``), for review in a spreadsheet.

One row per reached node (the root excluded): ``object, kind, column, hop, path, file, line``.
``path`` is the chain of names from the root to the node (`` > ``-separated, nearest way first,
along the walk's edges when the answer has them); ``file``/``line`` are where the node is defined.
A truncated answer ends with a row saying so.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from finlineage.query.schemas import GraphEdge, GraphNode, GraphOut, ImpactOut
from finlineage.query.spreadsheet import SafeWriter

CSV_HEADER = ("object", "kind", "column", "hop", "path", "file", "line")
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"


def _paths(
    roots: Sequence[GraphNode], nodes: Sequence[GraphNode], edges: Sequence[GraphEdge]
) -> dict[int, str]:
    """Breadth-first parents along the edges (either direction) from the roots."""
    names = {n.id: n.canonical_id for n in [*roots, *nodes]}
    adj: dict[int, list[int]] = {}
    for e in edges:
        adj.setdefault(e.source, []).append(e.target)
        adj.setdefault(e.target, []).append(e.source)
    out: dict[int, str] = {}
    frontier = []
    for r in roots:
        out[r.id] = r.canonical_id
        frontier.append(r.id)
    while frontier:
        nxt = []
        for nid in frontier:
            for other in sorted(adj.get(nid, ())):
                if other not in out and other in names:
                    out[other] = f"{out[nid]} > {names[other]}"
                    nxt.append(other)
        frontier = nxt
    return out


def _row(n: GraphNode, path: str) -> tuple[object, ...]:
    is_column = n.kind == "column"
    return (
        n.object_canonical_id or n.canonical_id if is_column else n.canonical_id,
        n.object_kind or n.kind if is_column else n.kind,
        n.name if is_column else "",
        n.hop,
        path,
        n.file or "",
        "" if n.line_start is None else n.line_start,
    )


def _write(rows: list[tuple[object, ...]], truncated: bool, omitted: int) -> str:
    buf = io.StringIO()
    w = SafeWriter(buf)
    w.writerow(CSV_HEADER)
    w.writerows(rows)
    if truncated:
        w.writerow((f"# truncated: {omitted} more node(s) not listed", "", "", "", "", "", ""))
    return buf.getvalue()


def graph_csv(g: GraphOut) -> str:
    roots = [*([g.root] if g.root is not None else []), *g.roots]
    root_ids = {r.id for r in roots}
    paths = _paths(roots, g.nodes, g.edges)
    nodes = sorted((n for n in g.nodes if n.id not in root_ids), key=lambda n: (n.hop, n.canonical_id))
    return _write([_row(n, paths.get(n.id, "")) for n in nodes], g.truncated, g.omitted)


def impact_csv(out: ImpactOut, edges: Sequence[GraphEdge] = ()) -> str:
    nodes = [n for grp in out.groups for n in grp.nodes if n.id != out.root.id]
    paths = _paths([out.root], nodes, edges)
    nodes.sort(key=lambda n: (n.hop, n.canonical_id))
    return _write([_row(n, paths.get(n.id, "")) for n in nodes], out.truncated, out.omitted)

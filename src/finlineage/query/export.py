"""Export of the lineage graph: OpenLineage run events, GraphML, Mermaid, DOT, CSV.

The graph is loaded with a constant number of queries (edges with their names joined in, then
the objects/columns in scope), then rendered in memory.

OpenLineage: one COMPLETE RunEvent per job (``query.openlineage_export``: jobs are routines,
views' defining statements and scripts; datasets live in their platform's namespace).
"""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from finlineage.query.common import Scope, check_scope, chunks, edge_model, edge_select
from finlineage.query.errors import InvalidQueryError
from finlineage.query.governance import check_version
from finlineage.query.openlineage_export import to_openlineage
from finlineage.query.schemas import Granularity
from finlineage.query.spreadsheet import SafeWriter
from finlineage.store.blobs import blob_path
from finlineage.store.graph import DEFAULT_STATUSES
from finlineage.store.models import CatalogObject, File, Project
from finlineage.store.versions import edge_visibility

ExportFormat = Literal["openlineage", "graphml", "mermaid", "dot", "csv"]
EXPORT_FORMATS: tuple[str, ...] = ("openlineage", "graphml", "mermaid", "dot", "csv")

MEDIA_TYPES: dict[str, str] = {
    "openlineage": "application/json",
    "graphml": "application/graphml+xml",
    "mermaid": "text/plain; charset=utf-8",
    "dot": "text/vnd.graphviz; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
}
EXTENSIONS: dict[str, str] = {
    "openlineage": "json",
    "graphml": "graphml",
    "mermaid": "mmd",
    "dot": "dot",
    "csv": "csv",
}

GRAPHML_NS = "http://graphml.graphdrawing.org/xmlns"


# --------------------------------------------------------------------------------------
# loading
# --------------------------------------------------------------------------------------


@dataclass(slots=True)
class XNode:
    key: str
    """Stable id in the export: ``o<object id>`` or ``c<column id>``."""
    id: int
    canonical_id: str
    kind: str
    project_id: int
    object_id: int
    object_canonical_id: str
    object_kind: str
    column: str | None = None


@dataclass(slots=True)
class ExportGraph:
    granularity: Granularity
    nodes: dict[str, XNode] = field(default_factory=dict)
    edges: list[Any] = field(default_factory=list)
    """Rows of `edge_select` (names, file path and process joined in)."""
    projects: dict[int, str] = field(default_factory=dict)
    objects: dict[int, tuple[str, str, int, str | None, int | None]] = field(default_factory=dict)
    """object id → (canonical_id, kind, project_id, definition, file_id)."""
    table_edges: list[Any] = field(default_factory=list)
    """Table-level edges, also loaded for column exports (OpenLineage inputs/outputs)."""

    def node_key(self, row: Any, side: str) -> str:
        prefix = "o" if self.granularity == "table" else "c"
        return f"{prefix}{getattr(row, side)}"


def _load_edges(
    session: Session,
    granularity: Granularity,
    scope: Scope,
    statuses: Collection[str] | None,
    as_of: int | None = None,
) -> list[Any]:
    model = edge_model(granularity)
    # the one visibility rule: statuses (None: observed + approved) in the current graph or version as_of
    stmt = edge_select(granularity).where(edge_visibility(model, statuses=statuses, as_of=as_of))
    if scope.project_id is not None:
        stmt = stmt.where(model.project_id == scope.project_id)
    if scope.repository_id is not None:
        stmt = stmt.where(File.repository_id == scope.repository_id)
    return list(session.execute(stmt.order_by(model.id)))


def load_graph(
    session: Session,
    scope: Scope,
    *,
    granularity: Granularity = "table",
    statuses: Collection[str] | None = DEFAULT_STATUSES,
    with_table_edges: bool = False,
    as_of: int | None = None,
) -> ExportGraph:
    check_scope(session, scope)
    if as_of is not None:
        if scope.project_id is None:
            raise InvalidQueryError("as_of needs project_id (versions are per project)")
        check_version(session, scope.project_id, as_of)
    g = ExportGraph(granularity)
    g.edges = _load_edges(session, granularity, scope, statuses, as_of)
    if granularity == "table":
        g.table_edges = g.edges
    elif with_table_edges:
        g.table_edges = _load_edges(session, "table", scope, statuses, as_of)

    # objects: every object in scope (isolated ones too) plus every edge endpoint / process
    obj_stmt = select(
        CatalogObject.id,
        CatalogObject.canonical_id,
        CatalogObject.kind,
        CatalogObject.project_id,
        CatalogObject.definition,
        CatalogObject.file_id,
    )
    wanted: set[int] = set()
    for r in [*g.edges, *g.table_edges]:
        wanted.update((int(r.source_object_id), int(r.target_object_id)))
        if r.process_object_id is not None:
            wanted.add(int(r.process_object_id))
    if scope.project_id is not None or scope.repository_id is not None:
        scoped = obj_stmt
        if scope.project_id is not None:
            scoped = scoped.where(CatalogObject.project_id == scope.project_id)
        if scope.repository_id is not None:
            scoped = scoped.where(
                CatalogObject.file_id.in_(select(File.id).where(File.repository_id == scope.repository_id))
            )
        rows = list(session.execute(scoped))
    else:
        rows = list(session.execute(obj_stmt))
    for oid, cid, kind, pid, definition, file_id in rows:
        g.objects[int(oid)] = (cid, kind, int(pid), definition, file_id)
    missing = sorted(wanted - set(g.objects))
    for part in chunks(missing):
        for oid, cid, kind, pid, definition, file_id in session.execute(
            obj_stmt.where(CatalogObject.id.in_(list(part)))
        ):
            g.objects[int(oid)] = (cid, kind, int(pid), definition, file_id)
    g.projects = {
        int(pid): name
        for pid, name in session.execute(
            select(Project.id, Project.name).where(Project.id.in_({v[2] for v in g.objects.values()} or {-1}))
        )
    }

    if granularity == "table":
        endpoints = _endpoint_ids(g.edges)
        for oid, (cid, kind, pid, _, _) in sorted(g.objects.items(), key=lambda kv: kv[1][0]):
            if kind in ("procedure", "function", "trigger") and oid not in endpoints:
                continue  # routines are processes (edge attributes), not datasets
            g.nodes[f"o{oid}"] = XNode(f"o{oid}", oid, cid, kind, pid, oid, cid, kind)
    else:
        # column nodes come straight from the edge rows (names joined in): no extra query
        for r in g.edges:
            for side in ("source", "target"):
                key = f"c{getattr(r, side)}"
                if key not in g.nodes:
                    oid = int(getattr(r, f"{side}_object_id"))
                    ocid, okind, pid, _, _ = g.objects[oid]
                    name = str(getattr(r, f"{side}_column"))
                    g.nodes[key] = XNode(
                        key, int(getattr(r, side)), f"{ocid}.{name}", "column", pid, oid, ocid, okind, name
                    )
        g.nodes = dict(sorted(g.nodes.items(), key=lambda kv: kv[1].canonical_id))
    return g


def _endpoint_ids(edges: list[Any]) -> set[int]:
    return {int(r.source_object_id) for r in edges} | {int(r.target_object_id) for r in edges}


# --------------------------------------------------------------------------------------
# CSV
# --------------------------------------------------------------------------------------

CSV_HEADER = (
    "granularity",
    "edge_id",
    "project",
    "source",
    "target",
    "source_object",
    "target_object",
    "kind",
    "expression",
    "file",
    "line_start",
    "line_end",
    "process",
    "confidence",
    "origin",
    "status",
)


def to_csv(g: ExportGraph) -> str:
    buf = io.StringIO()
    w = SafeWriter(buf)
    w.writerow(CSV_HEADER)
    for r in g.edges:
        src = g.nodes.get(g.node_key(r, "source"))
        tgt = g.nodes.get(g.node_key(r, "target"))
        w.writerow(
            (
                g.granularity,
                r.id,
                g.projects.get(int(r.project_id), ""),
                src.canonical_id if src else r.source_canonical,
                tgt.canonical_id if tgt else r.target_canonical,
                r.source_canonical,
                r.target_canonical,
                r.kind,
                r.expression or "",
                r.file_path or "",
                "" if r.line_start is None else r.line_start,
                "" if r.line_end is None else r.line_end,
                r.process or "",
                r.confidence,
                r.origin,
                r.status,
            )
        )
    return buf.getvalue()


# --------------------------------------------------------------------------------------
# GraphML
# --------------------------------------------------------------------------------------

_GRAPHML_NODE_KEYS = ("canonical_id", "kind", "project", "object", "column")
_GRAPHML_EDGE_KEYS = (
    "kind",
    "expression",
    "file",
    "line_start",
    "line_end",
    "process",
    "confidence",
    "origin",
    "status",
)


def to_graphml(g: ExportGraph) -> str:
    ET.register_namespace("", GRAPHML_NS)
    root = ET.Element(f"{{{GRAPHML_NS}}}graphml")
    types = {"line_start": "int", "line_end": "int", "confidence": "double"}
    for name in _GRAPHML_NODE_KEYS:
        ET.SubElement(
            root,
            f"{{{GRAPHML_NS}}}key",
            {"id": f"n_{name}", "for": "node", "attr.name": name, "attr.type": "string"},
        )
    for name in _GRAPHML_EDGE_KEYS:
        ET.SubElement(
            root,
            f"{{{GRAPHML_NS}}}key",
            {"id": f"e_{name}", "for": "edge", "attr.name": name, "attr.type": types.get(name, "string")},
        )
    graph = ET.SubElement(
        root, f"{{{GRAPHML_NS}}}graph", {"id": f"lineage-{g.granularity}", "edgedefault": "directed"}
    )

    def data(parent: ET.Element, key: str, value: object) -> None:
        if value is None or value == "":
            return
        el = ET.SubElement(parent, f"{{{GRAPHML_NS}}}data", {"key": key})
        el.text = str(value)

    for n in g.nodes.values():
        el = ET.SubElement(graph, f"{{{GRAPHML_NS}}}node", {"id": n.key})
        data(el, "n_canonical_id", n.canonical_id)
        data(el, "n_kind", n.kind)
        data(el, "n_project", g.projects.get(n.project_id))
        data(el, "n_object", n.object_canonical_id)
        data(el, "n_column", n.column)
    for r in g.edges:
        el = ET.SubElement(
            graph,
            f"{{{GRAPHML_NS}}}edge",
            {"id": f"e{r.id}", "source": g.node_key(r, "source"), "target": g.node_key(r, "target")},
        )
        data(el, "e_kind", r.kind)
        data(el, "e_expression", r.expression)
        data(el, "e_file", r.file_path)
        data(el, "e_line_start", r.line_start)
        data(el, "e_line_end", r.line_end)
        data(el, "e_process", r.process)
        data(el, "e_confidence", r.confidence)
        data(el, "e_origin", r.origin)
        data(el, "e_status", r.status)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# --------------------------------------------------------------------------------------
# Mermaid and DOT
# --------------------------------------------------------------------------------------


def _mermaid_label(text: str) -> str:
    return '"' + text.replace('"', "#quot;").replace("\n", " ") + '"'


def to_mermaid(g: ExportGraph) -> str:
    lines = ["flowchart LR"]
    if g.granularity == "table":
        for n in g.nodes.values():
            lines.append(f"    {n.key}[{_mermaid_label(n.canonical_id)}]:::{_css(n.kind)}")
    else:
        for oid, members in _by_object(g).items():
            lines.append(f"    subgraph o{oid}[{_mermaid_label(members[0].object_canonical_id)}]")
            for n in members:
                lines.append(f"        {n.key}[{_mermaid_label(n.column or n.canonical_id)}]")
            lines.append("    end")
    for r in g.edges:
        arrow = "-.->" if r.kind == "indirect" else "-->"
        lines.append(f"    {g.node_key(r, 'source')} {arrow} {g.node_key(r, 'target')}")
    if g.granularity == "table":
        for kind, style in _MERMAID_STYLES.items():
            lines.append(f"    classDef {kind} {style}")
    return "\n".join(lines) + "\n"


_MERMAID_STYLES = {
    "table": "fill:#e8f1fb,stroke:#2f6fb3",
    "view": "fill:#eaf7ea,stroke:#3a8a3a",
    "materialized_view": "fill:#eaf7ea,stroke:#3a8a3a,stroke-width:2px",
    "procedure": "fill:#fdf3e1,stroke:#b7791f",
    "function": "fill:#fdf3e1,stroke:#b7791f",
    "trigger": "fill:#fdf3e1,stroke:#b7791f",
    "synonym": "fill:#f3f3f3,stroke:#777",
    "external": "fill:#f7f7f7,stroke:#999,stroke-dasharray:4 2",
}


def _css(kind: str) -> str:
    return kind if kind in _MERMAID_STYLES else "table"


def _by_object(g: ExportGraph) -> dict[int, list[XNode]]:
    groups: dict[int, list[XNode]] = {}
    for n in sorted(g.nodes.values(), key=lambda n: (n.object_canonical_id, n.column or "")):
        groups.setdefault(n.object_id, []).append(n)
    return groups


def _dot_str(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


_DOT_SHAPES = {"view": "ellipse", "materialized_view": "doubleoctagon", "external": "box3d"}


def to_dot(g: ExportGraph) -> str:
    lines = ["digraph lineage {", "    rankdir=LR;", '    node [shape=box, fontname="Helvetica"];']
    if g.granularity == "table":
        for n in g.nodes.values():
            shape = _DOT_SHAPES.get(n.kind, "box")
            style = ', style="dashed"' if n.kind == "external" else ""
            lines.append(
                f"    {_dot_str(n.key)} [label={_dot_str(n.canonical_id)}, kind={_dot_str(n.kind)}, shape={shape}{style}];"
            )
    else:
        for oid, members in _by_object(g).items():
            lines.append(f"    subgraph {_dot_str(f'cluster_o{oid}')} {{")
            lines.append(f"        label={_dot_str(members[0].object_canonical_id)};")
            for n in members:
                lines.append(f"        {_dot_str(n.key)} [label={_dot_str(n.column or n.canonical_id)}];")
            lines.append("    }")
    for r in g.edges:
        attrs = [f"kind={_dot_str(r.kind)}"]
        if r.kind == "indirect":
            attrs.append("style=dashed")
        if r.expression and g.granularity == "column":
            attrs.append(f"tooltip={_dot_str(r.expression)}")
        lines.append(
            f"    {_dot_str(g.node_key(r, 'source'))} -> {_dot_str(g.node_key(r, 'target'))} [{', '.join(attrs)}];"
        )
    lines.append("}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------
# entry point
# --------------------------------------------------------------------------------------


def export(
    session: Session,
    fmt: ExportFormat,
    scope: Scope,
    *,
    granularity: Granularity | None = None,
    statuses: Collection[str] | None = DEFAULT_STATUSES,
    data_dir: Path | None = None,
    as_of: int | None = None,
) -> tuple[str, str, str]:
    """Render the graph in scope; returns ``(body, media type, file name)``.

    Default granularity: column for OpenLineage (the columnLineage facet), table otherwise.
    ``data_dir``: where the stored file copies are (OpenLineage ``sql`` facets of scripts).
    """
    gran: Granularity = granularity or ("column" if fmt == "openlineage" else "table")
    g = load_graph(
        session,
        scope,
        granularity=gran,
        statuses=statuses,
        with_table_edges=fmt == "openlineage",
        as_of=as_of,
    )
    if fmt == "openlineage":
        events = to_openlineage(session, g, read_text=_text_reader(data_dir))
        body = json.dumps(events, indent=2, ensure_ascii=False) + "\n"
    elif fmt == "graphml":
        body = to_graphml(g)
    elif fmt == "mermaid":
        body = to_mermaid(g)
    elif fmt == "dot":
        body = to_dot(g)
    else:
        body = to_csv(g)
    stem = "lineage"
    if scope.project_id is not None:
        stem += f"-p{scope.project_id}"
    if scope.repository_id is not None:
        stem += f"-r{scope.repository_id}"
    return body, MEDIA_TYPES[fmt], f"{stem}-{gran}.{EXTENSIONS[fmt]}"


def _text_reader(data_dir: Path | None) -> Any:
    if data_dir is None:
        return None

    def read(sha: str) -> str | None:
        try:
            return blob_path(data_dir, sha).read_bytes().decode("utf-8", errors="replace").lstrip("\ufeff")
        except (OSError, ValueError):
            return None

    return read

"""Marquez-compatible lineage reads: ``GET /api/v1/lineage`` and ``GET /api/v1/column-lineage``.

Node ids are Marquez's: ``dataset:<namespace>:<name>``, ``datasetField:<namespace>:<name>:<field>``
and ``job:<namespace>:<name>``. Namespaces contain ``:`` (``mssql://sql-host:1433``), so ids are
parsed from the right (names and fields carry no ``:``). Responses have Marquez's shape
``{"graph": [{"id", "type", "data", "inEdges", "outEdges"}]}`` with node types ``DATASET``,
``JOB`` and ``DATASET_FIELD``, plus ``truncated``/``omitted`` when the node cap left nodes out.

Walks are the graph reads of ``query.lineage`` (upstream and downstream of the node, the same
calls and defaults as the API and chat: the full closure unless ``depth`` is given, capped at
the node cap), so the three never disagree. Namespaces, names and jobs follow the OpenLineage
export's rules (``query.openlineage_export``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from finlineage.query import lineage as walks
from finlineage.query import marquez_shapes as shape
from finlineage.query import marquez_versions as versions
from finlineage.query.common import chunks, load_edges
from finlineage.query.errors import InvalidQueryError, not_found
from finlineage.query.export import ExportGraph
from finlineage.query.openlineage_export import (
    ROUTINE_KINDS,
    _Context,
    _JobResolver,
    _load_context,
    transformation,
)
from finlineage.query.schemas import DEFAULT_DEPTH, GraphOut
from finlineage.store import graph as store_graph
from finlineage.store import openlineage as names
from finlineage.store.models import CatalogObject, Column, File, OLDataset, OLJob, Project, TableEdge
from finlineage.store.versions import edge_visibility

MAX_NODES = walks.MAX_NODES


@dataclass(frozen=True, slots=True)
class NodeId:
    type: str
    """dataset, datasetField or job."""
    namespace: str
    name: str
    field: str | None = None


def parse_node_id(raw: str) -> NodeId:
    kind, sep, rest = raw.partition(":")
    if not sep or kind not in ("dataset", "datasetField", "job"):
        raise InvalidQueryError(
            f"nodeId {raw!r}: expected dataset:<namespace>:<name>, datasetField:<namespace>:<name>:<field> "
            "or job:<namespace>:<name>"
        )
    parts = rest.rsplit(":", 2 if kind == "datasetField" else 1)
    if len(parts) != (3 if kind == "datasetField" else 2) or not all(parts):
        raise InvalidQueryError(f"nodeId {raw!r} is incomplete")
    if kind == "datasetField":
        return NodeId(kind, parts[0], parts[1], parts[2])
    return NodeId(kind, parts[0], parts[1])


def resolve_node_id(session: Session, raw: str) -> NodeId:
    """``parse_node_id``, and when that split names no known dataset or received job, the other
    splits at a ``:`` (right to left): a name may hold ``:`` too (a timestamped S3 key, a legacy
    BigQuery ``project:dataset.table``). The first that names something wins; else the parse."""
    node = parse_node_id(raw)
    if _names_something(session, node):
        return node
    rest = raw.partition(":")[2]
    field = node.field
    if field is not None:
        rest = rest[: -len(field) - 1]
    cuts = [i for i, ch in enumerate(rest) if ch == ":"]
    for i in reversed(cuts[:-1]):
        if rest[:i] and rest[i + 1 :]:
            other = NodeId(node.type, rest[:i], rest[i + 1 :], field)
            if _names_something(session, other):
                return other
    return node


def _names_something(session: Session, node: NodeId) -> bool:
    if node.type == "job":
        return names.get_job(session, node.namespace, node.name) is not None
    return find_dataset_object(session, node.namespace, node.name) is not None


def find_dataset_object(session: Session, namespace: str, name: str) -> int | None:
    """The object a dataset id denotes: a received dataset, else the name in a project owning a
    repository with that namespace's authority (any project for authority-less namespaces)."""
    known = names.find_dataset(session, namespace, name)
    if known is not None:
        return known.object_id
    pids = names.projects_for_namespace(session, namespace)
    _scheme, authority = names.split_namespace(namespace)
    stmt = select(CatalogObject.id).where(
        func.lower(CatalogObject.canonical_id) == name.lower(), CatalogObject.kind.not_in(ROUTINE_KINDS)
    )
    if authority:
        if not pids:
            return None
        stmt = stmt.where(CatalogObject.project_id.in_(pids))
    oid = session.scalar(stmt.order_by(CatalogObject.project_id, CatalogObject.id).limit(1))
    return int(oid) if oid is not None else None


# --------------------------------------------------------------------------------------
# namespaces of objects (the export's rules on part of the graph)
# --------------------------------------------------------------------------------------


def graph_for(session: Session, edge_rows: list[Any], object_ids: Collection[int]) -> ExportGraph:
    """An export graph of some edges and objects (what ``openlineage_export`` reads)."""
    g = ExportGraph("table")
    g.edges = edge_rows
    g.table_edges = edge_rows
    wanted = set(object_ids)
    for r in edge_rows:
        wanted.update((int(r.source_object_id), int(r.target_object_id)))
        if r.process_object_id is not None:
            wanted.add(int(r.process_object_id))
    for part in chunks(sorted(wanted)):
        for oid, cid, kind, pid, definition, file_id in session.execute(
            select(
                CatalogObject.id,
                CatalogObject.canonical_id,
                CatalogObject.kind,
                CatalogObject.project_id,
                CatalogObject.definition,
                CatalogObject.file_id,
            ).where(CatalogObject.id.in_(list(part)))
        ):
            g.objects[int(oid)] = (cid, kind, int(pid), definition, file_id)
    pids = {v[2] for v in g.objects.values()} or {-1}
    g.projects = {
        int(i): n for i, n in session.execute(select(Project.id, Project.name).where(Project.id.in_(pids)))
    }
    return g


def touching_edges(
    session: Session, object_ids: Collection[int], statuses: Collection[str] | None = None
) -> list[int]:
    """Visible table edges with an endpoint among ``object_ids`` (an object without a file of
    its own is named in the namespace of the first file that references it)."""
    out: set[int] = set()
    for part in chunks(sorted(set(object_ids))):
        out.update(
            int(i)
            for i in session.scalars(
                select(TableEdge.id).where(
                    or_(
                        TableEdge.source_object_id.in_(list(part)), TableEdge.target_object_id.in_(list(part))
                    ),
                    edge_visibility(TableEdge, statuses=statuses),
                )
            )
        )
    return sorted(out)


def dataset_context(
    session: Session, object_ids: Collection[int], edge_rows: list[Any] | None = None
) -> tuple[ExportGraph, _Context]:
    """Export graph and context of some objects, with every edge that decides their namespace."""
    rows = list(edge_rows or [])
    have = {int(r.id) for r in rows}
    homeless = [
        int(o)
        for part in chunks(sorted(set(object_ids)))
        for o in session.scalars(
            select(CatalogObject.id).where(CatalogObject.id.in_(list(part)), CatalogObject.file_id.is_(None))
        )
    ]
    extra = [i for i in touching_edges(session, homeless) if i not in have]
    rows += load_edges(session, "table", extra)
    g = graph_for(session, rows, object_ids)
    return g, _load_context(session, g)


def stamps(session: Session, object_ids: Iterable[int]) -> dict[int, tuple[datetime, datetime]]:
    """``object id → (created_at, updated_at)``."""
    out: dict[int, tuple[datetime, datetime]] = {}
    for part in chunks(sorted(set(object_ids))):
        for oid, created, updated in session.execute(
            select(CatalogObject.id, CatalogObject.created_at, CatalogObject.updated_at).where(
                CatalogObject.id.in_(list(part))
            )
        ):
            out[int(oid)] = (created, updated)
    return out


def edge_stamps(session: Session, edge_ids: Iterable[int]) -> dict[int, datetime]:
    out: dict[int, datetime] = {}
    for part in chunks(sorted(set(edge_ids))):
        for eid, created in session.execute(
            select(TableEdge.id, TableEdge.created_at).where(TableEdge.id.in_(list(part)))
        ):
            out[int(eid)] = created
    return out


# --------------------------------------------------------------------------------------
# lineage
# --------------------------------------------------------------------------------------


def job_edges(
    session: Session, node: NodeId, statuses: Collection[str] | None
) -> tuple[list[Any], ExportGraph, _Context]:
    """The visible table edges that make up job ``node`` (the export's job of each edge)."""
    own, g, ctx = jobs_edges(session, [node], statuses)
    return own[(node.namespace, node.name)], g, ctx


def jobs_edges(
    session: Session, nodes: Sequence[NodeId], statuses: Collection[str] | None
) -> tuple[dict[tuple[str, str], list[Any]], ExportGraph, _Context]:
    """The visible table edges that make up each job of ``nodes`` (the export's job of each
    edge), read together: the edges of routines, views and files of their names, and those into
    the datasets producers said they read or wrote."""
    vis = edge_visibility(TableEdge, statuses=statuses)
    routines: set[int] = set()
    targets: set[int] = set()
    files: set[int] = set()
    for node in nodes:
        received = names.get_job(session, node.namespace, node.name)
        if received is not None:
            for ns, name in [*(received.inputs or []), *(received.outputs or [])]:
                oid = find_dataset_object(session, ns, name)
                if oid is not None:
                    targets.add(oid)
            if received.process_object_id is not None:
                targets.add(int(received.process_object_id))
                routines.add(int(received.process_object_id))
        stem = node.name.lower()  # a script's job is named after its file's stem
        files.update(
            int(fid)
            for fid, path in session.execute(
                select(File.id, File.path).where(func.lower(File.path).contains(stem, autoescape=True))
            )
            if PurePosixPath(str(path)).stem.lower() == stem
        )
    lowered = sorted({n.name.lower() for n in nodes})
    for names_part in chunks(lowered):
        for oid, kind in session.execute(
            select(CatalogObject.id, CatalogObject.kind).where(
                func.lower(CatalogObject.canonical_id).in_(list(names_part))
            )
        ):
            (routines if kind in ROUTINE_KINDS else targets).add(int(oid))
    ids: set[int] = set()
    for part in chunks(sorted(routines)):
        ids.update(session.scalars(select(TableEdge.id).where(TableEdge.process_object_id.in_(part), vis)))
    for part in chunks(sorted(targets)):
        ids.update(session.scalars(select(TableEdge.id).where(TableEdge.target_object_id.in_(part), vis)))
    for part in chunks(sorted(files)):
        ids.update(session.scalars(select(TableEdge.id).where(TableEdge.file_id.in_(part), vis)))
    rows = load_edges(session, "table", sorted(int(i) for i in ids))
    g, ctx = dataset_context(
        session, {int(v) for r in rows for v in (r.source_object_id, r.target_object_id)}, rows
    )
    resolver = _JobResolver(g, ctx, None)
    own: dict[tuple[str, str], list[Any]] = {(n.namespace, n.name): [] for n in nodes}
    for r in rows:
        if int(r.source_object_id) not in ctx.datasets or int(r.target_object_id) not in ctx.datasets:
            continue
        job = resolver.job_for(r)
        mine = own.get((job.namespace, job.name))
        if mine is not None:
            mine.append(r)
    return own, g, ctx


def lineage(
    session: Session,
    node_id: str,
    *,
    depth: int | None = DEFAULT_DEPTH,
    max_nodes: int | None = MAX_NODES,
    statuses: Collection[str] | None = store_graph.DEFAULT_STATUSES,
) -> dict[str, Any]:
    """Marquez ``GET /api/v1/lineage``: the datasets and jobs upstream and downstream of a node
    (of a job: upstream of its inputs, downstream of its outputs, and the job itself)."""
    node = resolve_node_id(session, node_id)
    walked: list[GraphOut] = []
    own: list[Any] = []
    starts: set[int] = set()

    def walk(oid: int, direction: store_graph.Direction) -> None:
        walked.append(
            walks.node_lineage(session, oid, direction, depth=depth, max_nodes=max_nodes, statuses=statuses)
        )

    if node.type == "job":
        own, _g, _ctx = job_edges(session, node, statuses)
        inputs = sorted({int(r.source_object_id) for r in own})
        outputs = sorted({int(r.target_object_id) for r in own})
        if not own:
            received = names.get_job(session, node.namespace, node.name)
            if received is None:
                raise not_found("node", node_id)
            for key, bucket in ((received.inputs, inputs), (received.outputs, outputs)):
                for ns, name in key or []:
                    oid = find_dataset_object(session, ns, name)
                    if oid is not None:
                        bucket.append(oid)
        for oid in inputs:
            walk(oid, "upstream")
        for oid in outputs:
            walk(oid, "downstream")
        starts = set(inputs) | set(outputs)
    else:
        found = find_dataset_object(session, node.namespace, node.name)
        if found is None:
            raise not_found("node", node_id)
        starts = {found}
        walk(found, "upstream")
        walk(found, "downstream")
    edge_ids = {e.id for w in walked for e in w.edges} | {int(r.id) for r in own}
    reached = starts | {n.object_id for w in walked for n in w.nodes if n.object_id is not None}
    rows = load_edges(session, "table", sorted(edge_ids))
    start_job = (node.namespace, node.name) if node.type == "job" else None
    out = _graph(session, rows, reached, leaf_jobs=depth != 0 or start_job is not None, start_job=start_job)
    truncated = any(w.truncated for w in walked)
    out["truncated"] = truncated
    out["omitted"] = sum(w.omitted for w in walked)
    return out


def _graph(
    session: Session,
    rows: list[Any],
    reached: Collection[int],
    *,
    leaf_jobs: bool = False,
    start_job: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """The Marquez graph of table edges ``rows`` over objects ``reached``. ``leaf_jobs``: also
    every received job linked to each reached dataset it names as input or output, edges or not
    (a job that only writes, only reads, or reads what no column lineage links); ``start_job``
    always appears."""
    job_io = _received_io(session, reached, start_job) if leaf_jobs else []
    more = {oid for _key, reads, writes in job_io for oid in (*reads, *writes)}
    g, ctx = dataset_context(session, set(reached) | more, rows)
    resolver = _JobResolver(g, ctx, None)
    times = stamps(session, ctx.datasets)
    edge_times = edge_stamps(session, [int(r.id) for r in rows])
    nodes: dict[str, dict[str, Any]] = {}
    job_times: dict[str, list[datetime]] = {}

    sent = _received_facets(session, ctx.datasets)

    def dataset_node(oid: int) -> str | None:
        key = ctx.datasets.get(oid)
        if key is None:
            return None
        nid = shape.node_id("dataset", *key)
        if nid not in nodes:
            created, updated = times.get(oid, (None, None))
            facets = sent.get((key[0], key[1].lower()), {})
            docs = shape.field_docs(facets)
            fields = [
                shape.field_out(n, t, ctx.column_docs.get((oid, n)) or docs.get(n))
                for n, _, t in ctx.columns.get(oid, [])
            ]
            if oid in g.objects and g.objects[oid][4] is None:  # no parsed file defines it
                fields = shape.sent_fields(facets) or fields  # its producer's latest word
            data = shape.dataset_out(
                key[0],
                key[1],
                fields=fields,
                created=created,
                updated=updated,
                facets=facets,
                description=ctx.descriptions.get(oid),
            )
            for extra in ("facets", "currentVersion", "deleted"):
                data.pop(extra, None)
            nodes[nid] = {"id": nid, "type": "DATASET", "data": data, "inEdges": [], "outEdges": []}
        return nid

    def link(origin: str, destination: str) -> None:
        edge = {"origin": origin, "destination": destination}
        if edge not in nodes[origin]["outEdges"]:
            nodes[origin]["outEdges"].append(edge)
        if edge not in nodes[destination]["inEdges"]:
            nodes[destination]["inEdges"].append(edge)

    for oid in sorted(reached):
        if oid in g.objects:
            dataset_node(oid)
    jobs: dict[str, tuple[str, str, set[tuple[str, str]], set[tuple[str, str]]]] = {}
    for r in rows:
        src, tgt = dataset_node(int(r.source_object_id)), dataset_node(int(r.target_object_id))
        if src is None or tgt is None:
            continue
        job = resolver.job_for(r)
        jid = shape.node_id("job", job.namespace, job.name)
        entry = jobs.setdefault(jid, (job.namespace, job.name, set(), set()))
        entry[2].add(ctx.datasets[int(r.source_object_id)])
        entry[3].add(ctx.datasets[int(r.target_object_id)])
        if int(r.id) in edge_times:
            job_times.setdefault(jid, []).append(edge_times[int(r.id)])
        if jid not in nodes:
            nodes[jid] = {"id": jid, "type": "JOB", "data": {}, "inEdges": [], "outEdges": []}
        link(src, jid)
        link(jid, tgt)
    for (ns, name), reads, writes in job_io:
        jid = shape.node_id("job", ns, name)
        entry = jobs.setdefault(jid, (ns, name, set(), set()))
        nodes.setdefault(jid, {"id": jid, "type": "JOB", "data": {}, "inEdges": [], "outEdges": []})
        for oid in reads:
            src = dataset_node(oid)
            if src is not None:
                entry[2].add(ctx.datasets[oid])
                link(src, jid)
        for oid in writes:
            tgt = dataset_node(oid)
            if tgt is not None:
                entry[3].add(ctx.datasets[oid])
                link(jid, tgt)
    from finlineage.query.marquez_runs import Runs  # it reads datasets through this module

    received = _received_jobs(session, [(ns, n) for ns, n, _, _ in jobs.values()])
    latest = [(run, job) for job, run in received.values() if run is not None]
    shaped = {
        (j.namespace, j.name): out for (_r, j), out in zip(latest, Runs(session).shape(latest), strict=True)
    }
    for jid, (ns, name, ins, outs) in jobs.items():
        seen = job_times.get(jid) or []
        ol = received.get((ns, name))
        runs = [shaped[(ns, name)]] if (ns, name) in shaped else []
        data = shape.job_out(
            ns,
            name,
            inputs=ins,
            outputs=outs,
            facets=ol[0].facets if ol else None,
            created=min(seen) if seen else (ol[0].created_at if ol else None),
            updated=max(seen) if seen else (ol[0].updated_at if ol else None),
            latest_runs=runs,
        )
        for extra in ("facets", "currentVersion", "latestRuns", "tags", "labels"):
            data.pop(extra, None)
        nodes[jid]["data"] = data
    return {"graph": sorted(nodes.values(), key=lambda n: n["id"])}


def _received_io(
    session: Session, reached: Collection[int], start_job: tuple[str, str] | None
) -> list[tuple[tuple[str, str], list[int], list[int]]]:
    """Received jobs naming some ``reached`` object as input or output, with the objects of
    their datasets as (inputs, outputs), edges or not (a job that only writes or only reads, an
    input no column lineage links). A job on a walked path (a reached input and a reached
    output) or the start job brings all its datasets, one job hop like the edges' jobs; any
    other only its reached ones, so a depth limit holds. The start job appears even naming
    none. Datasets are matched as the events' were (``ol_datasets``)."""
    seen: dict[tuple[str, str], int] = {}
    for part in chunks(sorted(reached)):
        for oid, ns, name in session.execute(
            select(OLDataset.object_id, OLDataset.namespace, OLDataset.name).where(
                OLDataset.object_id.in_(list(part))
            )
        ):
            seen[(str(ns), str(name))] = int(oid)
    found: list[tuple[tuple[str, str], list[list[str]], list[list[str]], bool]] = []
    stmt = select(OLJob.namespace, OLJob.name, OLJob.inputs, OLJob.outputs).order_by(OLJob.id)
    narrow = versions.naming(seen, OLJob.inputs, OLJob.outputs)
    if narrow is not None and start_job is not None:
        narrow = or_(narrow, (OLJob.namespace == start_job[0]) & (OLJob.name == start_job[1]))
    for ns, name, inputs, outputs in session.execute(stmt if narrow is None else stmt.where(narrow)):
        key = (str(ns), str(name))
        ins = [(str(a), str(b)) for a, b in inputs or []]
        outs = [(str(a), str(b)) for a, b in outputs or []]
        hit_in, hit_out = any(k in seen for k in ins), any(k in seen for k in outs)
        if hit_in or hit_out or key == start_job:
            found.append((key, inputs or [], outputs or [], (hit_in and hit_out) or key == start_job))
    wanted = {(str(a), str(b)) for _k, i, o, whole in found if whole for a, b in (*i, *o)}
    where = dict(seen)
    for k, row in names.dataset_map(session, [k for k in wanted if k not in seen]).items():
        where[k] = int(row.object_id)
    out: list[tuple[tuple[str, str], list[int], list[int]]] = []
    for key, inputs, outputs, whole in found:
        known = where if whole else seen
        reads = [known[(str(a), str(b))] for a, b in inputs if (str(a), str(b)) in known]
        writes = [known[(str(a), str(b))] for a, b in outputs if (str(a), str(b)) in known]
        out.append((key, reads, writes))
    return out


def _received_facets(session: Session, datasets: Mapping[int, tuple[str, str]]) -> dict[Any, dict[str, Any]]:
    """``(namespace, lower-case name) → facets`` producers sent for these datasets (by object)."""
    out: dict[Any, dict[str, Any]] = {}
    for part in chunks(sorted(datasets)):
        for ns, name, facets in session.execute(
            select(OLDataset.namespace, OLDataset.name, OLDataset.facets).where(
                OLDataset.object_id.in_(list(part))
            )
        ):
            if facets:
                out[(ns, str(name).lower())] = dict(facets)
    return out


def _received_jobs(session: Session, keys: list[tuple[str, str]]) -> dict[tuple[str, str], tuple[OLJob, Any]]:
    """Jobs among ``keys`` that also arrived as OpenLineage events, with their latest run."""
    if not keys:
        return {}
    wanted = set(keys)
    rows = {
        (j.namespace, j.name): j
        for part in chunks(sorted({n for _, n in wanted}))
        for j in session.scalars(select(OLJob).where(OLJob.name.in_(list(part))))
        if (j.namespace, j.name) in wanted
    }
    latest = names.latest_runs(session, [j.id for j in rows.values()])
    return {k: (j, latest.get(j.id)) for k, j in rows.items()}


# --------------------------------------------------------------------------------------
# column lineage
# --------------------------------------------------------------------------------------


MARQUEZ_COLUMN_KINDS = walks.ALL_KINDS
"""Marquez's column lineage lists every input field with its transformations, INDIRECT ones
(joins, filters, grouping) included, so this walk follows every edge kind, unlike the API's
own column walk (data flow only)."""


def column_lineage(
    session: Session,
    node_id: str,
    *,
    depth: int | None = DEFAULT_DEPTH,
    with_downstream: bool = False,
    max_nodes: int | None = MAX_NODES,
    statuses: Collection[str] | None = store_graph.DEFAULT_STATUSES,
) -> dict[str, Any]:
    """Marquez ``GET /api/v1/column-lineage``: DATASET_FIELD nodes upstream of a field (or of
    every field of a dataset), downstream too with ``withDownstream``."""
    node = resolve_node_id(session, node_id)
    if node.type == "job":
        raise InvalidQueryError("column lineage starts at a dataset or a dataset field, not a job")
    oid = find_dataset_object(session, node.namespace, node.name)
    if oid is None:
        raise not_found("node", node_id)
    directions: list[store_graph.Direction] = ["upstream", "downstream"] if with_downstream else ["upstream"]
    walked: list[GraphOut] = []
    if node.field is not None:
        col = session.scalar(
            select(Column.id)
            .where(Column.object_id == oid, func.lower(Column.name) == node.field.lower())
            .order_by(Column.id)
            .limit(1)
        )
        if col is None:
            raise not_found("node", node_id)
        for d in directions:
            walked.append(
                walks.column_lineage(
                    session,
                    int(col),
                    d,
                    depth=depth,
                    max_nodes=max_nodes,
                    statuses=statuses,
                    kinds=MARQUEZ_COLUMN_KINDS,
                )
            )
    else:
        for d in directions:
            walked.append(
                walks.node_lineage(
                    session,
                    oid,
                    d,
                    depth=depth,
                    granularity="column",
                    max_nodes=max_nodes,
                    statuses=statuses,
                    kinds=MARQUEZ_COLUMN_KINDS,
                )
            )
    graph_nodes = {n.id: n for w in walked for n in w.nodes}
    graph_edges = {e.id: e for w in walked for e in w.edges}
    _g, ctx = dataset_context(session, {n.object_id for n in graph_nodes.values() if n.object_id} | {oid})
    types: dict[int, str | None] = {}
    for part in chunks(sorted(graph_nodes)):
        for cid, dtype in session.execute(
            select(Column.id, Column.data_type).where(Column.id.in_(list(part)))
        ):
            types[int(cid)] = dtype
    nodes: dict[int, dict[str, Any]] = {}

    def field_node(cid: int) -> dict[str, Any] | None:
        if cid in nodes:
            return nodes[cid]
        n = graph_nodes.get(cid)
        if n is None or n.object_id is None or n.object_id not in ctx.datasets:
            return None
        ns, name = ctx.datasets[n.object_id]
        nodes[cid] = {
            "id": f"datasetField:{ns}:{name}:{n.name}",
            "type": "DATASET_FIELD",
            "data": {
                "namespace": ns,
                "dataset": name,
                "datasetVersion": None,
                "field": n.name,
                "fieldType": types.get(cid),
                "transformationDescription": None,
                "transformationType": None,
                "inputFields": [],
            },
            "inEdges": [],
            "outEdges": [],
        }
        return nodes[cid]

    for cid in sorted(graph_nodes):
        field_node(cid)
    for e in sorted(graph_edges.values(), key=lambda e: e.id):
        src, tgt = field_node(e.source), field_node(e.target)
        if src is None or tgt is None:
            continue
        t = transformation(e.kind, e.subtype, e.expression, str(src["data"]["field"]))
        d = tgt["data"]
        d["inputFields"].append(
            shape.input_field(src["data"]["namespace"], src["data"]["dataset"], src["data"]["field"], t)
        )
        d["transformationType"], d["transformationDescription"] = shape.summarise(d["inputFields"])
        edge = {"origin": src["id"], "destination": tgt["id"]}
        if edge not in src["outEdges"]:
            src["outEdges"].append(edge)
        if edge not in tgt["inEdges"]:
            tgt["inEdges"].append(edge)
    return {
        "graph": sorted(nodes.values(), key=lambda n: n["id"]),
        "truncated": any(w.truncated for w in walked),
        "omitted": sum(w.omitted for w in walked),
    }

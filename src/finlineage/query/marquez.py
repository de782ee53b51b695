"""Marquez-compatible lineage reads: ``GET /api/v1/lineage`` and ``GET /api/v1/column-lineage``.

Node ids are Marquez's: ``dataset:<namespace>:<name>``, ``datasetField:<namespace>:<name>:<field>``
and ``job:<namespace>:<name>``. Namespaces contain ``:`` (``mssql://sql-host:1433``), so ids are
parsed from the right (names and fields carry no ``:``). Responses have Marquez's shape
``{"graph": [{"id", "type", "data", "inEdges", "outEdges"}]}`` with node types ``DATASET``,
``JOB`` and ``DATASET_FIELD``. Namespaces, names and jobs are the OpenLineage export's
(``query.openlineage_export``), and the walk is the store's one traversal (``store.graph``).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from finlineage.query.common import Scope, chunks, load_edges
from finlineage.query.errors import InvalidQueryError, not_found
from finlineage.query.export import ExportGraph
from finlineage.query.openlineage_export import ROUTINE_KINDS, _JobResolver, _load_context, transformation
from finlineage.store import graph as store_graph
from finlineage.store import openlineage as names
from finlineage.store.models import (
    CatalogObject,
    Column,
    ColumnEdge,
    File,
    OLDataset,
    OLJob,
    Project,
    Repository,
)
from finlineage.store.versions import edge_visibility

MAX_DEPTH = 50
BOTH: tuple[store_graph.Direction, ...] = ("upstream", "downstream")


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


def _graph_for(session: Session, edge_rows: list[Any], object_ids: Collection[int]) -> ExportGraph:
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


def _dataset_id(key: tuple[str, str]) -> str:
    return f"dataset:{key[0]}:{key[1]}"


def _job_start(session: Session, node: NodeId) -> list[int]:
    """Objects next to a job: its OpenLineage inputs/outputs, or the routine/view of that name."""
    job = names.get_job(session, node.namespace, node.name)
    starts: list[int] = []
    if job is not None:
        for ns, name in [*(job.inputs or []), *(job.outputs or [])]:
            oid = find_dataset_object(session, ns, name)
            if oid is not None:
                starts.append(oid)
        if job.process_object_id is not None:
            starts.append(int(job.process_object_id))
    if not starts:
        pids = names.projects_for_namespace(session, node.namespace)
        stmt = select(CatalogObject.id).where(func.lower(CatalogObject.canonical_id) == node.name.lower())
        if pids:
            stmt = stmt.where(CatalogObject.project_id.in_(pids))
        starts = [int(x) for x in session.scalars(stmt)]
    return starts


def lineage(
    session: Session, node_id: str, *, depth: int = 20, statuses: Collection[str] | None = None
) -> dict[str, Any]:
    """Marquez ``GET /api/v1/lineage``: datasets and jobs around a node, both directions."""
    node = parse_node_id(node_id)
    depth = max(0, min(int(depth), MAX_DEPTH))
    if node.type == "job":
        starts = _job_start(session, node)
    else:
        oid = find_dataset_object(session, node.namespace, node.name)
        starts = [oid] if oid is not None else []
    if not starts:
        raise not_found("node", node_id)
    routine_ids = set(
        session.scalars(
            select(CatalogObject.id).where(
                CatalogObject.id.in_(starts), CatalogObject.kind.in_(ROUTINE_KINDS)
            )
        )
    )
    if routine_ids:  # a routine is not a node of the table graph: start from what it touches
        rows = store_graph_process_edges(session, sorted(routine_ids), statuses=statuses)
        starts = [s for s in starts if s not in routine_ids]
        starts += [int(v) for r in rows for v in (r.source_object_id, r.target_object_id)]
    # Marquez's graph is the connected neighbourhood (edges followed either way), ``depth`` hops out
    edge_ids: set[int] = set()
    reached: set[int] = set(starts)
    frontier = set(starts)
    for _ in range(depth):
        found: set[int] = set()
        for direction in BOTH:
            walk = store_graph.traverse(
                session,
                sorted(frontier),
                direction=direction,
                granularity="table",
                depth=1,
                statuses=store_graph.DEFAULT_STATUSES if statuses is None else statuses,
            )
            found.update(n.object_id for n in walk.nodes)
            edge_ids.update(e.id for e in walk.edges)
        frontier = found - reached
        reached |= found
        if not frontier:
            break
    rows = load_edges(session, "table", sorted(edge_ids))
    g = _graph_for(session, rows, reached)
    ctx = _load_context(session, g)
    resolver = _JobResolver(g, ctx, None)
    nodes: dict[str, dict[str, Any]] = {}

    def dataset_node(oid: int) -> str | None:
        key = ctx.datasets.get(oid)
        if key is None:
            return None
        nid = _dataset_id(key)
        if nid not in nodes:
            _cid, kind, _, _, _ = g.objects[oid]
            fields: list[dict[str, Any]] = [
                {"name": n, "type": t, "tags": [], "description": None}
                for n, _, t in ctx.columns.get(oid, [])
            ]
            nodes[nid] = {
                "id": nid,
                "type": "DATASET",
                "data": {
                    "type": "DATASET",
                    "id": {"namespace": key[0], "name": key[1]},
                    "namespace": key[0],
                    "name": key[1],
                    "physicalName": key[1],
                    "sourceName": key[0],
                    "fields": fields,
                    "facets": {},
                    "datasetType": "DB_TABLE" if kind != "view" else "VIEW",
                    "kind": kind,
                },
                "inEdges": [],
                "outEdges": [],
            }
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
    for r in rows:
        src, tgt = dataset_node(int(r.source_object_id)), dataset_node(int(r.target_object_id))
        if src is None or tgt is None:
            continue
        job = resolver.job_for(r)
        jid = f"job:{job.namespace}:{job.name}"
        if jid not in nodes:
            nodes[jid] = {
                "id": jid,
                "type": "JOB",
                "data": {
                    "type": "BATCH",
                    "id": {"namespace": job.namespace, "name": job.name},
                    "namespace": job.namespace,
                    "name": job.name,
                    "simpleName": job.name.rsplit(".", 1)[-1],
                    "jobType": job.job_type,
                    "inputs": [],
                    "outputs": [],
                    "latestRun": None,
                },
                "inEdges": [],
                "outEdges": [],
            }
        data = nodes[jid]["data"]
        s_key = {
            "namespace": ctx.datasets[int(r.source_object_id)][0],
            "name": ctx.datasets[int(r.source_object_id)][1],
        }
        t_key = {
            "namespace": ctx.datasets[int(r.target_object_id)][0],
            "name": ctx.datasets[int(r.target_object_id)][1],
        }
        if s_key not in data["inputs"]:
            data["inputs"].append(s_key)
        if t_key not in data["outputs"]:
            data["outputs"].append(t_key)
        link(src, jid)
        link(jid, tgt)
    _ol_jobs(session, nodes)
    return {"graph": sorted(nodes.values(), key=lambda n: n["id"])}


def store_graph_process_edges(
    session: Session, routine_ids: list[int], *, statuses: Collection[str] | None = None
) -> list[Any]:
    """The current graph's visible table edges the routines run as their process."""
    from finlineage.store.models import TableEdge

    ids = list(
        session.scalars(
            select(TableEdge.id).where(
                TableEdge.process_object_id.in_(routine_ids),
                edge_visibility(TableEdge, statuses=statuses),
            )
        )
    )
    return load_edges(session, "table", ids)


def _ol_jobs(session: Session, nodes: dict[str, dict[str, Any]]) -> None:
    """Latest runs of the jobs that also arrived as OpenLineage events."""
    jobs = [n for n in nodes.values() if n["type"] == "JOB"]
    if not jobs:
        return
    rows = {
        (j.namespace, j.name): j
        for j in session.scalars(select(OLJob).where(OLJob.name.in_([n["data"]["name"] for n in jobs])))
    }
    latest = names.latest_runs(session, [j.id for j in rows.values()])
    for n in jobs:
        job = rows.get((n["data"]["namespace"], n["data"]["name"]))
        run = latest.get(job.id) if job is not None else None
        if run is not None:
            n["data"]["latestRun"] = {
                "id": run.run_id,
                "state": run.state,
                "startedAt": run.started_at.isoformat() if run.started_at else None,
                "endedAt": run.ended_at.isoformat() if run.ended_at else None,
            }


# --------------------------------------------------------------------------------------
# column lineage
# --------------------------------------------------------------------------------------


def column_lineage(
    session: Session,
    node_id: str,
    *,
    depth: int = 20,
    with_downstream: bool = False,
    statuses: Collection[str] | None = None,
) -> dict[str, Any]:
    """Marquez ``GET /api/v1/column-lineage``: DATASET_FIELD nodes upstream of a field (or of
    every field of a dataset), downstream too with ``withDownstream``."""
    node = parse_node_id(node_id)
    if node.type == "job":
        raise InvalidQueryError("column lineage starts at a dataset or a dataset field, not a job")
    depth = max(0, min(int(depth), MAX_DEPTH))
    oid = find_dataset_object(session, node.namespace, node.name)
    if oid is None:
        raise not_found("node", node_id)
    stmt = select(Column.id).where(Column.object_id == oid)
    if node.field is not None:
        stmt = stmt.where(func.lower(Column.name) == node.field.lower())
    starts = [int(c) for c in session.scalars(stmt)]
    if not starts:
        raise not_found("node", node_id)
    edge_ids: set[int] = set()
    reached: set[int] = set(starts)
    for direction in BOTH if with_downstream else BOTH[:1]:
        walk = store_graph.traverse(
            session,
            starts,
            direction=direction,
            granularity="column",
            depth=depth,
            statuses=store_graph.DEFAULT_STATUSES if statuses is None else statuses,
        )
        reached.update(n.id for n in walk.nodes)
        edge_ids.update(e.id for e in walk.edges)
    rows = load_edges(session, "column", sorted(edge_ids))
    subtypes: dict[int, str | None] = {}
    for part in chunks(sorted(edge_ids)):
        for eid, sub in session.execute(
            select(ColumnEdge.id, ColumnEdge.subtype).where(ColumnEdge.id.in_(list(part)))
        ):
            subtypes[int(eid)] = sub
    objs = {oid}
    col_info: dict[int, tuple[int, str, str | None]] = {}
    for part in chunks(sorted(reached)):
        for cid, obj, name, dtype in session.execute(
            select(Column.id, Column.object_id, Column.name, Column.data_type).where(
                Column.id.in_(list(part))
            )
        ):
            col_info[int(cid)] = (int(obj), name, dtype)
            objs.add(int(obj))
    g = _graph_for(session, [], objs)
    ctx = _load_context(session, g)
    for r in rows:  # namespaces of objects only referenced by edges' files
        for side in ("source", "target"):
            o = int(getattr(r, f"{side}_object_id"))
            if o not in ctx.datasets and o in g.objects:
                ctx.datasets[o] = (
                    f"{names.DEFAULT_SCHEME}://{g.projects.get(g.objects[o][2], '')}",
                    g.objects[o][0],
                )
    nodes: dict[int, dict[str, Any]] = {}

    def field_node(cid: int) -> dict[str, Any] | None:
        if cid in nodes:
            return nodes[cid]
        info = col_info.get(cid)
        if info is None or info[0] not in ctx.datasets:
            return None
        ns, name = ctx.datasets[info[0]]
        nodes[cid] = {
            "id": f"datasetField:{ns}:{name}:{info[1]}",
            "type": "DATASET_FIELD",
            "data": {
                "namespace": ns,
                "dataset": name,
                "datasetVersion": None,
                "field": info[1],
                "fieldType": info[2],
                "transformationDescription": None,
                "transformationType": None,
                "inputFields": [],
            },
            "inEdges": [],
            "outEdges": [],
        }
        return nodes[cid]

    for cid in sorted(reached):
        field_node(cid)
    for r in rows:
        src, tgt = field_node(int(r.source)), field_node(int(r.target))
        if src is None or tgt is None:
            continue
        t = transformation(r.kind, subtypes.get(int(r.id)), r.expression, str(r.source_column))
        d = tgt["data"]
        d["inputFields"].append(
            {
                "namespace": src["data"]["namespace"],
                "dataset": src["data"]["dataset"],
                "datasetVersion": None,
                "field": src["data"]["field"],
                "transformationDescription": t.get("description"),
                "transformationType": t["subtype"] if t["type"] == "DIRECT" else "INDIRECT",
                "transformations": [t],
            }
        )
        direct = [f for f in d["inputFields"] if f["transformations"][0]["type"] == "DIRECT"]
        d["transformationType"] = (
            "IDENTITY"
            if direct and all(f["transformationType"] == "IDENTITY" for f in direct)
            else ("TRANSFORMATION" if direct else "INDIRECT")
        )
        d["transformationDescription"] = (
            "; ".join(
                sorted({f["transformationDescription"] for f in direct if f["transformationDescription"]})
            )
            or None
        )
        edge = {"origin": src["id"], "destination": tgt["id"]}
        if edge not in src["outEdges"]:
            src["outEdges"].append(edge)
        if edge not in tgt["inEdges"]:
            tgt["inEdges"].append(edge)
    return {"graph": sorted(nodes.values(), key=lambda n: n["id"])}


# --------------------------------------------------------------------------------------
# namespaces, and the jobs and datasets in one (what the Marquez web UI lists)
# --------------------------------------------------------------------------------------


def namespaces(session: Session) -> dict[str, Any]:
    """Every namespace finlineage has datasets or jobs in: one per repository and platform of
    its files, plus those of received events."""
    found: dict[str, Any] = {}
    rows = session.execute(
        select(Repository.name, Repository.namespace, File.dialect, func.min(Repository.created_at))
        .join(File, File.repository_id == Repository.id)
        .group_by(Repository.name, Repository.namespace, File.dialect)
    )
    for name, setting, dialect, created in rows:
        ns = names.namespace_for(dialect, names.authority_of(name, setting))
        found.setdefault(ns, created)
    for model in (OLJob, OLDataset):
        for ns, created in session.execute(
            select(model.namespace, func.min(model.updated_at)).group_by(model.namespace)
        ):
            found.setdefault(ns, created)
    items = [
        {
            "name": ns,
            "createdAt": created.isoformat() if created else None,
            "updatedAt": created.isoformat() if created else None,
            "ownerName": "finlineage",
            "description": None,
            "isHidden": False,
        }
        for ns, created in sorted(found.items())
    ]
    return {"namespaces": items}


def _events_in(session: Session, namespace: str) -> list[dict[str, Any]]:
    """The OpenLineage export of the projects owning a namespace (table granularity)."""
    from finlineage.query.export import load_graph
    from finlineage.query.openlineage_export import to_openlineage

    pids = names.projects_for_namespace(session, namespace)
    pids += [
        int(p)
        for p in session.scalars(select(OLJob.project_id).where(OLJob.namespace == namespace).distinct())
    ]
    pids += [
        int(p)
        for p in session.scalars(
            select(OLDataset.project_id).where(OLDataset.namespace == namespace).distinct()
        )
    ]
    events: list[dict[str, Any]] = []
    for pid in sorted(set(pids)):
        g = load_graph(session, Scope(project_id=pid), granularity="table")
        events.extend(to_openlineage(session, g))
    return events


def namespace_jobs(session: Session, namespace: str, *, limit: int, offset: int) -> dict[str, Any]:
    jobs: dict[str, dict[str, Any]] = {}
    for e in _events_in(session, namespace):
        if e["job"]["namespace"] != namespace:
            continue
        name = e["job"]["name"]
        jobs[name] = {
            "id": {"namespace": namespace, "name": name},
            "type": "BATCH",
            "name": name,
            "simpleName": name.rsplit(".", 1)[-1],
            "namespace": namespace,
            "jobType": e["job"]["facets"].get("jobType", {}).get("jobType"),
            "inputs": [{"namespace": d["namespace"], "name": d["name"]} for d in e["inputs"]],
            "outputs": [{"namespace": d["namespace"], "name": d["name"]} for d in e["outputs"]],
            "facets": e["job"]["facets"],
            "latestRun": None,
        }
    for job in session.scalars(select(OLJob).where(OLJob.namespace == namespace)):
        jobs.setdefault(
            job.name,
            {
                "id": {"namespace": namespace, "name": job.name},
                "type": "BATCH",
                "name": job.name,
                "simpleName": job.name.rsplit(".", 1)[-1],
                "namespace": namespace,
                "jobType": job.job_type,
                "inputs": [{"namespace": ns, "name": n} for ns, n in job.inputs or []],
                "outputs": [{"namespace": ns, "name": n} for ns, n in job.outputs or []],
                "facets": job.facets or {},
                "latestRun": None,
            },
        )
    ordered = [jobs[k] for k in sorted(jobs)]
    page = ordered[offset : offset + limit]
    nodes = {f"job:{namespace}:{j['name']}": {"type": "JOB", "data": j} for j in page}
    _ol_jobs(session, nodes)
    return {"jobs": page, "totalCount": len(ordered)}


def namespace_datasets(session: Session, namespace: str, *, limit: int, offset: int) -> dict[str, Any]:
    seen: dict[str, dict[str, Any]] = {}
    for e in _events_in(session, namespace):
        for d in [*e["inputs"], *e["outputs"]]:
            if d["namespace"] == namespace and d["name"] not in seen:
                schema = d["facets"].get("schema", {}).get("fields", [])
                seen[d["name"]] = {
                    "id": {"namespace": namespace, "name": d["name"]},
                    "type": "DB_TABLE",
                    "name": d["name"],
                    "physicalName": d["name"],
                    "namespace": namespace,
                    "sourceName": namespace,
                    "fields": [
                        {"name": f["name"], "type": f.get("type"), "tags": [], "description": None}
                        for f in schema
                    ],
                    "facets": d["facets"],
                }
    for row in session.scalars(select(OLDataset).where(OLDataset.namespace == namespace)):
        seen.setdefault(
            row.name,
            {
                "id": {"namespace": namespace, "name": row.name},
                "type": "DB_TABLE",
                "name": row.name,
                "physicalName": row.name,
                "namespace": namespace,
                "sourceName": namespace,
                "fields": [],
                "facets": row.facets or {},
            },
        )
    ordered = [seen[k] for k in sorted(seen)]
    return {"datasets": ordered[offset : offset + limit], "totalCount": len(ordered)}

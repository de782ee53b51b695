"""What the Marquez web UI lists and opens: namespaces, the datasets and jobs of a namespace,
one dataset (with its versions and column lineage), one job, its runs, a run and its facets,
and search. Read-only, in Marquez's shapes (``query.marquez_shapes``).

A namespace's contents are the OpenLineage export of the projects that own it (the export's
rules: ``query.openlineage_export``), plus what arrived as OpenLineage events. Jobs parsed from
SQL have no runs (runs are what producers report); received jobs have theirs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from finlineage.query import lineage as walks
from finlineage.query import marquez_shapes as shape
from finlineage.query.common import Scope, chunks, load_edges
from finlineage.query.errors import InvalidQueryError, not_found
from finlineage.query.export import load_graph
from finlineage.query.marquez import (
    dataset_context,
    find_dataset_object,
    job_edges,
    parse_node_id,
    stamps,
    touching_edges,
)
from finlineage.query.openlineage_export import (
    ROUTINE_KINDS,
    VIEW_KINDS,
    _Context,
    _dataset,
    _JobResolver,
    _load_context,
    to_openlineage,
    transformation,
)
from finlineage.store import openlineage as names
from finlineage.store.models import (
    CatalogObject,
    File,
    GraphVersion,
    ObjectPresence,
    OLDataset,
    OLJob,
    OLRun,
    Repository,
    TableEdge,
)
from finlineage.store.versions import edge_visibility

RUNS_PER_JOB = 10
"""Runs a job carries in `latestRuns` (Marquez's default)."""
SEARCH_SCAN = 1000
"""Objects, files and received jobs/datasets a search reads at most per kind (`truncated` beyond)."""


# --------------------------------------------------------------------------------------
# namespaces
# --------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Namespace:
    projects: set[int] = field(default_factory=set)
    created: datetime | None = None
    updated: datetime | None = None

    def seen(self, pid: int, created: datetime | None, updated: datetime | None) -> None:
        self.projects.add(pid)
        if created is not None and (self.created is None or _naive(created) < _naive(self.created)):
            self.created = created
        if updated is not None and (self.updated is None or _naive(updated) > _naive(self.updated)):
            self.updated = updated


def _naive(value: datetime) -> datetime:
    return value.replace(tzinfo=None)


def namespace_index(session: Session) -> dict[str, _Namespace]:
    """Every namespace with datasets or jobs: one per repository and platform of its files
    (the export's naming), plus those of received events; with the projects owning each."""
    found: dict[str, _Namespace] = {}
    latest: dict[int, datetime] = {
        int(pid): when
        for pid, when in session.execute(
            select(GraphVersion.project_id, func.max(GraphVersion.created_at)).group_by(
                GraphVersion.project_id
            )
        )
    }
    rows = session.execute(
        select(
            Repository.project_id,
            Repository.name,
            Repository.namespace,
            File.dialect,
            func.min(Repository.created_at),
        )
        .join(File, File.repository_id == Repository.id)
        .group_by(Repository.project_id, Repository.name, Repository.namespace, File.dialect)
    )
    for pid, name, setting, dialect, created in rows:
        ns = names.namespace_for(dialect, names.authority_of(name, setting))
        found.setdefault(ns, _Namespace()).seen(int(pid), created, latest.get(pid) or created)
    received = (
        select(
            OLJob.namespace, OLJob.project_id, func.min(OLJob.created_at), func.max(OLJob.updated_at)
        ).group_by(OLJob.namespace, OLJob.project_id),
        select(
            OLDataset.namespace,
            OLDataset.project_id,
            func.min(OLDataset.updated_at),
            func.max(OLDataset.updated_at),
        ).group_by(OLDataset.namespace, OLDataset.project_id),
    )
    for stmt in received:
        for ns, pid, created, updated in session.execute(stmt):
            found.setdefault(ns, _Namespace()).seen(int(pid), created, updated)
    return found


def namespaces(session: Session) -> dict[str, Any]:
    index = namespace_index(session)
    return {"namespaces": [shape.namespace_out(ns, v.created, v.updated) for ns, v in sorted(index.items())]}


def namespace(session: Session, name: str) -> dict[str, Any]:
    found = namespace_index(session).get(name)
    if found is None:
        raise not_found("namespace", name)
    return shape.namespace_out(name, found.created, found.updated)


# --------------------------------------------------------------------------------------
# the contents of one namespace
# --------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Dataset:
    name: str
    oid: int | None
    created: datetime | None
    updated: datetime | None
    fields: list[dict[str, Any]]
    facets: dict[str, Any]
    description: str | None = None


@dataclass(slots=True)
class _Job:
    name: str
    inputs: set[tuple[str, str]] = field(default_factory=set)
    outputs: set[tuple[str, str]] = field(default_factory=set)
    facets: dict[str, Any] = field(default_factory=dict)
    created: datetime | None = None
    updated: datetime | None = None
    received: OLJob | None = None


@dataclass(slots=True)
class _Contents:
    namespace: str
    parsed: dict[str, tuple[int, _Context]] = field(default_factory=dict)
    """Dataset name → (object id, the export context of its project)."""
    received: dict[str, OLDataset] = field(default_factory=dict)
    job_rows: dict[str, list[Any]] = field(default_factory=dict)
    """Parsed job name → its table edges (the export's job of each edge)."""
    received_jobs: dict[str, OLJob] = field(default_factory=dict)

    def dataset_names(self) -> list[str]:
        return sorted(set(self.parsed) | set(self.received))

    def job_names(self) -> list[str]:
        return sorted(set(self.job_rows) | set(self.received_jobs))


def contents(session: Session, ns: str, *, with_jobs: bool) -> _Contents:
    """Datasets (and with ``with_jobs`` the jobs) of namespace ``ns``: every project owning it is
    read once, as the export reads it; datasets and jobs are materialised per page."""
    index = namespace_index(session).get(ns)
    if index is None:
        raise not_found("namespace", ns)
    out = _Contents(ns)
    for pid in sorted(index.projects):
        g = load_graph(session, Scope(project_id=pid), granularity="table")
        ctx = _load_context(session, g)
        for oid, key in ctx.datasets.items():
            if key[0] == ns:
                out.parsed.setdefault(key[1], (oid, ctx))
        if not with_jobs:
            continue
        resolver = _JobResolver(g, ctx, None)
        for r in g.table_edges:
            if int(r.source_object_id) in ctx.datasets and int(r.target_object_id) in ctx.datasets:
                job = resolver.job_for(r)
                if job.namespace == ns:
                    out.job_rows.setdefault(job.name, []).append(r)
    out.received = {
        row.name: row for row in session.scalars(select(OLDataset).where(OLDataset.namespace == ns))
    }
    if with_jobs:
        out.received_jobs = {j.name: j for j in session.scalars(select(OLJob).where(OLJob.namespace == ns))}
    return out


def _materialise_jobs(session: Session, c: _Contents, wanted: list[str]) -> list[_Job]:
    jobs: dict[str, _Job] = {}
    _add_jobs(session, c.namespace, [r for n in wanted for r in c.job_rows.get(n, [])], jobs)
    for n in wanted:
        if n in c.received_jobs:
            _merge_received(jobs.setdefault(n, _Job(n)), c.received_jobs[n])
    return [jobs[n] for n in wanted if n in jobs]


def _add_jobs(session: Session, ns: str, rows: list[Any], jobs: dict[str, _Job]) -> None:
    """The export's jobs in ``ns`` of some edges (all edges of each job): the events of the
    subgraph they span (with the edges that name its objects), inputs, outputs, facets."""
    if not rows:
        return
    g, _ctx = dataset_context(
        session, {int(v) for r in rows for v in (r.source_object_id, r.target_object_id)}, rows
    )
    by_name = {v[0]: oid for oid, v in g.objects.items() if v[1] in (*ROUTINE_KINDS, *VIEW_KINDS)}
    obj_times = stamps(session, by_name.values())
    pids = sorted({int(r.project_id) for r in rows})
    first, last = session.execute(
        select(func.min(GraphVersion.created_at), func.max(GraphVersion.created_at)).where(
            GraphVersion.project_id.in_(pids)
        )
    ).one()
    for event in to_openlineage(session, g):
        job = event["job"]
        if job["namespace"] != ns:
            continue
        entry = jobs.setdefault(job["name"], _Job(job["name"]))
        entry.inputs.update((d["namespace"], d["name"]) for d in event["inputs"])
        entry.outputs.update((d["namespace"], d["name"]) for d in event["outputs"])
        entry.facets.update(job["facets"])
        entry.created, entry.updated = obj_times.get(by_name.get(job["name"], -1), (first, last))


def _merge_received(entry: _Job, row: OLJob) -> None:
    """What a producer reported about a job, merged over the parsed job of the same name."""
    entry.received = row
    entry.inputs.update((a, b) for a, b in row.inputs or [])
    entry.outputs.update((a, b) for a, b in row.outputs or [])
    entry.facets = {**entry.facets, **(row.facets or {})}  # what the producer said wins
    entry.created = entry.created or row.created_at
    entry.updated = (
        row.updated_at if entry.updated is None else max(entry.updated, row.updated_at, key=_naive)
    )


def _received_dataset(row: OLDataset) -> _Dataset:
    facets = dict(row.facets or {})
    declared: list[dict[str, Any]] = list((facets.get("schema") or {}).get("fields") or [])
    return _Dataset(
        row.name,
        int(row.object_id),
        row.updated_at,
        row.updated_at,
        [shape.field_out(str(f.get("name")), f.get("type"), f.get("description")) for f in declared],
        facets,
    )


def _materialise(session: Session, c: _Contents, wanted: list[str]) -> list[_Dataset]:
    times = stamps(session, [c.parsed[n][0] for n in wanted if n in c.parsed])
    out: list[_Dataset] = []
    for n in wanted:
        row = c.received.get(n)
        if n not in c.parsed:
            if row is not None:
                out.append(_received_dataset(row))
            continue
        oid, ctx = c.parsed[n]
        created, updated = times.get(oid, (None, None))
        facets = _dataset(ctx, ctx.datasets[oid], oid)["facets"]  # the export's dataset facets
        out.append(
            _Dataset(
                n,
                oid,
                created,
                updated,
                [
                    shape.field_out(f, t, ctx.column_docs.get((oid, f)))
                    for f, _, t in ctx.columns.get(oid, [])
                ],
                {**dict(row.facets or {}), **facets} if row is not None else facets,
                ctx.descriptions.get(oid),
            )
        )
    return out


def _one_dataset(session: Session, ns: str, name: str) -> _Dataset:
    """One dataset of ``ns`` without reading the whole namespace (the same naming rules)."""
    row = names.find_dataset(session, ns, name)
    oid = int(row.object_id) if row is not None else find_dataset_object(session, ns, name)
    if oid is not None:
        _g, ctx = dataset_context(session, [oid])
        key = ctx.datasets.get(oid)
        if key is not None and key[0] == ns and key[1].lower() == name.lower():
            c = _Contents(ns, parsed={key[1]: (oid, ctx)}, received={key[1]: row} if row is not None else {})
            return _materialise(session, c, [key[1]])[0]
    if row is not None:
        return _received_dataset(row)
    raise not_found("dataset", f"{ns}:{name}")


def _one_job(session: Session, ns: str, name: str) -> _Job:
    """One job of ``ns`` from its own edges (the export's job of each edge) and what producers
    reported about it."""
    own, _g, _ctx = job_edges(session, parse_node_id(shape.node_id("job", ns, name)), None)
    jobs: dict[str, _Job] = {}
    _add_jobs(session, ns, own, jobs)
    received = names.get_job(session, ns, name)
    if received is not None:
        _merge_received(jobs.setdefault(name, _Job(name)), received)
    if name not in jobs:
        raise not_found("job", f"{ns}:{name}")
    return jobs[name]


def _latest_runs(session: Session, jobs: list[_Job], ns: str) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for job in jobs:
        if job.received is None:
            continue
        rows, _ = names.list_runs(session, job.received.id, limit=RUNS_PER_JOB)
        version = shape.received_version(job.received)
        out[job.name] = [shape.run_out(r, ns, job.name, version) for r in rows]
    return out


def _job_out(job: _Job, ns: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    return shape.job_out(
        ns,
        job.name,
        inputs=job.inputs,
        outputs=job.outputs,
        facets=job.facets,
        created=job.created,
        updated=job.updated,
        latest_runs=runs,
        version=shape.received_version(job.received) if job.received is not None else None,
    )


def _dataset_out(d: _Dataset, ns: str, column_lineage: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return shape.dataset_out(
        ns,
        d.name,
        fields=d.fields,
        created=d.created,
        updated=d.updated,
        facets=d.facets,
        column_lineage=column_lineage,
        description=d.description,
    )


def _page(items: list[Any], limit: int, offset: int) -> list[Any]:
    return items[offset : offset + limit]


def datasets(session: Session, ns: str, *, limit: int, offset: int) -> dict[str, Any]:
    c = contents(session, ns, with_jobs=False)
    ordered = c.dataset_names()
    page = _materialise(session, c, _page(ordered, limit, offset))
    return {"datasets": [_dataset_out(d, ns) for d in page], "totalCount": len(ordered)}


def dataset(session: Session, ns: str, name: str) -> dict[str, Any]:
    d = _one_dataset(session, ns, name)
    return _dataset_out(d, ns, _column_lineage(session, d.oid) if d.oid is not None else [])


def _column_lineage(session: Session, oid: int) -> list[dict[str, Any]]:
    """Marquez's `columnLineage` of a dataset: each field's direct inputs (one hop upstream)."""
    walk = walks.node_lineage(session, oid, "upstream", depth=1, granularity="column")
    by_id = {n.id: n for n in walk.nodes}
    _g, ctx = dataset_context(session, {n.object_id for n in walk.nodes if n.object_id is not None})
    keys = ctx.datasets
    per_field: dict[str, list[dict[str, Any]]] = {}
    for e in walk.edges:
        src, tgt = by_id.get(e.source), by_id.get(e.target)
        if src is None or tgt is None or tgt.object_id != oid or src.object_id not in keys:
            continue
        ns, name = keys[src.object_id]
        t = transformation(e.kind, e.subtype, e.expression, src.name)
        per_field.setdefault(tgt.name, []).append(shape.input_field(ns, name, src.name, t))
    out: list[dict[str, Any]] = []
    for col, inputs in sorted(per_field.items()):
        kind, description = shape.summarise(inputs)
        out.append(
            {
                "name": col,
                "inputFields": inputs,
                "transformationType": kind,
                "transformationDescription": description,
            }
        )
    return out


def dataset_versions(session: Session, ns: str, name: str, *, limit: int, offset: int) -> dict[str, Any]:
    """One version per range of graph versions the dataset was present in (newest first). The
    store keeps columns of the current graph only: past versions carry no fields."""
    d = _one_dataset(session, ns, name)
    current = _dataset_out(d, ns)
    ranges: list[tuple[int | None, int | None, datetime | None]] = []
    if d.oid is not None:
        ranges = [
            (vf, vt, created)
            for vf, vt, created in session.execute(
                select(ObjectPresence.version_from, ObjectPresence.version_to, GraphVersion.created_at)
                .join(
                    GraphVersion,
                    (GraphVersion.project_id == ObjectPresence.project_id)
                    & (GraphVersion.version == ObjectPresence.version_from),
                )
                .where(ObjectPresence.object_id == d.oid)
                .order_by(ObjectPresence.version_from.desc())
            )
        ]
    items: list[dict[str, Any]] = []
    if not ranges or ranges[0][1] is not None:
        ranges.insert(0, (None, None, d.updated))
    for version_from, version_to, created in ranges:
        now = version_to is None
        version = (
            current["currentVersion"] if now else shape.content_version(ns, d.name, "graph", version_from)
        )
        items.append(
            {
                "id": {"namespace": ns, "name": d.name, "version": version},
                "type": "DB_TABLE",
                "name": d.name,
                "physicalName": d.name,
                "createdAt": shape.ts(created),
                "version": version,
                "namespace": ns,
                "sourceName": ns,
                "fields": current["fields"] if now else [],
                "tags": [],
                "lifecycleState": None,
                "description": None,
                "createdByRun": None,
                "facets": current["facets"] if now else {},
                "graphVersions": {"from": version_from, "to": version_to},
            }
        )
    return {"versions": _page(items, limit, offset), "totalCount": len(items)}


def jobs(session: Session, ns: str, *, limit: int, offset: int) -> dict[str, Any]:
    c = contents(session, ns, with_jobs=True)
    ordered = c.job_names()
    page = _materialise_jobs(session, c, _page(ordered, limit, offset))
    runs = _latest_runs(session, page, ns)
    return {"jobs": [_job_out(j, ns, runs.get(j.name, [])) for j in page], "totalCount": len(ordered)}


def job(session: Session, ns: str, name: str) -> dict[str, Any]:
    found = _one_job(session, ns, name)
    return _job_out(found, ns, _latest_runs(session, [found], ns).get(name, []))


def job_runs(session: Session, ns: str, name: str, *, limit: int, offset: int) -> dict[str, Any]:
    """Runs of a job, newest first: a received job's runs; a parsed job has none."""
    received = names.get_job(session, ns, name)
    if received is None:
        own, _g, _ctx = job_edges(session, parse_node_id(shape.node_id("job", ns, name)), None)
        if not own:
            raise not_found("job", f"{ns}:{name}")
        return {"runs": [], "totalCount": 0}
    rows, total = names.list_runs(session, received.id, limit=limit, offset=offset)
    version = shape.received_version(received)
    return {"runs": [shape.run_out(r, ns, name, version) for r in rows], "totalCount": total}


def _run(session: Session, run_id: str) -> tuple[OLRun, OLJob]:
    row = session.execute(
        select(OLRun, OLJob).join(OLJob, OLJob.id == OLRun.job_id).where(OLRun.run_id == run_id).limit(1)
    ).first()
    if row is None:
        raise not_found("run", run_id)
    return row[0], row[1]


def run(session: Session, run_id: str) -> dict[str, Any]:
    r, j = _run(session, run_id)
    return shape.run_out(r, j.namespace, j.name, shape.received_version(j))


def run_facets(session: Session, run_id: str, kind: Literal["run", "job"]) -> dict[str, Any]:
    """Marquez `/jobs/runs/{id}/facets?type=run|job`: the run's facets, or its job's."""
    r, j = _run(session, run_id)
    return {"runId": r.run_id, "facets": dict((r.facets if kind == "run" else j.facets) or {})}


# --------------------------------------------------------------------------------------
# search
# --------------------------------------------------------------------------------------


def search(
    session: Session,
    q: str,
    *,
    kind: Literal["DATASET", "JOB"] | None = None,
    sort: Literal["NAME", "UPDATE_AT"] = "NAME",
    limit: int = 10,
    namespace_filter: str | None = None,
) -> dict[str, Any]:
    """Datasets and jobs whose name contains ``q`` (case-insensitive), across namespaces.
    `totalCount` counts every match found; `truncated` says the scan stopped at its cap."""
    text = q.strip().lower()
    if not text:
        raise InvalidQueryError("q must not be blank", details={"q": q})
    hits: dict[tuple[str, str, str], datetime | None] = {}
    truncated = False
    objs = list(
        session.execute(
            select(CatalogObject.id, CatalogObject.kind, CatalogObject.updated_at)
            .where(func.lower(CatalogObject.canonical_id).contains(text, autoescape=True))
            .order_by(CatalogObject.id)
            .limit(SEARCH_SCAN + 1)
        )
    )
    truncated |= len(objs) > SEARCH_SCAN
    objs = objs[:SEARCH_SCAN]
    updated = {int(o): u for o, _, u in objs}
    datasets_ids = [int(o) for o, k, _ in objs if k not in ROUTINE_KINDS]
    job_objects = [int(o) for o, k, _ in objs if k in ROUTINE_KINDS or k in VIEW_KINDS]
    files = [
        int(f)
        for f in session.scalars(
            select(File.id)
            .where(func.lower(File.path).contains(text, autoescape=True))
            .order_by(File.id)
            .limit(SEARCH_SCAN)
        )
    ]
    vis = edge_visibility(TableEdge)
    edge_ids: set[int] = set(touching_edges(session, job_objects))
    for part in chunks(job_objects):
        edge_ids.update(
            session.scalars(select(TableEdge.id).where(TableEdge.process_object_id.in_(part), vis))
        )
    for part in chunks(files):
        edge_ids.update(session.scalars(select(TableEdge.id).where(TableEdge.file_id.in_(part), vis)))
    rows = load_edges(session, "table", sorted(edge_ids))
    g, ctx = dataset_context(session, datasets_ids, rows)
    for oid in datasets_ids:
        key = ctx.datasets.get(oid)
        if key is not None and text in key[1].lower():
            hits[("DATASET", *key)] = updated.get(oid)
    resolver = _JobResolver(g, ctx, None)
    for r in rows:
        if int(r.source_object_id) in ctx.datasets and int(r.target_object_id) in ctx.datasets:
            j = resolver.job_for(r)
            if text in j.name.lower():
                key3 = ("JOB", j.namespace, j.name)
                when = updated.get(int(r.process_object_id or -1)) or updated.get(int(r.target_object_id))
                if hits.get(key3) is None:
                    hits[key3] = when
    for model, kind_name in ((OLJob, "JOB"), (OLDataset, "DATASET")):
        found = list(
            session.execute(
                select(model.namespace, model.name, model.updated_at)
                .where(func.lower(model.name).contains(text, autoescape=True))
                .order_by(model.id)
                .limit(SEARCH_SCAN + 1)
            )
        )
        truncated |= len(found) > SEARCH_SCAN
        for ns, name, when in found[:SEARCH_SCAN]:
            hits[(kind_name, ns, name)] = when
    results = [
        {
            "type": k,
            "name": name,
            "updatedAt": shape.ts(when),
            "namespace": ns,
            "nodeId": shape.node_id("dataset" if k == "DATASET" else "job", ns, name),
        }
        for (k, ns, name), when in hits.items()
        if (kind is None or k == kind) and (namespace_filter is None or ns == namespace_filter)
    ]
    if sort == "UPDATE_AT":
        results.sort(key=lambda r: (r["updatedAt"] or "", str(r["name"])), reverse=True)
    else:
        results.sort(key=lambda r: (str(r["name"]).lower(), str(r["namespace"]), str(r["type"])))
    return {
        "totalCount": len(results),
        "results": results[:limit],
        "truncated": truncated or len(results) > limit,
    }


__all__ = [
    "dataset",
    "dataset_versions",
    "datasets",
    "find_dataset_object",
    "job",
    "job_runs",
    "jobs",
    "namespace",
    "namespaces",
    "run",
    "run_facets",
    "search",
]

"""What the Marquez web UI lists and opens: namespaces, the datasets and jobs of a namespace,
one dataset (with its column lineage), one job, and search. Read-only, in Marquez's shapes
(``query.marquez_shapes``); runs, and datasets' versions, are ``query.marquez_runs``.

A namespace's contents are the OpenLineage export of the projects that own it (the export's
rules: ``query.openlineage_export``), plus what arrived as OpenLineage events.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from finlineage.query import lineage as walks
from finlineage.query import marquez_shapes as shape
from finlineage.query import marquez_versions as versions
from finlineage.query.common import Scope, chunks, load_edges
from finlineage.query.errors import InvalidQueryError, not_found
from finlineage.query.export import load_graph
from finlineage.query.marquez import (
    NodeId,
    dataset_context,
    find_dataset_object,
    jobs_edges,
    stamps,
    touching_edges,
)
from finlineage.query.marquez_versions import Dataset
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
    OLDataset,
    OLJob,
    OLRun,
    Repository,
    TableEdge,
)
from finlineage.store.versions import edge_visibility

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
class Job:
    name: str
    inputs: set[tuple[str, str]] = field(default_factory=set)
    outputs: set[tuple[str, str]] = field(default_factory=set)
    facets: dict[str, Any] = field(default_factory=dict)
    created: datetime | None = None
    updated: datetime | None = None
    received: OLJob | None = None
    project_id: int | None = None


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
    """Datasets (and with ``with_jobs`` the jobs) of namespace ``ns``; datasets and jobs are
    materialised per page."""
    found = contents_by_namespace(session, {ns}, with_jobs=with_jobs).get(ns)
    if found is None:
        raise not_found("namespace", ns)
    return found


def contents_by_namespace(
    session: Session, wanted: Collection[str] | None, *, with_jobs: bool
) -> dict[str, _Contents]:
    """The contents of each namespace in ``wanted`` (None: every namespace) that exists: every
    project owning one is read once, as the export reads it."""
    index = namespace_index(session)
    out = {ns: _Contents(ns) for ns in index if wanted is None or ns in wanted}
    for pid in sorted({p for ns in out for p in index[ns].projects}):
        g = load_graph(session, Scope(project_id=pid), granularity="table")
        ctx = _load_context(session, g)
        for oid, key in ctx.datasets.items():
            if key[0] in out:
                out[key[0]].parsed.setdefault(key[1], (oid, ctx))
        if not with_jobs:
            continue
        resolver = _JobResolver(g, ctx, None)
        for r in g.table_edges:
            if int(r.source_object_id) in ctx.datasets and int(r.target_object_id) in ctx.datasets:
                job = resolver.job_for(r)
                if job.namespace in out:
                    out[job.namespace].job_rows.setdefault(job.name, []).append(r)
    for part in chunks(sorted(out)):
        for row in session.scalars(select(OLDataset).where(OLDataset.namespace.in_(list(part)))):
            out[row.namespace].received[row.name] = row
        if with_jobs:
            for job_row in session.scalars(select(OLJob).where(OLJob.namespace.in_(list(part)))):
                out[job_row.namespace].received_jobs[job_row.name] = job_row
    return out


def materialise_jobs(session: Session, c: _Contents, wanted: list[str]) -> list[Job]:
    jobs: dict[tuple[str, str], Job] = {}
    keys = [(c.namespace, n) for n in wanted]
    _add_jobs(session, [r for n in wanted for r in c.job_rows.get(n, [])], jobs, set(keys))
    for k in keys:
        if k[1] in c.received_jobs:
            _merge_received(jobs.setdefault(k, Job(k[1])), c.received_jobs[k[1]])
    return [jobs[k] for k in keys if k in jobs]


def _add_jobs(
    session: Session, rows: list[Any], jobs: dict[tuple[str, str], Job], wanted: set[tuple[str, str]]
) -> None:
    """The export's jobs among ``wanted`` of some edges (all edges of each job): the events of
    the subgraph they span (with the edges that name its objects), inputs, outputs, facets."""
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
        k = (job["namespace"], job["name"])
        if k not in wanted:
            continue
        entry = jobs.setdefault(k, Job(job["name"]))
        entry.inputs.update((d["namespace"], d["name"]) for d in event["inputs"])
        entry.outputs.update((d["namespace"], d["name"]) for d in event["outputs"])
        entry.facets.update(job["facets"])
        oid = by_name.get(job["name"], -1)
        entry.created, entry.updated = obj_times.get(oid, (first, last))
        entry.project_id = g.objects[oid][2] if oid in g.objects else (pids[0] if len(pids) == 1 else None)


def _merge_received(entry: Job, row: OLJob) -> None:
    """What a producer reported about a job, merged over the parsed job of the same name."""
    entry.received = row
    entry.project_id = int(row.project_id)
    entry.inputs.update((a, b) for a, b in row.inputs or [])
    entry.outputs.update((a, b) for a, b in row.outputs or [])
    entry.facets = {**entry.facets, **(row.facets or {})}  # what the producer said wins
    entry.created = entry.created or row.created_at
    entry.updated = (
        row.updated_at if entry.updated is None else max(entry.updated, row.updated_at, key=_naive)
    )


def _received_dataset(row: OLDataset) -> Dataset:
    facets = dict(row.facets or {})
    return Dataset(
        row.name, int(row.object_id), row.updated_at, row.updated_at, shape.sent_fields(facets) or [], facets
    )


def _materialise(session: Session, c: _Contents, wanted: list[str]) -> list[Dataset]:
    times = stamps(session, [c.parsed[n][0] for n in wanted if n in c.parsed])
    # objects no parsed file defines (they arrived as events): their producers' latest word on
    # their fields and facets wins over the columns gathered from every event
    received_only = {
        int(oid)
        for part in chunks(sorted({c.parsed[n][0] for n in wanted if n in c.parsed and n in c.received}))
        for oid in session.scalars(
            select(CatalogObject.id).where(CatalogObject.id.in_(list(part)), CatalogObject.file_id.is_(None))
        )
    }
    out: list[Dataset] = []
    for n in wanted:
        row = c.received.get(n)
        if n not in c.parsed:
            if row is not None:
                out.append(_received_dataset(row))
            continue
        oid, ctx = c.parsed[n]
        created, updated = times.get(oid, (None, None))
        facets = _dataset(ctx, ctx.datasets[oid], oid)["facets"]  # the export's dataset facets
        sent = dict(row.facets or {}) if row is not None else {}
        docs = shape.field_docs(sent)  # what a producer's schema facet says of each field
        fields = [
            shape.field_out(f, t, ctx.column_docs.get((oid, f)) or docs.get(f))
            for f, _, t in ctx.columns.get(oid, [])
        ]
        if oid in received_only:
            fields = shape.sent_fields(sent) or fields
        out.append(
            Dataset(
                n,
                oid,
                created,
                updated,
                fields,
                {**facets, **sent} if oid in received_only else {**sent, **facets},
                ctx.descriptions.get(oid) or shape.documented(sent),
            )
        )
    return out


def some_datasets(session: Session, keys: Sequence[tuple[str, str]]) -> dict[versions.Key, Dataset]:
    """Datasets ``(namespace, name)`` without reading whole namespaces (the same naming rules),
    read together; by ``marquez_versions.key``. Those that do not exist are left out."""
    found: dict[tuple[str, str], tuple[OLDataset | None, int | None]] = {}
    for ns, name in keys:
        row = names.find_dataset(session, ns, name)
        found[(ns, name)] = (
            row,
            int(row.object_id) if row is not None else find_dataset_object(session, ns, name),
        )
    _g, ctx = dataset_context(session, {oid for _r, oid in found.values() if oid is not None})
    out: dict[versions.Key, Dataset] = {}
    for (ns, name), (row, oid) in found.items():
        served = ctx.datasets.get(oid) if oid is not None else None
        if oid is not None and served is not None and served[0] == ns and served[1].lower() == name.lower():
            c = _Contents(
                ns, parsed={served[1]: (oid, ctx)}, received={served[1]: row} if row is not None else {}
            )
            out[versions.key(ns, name)] = _materialise(session, c, [served[1]])[0]
        elif row is not None:
            out[versions.key(ns, name)] = _received_dataset(row)
    return out


def one_dataset(session: Session, ns: str, name: str) -> Dataset:
    """One dataset of ``ns`` (``some_datasets``); a 404 when there is none."""
    found = some_datasets(session, [(ns, name)]).get(versions.key(ns, name))
    if found is None:
        raise not_found("dataset", f"{ns}:{name}")
    return found


def some_jobs(session: Session, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Job]:
    """Jobs ``(namespace, name)`` from their own edges (the export's job of each edge) and what
    producers reported about them, read together. Those that do not exist are left out."""
    own, _g, _ctx = jobs_edges(session, [NodeId("job", ns, name) for ns, name in keys], None)
    jobs: dict[tuple[str, str], Job] = {}
    _add_jobs(session, [r for rows in own.values() for r in rows], jobs, set(keys))
    for part in chunks(sorted({name for _ns, name in keys})):
        for row in session.scalars(select(OLJob).where(OLJob.name.in_(list(part)))):
            k = (row.namespace, row.name)
            if k in own:
                _merge_received(jobs.setdefault(k, Job(row.name)), row)
    return jobs


def one_job(session: Session, ns: str, name: str) -> Job:
    """One job of ``ns`` (``some_jobs``); a 404 when there is none."""
    found = some_jobs(session, [(ns, name)]).get((ns, name))
    if found is None:
        raise not_found("job", f"{ns}:{name}")
    return found


def _dataset_out(
    d: Dataset,
    ns: str,
    version: str,
    column_lineage: list[dict[str, Any]] | None = None,
    last_modified: datetime | None = None,
) -> dict[str, Any]:
    return shape.dataset_out(
        ns,
        d.name,
        fields=d.fields,
        created=d.created,
        updated=d.updated,
        facets=d.facets,
        column_lineage=column_lineage,
        last_modified=last_modified,
        description=d.description,
        version=version,
    )


def _last_modified(
    session: Session, timelines: dict[versions.Key, list[versions.Version]]
) -> dict[versions.Key, datetime]:
    """Marquez's ``lastModifiedAt``: when the latest successful run that wrote a dataset ended
    (its COMPLETE event's time); datasets no completed run wrote have none."""
    rids = sorted({v.run_id for items in timelines.values() for v in items if v.run_id})
    ended: dict[str, datetime] = {}
    for part in chunks(rids):
        for rid, at in session.execute(
            select(OLRun.run_id, OLRun.ended_at).where(
                OLRun.run_id.in_(list(part)), OLRun.state == "COMPLETE"
            )
        ):
            if at is not None:
                ended[str(rid)] = at
    out: dict[versions.Key, datetime] = {}
    for k, items in timelines.items():
        times = [ended[v.run_id] for v in items if v.run_id in ended]
        if times:
            out[k] = max(times, key=_naive)
    return out


def page(items: list[Any], limit: int, offset: int) -> list[Any]:
    return items[offset : offset + limit]


def datasets(session: Session, ns: str, *, limit: int, offset: int) -> dict[str, Any]:
    c = contents(session, ns, with_jobs=False)
    ordered = c.dataset_names()
    found = _materialise(session, c, page(ordered, limit, offset))
    times = versions.timelines(session, [(ns, d) for d in found])
    modified = _last_modified(session, times)
    return {
        "datasets": [
            _dataset_out(
                d,
                ns,
                times[versions.key(ns, d.name)][0].id,
                last_modified=modified.get(versions.key(ns, d.name)),
            )
            for d in found
        ],
        "totalCount": len(ordered),
        "limit": limit,
        "offset": offset,
        "truncated": offset + len(found) < len(ordered),
    }


def dataset(session: Session, ns: str, name: str) -> dict[str, Any]:
    d = one_dataset(session, ns, name)
    lineage = _column_lineage(session, d.oid) if d.oid is not None else []
    times = versions.timelines(session, [(ns, d)])
    newest = times[versions.key(ns, d.name)][0]
    return _dataset_out(
        d, ns, newest.id, lineage, _last_modified(session, times).get(versions.key(ns, d.name))
    )


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


# --------------------------------------------------------------------------------------
# search
# --------------------------------------------------------------------------------------


def _scan(session: Session, stmt: Any, column: Any, order: Any, text: str) -> tuple[list[Any], bool]:
    """The rows of ``stmt`` whose ``column`` contains ``text`` (case-insensitive), at most
    ``SEARCH_SCAN`` in ``order``, and whether more matched."""
    rows = list(
        session.execute(
            stmt.where(func.lower(column).contains(text, autoescape=True))
            .order_by(order)
            .limit(SEARCH_SCAN + 1)
        )
    )
    return rows[:SEARCH_SCAN], len(rows) > SEARCH_SCAN


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
    objs, truncated = _scan(
        session,
        select(CatalogObject.id, CatalogObject.kind, CatalogObject.updated_at),
        CatalogObject.canonical_id,
        CatalogObject.id,
        text,
    )
    updated = {int(o): u for o, _, u in objs}
    datasets_ids = [int(o) for o, k, _ in objs if k not in ROUTINE_KINDS]
    job_objects = [int(o) for o, k, _ in objs if k in ROUTINE_KINDS or k in VIEW_KINDS]
    file_rows, cut = _scan(session, select(File.id), File.path, File.id, text)
    truncated |= cut
    files = [int(f) for (f,) in file_rows]
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
        found, cut = _scan(
            session, select(model.namespace, model.name, model.updated_at), model.name, model.id, text
        )
        truncated |= cut
        for ns, name, when in found:
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
    "Dataset",
    "Job",
    "contents",
    "dataset",
    "datasets",
    "find_dataset_object",
    "materialise_jobs",
    "namespace",
    "namespaces",
    "one_dataset",
    "one_job",
    "page",
    "search",
    "some_datasets",
    "some_jobs",
]

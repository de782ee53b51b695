"""OpenLineage export (spec 2-0-2): one COMPLETE RunEvent per job.

Jobs are the code that moves data, never datasets: a routine (procedure, function, trigger)
named after the routine; a view's defining statement named after the view; a file-level script
named after the one object its file defines, else the file's stem (never a path). Datasets are
tables and views in the namespace of their platform (``store.openlineage``: the scheme from the
defining file's dialect, the authority from the repository's ``namespace`` setting), named by
their canonical ``[database.]schema.table``; datasets that arrived as OpenLineage events keep
the namespace and name they came with.

Facets: ``jobType`` (BATCH, integration FINLINEAGE, STORED_PROCEDURE|VIEW|SCRIPT|QUERY), ``sql``
(the original text: the routine's or view's definition, or the script file's stored copy),
``sourceCodeLocation`` (repository URL, path, commit/ref) for sources with a URL, ``schema`` on
every dataset whose columns are known (types from the DDL or a dbt catalog, ``description`` of
documented columns), ``documentation`` on documented datasets, and ``columnLineage`` 1-2-0 on the
outputs: transformations typed from the engine's edge subtypes, plus the deprecated per-field
``transformationDescription`` / ``transformationType`` that Marquez still reads.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from finlineage import __version__
from finlineage.lineage.model import DIRECT_SUBTYPES, INDIRECT_SUBTYPES
from finlineage.query.common import chunks
from finlineage.store import openlineage as names
from finlineage.store.models import (
    CatalogObject,
    Column,
    ColumnEdge,
    File,
    OLDataset,
    OLJob,
    Repository,
)

PRODUCER = f"https://github.com/finlineage/finlineage/tree/v{__version__}"
SPEC = "https://openlineage.io/spec"
RUN_EVENT_SCHEMA_URL = f"{SPEC}/2-0-2/OpenLineage.json#/$defs/RunEvent"
COLUMN_LINEAGE_SCHEMA_URL = (
    f"{SPEC}/facets/1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet"
)
SCHEMA_SCHEMA_URL = f"{SPEC}/facets/1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet"
DOCUMENTATION_SCHEMA_URL = (
    f"{SPEC}/facets/1-1-0/DocumentationDatasetFacet.json#/$defs/DocumentationDatasetFacet"
)
SQL_JOB_SCHEMA_URL = f"{SPEC}/facets/1-1-0/SQLJobFacet.json#/$defs/SQLJobFacet"
JOB_TYPE_SCHEMA_URL = f"{SPEC}/facets/2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet"
SOURCE_LOCATION_SCHEMA_URL = (
    f"{SPEC}/facets/1-1-0/SourceCodeLocationJobFacet.json#/$defs/SourceCodeLocationJobFacet"
)
INTEGRATION = "FINLINEAGE"
ROUTINE_KINDS = ("procedure", "function", "trigger")
VIEW_KINDS = ("view", "materialized_view")
AGGREGATES = ("SUM(", "AVG(", "MIN(", "MAX(", "COUNT(")


def facet(schema_url: str, **body: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": schema_url, **body}


def transformation(
    kind: str, subtype: str | None, expression: str | None, source_column: str
) -> dict[str, Any]:
    """One columnLineage transformation: ``type`` = kind.upper(), ``subtype`` from the engine's
    edge (edges stored before subtypes existed are classified from their expression)."""
    expr = (expression or "").strip()
    sub = (subtype or "").upper()
    if kind == "indirect":
        if sub not in INDIRECT_SUBTYPES:
            sub = "JOIN"
    elif sub not in DIRECT_SUBTYPES:
        tail = expr.rsplit(".", 1)[-1].strip('"[]`') if expr else source_column
        sub = "IDENTITY" if not expr or tail.lower() == source_column.lower() else "TRANSFORMATION"
        if expr.upper().startswith(AGGREGATES):
            sub = "AGGREGATION"
    out: dict[str, Any] = {"type": kind.upper(), "subtype": sub, "masking": False}
    if expr:
        out["description"] = expr
    return out


@dataclass(slots=True)
class _Job:
    namespace: str
    name: str
    job_type: str
    sql: str | None = None
    location: dict[str, Any] | None = None
    inputs: dict[tuple[str, str], int] = field(default_factory=dict)
    """(namespace, name) → object id."""
    outputs: dict[tuple[str, str], int] = field(default_factory=dict)
    fields: dict[tuple[str, str], dict[str, dict[tuple[str, str, str], list[dict[str, Any]]]]] = field(
        default_factory=dict
    )
    """output dataset → column → (input ns, input name, input column) → transformations."""
    received_facets: dict[str, Any] = field(default_factory=dict)
    """A received job's facets as its producer sent them (they replace ours of the same name)."""


@dataclass(slots=True)
class _Context:
    """Files, repositories, namespaces and columns of the exported graph (a few queries)."""

    files: dict[int, Any] = field(default_factory=dict)
    repos: dict[int, Repository] = field(default_factory=dict)
    commits: dict[int, str] = field(default_factory=dict)
    """run id → git commit (when the store records one)."""
    datasets: dict[int, tuple[str, str]] = field(default_factory=dict)
    """object id → (namespace, name)."""
    columns: dict[int, list[tuple[str, int | None, str | None]]] = field(default_factory=dict)
    column_docs: dict[tuple[int, str], str] = field(default_factory=dict)
    """(object id, column) → the column's description (documentation that came with the code)."""
    descriptions: dict[int, str] = field(default_factory=dict)
    """object id → its description."""
    file_objects: dict[int, list[str]] = field(default_factory=dict)
    """file id → canonical names of the objects it defines (not routines)."""
    subtypes: dict[int, str | None] = field(default_factory=dict)
    """column edge id → subtype (when the edge rows do not carry it)."""
    ol_jobs: dict[tuple[tuple[str, str], tuple[str, str]], tuple[str, str, str]] = field(default_factory=dict)
    """(input dataset, output dataset) → (namespace, name, type) of the received job linking them."""
    ol_job_objects: dict[tuple[int, int], tuple[str, str, str]] = field(default_factory=dict)
    """(input object id, output object id) → the received job linking them, for datasets the job
    named otherwise than the graph does (a symlink or a tolerated name matched them)."""
    ol_job_writers: dict[int, tuple[str, str, str] | None] = field(default_factory=dict)
    """output object id → the one received job writing it (None: several do), for received edges
    from a columnLineage input the event did not list among its inputs."""
    ol_job_facets: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    """(namespace, name) of a received job → its facets as last received."""


def _file_namespace(ctx: _Context, file_id: int | None, fallback: str) -> str:
    f = ctx.files.get(int(file_id)) if file_id is not None else None
    if f is None:
        return fallback
    repo = ctx.repos.get(int(f.repository_id))
    authority = names.authority_of(repo.name, repo.namespace) if repo else fallback
    return names.namespace_for(f.dialect, authority)


def _load_context(session: Session, g: Any) -> _Context:
    ctx = _Context()
    file_ids = {int(v[4]) for v in g.objects.values() if v[4] is not None}
    file_ids |= {int(r.file_id) for r in [*g.edges, *g.table_edges] if r.file_id is not None}
    for part in chunks(sorted(file_ids)):
        for f in session.execute(
            select(File.id, File.path, File.dialect, File.repository_id, File.run_id, File.sha256).where(
                File.id.in_(list(part))
            )
        ):
            ctx.files[int(f.id)] = f
    repo_ids = sorted({int(f.repository_id) for f in ctx.files.values()})
    for part in chunks(repo_ids):
        for repo in session.scalars(select(Repository).where(Repository.id.in_(list(part)))):
            ctx.repos[repo.id] = repo
    ctx.commits = _commits(session, sorted({int(f.run_id) for f in ctx.files.values() if f.run_id}))
    ol = names.datasets_of_objects(session, list(g.objects))
    first_ref: dict[int, int] = {}
    for r in sorted([*g.table_edges, *g.edges], key=lambda r: (r.file_id is None, r.id)):
        if r.file_id is not None:
            for oid in (int(r.source_object_id), int(r.target_object_id)):
                first_ref.setdefault(oid, int(r.file_id))
    for oid, (cid, kind, pid, _, file_id) in g.objects.items():
        if kind in ROUTINE_KINDS:
            continue
        project_fallback = f"{names.DEFAULT_SCHEME}://{g.projects.get(pid, str(pid))}"
        if file_id is not None and int(file_id) in ctx.files:
            ctx.datasets[oid] = (_file_namespace(ctx, file_id, project_fallback), cid)
        elif oid in ol:
            ctx.datasets[oid] = ol[oid]
        else:
            ctx.datasets[oid] = (_file_namespace(ctx, first_ref.get(oid), project_fallback), cid)
    if g.granularity == "column" and g.edges and "subtype" not in g.edges[0]._fields:
        for part in chunks(sorted(int(r.id) for r in g.edges)):
            for eid, sub in session.execute(
                select(ColumnEdge.id, ColumnEdge.subtype).where(ColumnEdge.id.in_(list(part)))
            ):
                ctx.subtypes[int(eid)] = sub
    for part in chunks(sorted(ctx.files)):
        for file_id, cid in session.execute(
            select(CatalogObject.file_id, CatalogObject.canonical_id)
            .where(CatalogObject.file_id.in_(list(part)), CatalogObject.kind.not_in(ROUTINE_KINDS))
            .order_by(CatalogObject.canonical_id)
        ):
            ctx.file_objects.setdefault(int(file_id or 0), []).append(cid)
    received = list(
        session.scalars(
            select(OLJob).where(OLJob.project_id.in_(sorted(g.projects) or [-1])).order_by(OLJob.id)
        )
    )
    for job in received:
        ctx.ol_job_facets[(job.namespace, job.name)] = dict(job.facets or {})
        for i_ns, i_name in job.inputs or []:
            for o_ns, o_name in job.outputs or []:
                ctx.ol_jobs.setdefault(
                    ((i_ns, i_name), (o_ns, o_name)), (job.namespace, job.name, job.job_type or "JOB")
                )
    if received:
        _received_job_objects(session, g, ctx, received)
    for part in chunks(sorted(ctx.datasets)):
        for oid, name, ordinal, dtype, doc in session.execute(
            select(Column.object_id, Column.name, Column.ordinal, Column.data_type, Column.description)
            .where(Column.object_id.in_(list(part)))
            .order_by(Column.object_id, Column.ordinal, Column.id)
        ):
            ctx.columns.setdefault(int(oid), []).append((name, ordinal, dtype))
            if doc:
                ctx.column_docs[(int(oid), name)] = doc
        for oid, doc in session.execute(
            select(CatalogObject.id, CatalogObject.description).where(
                CatalogObject.id.in_(list(part)), CatalogObject.description.is_not(None)
            )
        ):
            if doc:
                ctx.descriptions[int(oid)] = doc
    return ctx


def _received_job_objects(session: Session, g: Any, ctx: _Context, jobs: list[OLJob]) -> None:
    """``ctx.ol_job_objects``: received jobs keyed by the objects their datasets resolved to (the
    ``ol_datasets`` rows of the graph's objects, and the graph's own dataset names)."""
    where: dict[tuple[str, str], int] = {key: oid for oid, key in ctx.datasets.items()}
    for part in chunks(sorted(g.objects)):
        for oid, ns, name in session.execute(
            select(OLDataset.object_id, OLDataset.namespace, OLDataset.name).where(
                OLDataset.object_id.in_(list(part))
            )
        ):
            where.setdefault((ns, name), int(oid))
    for job in jobs:
        ins = {where[(ns, name)] for ns, name in job.inputs or [] if (ns, name) in where}
        outs = {where[(ns, name)] for ns, name in job.outputs or [] if (ns, name) in where}
        ident = (job.namespace, job.name, job.job_type or "JOB")
        for i in sorted(ins):
            for o in sorted(outs):
                ctx.ol_job_objects.setdefault((i, o), ident)
        for o in outs:
            ctx.ol_job_writers[o] = ident if ctx.ol_job_writers.get(o, ident) == ident else None


def _commits(session: Session, run_ids: list[int]) -> dict[int, str]:
    """Commits recorded for ingestion runs (graph versions keep the git commit of a run)."""
    from finlineage.store import models

    version = getattr(models, "GraphVersion", None)
    if version is None or not run_ids:
        return {}
    out: dict[int, str] = {}
    for part in chunks(run_ids):
        for run_id, commit in session.execute(
            select(version.run_id, version.commit).where(version.run_id.in_(list(part)))
        ):
            if commit:
                out[int(run_id)] = str(commit)
    return out


def _location(ctx: _Context, file_id: int | None) -> dict[str, Any] | None:
    """sourceCodeLocation for files of sources with a URL (git): repository URL, path, commit."""
    f = ctx.files.get(int(file_id)) if file_id is not None else None
    repo = ctx.repos.get(int(f.repository_id)) if f is not None else None
    if f is None or repo is None or not repo.url:
        return None
    version = ctx.commits.get(int(f.run_id)) if f.run_id else None
    base = repo.url[:-4] if repo.url.endswith(".git") else repo.url
    ref = version or repo.ref
    url = f"{base}/blob/{ref}/{f.path}" if ref and base.startswith(("http://", "https://")) else repo.url
    body: dict[str, Any] = {"type": repo.kind if repo.kind == "git" else "file", "url": url}
    body.update({"repoUrl": repo.url, "path": f.path})
    if version:
        body["version"] = version
    if repo.ref:
        body["branch"] = repo.ref
    return facet(SOURCE_LOCATION_SCHEMA_URL, **body)


class _JobResolver:
    """Which job an edge belongs to (see the module docstring)."""

    def __init__(self, g: Any, ctx: _Context, read_text: Callable[[str], str | None] | None) -> None:
        self.g, self.ctx, self.read_text = g, ctx, read_text
        self.jobs: dict[tuple[str, str], _Job] = {}

    def _get(self, ns: str, name: str, job_type: str) -> tuple[_Job, bool]:
        job = self.jobs.get((ns, name))
        if job is not None:
            return job, False
        job = self.jobs[(ns, name)] = _Job(ns, name, job_type)
        return job, True

    def job_for(self, r: Any) -> _Job:
        g, ctx = self.g, self.ctx
        fallback = f"{names.DEFAULT_SCHEME}://{g.projects.get(int(r.project_id), str(r.project_id))}"
        if r.process_object_id is not None and int(r.process_object_id) in g.objects:
            cid, _, _, definition, file_id = g.objects[int(r.process_object_id)]
            job, new = self._get(
                _file_namespace(ctx, file_id or r.file_id, fallback), cid, "STORED_PROCEDURE"
            )
            if new:
                job.sql, job.location = definition, _location(ctx, file_id or r.file_id)
            return job
        tgt = g.objects.get(int(r.target_object_id))
        if tgt is not None and tgt[1] in VIEW_KINDS and (r.file_id is None or tgt[4] == r.file_id):
            job, new = self._get(_file_namespace(ctx, tgt[4] or r.file_id, fallback), tgt[0], "VIEW")
            if new:
                job.sql, job.location = tgt[3], _location(ctx, tgt[4] or r.file_id)
            return job
        f = ctx.files.get(int(r.file_id)) if r.file_id is not None else None
        if f is not None:
            defined = ctx.file_objects.get(int(f.id), [])
            name = defined[0] if len(defined) == 1 else PurePosixPath(f.path).stem
            repo = ctx.repos.get(int(f.repository_id))
            kind = "QUERY" if repo is not None and repo.kind == "sql" else "SCRIPT"
            job, new = self._get(_file_namespace(ctx, f.id, fallback), name, kind)
            if new:
                job.sql = self.read_text(f.sha256) if self.read_text else None
                job.location = _location(ctx, f.id)
            return job
        src, tgt = ctx.datasets.get(int(r.source_object_id)), ctx.datasets.get(int(r.target_object_id))
        received = ctx.ol_jobs.get((src, tgt)) if src is not None and tgt is not None else None
        if received is None:
            received = ctx.ol_job_objects.get((int(r.source_object_id), int(r.target_object_id)))
        if received is None and r.origin == "openlineage":
            received = ctx.ol_job_writers.get(int(r.target_object_id))
        if received is not None:
            job, new = self._get(*received)
            if new:
                job.received_facets = ctx.ol_job_facets.get((job.namespace, job.name), {})
            return job
        job, _ = self._get(fallback, f"{r.origin}-lineage", str(r.origin).upper())
        return job


def _schema_facet(ctx: _Context, oid: int) -> dict[str, Any] | None:
    cols = ctx.columns.get(oid)
    if not cols:
        return None
    fields: list[dict[str, Any]] = []
    for name, ordinal, dtype in cols:
        item: dict[str, Any] = {"name": name}
        if dtype:
            item["type"] = dtype
        doc = ctx.column_docs.get((oid, name))
        if doc:
            item["description"] = doc
        if ordinal:
            item["ordinal_position"] = int(ordinal)
        fields.append(item)
    return facet(SCHEMA_SCHEMA_URL, fields=fields)


def _dataset(ctx: _Context, key: tuple[str, str], oid: int) -> dict[str, Any]:
    facets: dict[str, Any] = {}
    schema = _schema_facet(ctx, oid)
    if schema is not None:
        facets["schema"] = schema
    if oid in ctx.descriptions:
        facets["documentation"] = facet(DOCUMENTATION_SCHEMA_URL, description=ctx.descriptions[oid])
    return {"namespace": key[0], "name": key[1], "facets": facets}


def _column_lineage(cols: dict[str, dict[tuple[str, str, str], list[dict[str, Any]]]]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for col, inputs in sorted(cols.items()):
        direct = [t for ts in inputs.values() for t in ts if t["type"] == "DIRECT"]
        identity = bool(direct) and all(t["subtype"] == "IDENTITY" for t in direct)
        described = sorted({t.get("description", "") for t in direct if t.get("description")})
        entry: dict[str, Any] = {
            "inputFields": [
                {"namespace": ns, "name": name, "field": src, "transformations": trans}
                for (ns, name, src), trans in sorted(inputs.items())
            ],
            "transformationType": "IDENTITY" if identity else ("TRANSFORMATION" if direct else "INDIRECT"),
        }
        if described:
            entry["transformationDescription"] = "; ".join(described)
        fields[col] = entry
    return facet(COLUMN_LINEAGE_SCHEMA_URL, fields=fields)


def _function_inputs(
    g: Any, ctx: _Context
) -> dict[tuple[int, str], list[tuple[tuple[str, str], int, str, dict[str, Any]]]]:
    """``(function object, result column) → [(dataset, its object, its column, transformation)]``:
    a table-valued function is a job, not a dataset, so what reads it reads these through it."""
    out: dict[tuple[int, str], list[tuple[tuple[str, str], int, str, dict[str, Any]]]] = {}
    for r in g.edges:
        fn = g.objects.get(int(r.target_object_id))
        src = ctx.datasets.get(int(r.source_object_id))
        if src is None or fn is None or fn[1] != "function":
            continue
        out.setdefault((int(r.target_object_id), str(r.target_column)), []).append(
            (src, int(r.source_object_id), str(r.source_column), _edge_transformation(ctx, r))
        )
    return out


def _edge_transformation(ctx: _Context, r: Any) -> dict[str, Any]:
    """The columnLineage transformation of column edge ``r`` (its subtype from the row, else
    from the context)."""
    sub = getattr(r, "subtype", None) or ctx.subtypes.get(int(r.id))
    return transformation(r.kind, sub, r.expression, str(r.source_column))


def _composed(inner: dict[str, Any], outer: dict[str, Any]) -> dict[str, Any]:
    """The transformation of two steps (into a function's result, then out of it): an indirect
    step makes the whole indirect; an identity step leaves the other as it is."""
    for step in (outer, inner):
        if step["type"] == "INDIRECT":
            return step
    return inner if outer["subtype"] == "IDENTITY" else outer


def to_openlineage(
    session: Session,
    g: Any,
    *,
    event_time: datetime | None = None,
    read_text: Callable[[str], str | None] | None = None,
) -> list[dict[str, Any]]:
    """The export graph ``g`` (``query.export.load_graph`` with table edges) as RunEvents."""
    when = (event_time or datetime.now(UTC)).astimezone(UTC).isoformat().replace("+00:00", "Z")
    ctx = _load_context(session, g)
    resolver = _JobResolver(g, ctx, read_text)

    read_by_functions: dict[int, dict[tuple[str, str], int]] = {}
    for r in g.table_edges:  # what each table-valued function reads
        fn, src = g.objects.get(int(r.target_object_id)), ctx.datasets.get(int(r.source_object_id))
        if src is not None and fn is not None and fn[1] == "function":
            read_by_functions.setdefault(int(r.target_object_id), {})[src] = int(r.source_object_id)
    for r in g.table_edges:
        src, tgt = ctx.datasets.get(int(r.source_object_id)), ctx.datasets.get(int(r.target_object_id))
        table_reads = (
            {src: int(r.source_object_id)}
            if src is not None
            else read_by_functions.get(int(r.source_object_id))
        )
        if not table_reads or tgt is None:
            continue  # a routine endpoint (call edge): routines are jobs, never datasets
        job = resolver.job_for(r)
        job.inputs.update(table_reads)
        job.outputs[tgt] = int(r.target_object_id)
    if g.granularity == "column":
        through = _function_inputs(g, ctx)
        for r in g.edges:
            src, tgt = ctx.datasets.get(int(r.source_object_id)), ctx.datasets.get(int(r.target_object_id))
            # a result column of a table-valued function: what the function reads it from
            ups = through.get((int(r.source_object_id), str(r.source_column)), []) if src is None else []
            if tgt is None or (src is None and not ups):
                continue
            outer = _edge_transformation(ctx, r)
            if src is not None:
                reads = [(src, int(r.source_object_id), str(r.source_column), outer)]
            else:
                reads = [
                    (up_src, up_oid, up_col, _composed(inner, outer)) for up_src, up_oid, up_col, inner in ups
                ]
            job = resolver.job_for(r)
            job.outputs[tgt] = int(r.target_object_id)
            per_col = job.fields.setdefault(tgt, {}).setdefault(str(r.target_column), {})
            for up_src, up_oid, up_col, trans in reads:
                job.inputs[up_src] = up_oid
                bucket = per_col.setdefault((up_src[0], up_src[1], up_col), [])
                if trans not in bucket:
                    bucket.append(trans)

    events: list[dict[str, Any]] = []
    for (ns, name), job in sorted(resolver.jobs.items()):
        job_facets: dict[str, Any] = {
            "jobType": facet(
                JOB_TYPE_SCHEMA_URL, processingType="BATCH", integration=INTEGRATION, jobType=job.job_type
            )
        }
        if job.sql:
            job_facets["sql"] = facet(SQL_JOB_SCHEMA_URL, query=job.sql)
        if job.location:
            job_facets["sourceCodeLocation"] = job.location
        job_facets.update(
            (key, value)  # what the producer said (its jobType, sql, ...) over our defaults
            for key, value in job.received_facets.items()
            if isinstance(value, dict) and "_producer" in value and "_schemaURL" in value
        )
        outputs = []
        for key, oid in job.outputs.items():
            out = _dataset(ctx, key, oid)
            cols = job.fields.get(key)
            if cols:
                out["facets"]["columnLineage"] = _column_lineage(cols)
            outputs.append(out)
        events.append(
            {
                "eventType": "COMPLETE",
                "eventTime": when,
                "run": {"runId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{ns}/{name}")), "facets": {}},
                "job": {"namespace": ns, "name": name, "facets": job_facets},
                "inputs": [_dataset(ctx, key, oid) for key, oid in job.inputs.items()],
                "outputs": outputs,
                "producer": PRODUCER,
                "schemaURL": RUN_EVENT_SCHEMA_URL,
            }
        )
    return events

"""Jobs with their runs, runs with the dataset versions they read and wrote, datasets with their
versions: Marquez's Job, Run and DatasetVersion (``query.marquez_shapes``), one way for every
route that answers with them (``/api/v1/jobs``, ``/api/v1/jobs/{ns}/{name}/runs``,
``/api/v1/namespaces/{ns}/jobs...``, ``/api/v1/jobs/runs/{id}``, the lineage graph's jobs).

Jobs parsed from SQL have no runs (runs are what producers report); received jobs have theirs.
Dataset versions are derived at read time (``query.marquez_versions``).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from finlineage.query import marquez_catalog as catalog
from finlineage.query import marquez_shapes as shape
from finlineage.query import marquez_versions as versions
from finlineage.query.errors import InvalidQueryError, not_found
from finlineage.query.marquez import job_edges, parse_node_id
from finlineage.store import openlineage as names
from finlineage.store.models import OLJob, OLRun

RUNS_PER_JOB = 10
"""Runs a job carries in `latestRuns` (Marquez's default)."""


class Runs:
    """Shapes runs with their dataset versions; remembers each dataset's versions (one request)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._timelines: dict[versions.Key, list[versions.Version]] = {}

    def timelines(self, keys: Collection[tuple[str, str]]) -> dict[versions.Key, list[versions.Version]]:
        """The versions of datasets ``(namespace, name)`` (none for one that does not exist)."""
        missing = sorted(
            {versions.key(*k): k for k in keys if versions.key(*k) not in self._timelines}.values()
        )
        if missing:
            found = catalog.some_datasets(self.session, missing)
            known = versions.timelines(self.session, [(k[0], found[k]) for k in sorted(found)])
            for k in missing:
                self._timelines[versions.key(*k)] = known.get(versions.key(*k), [])
        return self._timelines

    def shape(self, rows: Sequence[tuple[OLRun, OLJob]]) -> list[dict[str, Any]]:
        ios = versions.run_io(self.session, [(j.namespace, j.name, r.run_id) for r, j in rows])
        times = self.timelines([(s.namespace, s.name) for io in ios.values() for s in io.inputs.values()])
        out: list[dict[str, Any]] = []
        for r, j in rows:
            io = ios[(j.namespace, j.name, r.run_id)]
            inputs = []
            for s in io.inputs.values():
                read = versions.read_version(times[versions.key(s.namespace, s.name)], s.time)
                inputs.append(shape.io_version(s.namespace, s.name, read.id if read else None, s.io_facets))
            outputs = [
                shape.io_version(
                    s.namespace, s.name, shape.run_version(s.namespace, s.name, r.run_id), s.io_facets
                )
                for s in io.outputs.values()
            ]
            version = shape.received_version(j)
            out.append(shape.run_out(r, j.namespace, j.name, version, inputs=inputs, outputs=outputs))
        return out


def _paged(key: str, items: list[Any], total: int, limit: int, offset: int) -> dict[str, Any]:
    return {
        key: items,
        "totalCount": total,
        "limit": limit,
        "offset": offset,
        "truncated": offset + len(items) < total,
    }


# --------------------------------------------------------------------------------------
# jobs
# --------------------------------------------------------------------------------------


def _jobs_out(session: Session, jobs: list[tuple[str, catalog.Job]]) -> list[dict[str, Any]]:
    """Jobs (namespace, job) with their latest runs."""
    runs = Runs(session)
    rows: list[tuple[OLRun, OLJob]] = []
    for _ns, job in jobs:
        if job.received is not None:
            found, _ = names.list_runs(session, job.received.id, limit=RUNS_PER_JOB)
            rows += [(r, job.received) for r in found]
    shaped: dict[int, list[dict[str, Any]]] = {}
    for (_r, j), out in zip(rows, runs.shape(rows), strict=True):
        shaped.setdefault(j.id, []).append(out)
    return [
        shape.job_out(
            ns,
            job.name,
            inputs=job.inputs,
            outputs=job.outputs,
            facets=job.facets,
            created=job.created,
            updated=job.updated,
            latest_runs=shaped.get(job.received.id, []) if job.received is not None else [],
            version=shape.received_version(job.received) if job.received is not None else None,
            project_id=job.project_id,
        )
        for ns, job in jobs
    ]


def jobs(
    session: Session, ns: str, *, last_run_states: Collection[str] = (), limit: int, offset: int
) -> dict[str, Any]:
    """The jobs of namespace ``ns`` (404 when there is no such namespace), as ``all_jobs``."""
    if ns not in catalog.namespace_index(session):
        raise not_found("namespace", ns)
    return all_jobs(session, namespace=ns, last_run_states=last_run_states, limit=limit, offset=offset)


def job(session: Session, ns: str, name: str) -> dict[str, Any]:
    return _jobs_out(session, [(ns, catalog.one_job(session, ns, name))])[0]


def run_states(values: Collection[str]) -> list[str]:
    """Marquez run states (``lastRunStates``), case-insensitive; anything else is a 422."""
    out = [v.upper() for v in values]
    bad = [v for v in values if v.upper() not in shape.MARQUEZ_RUN_STATES]
    if bad:
        raise InvalidQueryError(
            f"lastRunStates must be among {', '.join(shape.MARQUEZ_RUN_STATES)}, not {', '.join(map(repr, bad))}",
            details={"lastRunStates": list(values), "allowed": list(shape.MARQUEZ_RUN_STATES)},
        )
    return out


def _latest(*where: Any) -> Any:
    """Runs (``where``) numbered newest first per job: ``n == 1`` is a job's latest run."""
    return (
        select(
            OLRun.job_id,
            OLRun.state,
            func.row_number()
            .over(partition_by=OLRun.job_id, order_by=(OLRun.event_time.desc(), OLRun.id.desc()))
            .label("n"),
        )
        .where(*where)
        .subquery()
    )


def all_jobs(
    session: Session,
    *,
    namespace: str | None = None,
    last_run_states: Collection[str] = (),
    limit: int = 100,
    offset: int = 0,
) -> dict[str, Any]:
    """Marquez's ``GET /api/v1/jobs``: every job (parsed from SQL or reported by producers) by
    namespace and name, each the Job its namespace serves. With ``last_run_states`` only the jobs
    whose latest run is in one of those states: received ones (parsed-only jobs have no runs)."""
    states = run_states(last_run_states)
    if states:
        return _jobs_by_last_state(session, namespace, states, limit, offset)
    found = catalog.contents_by_namespace(session, None if namespace is None else {namespace}, with_jobs=True)
    keys = sorted((ns, name) for ns, c in found.items() for name in c.job_names())
    page_keys = catalog.page(keys, limit, offset)
    wanted: dict[str, list[str]] = {}
    for ns, name in page_keys:
        wanted.setdefault(ns, []).append(name)
    made = {
        (ns, j.name): j
        for ns, names_ in wanted.items()
        for j in catalog.materialise_jobs(session, found[ns], names_)
    }
    page = [(ns, made[(ns, n)]) for ns, n in page_keys if (ns, n) in made]
    return _paged("jobs", _jobs_out(session, page), len(keys), limit, offset)


def _jobs_by_last_state(
    session: Session, namespace: str | None, states: list[str], limit: int, offset: int
) -> dict[str, Any]:
    latest = _latest()
    stmt = (
        select(OLJob.namespace, OLJob.name)
        .join(latest, (latest.c.job_id == OLJob.id) & (latest.c.n == 1))
        .where(latest.c.state.in_(sorted(shape.openlineage_states(states))))
    )
    if namespace is not None:
        stmt = stmt.where(OLJob.namespace == namespace)
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    keys = list(session.execute(stmt.order_by(OLJob.namespace, OLJob.name).limit(limit).offset(offset)))
    found = catalog.some_jobs(session, [(str(ns), str(name)) for ns, name in keys])
    page = [(str(ns), found[(str(ns), str(name))]) for ns, name in keys if (str(ns), str(name)) in found]
    return _paged("jobs", _jobs_out(session, page), total, limit, offset)


# --------------------------------------------------------------------------------------
# runs
# --------------------------------------------------------------------------------------


def job_runs(session: Session, ns: str, name: str, *, limit: int, offset: int) -> dict[str, Any]:
    """Runs of a job, newest first: a received job's runs; a parsed job has none."""
    received = names.get_job(session, ns, name)
    if received is None:
        own, _g, _ctx = job_edges(session, parse_node_id(shape.node_id("job", ns, name)), None)
        if not own:
            raise not_found("job", f"{ns}:{name}")
        return _paged("runs", [], 0, limit, offset)
    rows, total = names.list_runs(session, received.id, limit=limit, offset=offset)
    return _paged("runs", Runs(session).shape([(r, received) for r in rows]), total, limit, offset)


def _run(session: Session, run_id: str) -> tuple[OLRun, OLJob]:
    try:
        stored = str(uuid.UUID(run_id))  # runs are stored in one spelling (see ingest.openlineage)
    except ValueError:
        raise not_found("run", run_id) from None
    row = session.execute(
        select(OLRun, OLJob).join(OLJob, OLJob.id == OLRun.job_id).where(OLRun.run_id == stored).limit(1)
    ).first()
    if row is None:
        raise not_found("run", run_id)
    return row[0], row[1]


def run(session: Session, run_id: str) -> dict[str, Any]:
    return Runs(session).shape([_run(session, run_id)])[0]


def run_facets(session: Session, run_id: str, kind: Literal["run", "job"]) -> dict[str, Any]:
    """Marquez `/jobs/runs/{id}/facets?type=run|job`: the run's facets, or its job's."""
    r, j = _run(session, run_id)
    return {"runId": r.run_id, "facets": dict((r.facets if kind == "run" else j.facets) or {})}


# --------------------------------------------------------------------------------------
# dataset versions
# --------------------------------------------------------------------------------------


def dataset_versions(session: Session, ns: str, name: str, *, limit: int, offset: int) -> dict[str, Any]:
    """Every version of a dataset, newest first (``query.marquez_versions``), each with the run
    that made it when one did."""
    d = catalog.one_dataset(session, ns, name)
    items = versions.timelines(session, [(ns, d)])[versions.key(ns, d.name)]
    page = catalog.page(items, limit, offset)
    return _paged("versions", _versions_out(session, ns, d.name, page), len(items), limit, offset)


def dataset_version(session: Session, ns: str, name: str, version: str) -> dict[str, Any]:
    """One version of a dataset by its id (Marquez ``.../datasets/{name}/versions/{version}``)."""
    d = catalog.one_dataset(session, ns, name)
    items = versions.timelines(session, [(ns, d)])[versions.key(ns, d.name)]
    found = [v for v in items if v.id == version.lower()]
    if not found:
        raise not_found("dataset version", f"{ns}:{d.name}:{version}")
    return _versions_out(session, ns, d.name, found[:1])[0]


def _versions_out(session: Session, ns: str, name: str, page: list[versions.Version]) -> list[dict[str, Any]]:
    """DatasetVersions, each with the run that made it when one did."""
    wanted = sorted({v.run_id for v in page if v.run_id})
    made: dict[str, dict[str, Any]] = {}
    if wanted:
        rows = list(
            session.execute(
                select(OLRun, OLJob).join(OLJob, OLJob.id == OLRun.job_id).where(OLRun.run_id.in_(wanted))
            )
        )
        for pair, shaped in zip(rows, Runs(session).shape([(r, j) for r, j in rows]), strict=True):
            made[pair[0].run_id] = shaped
    return [versions.version_out(ns, name, v, made.get(v.run_id) if v.run_id else None) for v in page]


__all__ = [
    "RUNS_PER_JOB",
    "Runs",
    "all_jobs",
    "dataset_version",
    "dataset_versions",
    "job",
    "job_runs",
    "jobs",
    "run",
    "run_facets",
    "run_states",
]

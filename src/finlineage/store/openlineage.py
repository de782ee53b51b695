"""OpenLineage naming and persistence: namespaces per platform, jobs, runs, dataset mapping.

Naming (OpenLineage naming spec): a dataset's namespace is ``<scheme>://<authority>`` where the
scheme is the platform of the file that defines (or first references) it — chosen from the
file's SQL dialect — and the authority is the repository's ``namespace`` setting (default: the
repository name). BigQuery has no authority (namespace ``bigquery``). Dataset names are the
catalog's canonical ``[database.]schema.table``.

Every function takes the session first and never commits: the caller owns the transaction.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Executable, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from finlineage.store.bulk import _table
from finlineage.store.models import (
    CatalogObject,
    Column,
    ColumnEdge,
    OLDataset,
    OLJob,
    OLRun,
    Repository,
    TableEdge,
    utcnow,
)

DIALECT_SCHEMES: dict[str, str] = {
    "tsql": "mssql",
    "fabric": "mssql",
    "postgres": "postgres",
    "snowflake": "snowflake",
    "bigquery": "bigquery",
    "oracle": "oracle",
    "mysql": "mysql",
    "redshift": "redshift",
    "trino": "trino",
    "presto": "trino",
    "athena": "awsathena",
    "hive": "hive",
    "spark": "hive",
    "spark2": "hive",
    "databricks": "databricks",
    "duckdb": "duckdb",
    "sqlite": "sqlite",
    "teradata": "teradata",
    "clickhouse": "clickhouse",
    "doris": "doris",
    "starrocks": "starrocks",
    "materialize": "postgres",
    "risingwave": "postgres",
    "dremio": "dremio",
    "exasol": "exasol",
    "drill": "drill",
    "druid": "druid",
    "singlestore": "singlestore",
    "tableau": "tableau",
}
"""sqlglot dialect → OpenLineage namespace scheme."""

NO_AUTHORITY_SCHEMES = frozenset({"bigquery"})
"""Platforms whose namespace is the bare scheme (``bigquery``)."""

DEFAULT_SCHEME = "sql"
"""Scheme of files without a known dialect (ANSI SQL)."""


def scheme_for(dialect: str | None) -> str:
    return DIALECT_SCHEMES.get((dialect or "").lower(), DEFAULT_SCHEME)


def authority_of(repository_name: str, namespace: str | None) -> str:
    """The authority part of a repository's namespace setting (a full ``scheme://authority``
    setting keeps only the authority: the scheme always comes from the file's dialect)."""
    value = (namespace or "").strip() or repository_name
    if "://" in value:
        value = value.split("://", 1)[1]
    return value.rstrip("/")


def authority_problem(value: str) -> str | None:
    """Why a repository's namespace setting cannot serve as an authority (None: it can): once
    an optional ``scheme://`` is dropped, something without whitespace must remain."""
    authority = authority_of("", value)
    if not authority:
        return "names no authority (expected host[:port] or scheme://host[:port])"
    if any(ch.isspace() for ch in authority):
        return "holds whitespace (an authority is host[:port])"
    return None


def namespace_for(dialect: str | None, authority: str) -> str:
    scheme = scheme_for(dialect)
    if scheme in NO_AUTHORITY_SCHEMES:
        return scheme
    return f"{scheme}://{authority}"


def split_namespace(namespace: str) -> tuple[str, str]:
    """``mssql://sql-host:1433`` → (``mssql``, ``sql-host:1433``); ``bigquery`` → (``bigquery``, "")."""
    if "://" in namespace:
        scheme, rest = namespace.split("://", 1)
        return scheme.lower(), rest.rstrip("/")
    return namespace.lower(), ""


# --------------------------------------------------------------------------------------
# repositories by namespace
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RepoNamespace:
    repository_id: int
    project_id: int
    name: str
    authority: str


def repository_namespaces(session: Session) -> list[RepoNamespace]:
    rows = session.execute(
        select(Repository.id, Repository.project_id, Repository.name, Repository.namespace).order_by(
            Repository.id
        )
    )
    return [RepoNamespace(int(i), int(p), n, authority_of(n, ns)) for i, p, n, ns in rows]


def authority_matches(a: str, b: str) -> bool:
    """Same authority, case-insensitive; a side without a port matches any port of the same host
    (``sql-host`` ~ ``sql-host:1433``)."""
    a, b = a.lower(), b.lower()
    if a == b:
        return True
    host_a, _, port_a = a.rpartition(":") if ":" in a else (a, "", "")
    host_b, _, port_b = b.rpartition(":") if ":" in b else (b, "", "")
    return host_a == host_b and (not port_a or not port_b)


def projects_for_namespace(session: Session, namespace: str) -> list[int]:
    """Projects owning a repository whose authority is the namespace's (oldest first)."""
    _, authority = split_namespace(namespace)
    if not authority:
        return []
    out: list[int] = []
    for r in repository_namespaces(session):
        if authority_matches(r.authority, authority) and r.project_id not in out:
            out.append(r.project_id)
    return out


def set_repository_namespace(session: Session, repository_id: int, namespace: str | None) -> bool:
    repo = session.get(Repository, repository_id)
    if repo is None:
        return False
    repo.namespace = (namespace or "").strip() or None
    session.flush()
    return True


# --------------------------------------------------------------------------------------
# datasets
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DatasetRow:
    """An ``ol_datasets`` row: where a received dataset lives in the graph."""

    id: int
    namespace: str
    name: str
    project_id: int
    object_id: int
    facets: dict[str, Any] | None


def dataset_map(session: Session, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], DatasetRow]:
    """Known datasets among ``(namespace, name)`` keys."""
    wanted = sorted(set(keys))
    out: dict[tuple[str, str], DatasetRow] = {}
    conn = session.connection()
    for i in range(0, len(wanted), 200):
        part = set(wanted[i : i + 200])
        for row in conn.execute(_statement("datasets"), {"names": sorted({n for _, n in part})}):
            key = (row.namespace, row.name)
            if key in part:
                out[key] = DatasetRow(*row)
    return out


def upsert_dataset(
    session: Session,
    namespace: str,
    name: str,
    project_id: int,
    object_id: int,
    facets: dict[str, Any] | None,
    existing: DatasetRow | None = None,
) -> DatasetRow:
    """Create or update a dataset's row (facets merge): one Core statement."""
    merged = existing.facets if existing is not None else None
    if facets:
        merged = _facets_merged(merged, facets)
    values = {"project_id": project_id, "object_id": object_id, "facets": merged, "updated_at": utcnow()}
    t = _table(OLDataset)
    conn = session.connection()
    if existing is None:
        stmt = insert(t).values(namespace=namespace, name=name, **values).returning(t.c.id)
        row_id = int(conn.execute(stmt).scalar_one())
    else:
        row_id = existing.id
        conn.execute(update(t).where(t.c.id == row_id).values(**values))
    return DatasetRow(row_id, namespace, name, project_id, object_id, merged)


def objects_named(session: Session, project_id: int, lowered: Sequence[str]) -> dict[str, int]:
    """``lower(canonical id) → object id`` of the project's objects with one of these names."""
    rows = session.execute(_statement("objects_named"), {"pid": project_id, "names": list(lowered)})
    return {cid: int(oid) for oid, cid in rows}


def objects_ending(session: Session, project_id: int, lowered_suffix: str) -> list[int]:
    """Objects of the project whose lower-cased canonical id ends with ``lowered_suffix``."""
    escaped = lowered_suffix.replace("/", "//").replace("%", "/%").replace("_", "/_")
    rows = session.execute(_statement("objects_ending"), {"pid": project_id, "pattern": "%" + escaped})
    return [int(oid) for (oid,) in rows]


def routine_named(session: Session, project_id: int, lowered: str, kinds: Sequence[str]) -> int | None:
    """The project's routine or view of that (lower-cased) canonical id, if any."""
    found = session.execute(
        _statement("routine_named"), {"pid": project_id, "name": lowered, "kinds": list(kinds)}
    ).first()
    return int(found[0]) if found is not None else None


def datasets_of_objects(session: Session, object_ids: Sequence[int]) -> dict[int, tuple[str, str]]:
    """``object id → (namespace, name)`` for objects that arrived as OpenLineage datasets."""
    out: dict[int, tuple[str, str]] = {}
    ids = sorted(set(object_ids))
    for i in range(0, len(ids), 500):
        for oid, ns, name in session.execute(
            select(OLDataset.object_id, OLDataset.namespace, OLDataset.name)
            .where(OLDataset.object_id.in_(ids[i : i + 500]))
            .order_by(OLDataset.id)
        ):
            out.setdefault(int(oid), (ns, name))
    return out


def find_dataset(session: Session, namespace: str, name: str) -> OLDataset | None:
    return session.scalar(
        select(OLDataset).where(OLDataset.namespace == namespace, func.lower(OLDataset.name) == name.lower())
    )


# --------------------------------------------------------------------------------------
# jobs and runs
# --------------------------------------------------------------------------------------


def get_job(session: Session, namespace: str, name: str) -> OLJob | None:
    return session.scalar(select(OLJob).where(OLJob.namespace == namespace, OLJob.name == name))


def upsert_job(
    session: Session,
    project_id: int,
    namespace: str,
    name: str,
    *,
    job_type: str | None,
    facets: dict[str, Any] | None,
    inputs: list[list[str]] | None,
    outputs: list[list[str]] | None,
    process_object_id: int | None,
) -> int:
    """Create or update a job (facets merge, inputs/outputs accumulate); returns its id. Core
    statements: one read, then one insert or one update of the fields that changed."""
    conn = session.connection()
    row = conn.execute(_statement("job"), {"ns": namespace, "name": name}).first()
    old: dict[str, Any] = dict(row._mapping) if row is not None else {}
    values: dict[str, Any] = {"project_id": project_id}
    if job_type:
        values["job_type"] = job_type
    if facets:
        values["facets"] = _facets_merged(old.get("facets"), facets)
    if inputs:
        values["inputs"] = _merge_pairs(old.get("inputs"), inputs)
    if outputs:
        values["outputs"] = _merge_pairs(old.get("outputs"), outputs)
    if process_object_id is not None:
        values["process_object_id"] = process_object_id
    now = utcnow()
    t = _table(OLJob)
    if row is None:
        stmt = insert(t).values(namespace=namespace, name=name, created_at=now, updated_at=now, **values)
        return int(conn.execute(stmt.returning(t.c.id)).scalar_one())
    changed = {k: v for k, v in values.items() if old.get(k) != v}
    if changed:
        conn.execute(update(t).where(t.c.id == old["id"]).values(**changed, updated_at=now))
    return int(old["id"])


def _merge_pairs(old: list[Any] | None, new: list[list[str]]) -> list[list[str]]:
    seen = [list(p) for p in old or []]
    for p in new:
        if list(p) not in seen:
            seen.append(list(p))
    return seen


@dataclass(frozen=True, slots=True)
class RunChange:
    """One event's word on a run: its state at ``event_time`` and run facets."""

    job_id: int
    run_id: str
    state: str
    event_time: datetime
    facets: dict[str, Any] | None


TERMINAL_STATES = ("COMPLETE", "ABORT", "FAIL")
START_STATES = ("START", "RUNNING")
"""States that say a run is under way (Marquez: both RUNNING)."""

_RUN_FIELDS = ("state", "event_time", "started_at", "ended_at", "facets")


def _facets_merged(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any] | None:
    """Facets after an event's: each new facet replaces the old one of its name, and a facet
    sent as ``{"_deleted": true}`` removes it (the OpenLineage spec's facet deletion)."""
    merged = {**(old or {}), **new}
    return {
        k: v for k, v in merged.items() if not (isinstance(v, dict) and v.get("_deleted") is True)
    } or None


def _advance(row: dict[str, Any] | None, change: RunChange, now: datetime) -> dict[str, Any]:
    """A run's fields after one event, whatever order events arrive in: START/RUNNING start it
    (``started_at``: the earliest of them) unless it already ended; a terminal state ends it,
    the latest terminal event (by ``eventTime``) deciding state and ``ended_at``; OTHER carries
    metadata only and never changes the state; ``event_time`` is the latest; facets merge, a
    facet both name keeping the later event's."""
    state, at = change.state, change.event_time
    if row is None:
        return {
            "job_id": change.job_id,
            "run_id": change.run_id,
            "state": state,
            "event_time": at,
            "started_at": at if state in START_STATES else None,
            "ended_at": at if state in TERMINAL_STATES else None,
            "facets": _facets_merged(None, change.facets) if change.facets else None,
            "created_at": now,
            "updated_at": now,
        }
    out = {**row, "updated_at": now}
    older = row["event_time"] is not None and at < row["event_time"]
    ended = row["state"] in TERMINAL_STATES
    if state in TERMINAL_STATES:
        if not ended or row["ended_at"] is None or at >= row["ended_at"]:
            out["state"], out["ended_at"] = state, at
    elif state in START_STATES:
        if not ended:
            out["state"] = state
        if row["started_at"] is None or at < row["started_at"]:
            out["started_at"] = at
    if row["event_time"] is None or at >= row["event_time"]:
        out["event_time"] = at
    if change.facets:
        # a facet both events name keeps the later event's word (eventTime, not arrival)
        if older:
            out["facets"] = _facets_merged(change.facets, row["facets"] or {})
        else:
            out["facets"] = _facets_merged(row["facets"], change.facets)
    return out


def record_runs(session: Session, changes: Sequence[RunChange]) -> None:
    """Create or advance the runs of several events, applied in order (see ``_advance``), with
    one read of the runs they name, one insert of the new ones and one update of the others:
    this is the per-event hot path, so Core statements."""
    if not changes:
        return
    keys = list(dict.fromkeys((c.job_id, c.run_id) for c in changes))
    rows: dict[tuple[int, str], dict[str, Any]] = {}
    for i in range(0, len(keys), 400):
        part = set(keys[i : i + 400])
        # both INs (SQLite searches the (job_id, run_id) index; a row-value IN scans it)
        found = session.connection().execute(
            _statement("runs"),
            {"jobs": sorted({j for j, _ in part}), "runs": sorted({r for _, r in part})},
        )
        for r in found.mappings().all():  # fetched at once: per-row fetches cost per event
            key = (int(r["job_id"]), r["run_id"])
            if key in part:
                rows[key] = dict(r)
    now = utcnow()
    created: set[tuple[int, str]] = set()
    for c in changes:
        key = (c.job_id, c.run_id)
        if key not in rows:
            created.add(key)
        rows[key] = _advance(rows.get(key), c, now)
    fresh = [rows[k] for k in keys if k in created]
    if fresh:
        session.connection().execute(_statement("run_insert"), fresh)
    changed = [
        {"_id": rows[k]["id"], "updated_at": now, **{f: rows[k][f] for f in _RUN_FIELDS}}
        for k in keys
        if k not in created
    ]
    if changed:
        session.connection().execute(
            _statement("run_update"),
            [{"_id": r["_id"], **{f"_{f}": r[f] for f in (*_RUN_FIELDS, "updated_at")}} for r in changed],
        )


def columns_exist(session: Session, columns: Mapping[tuple[int, str], int]) -> bool:
    """Whether every ``(object id, name) → column id`` still holds (one query)."""
    ids = sorted(set(columns.values()))
    found: dict[tuple[int, str], int] = {}
    for i in range(0, len(ids), 500):
        for cid, oid, name in (
            session.connection().execute(_statement("columns"), {"ids": ids[i : i + 500]}).all()
        ):
            found[(int(oid), name)] = int(cid)
    return all(found.get(key) == cid for key, cid in columns.items())


def list_jobs(
    session: Session, *, namespace: str | None = None, limit: int = 100, offset: int = 0
) -> tuple[list[OLJob], int]:
    stmt = select(OLJob)
    if namespace:
        stmt = stmt.where(OLJob.namespace == namespace)
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = list(session.scalars(stmt.order_by(OLJob.namespace, OLJob.name).limit(limit).offset(offset)))
    return rows, total


def latest_runs(session: Session, job_ids: Sequence[int]) -> dict[int, OLRun]:
    out: dict[int, OLRun] = {}
    if not job_ids:
        return out
    for run in session.scalars(
        select(OLRun).where(OLRun.job_id.in_(list(job_ids))).order_by(OLRun.event_time, OLRun.id)
    ):
        out[run.job_id] = run
    return out


def list_runs(session: Session, job_id: int, *, limit: int = 100, offset: int = 0) -> tuple[list[OLRun], int]:
    stmt = select(OLRun).where(OLRun.job_id == job_id)
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = list(
        session.scalars(stmt.order_by(OLRun.event_time.desc(), OLRun.id.desc()).limit(limit).offset(offset))
    )
    return rows, total


# --------------------------------------------------------------------------------------
# observed edges
# --------------------------------------------------------------------------------------


def insert_observed_edges(
    session: Session, granularity: str, project_id: int, rows: Sequence[dict[str, Any]]
) -> int:
    """Insert edges received as OpenLineage events: ``origin=openlineage``, ``status=observed``,
    current (``version_to`` NULL). Rows carry the endpoints and optional kind/subtype/expression/
    process."""
    if not rows:
        return 0
    now = utcnow()
    base: dict[str, Any] = {
        "project_id": project_id,
        "kind": "direct",
        "subtype": None,
        "expression": None,
        "process_object_id": None,
        "confidence": 1.0,
        "origin": "openlineage",
        "status": "observed",
        "created_at": now,
        "created_by": "openlineage",
    }
    full = [{**base, **r} for r in rows]
    for i in range(0, len(full), 5000):
        session.connection().execute(_statement(f"{granularity}_insert"), full[i : i + 5000])
    return len(full)


def observed_edges(
    session: Session, granularity: str, target_ids: Sequence[int]
) -> set[tuple[int, int, str, str | None]]:
    """Current OpenLineage edges into ``target_ids``: ``(source, target, kind, subtype)``."""
    out: set[tuple[int, int, str, str | None]] = set()
    ids = sorted(set(target_ids))
    stmt = _statement(f"{granularity}_observed")
    for i in range(0, len(ids), 500):
        for s, t, k, st in session.connection().execute(stmt, {"ids": ids[i : i + 500]}):
            out.add((int(s), int(t), k, st))
    return out


@functools.cache
def _statement(name: str) -> Executable:
    """The hot path's Core statements, built once (``IN`` lists as expanding parameters: no
    per-value expression building or cache-key work per call)."""
    runs, cols, jobs = _table(OLRun), _table(Column), _table(OLJob)
    objects, datasets = _table(CatalogObject), _table(OLDataset)
    lowered = func.lower(objects.c.canonical_id)
    if name == "datasets":
        return select(
            datasets.c.id,
            datasets.c.namespace,
            datasets.c.name,
            datasets.c.project_id,
            datasets.c.object_id,
            datasets.c.facets,
        ).where(datasets.c.name.in_(bindparam("names", expanding=True)))
    if name == "objects_named":
        return select(objects.c.id, lowered).where(
            objects.c.project_id == bindparam("pid"), lowered.in_(bindparam("names", expanding=True))
        )
    if name == "objects_ending":
        return select(objects.c.id).where(
            objects.c.project_id == bindparam("pid"), lowered.like(bindparam("pattern"), escape="/")
        )
    if name == "routine_named":
        return select(objects.c.id).where(
            objects.c.project_id == bindparam("pid"),
            lowered == bindparam("name"),
            objects.c.kind.in_(bindparam("kinds", expanding=True)),
        )
    if name == "job":
        return select(
            jobs.c.id,
            jobs.c.project_id,
            jobs.c.job_type,
            jobs.c.facets,
            jobs.c.inputs,
            jobs.c.outputs,
            jobs.c.process_object_id,
        ).where(jobs.c.namespace == bindparam("ns"), jobs.c.name == bindparam("name"))
    if name == "runs":
        return select(runs.c.id, runs.c.job_id, runs.c.run_id, *(runs.c[f] for f in _RUN_FIELDS)).where(
            # both INs: SQLite searches the (job_id, run_id) index, a row-value IN scans it
            runs.c.job_id.in_(bindparam("jobs", expanding=True)),
            runs.c.run_id.in_(bindparam("runs", expanding=True)),
        )
    if name == "run_insert":
        return insert(runs)
    if name == "run_update":
        return (
            update(runs)
            .where(runs.c.id == bindparam("_id"))
            .values(**{f: bindparam(f"_{f}") for f in (*_RUN_FIELDS, "updated_at")})
        )
    if name == "columns":
        return select(cols.c.id, cols.c.object_id, cols.c.name).where(
            cols.c.id.in_(bindparam("ids", expanding=True))
        )
    granularity, what = name.split("_", 1)
    edges = _table(TableEdge if granularity == "table" else ColumnEdge)
    if what == "insert":
        return insert(edges)
    prefix = "object" if granularity == "table" else "column"
    src, tgt = edges.c[f"source_{prefix}_id"], edges.c[f"target_{prefix}_id"]
    return select(src, tgt, edges.c.kind, edges.c.subtype).where(
        tgt.in_(bindparam("ids", expanding=True)),
        edges.c.origin == "openlineage",
        edges.c.version_to.is_(None),
    )

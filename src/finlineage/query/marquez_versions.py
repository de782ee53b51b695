"""Dataset versions, derived at read time: from the graph's version ranges of a dataset's object
and from the events kept as received (``ol_events``: nothing is written for them at ingest).

A dataset has one version per run that wrote it (id: the dataset and the run, so it never
changes; fields from the schema facet the run's events sent for it) and one per range of graph
versions its object was present in (the open range's id is the version id of the dataset's
current content). The newest is the dataset's ``currentVersion``. A run reads, of each input,
the newest version made at or before the run's event that named it (the oldest when every
version is younger), and writes the version it made of each output: the ids ``/versions`` serves.
"""

from __future__ import annotations

import json
import re
import threading
import weakref
from collections import OrderedDict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Text, cast, false, func, or_, select
from sqlalchemy.orm import Session

from finlineage.query import marquez_shapes as shape
from finlineage.query.common import chunks
from finlineage.store.models import GraphVersion, ObjectPresence, OLEvent, OLJob, OLRun

Key = tuple[str, str]
"""(namespace, lower-case name): how datasets of events and of the catalog are matched."""
RunKey = tuple[str, str, str]
"""(job namespace, job name, run id)."""


def key(namespace: str, name: str) -> Key:
    return (namespace, name.lower())


@dataclass(slots=True)
class Dataset:
    """A dataset as the namespace read materialises it (current fields and facets)."""

    name: str
    oid: int | None
    created: datetime | None
    updated: datetime | None
    fields: list[dict[str, Any]]
    facets: dict[str, Any]
    description: str | None = None


@dataclass(slots=True)
class Seen:
    """One dataset as the events of one run named it (facets merged in event order)."""

    namespace: str
    name: str
    time: datetime | None = None
    facets: dict[str, Any] = field(default_factory=dict)
    io_facets: dict[str, Any] = field(default_factory=dict)
    """``inputFacets`` of an input, ``outputFacets`` of an output."""
    fields: list[dict[str, Any]] | None = None
    """The schema facet's fields of the latest event that sent one."""


@dataclass(slots=True)
class RunIO:
    inputs: dict[Key, Seen] = field(default_factory=dict)
    outputs: dict[Key, Seen] = field(default_factory=dict)


@dataclass(slots=True)
class Version:
    id: str
    created: datetime | None
    fields: list[dict[str, Any]]
    facets: dict[str, Any]
    fields_from: str
    """``schemaFacet`` (of the run's event) or ``current`` (the store keeps no column history)."""
    run_id: str | None = None
    graph: tuple[int, int | None] | None = None


def _see(into: dict[Key, Seen], datasets: Any, io_name: str, when: datetime | None) -> None:
    for d in datasets if isinstance(datasets, list) else []:
        if (
            not isinstance(d, dict)
            or not isinstance(d.get("namespace"), str)
            or not isinstance(d.get("name"), str)
        ):
            continue
        seen = into.setdefault(key(d["namespace"], d["name"]), Seen(d["namespace"], d["name"]))
        seen.time = when
        raw = d.get("facets")
        facets: dict[str, Any] = raw if isinstance(raw, dict) else {}
        seen.facets.update(facets)
        io = d.get(io_name)
        seen.io_facets.update(io if isinstance(io, dict) else {})
        schema = facets.get("schema")
        if isinstance(schema, dict) and isinstance(schema.get("fields"), list):
            seen.fields = [f for f in schema["fields"] if isinstance(f, dict) and f.get("name")]


RUN_IO_CACHE = 4096
"""Runs whose parsed I/O a process keeps per database (the least recently used make room)."""


@dataclass(slots=True)
class _Parsed:
    count: int
    last_id: int
    io: RunIO


_parsed: weakref.WeakKeyDictionary[Any, OrderedDict[RunKey, _Parsed]] = weakref.WeakKeyDictionary()
_parsed_lock = threading.Lock()


def _cache_of(session: Session) -> OrderedDict[RunKey, _Parsed] | None:
    bind = session.get_bind()
    engine = getattr(bind, "engine", bind)
    try:
        with _parsed_lock:
            return _parsed.setdefault(engine, OrderedDict())
    except TypeError:
        return None


def _copy(io: RunIO) -> RunIO:
    return RunIO(dict(io.inputs), dict(io.outputs))


def run_io(session: Session, runs: Iterable[RunKey]) -> dict[RunKey, RunIO]:
    """What each run read and wrote, from its RunEvents as received, oldest first.

    Events are kept as received and only ever added or removed, so a run's parsed I/O is kept
    (per database, ``RUN_IO_CACHE`` runs) with the count and the last id of its RunEvents, and
    parsed again only when either differs: a read parses the payloads of runs that changed."""
    wanted = {r: RunIO() for r in runs}
    out: dict[RunKey, RunIO] = {}
    cache = _cache_of(session)
    ids = sorted({r[2] for r in wanted})
    stale: list[str] = []
    marks: dict[RunKey, tuple[int, int]] = {}
    for part in chunks(ids):
        for jns, jname, rid, count, last in session.execute(
            select(
                OLEvent.job_namespace,
                OLEvent.job_name,
                OLEvent.run_id,
                func.count(OLEvent.id),
                func.max(OLEvent.id),
            )
            .where(OLEvent.run_id.in_(list(part)), OLEvent.kind == "RunEvent")
            .group_by(OLEvent.job_namespace, OLEvent.job_name, OLEvent.run_id)
        ):
            k = (str(jns), str(jname), str(rid))
            if k not in wanted:
                continue
            marks[k] = (int(count), int(last))
            with _parsed_lock:
                hit = cache.get(k) if cache is not None else None
                if hit is not None and (hit.count, hit.last_id) == marks[k]:
                    cache.move_to_end(k)  # type: ignore[union-attr]
                    out[k] = _copy(hit.io)
                    continue
            stale.append(str(rid))
    fresh: dict[RunKey, RunIO] = {}
    for part in chunks(sorted(set(stale))):
        rows = session.execute(
            select(
                OLEvent.job_namespace, OLEvent.job_name, OLEvent.run_id, OLEvent.event_time, OLEvent.payload
            )
            .where(OLEvent.run_id.in_(list(part)), OLEvent.kind == "RunEvent")
            .order_by(OLEvent.event_time, OLEvent.id)
        )
        for jns, jname, rid, when, payload in rows:
            k = (str(jns), str(jname), str(rid))
            if k not in marks or k in out:
                continue
            io = fresh.setdefault(k, RunIO())
            event = json.loads(payload)
            _see(io.inputs, event.get("inputs"), "inputFacets", when)
            _see(io.outputs, event.get("outputs"), "outputFacets", when)
    for k, io in fresh.items():
        out[k] = _copy(io)
        if cache is not None:
            with _parsed_lock:
                # the least recently used run makes room, unless this read uses it too: a read
                # of more runs than the cache holds keeps what it found instead of churning it
                cache.pop(k, None)
                while len(cache) >= RUN_IO_CACHE and next(iter(cache)) not in wanted:
                    cache.popitem(last=False)
                if len(cache) < RUN_IO_CACHE:
                    cache[k] = _Parsed(*marks[k], io)
    for k in wanted:
        out.setdefault(k, wanted[k])
    return out


NAMING_MAX = 200
"""Datasets a job lookup filters on in SQL at most (beyond, every job row is read and matched)."""
_PLAIN = re.compile(r"[\x20-\x7e]*")


def naming(datasets: Collection[tuple[str, str]], *columns: Any) -> Any | None:
    """A SQL condition keeping the jobs whose ``columns`` (JSON lists of ``[namespace, name]``)
    may name one of ``datasets`` (compared lower-case): the JSON text holds the name as a string.
    A coarse filter (the caller still matches each pair); None (read every job row) when a name
    is not plain printable ASCII without a quote or backslash (JSON text may escape it) or there
    are more than ``NAMING_MAX``."""
    names = sorted({n.lower() for _ns, n in datasets})
    if len(names) > NAMING_MAX or any(not _PLAIN.fullmatch(n) or '"' in n or "\\" in n for n in names):
        return None
    patterns = ['%"' + n.replace("!", "!!").replace("%", "!%").replace("_", "!_") + '"%' for n in names]
    return or_(false(), *(func.lower(cast(c, Text)).like(p, escape="!") for c in columns for p in patterns))


def writers(session: Session, keys: Iterable[Key]) -> dict[Key, list[tuple[str, Seen]]]:
    """``dataset → [(run id, what the run's events said of it)]`` for every run that wrote it
    (jobs name every dataset they ever wrote; their runs' events say which run did)."""
    wanted = set(keys)
    if not wanted:
        return {}
    jobs: dict[int, tuple[str, str]] = {}
    stmt = select(OLJob.id, OLJob.namespace, OLJob.name, OLJob.outputs)
    narrow = naming(wanted, OLJob.outputs)
    for jid, ns, name, outputs in session.execute(stmt if narrow is None else stmt.where(narrow)):
        if any(
            isinstance(p, list) and len(p) == 2 and key(str(p[0]), str(p[1])) in wanted for p in outputs or []
        ):
            jobs[int(jid)] = (str(ns), str(name))
    runs: list[RunKey] = []
    for part in chunks(sorted(jobs)):
        for jid, rid in session.execute(
            select(OLRun.job_id, OLRun.run_id).where(OLRun.job_id.in_(list(part)))
        ):
            runs.append((*jobs[int(jid)], str(rid)))
    out: dict[Key, list[tuple[str, Seen]]] = {}
    for (_jns, _jname, rid), io in run_io(session, runs).items():
        for k, seen in io.outputs.items():
            if k in wanted:
                out.setdefault(k, []).append((rid, seen))
    return out


def presence(
    session: Session, object_ids: Iterable[int]
) -> dict[int, list[tuple[int, int | None, datetime]]]:
    """``object → [(version_from, version_to, created)]``, newest range first."""
    out: dict[int, list[tuple[int, int | None, datetime]]] = {}
    for part in chunks(sorted(set(object_ids))):
        for oid, vf, vt, created in session.execute(
            select(
                ObjectPresence.object_id,
                ObjectPresence.version_from,
                ObjectPresence.version_to,
                GraphVersion.created_at,
            )
            .join(
                GraphVersion,
                (GraphVersion.project_id == ObjectPresence.project_id)
                & (GraphVersion.version == ObjectPresence.version_from),
            )
            .where(ObjectPresence.object_id.in_(list(part)))
            .order_by(ObjectPresence.version_from.desc())
        ):
            out.setdefault(int(oid), []).append((int(vf), vt, created))
    return out


def _when(v: Version) -> tuple[bool, datetime]:
    return (v.created is not None, (v.created or datetime.min).replace(tzinfo=None))


def timelines(session: Session, datasets: Sequence[tuple[str, Dataset]]) -> dict[Key, list[Version]]:
    """Every version of each dataset ``(namespace, dataset)``, newest first, by ``key``."""
    written = writers(session, [key(ns, d.name) for ns, d in datasets])
    ranges = presence(session, [d.oid for _ns, d in datasets if d.oid is not None])
    out: dict[Key, list[Version]] = {}
    for ns, d in datasets:
        current = shape.content_version(ns, d.name, d.fields, d.facets)
        items: list[Version] = []
        for rid, seen in written.get(key(ns, d.name), []):
            known = seen.fields is not None
            fields = [
                shape.field_out(str(f["name"]), f.get("type"), f.get("description"))
                for f in seen.fields or []
            ]
            items.append(
                Version(
                    shape.run_version(ns, d.name, rid),
                    seen.time,
                    fields if known else d.fields,
                    dict(seen.facets),
                    "schemaFacet" if known else "current",
                    run_id=rid,
                )
            )
        opened = False
        for vf, vt, created in ranges.get(d.oid, []) if d.oid is not None else []:
            now = vt is None
            opened |= now
            items.append(
                Version(
                    current if now else shape.graph_version(ns, d.name, vf),
                    created,
                    d.fields,
                    d.facets if now else {},
                    "current",
                    graph=(vf, vt),
                )
            )
        if not opened and not any(v.run_id for v in items):
            items.append(Version(current, d.updated, d.fields, d.facets, "current"))
        items.sort(key=_when, reverse=True)
        out[key(ns, d.name)] = items
    return out


def read_version(versions: Sequence[Version], when: datetime | None) -> Version | None:
    """The version a run read at ``when``: the newest made at or before it, else the oldest."""
    if not versions:
        return None
    if when is not None:
        at = when.replace(tzinfo=None)
        for v in versions:
            if v.created is not None and v.created.replace(tzinfo=None) <= at:
                return v
    return versions[-1]


def version_out(ns: str, name: str, v: Version, created_by: Mapping[str, Any] | None) -> dict[str, Any]:
    return shape.dataset_version_out(
        ns,
        name,
        v.id,
        created=v.created,
        fields=v.fields,
        facets=v.facets,
        created_by_run=created_by,
        extras={
            "fieldsFrom": v.fields_from,
            "graphVersions": {"from": v.graph[0], "to": v.graph[1]} if v.graph else None,
        },
    )

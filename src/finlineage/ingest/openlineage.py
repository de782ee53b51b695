"""OpenLineage event ingest: one RunEvent, JobEvent or DatasetEvent → the lineage graph.

    event = parse_event(body, content_encoding)        # gzip/JSON/shape checks → OpenLineageError (400)
    outcome = ingest_event(session, event, default_project="openlineage")   # caller commits
    outcome = openlineage_writer.ingest(sessions, event)  # the server's way: commits grouped

Events of concurrent requests are written in one transaction by ``openlineage_writer`` (each
answered only after the commit); what a transaction needs once — the check of the cached facts
its events relied on, their new edges, their run states — is done at its end
(``openlineage_state.Deferred``).

Datasets are matched to the graph by namespace + name: a namespace whose authority is a
repository's (``store.openlineage``) belongs to that repository's project, and the name is
looked up among the project's canonical names (case-insensitive; a ``database.`` prefix the
catalog does not have is tolerated). So a Spark job writing ``src.trades`` in
``mssql://sql-host`` lands on the ``src.trades`` the stored procedures of the ``sql-host``
repository read, and column lineage flows on through them. One event writes into one project
(edges never cross projects): the project of the first matched dataset, else the project named
by ``FINLINEAGE_OPENLINEAGE_PROJECT`` (created on first use). Column edges from the
``columnLineage`` facet are ``origin=openlineage``, ``status=observed``, typed from the
transformations; replaying an event adds nothing twice.
"""

from __future__ import annotations

import json
import time
import tomllib
import uuid
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from finlineage.ingest.openlineage_state import Deferred, FactView, IngestCache, Outcome
from finlineage.lineage.model import ColumnDef
from finlineage.store import openlineage as ol
from finlineage.store import repositories as repo
from finlineage.store.models import Project

EVENT_TYPES = ("START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER")
ROUTINE_OR_VIEW = ("procedure", "function", "trigger", "view", "materialized_view")
DIRECT_SUBTYPES = ("IDENTITY", "TRANSFORMATION", "AGGREGATION")
INDIRECT_SUBTYPES = ("JOIN", "FILTER", "GROUP_BY", "SORT", "WINDOW", "CONDITIONAL")
MAX_BODY = 16 * 1024 * 1024
"""Largest decompressed event accepted when the caller names no limit."""


class OpenLineageError(Exception):
    """An event that cannot be accepted (→ 400 with the reason)."""

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class EventTooLarge(OpenLineageError):
    """An event over the size limit once decompressed (→ 413, as a plain body over it is)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"event is larger than {limit} bytes once decompressed", {"limit_bytes": limit})
        self.limit = limit


# --------------------------------------------------------------------------------------
# parsing and validation
# --------------------------------------------------------------------------------------


def _inflate(body: bytes, wbits: int, what: str, limit: int) -> bytes:
    """Decompress at most ``limit`` bytes (a small bomb never expands in memory)."""
    d = zlib.decompressobj(wbits)
    try:
        out = d.decompress(body, limit + 1)
    except zlib.error as exc:
        raise OpenLineageError(f"body is not valid {what}: {exc}") from None
    if len(out) > limit or d.unconsumed_tail:
        raise EventTooLarge(limit)
    if not d.eof:
        raise OpenLineageError(f"body is not valid {what}: the compressed stream ends early")
    return out


def _decoded(body: bytes, content_encoding: str | None, limit: int = MAX_BODY) -> bytes:
    """The body after its Content-Encoding, within ``limit`` bytes."""
    enc = (content_encoding or "").strip().lower()
    if enc in ("gzip", "x-gzip") or (not enc and body[:2] == b"\x1f\x8b"):
        body = _inflate(body, 16 + zlib.MAX_WBITS, "gzip", limit)
    elif enc == "deflate":
        body = _inflate(body, zlib.MAX_WBITS, "deflate", limit)
    elif enc not in ("", "identity"):
        raise OpenLineageError(f"unsupported Content-Encoding {content_encoding!r}")
    if len(body) > limit:
        raise EventTooLarge(limit)
    return body


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise OpenLineageError(f"body is not JSON: {exc}") from None


def _req_str(obj: Mapping[str, Any], key: str, where: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise OpenLineageError(f"{where}.{key} is required and must be a non-empty string")
    return value


def _obj(value: Any, where: str, *, required: bool = True) -> dict[str, Any]:
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise OpenLineageError(f"{where} must be an object")
    return value


def _time(value: Any, where: str) -> datetime:
    if not isinstance(value, str):
        raise OpenLineageError(f"{where} is required (ISO 8601 date-time)")
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise OpenLineageError(f"{where} is not an ISO 8601 date-time: {value!r}") from None
    if t.tzinfo is None:
        # the schema's `date-time` is RFC 3339: a date, a time and an offset (Z or +hh:mm)
        raise OpenLineageError(f"{where} needs a date, a time and an offset (RFC 3339): {value!r}")
    return t.astimezone(UTC)


def _facets(value: Any, where: str) -> dict[str, Any]:
    """A facets map: an object of objects (each facet's schema makes it one)."""
    facets = _obj(value, where, required=False)
    for name, facet in facets.items():
        if not isinstance(facet, dict):
            raise OpenLineageError(f"{where}.{name} must be an object (a facet)")
    return facets


def _list_of_objects(value: Any, where: str) -> list[dict[str, Any]]:
    """An optional array of objects (absent: empty)."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise OpenLineageError(f"{where} must be an array of objects")
    return value


def _dataset_facets_shape(facets: Mapping[str, Any], where: str) -> None:
    """The dataset facets finlineage reads, checked against their published schemas' shape
    (``schema`` 1-x, ``symlinks`` 1-x; ``columnLineage`` while its links are read, in
    ``_column_links``): a producer's broken facet is a 400 with its path, never half-read."""
    schema = facets.get("schema")
    if schema is not None:
        for i, f in enumerate(_list_of_objects(schema.get("fields"), f"{where}.schema.fields")):
            if not isinstance(f.get("name"), str) or not f["name"]:
                raise OpenLineageError(f"{where}.schema.fields[{i}].name is required and must be a string")
            for key in ("type", "description"):
                if f.get(key) is not None and not isinstance(f[key], str):
                    raise OpenLineageError(f"{where}.schema.fields[{i}].{key} must be a string")
    links = facets.get("symlinks")
    if links is not None:
        for i, ident in enumerate(
            _list_of_objects(links.get("identifiers"), f"{where}.symlinks.identifiers")
        ):
            if not isinstance(ident.get("namespace"), str) or not isinstance(ident.get("name"), str):
                raise OpenLineageError(f"{where}.symlinks.identifiers[{i}] needs namespace and name")


def _run_facets_shape(facets: Mapping[str, Any], where: str) -> None:
    """The run facets finlineage reads (``nominalTime``, ``parent``), checked against their
    published schemas' shape: a 400 with the path, never a time or a parent half-read."""
    nominal = facets.get("nominalTime")
    if nominal is not None and not nominal.get("_deleted"):
        _time(nominal.get("nominalStartTime"), f"{where}.nominalTime.nominalStartTime")
        if nominal.get("nominalEndTime") is not None:
            _time(nominal["nominalEndTime"], f"{where}.nominalTime.nominalEndTime")
    parent = facets.get("parent")
    if parent is not None and not parent.get("_deleted"):
        run, job = parent.get("run"), parent.get("job")
        if not isinstance(run, dict) or not isinstance(run.get("runId"), str):
            raise OpenLineageError(f"{where}.parent.run.runId is required and must be a string")
        if not isinstance(job, dict) or not all(isinstance(job.get(k), str) for k in ("namespace", "name")):
            raise OpenLineageError(f"{where}.parent.job needs namespace and name (strings)")


def _datasets(value: Any, where: str) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise OpenLineageError(f"{where} must be an array")
    out = []
    for i, ds in enumerate(value):
        d = _obj(ds, f"{where}[{i}]")
        _req_str(d, "namespace", f"{where}[{i}]")
        _req_str(d, "name", f"{where}[{i}]")
        _dataset_facets_shape(_facets(d.get("facets"), f"{where}[{i}].facets"), f"{where}[{i}].facets")
        for extra in ("inputFacets", "outputFacets"):
            _facets(d.get(extra), f"{where}[{i}].{extra}")
        out.append(d)
    return out


Link = tuple[tuple[str, str], str, tuple[str, str], str, str, str, str | None]
"""(output key, output field, input key, input field, kind, subtype, description)."""


@dataclass(slots=True)
class Event:
    kind: str
    """RunEvent, JobEvent or DatasetEvent."""
    event_type: str | None
    event_time: datetime
    job: dict[str, Any] | None
    run: dict[str, Any] | None
    inputs: list[dict[str, Any]] = field(default_factory=list)
    outputs: list[dict[str, Any]] = field(default_factory=list)
    producer: str = ""
    links: list[Link] = field(default_factory=list)
    """Column links of the outputs' ``columnLineage`` facets (checked with the rest of the event)."""
    raw: str = ""
    """The event's JSON text as the producer sent it (kept in ``ol_events``)."""


def validate(raw: Any) -> Event:
    """Check an event against the rules of the OpenLineage 2-0-2 schema an emitter can break."""
    e = _obj(raw, "event")
    producer = _req_str(e, "producer", "event")
    _req_str(e, "schemaURL", "event")
    when = _time(e.get("eventTime"), "event.eventTime")
    if "dataset" in e and "job" not in e:
        ds = _datasets([e.get("dataset")], "event.dataset")
        return Event(
            "DatasetEvent", None, when, None, None, outputs=ds, producer=producer, links=_column_links(ds)
        )
    job = _obj(e.get("job"), "event.job")
    _req_str(job, "namespace", "event.job")
    _req_str(job, "name", "event.job")
    _facets(job.get("facets"), "event.job.facets")
    inputs = _datasets(e.get("inputs"), "event.inputs")
    outputs = _datasets(e.get("outputs"), "event.outputs")
    if "run" not in e:
        return Event("JobEvent", None, when, job, None, inputs, outputs, producer, _column_links(outputs))
    run = _obj(e.get("run"), "event.run")
    run_id = _req_str(run, "runId", "event.run")
    try:
        # one spelling per run (lowercase, hyphenated, as Marquez stores UUIDs): a producer that
        # sends the same run in upper case updates that run instead of starting another
        run["runId"] = str(uuid.UUID(run_id))
    except ValueError:
        raise OpenLineageError(f"event.run.runId is not a UUID: {run_id!r}") from None
    _run_facets_shape(_facets(run.get("facets"), "event.run.facets"), "event.run.facets")
    etype = e.get("eventType")
    if etype is not None and etype not in EVENT_TYPES:
        raise OpenLineageError(f"event.eventType must be one of {', '.join(EVENT_TYPES)}, not {etype!r}")
    return Event(
        "RunEvent", etype or "OTHER", when, job, run, inputs, outputs, producer, _column_links(outputs)
    )


def parse_event(body: bytes, content_encoding: str | None = None, max_bytes: int = MAX_BODY) -> Event:
    """Decode (gzip/deflate, at most ``max_bytes`` once decompressed: ``EventTooLarge``
    beyond), parse and validate one event."""
    data = _decoded(body, content_encoding, max_bytes)
    event = validate(_json(data))
    event.raw = data.decode("utf-8")  # valid JSON was UTF-8 (json.loads checked it)
    return event


# --------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------


PROCESS_TTL_S = 30.0
"""How long "this job is no routine finlineage parsed" is believed before asking again."""
CACHE_TTL_S = 60.0
"""How long cached facts are trusted at all (edges or objects removed elsewhere show up after it)."""


def _sig(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


class _Resolver:
    """Datasets of one event → (project, object), with one lookup of the unknown datasets."""

    def __init__(
        self,
        session: Session,
        default_project: str,
        keys: Sequence[tuple[str, str]],
        view: FactView,
    ) -> None:
        self.s = session
        self.default_project = default_project
        self.project_id: int | None = None
        self.objects: dict[tuple[str, str], int] = {}
        self.matched = 0
        self.view, self.new = view, view.new
        self.cached: dict[tuple[str, str], tuple[int, int, str]] = {}
        for k in keys:
            hit = view.dataset(k)
            if hit is not None:
                self.cached[k] = hit
        missing = [k for k in keys if k not in self.cached]
        self.known = ol.dataset_map(session, missing) if missing else {}
        self._repos: list[ol.RepoNamespace] | None = None
        self.facets: dict[tuple[str, str], Mapping[str, Any]] = {}

    def project_of(self, key: tuple[str, str]) -> int | None:
        if key in self.cached:
            return self.cached[key][0]
        row = self.known.get(key)
        return row.project_id if row is not None else None

    def owners(self, namespace: str) -> list[int]:
        """Projects owning a repository with the namespace's authority (oldest first)."""
        _, authority = ol.split_namespace(namespace)
        if not authority:
            return []
        if self._repos is None:
            self._repos = ol.repository_namespaces(self.s)
        out: list[int] = []
        for r in self._repos:
            if ol.authority_matches(r.authority, authority) and r.project_id not in out:
                out.append(r.project_id)
        return out

    def _lookup(self, project_id: int, name: str) -> int | None:
        lowered = name.lower()
        candidates = [lowered]
        parts = lowered.split(".")
        if len(parts) >= 3:
            candidates.append(".".join(parts[1:]))
        by_name = ol.objects_named(self.s, project_id, candidates)
        for c in candidates:
            if c in by_name:
                return by_name[c]
        if len(parts) != 2:
            return None
        # schema.table while the catalog has database.schema.table: the one object ending in it
        suffixed = ol.objects_ending(self.s, project_id, "." + lowered)
        return suffixed[0] if len(suffixed) == 1 else None

    def choose_project(self, keys: Sequence[tuple[str, str]]) -> int:
        for key in keys:
            known_pid = self.project_of(key)
            if known_pid is not None:
                self.project_id = known_pid
                return known_pid
        candidates = [*keys, *(a for k in keys for a in _aliases(self.facets.get(k, {})))]
        for ns, name in candidates:
            for pid in self.owners(ns):
                if self._lookup(pid, name) is not None:
                    self.project_id = pid
                    return pid
        for ns, _ in keys:
            pids = self.owners(ns)
            if pids:
                self.project_id = pids[0]
                return pids[0]
        project = repo.get_or_create_project(self.s, self.default_project)
        self.project_id = project.id
        return project.id

    def resolve(
        self, key: tuple[str, str], facets: Mapping[str, Any], columns: Sequence[ColumnDef] = ()
    ) -> int:
        """The object of a dataset (created, with ``columns``, when nothing matches)."""
        pid = self.project_id
        assert pid is not None
        if key in self.objects:
            return self.objects[key]
        extra = _dataset_facets(facets)
        hit = self.cached.get(key)
        if hit is not None and hit[0] == pid:
            if not extra or all(json.loads(hit[2]).get(k) == v for k, v in extra.items()):
                self.matched += 1
                self.objects[key] = hit[1]
                return hit[1]
        elif hit is not None:
            # the dataset's row belongs to another project: what it resolved to in this one
            far = self.view.foreign((pid, *key))
            if far is not None and far[1] == _sig(extra):
                self.matched += 1
                self.objects[key] = far[0]
                return far[0]
        if hit is not None and key not in self.known:
            self.known.update(ol.dataset_map(self.s, [key]))
        known = self.known.get(key)
        oid: int | None = None
        if known is not None and known.project_id == pid:
            oid = known.object_id
        if oid is None:
            oid = self._lookup(pid, key[1])
        for alias_ns, alias in _aliases(facets) if oid is None else ():
            if pid in self.owners(alias_ns) or not ol.split_namespace(alias_ns)[1]:
                oid = self._lookup(pid, alias)
                if oid is not None:
                    break
        if oid is not None:
            self.matched += 1
        else:
            kind = "table" if _schema_fields(facets) else "external"
            spec = repo.ObjectSpec(key[1], kind, columns=tuple(columns))
            oid = repo.ensure_objects(self.s, pid, [spec])[key[1]][0]
        if known is None or (
            known.project_id == pid
            and (known.object_id != oid or any((known.facets or {}).get(k) != v for k, v in extra.items()))
        ):
            known = ol.upsert_dataset(self.s, key[0], key[1], pid, oid, extra, known)
            self.known[key] = known
        if known.project_id == pid:
            self.new.datasets[key] = (pid, oid, _sig(known.facets or {}))
        else:
            self.new.foreign[(pid, *key)] = (oid, _sig(extra))
        self.objects[key] = oid
        return oid


def _schema_fields(facets: Mapping[str, Any]) -> list[ColumnDef]:
    schema = facets.get("schema")
    fields = schema.get("fields") if isinstance(schema, dict) else None
    out: list[ColumnDef] = []
    for i, f in enumerate(fields if isinstance(fields, list) else []):
        if isinstance(f, dict) and isinstance(f.get("name"), str) and f["name"]:
            dtype = f.get("type") if isinstance(f.get("type"), str) else None
            pos = f.get("ordinal_position")
            out.append(ColumnDef(f["name"], int(pos) if isinstance(pos, int) else i + 1, dtype))
    return out


def _aliases(facets: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Other names of a dataset (``symlinks`` facet: e.g. the Hive table behind a storage path)."""
    links = facets.get("symlinks")
    ids = links.get("identifiers") if isinstance(links, dict) else None
    return [
        (i["namespace"], i["name"])
        for i in (ids if isinstance(ids, list) else [])
        if isinstance(i, dict) and isinstance(i.get("namespace"), str) and isinstance(i.get("name"), str)
    ]


def _dataset_facets(facets: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in facets.items() if k != "columnLineage"}


_KINDS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "direct": ("direct", DIRECT_SUBTYPES, "TRANSFORMATION"),
    "indirect": ("indirect", INDIRECT_SUBTYPES, "JOIN"),
}
"""Edge kind → (kind, its subtypes, the subtype of an unknown one)."""


def _edge_kind(t: Mapping[str, Any]) -> tuple[str, str]:
    kind, allowed, fallback = _KINDS.get(str(t.get("type") or "DIRECT").lower(), _KINDS["direct"])
    sub = str(t.get("subtype") or "").upper()
    return kind, sub if sub in allowed else fallback


def _input_fields(
    items: Any, where: str, default: Mapping[str, Any]
) -> list[tuple[tuple[str, str], str, str, str, str | None]]:
    """(input key, field, kind, subtype, description) of an ``inputFields`` / ``dataset`` list
    (an input without transformations gets ``default``)."""
    if items is None:
        return []
    if not isinstance(items, list):
        raise OpenLineageError(f"columnLineage of {where}: input fields must be an array of objects")
    out = []
    for inp in items:
        # checked by hand, not with generators: this runs for every field of every event
        ns = inp.get("namespace") if isinstance(inp, dict) else None
        name, fld = (inp.get("name"), inp.get("field")) if ns is not None else (None, None)
        if not (isinstance(ns, str) and isinstance(name, str) and isinstance(fld, str)):
            raise OpenLineageError(
                f"columnLineage of {where}: an input field needs namespace, name and field"
            )
        key = (ns, name)
        trans = inp.get("transformations")
        if trans is not None and not isinstance(trans, list):
            raise OpenLineageError(f"columnLineage of {where}: transformations must be an array of objects")
        for t in trans or (default,):
            if not isinstance(t, dict):
                raise OpenLineageError(f"columnLineage of {where}: a transformation must be an object")
            kind, sub = _edge_kind(t)
            text = t.get("description")
            out.append((key, fld, kind, sub, text if isinstance(text, str) and text else None))
    return out


def _column_links(outputs: Sequence[Mapping[str, Any]]) -> list[Link]:
    """(output key, output field, input key, input field, kind, subtype, description) of every
    columnLineage input field (fields without transformations: one DIRECT TRANSFORMATION). The
    dataset-wide inputs (``dataset``: filters, joins, grouping affecting every row) link to every
    output field the event names (columnLineage fields and the schema facet)."""
    links: list[Link] = []
    for out in outputs:
        facets = out.get("facets") or {}
        cl = facets.get("columnLineage")
        if not isinstance(cl, dict):
            continue
        raw_fields = cl.get("fields")
        if raw_fields is not None and not isinstance(raw_fields, dict):
            raise OpenLineageError(
                f"columnLineage of {out['name']}: fields must be an object (field → lineage)"
            )
        fields: dict[str, Any] = raw_fields or {}
        okey = (out["namespace"], out["name"])
        for fname, spec in fields.items():
            if not isinstance(spec, dict):
                raise OpenLineageError(f"columnLineage of {okey[1]}.{fname} must be an object")
            default = {
                "type": "DIRECT",
                "subtype": "TRANSFORMATION",
                "description": spec.get("transformationDescription"),
            }
            for ikey, ifield, kind, sub, text in _input_fields(
                spec.get("inputFields"), f"{okey[1]}.{fname}", default
            ):
                links.append((okey, str(fname), ikey, ifield, kind, sub, text))
        wide = _input_fields(cl.get("dataset"), okey[1], {"type": "INDIRECT", "subtype": "FILTER"})
        if wide:
            targets = dict.fromkeys([*map(str, fields), *(c.name for c in _schema_fields(facets))])
            for target in targets:
                for ikey, ifield, kind, sub, text in wide:
                    links.append((okey, target, ikey, ifield, kind, sub, text))
    return links


def _event_row(event: Event, project_id: int) -> dict[str, Any]:
    """The ``ol_events`` row of an accepted event."""
    job, run = event.job or {}, event.run or {}
    return {
        "project_id": project_id,
        "kind": event.kind,
        "event_type": event.event_type,
        "event_time": event.event_time,
        "job_namespace": job.get("namespace"),
        "job_name": job.get("name"),
        "run_id": run.get("runId"),
        "payload": event.raw,
    }


def ingest_event(
    session: Session,
    event: Event,
    *,
    default_project: str = "openlineage",
    cache: IngestCache | None = None,
    new: IngestCache | None = None,
    deferred: Deferred | None = None,
) -> Outcome:
    """Write one validated event (the caller commits: nothing is half-written). ``cache``: facts
    of earlier committed events; what this event establishes is collected into ``new`` (merge
    it into the cache after the commit; events of one transaction share it). ``deferred``: the
    transaction's end-of-transaction work, flushed by the caller before the commit (without
    one, this event's is flushed here). Raises ``StaleCache`` when a cached column is gone."""
    view = FactView(cache if cache is not None else IngestCache(), new if new is not None else IngestCache())
    new = view.new
    own_deferred = deferred is None
    todo_later = deferred if deferred is not None else Deferred()
    all_ds = [*event.inputs, *event.outputs]
    keys = [(d["namespace"], d["name"]) for d in [*event.outputs, *event.inputs]]
    links = event.links
    for _, _, ikey, _, _, _, _ in links:
        if ikey not in keys:
            keys.append(ikey)
    res = _Resolver(session, default_project, keys, view)
    facets_of = {(d["namespace"], d["name"]): d.get("facets") or {} for d in all_ds}
    res.facets = facets_of
    if keys:
        pid = res.choose_project(keys)
    elif event.job is not None:
        owners = res.owners(event.job["namespace"])
        pid = owners[0] if owners else res.choose_project([])
        res.project_id = pid
    else:
        pid = res.choose_project([])
    if event.raw:
        todo_later.events.append(_event_row(event, pid))
    # the columns each dataset needs (created with the dataset's object when it is new)
    named: dict[tuple[str, str], dict[str, ColumnDef]] = {}
    for key, facets in facets_of.items():
        for c in _schema_fields(facets):
            named.setdefault(key, {})[c.name] = c
    for okey, ofield, ikey, ifield, *_ in links:
        named.setdefault(okey, {}).setdefault(ofield, ColumnDef(ofield, 0))
        named.setdefault(ikey, {}).setdefault(ifield, ColumnDef(ifield, 0))
    for key in keys:
        res.resolve(key, facets_of.get(key, {}), list(named.get(key, {}).values()))
    # columns: schema facets, then both ends of every column link
    wanted: dict[int, dict[str, ColumnDef]] = {}
    for key, facets in facets_of.items():
        for c in _schema_fields(facets):
            wanted.setdefault(res.objects[key], {})[c.name] = c
    for okey, ofield, ikey, ifield, *_ in links:
        wanted.setdefault(res.objects[okey], {}).setdefault(ofield, ColumnDef(ofield, 0))
        wanted.setdefault(res.objects[ikey], {}).setdefault(ifield, ColumnDef(ifield, 0))
    col_ids: dict[tuple[int, str], int] = {}
    todo: dict[int, list[ColumnDef]] = {}
    for oid, cols in wanted.items():
        for c in cols.values():
            ckey = (oid, c.name)
            seen = view.column(ckey)
            if seen is not None and (c.data_type is None or c.data_type == seen[0][1]):
                col_ids[ckey] = seen[0][0]
                if seen[1]:
                    # a committed fact: checked (one query for the transaction) before it commits
                    todo_later.columns[ckey] = seen[0][0]
            else:
                todo.setdefault(oid, []).append(c)
    if todo:
        created = repo.ensure_columns_bulk(session, todo)
        col_ids.update(created)
        for oid, cols_ in todo.items():
            for c in cols_:
                new.columns[(oid, c.name)] = (created[(oid, c.name)], c.data_type)
                todo_later.columns.pop((oid, c.name), None)

    outcome = Outcome(event.kind, pid, "", datasets=len(res.objects), matched=res.matched)
    process_id: int | None = None
    if event.job is not None:
        pkey = (pid, event.job["name"].lower())
        phit = view.process(pkey)
        if phit is not None and (phit[0] is not None or time.monotonic() - phit[1] < PROCESS_TTL_S):
            process_id = phit[0]
        else:
            process_id = ol.routine_named(session, pid, pkey[1], ROUTINE_OR_VIEW)
            new.processes[pkey] = (process_id, time.monotonic())
    # table edges: inputs → outputs linked by column lineage; all inputs for outputs without it
    pairs: dict[tuple[int, int], None] = {}
    with_cl = {okey for okey, *_ in links}
    for okey, _, ikey, *_ in links:
        if res.objects[ikey] != res.objects[okey]:
            pairs[(res.objects[ikey], res.objects[okey])] = None
    for out in event.outputs:
        okey = (out["namespace"], out["name"])
        if okey in with_cl:
            continue
        for inp in event.inputs:
            ikey = (inp["namespace"], inp["name"])
            if res.objects[ikey] != res.objects[okey]:
                pairs[(res.objects[ikey], res.objects[okey])] = None
    # new edges: checked against the store and inserted once for the whole transaction
    for src, tgt in pairs:
        if not view.edge(("t", src, tgt)):
            new.edges.add(("t", src, tgt))
            row: dict[str, Any] = {
                "source_object_id": src,
                "target_object_id": tgt,
                "process_object_id": process_id,
            }
            todo_later.edge("table", pid, (src, tgt), row, outcome)
    for okey, ofield, ikey, ifield, kind, sub, text in links:
        src, tgt = col_ids[(res.objects[ikey], ifield)], col_ids[(res.objects[okey], ofield)]
        if view.edge(("c", src, tgt, kind, sub)):
            continue
        new.edges.add(("c", src, tgt, kind, sub))
        row = {
            "source_column_id": src,
            "target_column_id": tgt,
            "kind": kind,
            "subtype": sub,
            "expression": text,
            "process_object_id": process_id,
        }
        todo_later.edge("column", pid, (src, tgt, kind, sub), row, outcome)
    if event.job is not None:
        job_facets = event.job.get("facets") or {}
        jt = job_facets.get("jobType")
        jkey = (event.job["namespace"], event.job["name"])
        args: dict[str, Any] = {
            "job_type": jt.get("jobType")
            if isinstance(jt, dict) and isinstance(jt.get("jobType"), str)
            else None,
            "facets": job_facets,
            "inputs": [[d["namespace"], d["name"]] for d in event.inputs],
            "outputs": [[d["namespace"], d["name"]] for d in event.outputs],
            "process_object_id": process_id,
        }
        sig = _sig([pid, args])
        jhit = view.job(jkey)
        if jhit is not None and jhit[1] == sig:
            job_id = jhit[0]
        else:
            job_id = ol.upsert_job(session, pid, jkey[0], jkey[1], **args)
            new.jobs[jkey] = (job_id, sig)
        outcome.job = f"{jkey[0]}:{jkey[1]}"
        if event.run is not None:
            todo_later.runs.append(
                ol.RunChange(
                    job_id,
                    event.run["runId"],
                    event.event_type or "OTHER",
                    event.event_time,
                    event.run.get("facets"),
                )
            )
            outcome.run_id = event.run["runId"]
    name = view.project(pid)
    if name is None:
        project = session.get(Project, pid)
        name = project.name if project is not None else ""
        new.projects[pid] = name
    outcome.project = name
    if own_deferred:
        todo_later.flush(session)
    return outcome


# --------------------------------------------------------------------------------------
# the repository namespace from finlineage.toml
# --------------------------------------------------------------------------------------


def config_namespace(files: Sequence[Any], warnings: list[str]) -> str | None:
    """``namespace`` of the ``[openlineage]`` table of the root ``finlineage.toml`` of an ingest
    (the top-most one of the first group), if any."""
    configs = [sf for sf in files if sf.path.rsplit("/", 1)[-1] == "finlineage.toml" and sf.error is None]
    if not configs:
        return None
    root = min(configs, key=lambda sf: (sf.path.count("/"), sf.path))
    try:
        data = tomllib.loads(root.read().decode("utf-8", errors="replace"))
    except (OSError, tomllib.TOMLDecodeError):
        return None  # the dialect reader reports an unreadable or invalid file
    table = data.get("openlineage")
    if table is None:
        return None
    value = table.get("namespace") if isinstance(table, dict) else None
    if not isinstance(value, str) or not value.strip() or len(value) > 500:
        warnings.append(f"{root.path}: [openlineage] namespace must be a non-empty string (ignored)")
        return None
    problem = ol.authority_problem(value)
    if problem is not None:
        warnings.append(f"{root.path}: [openlineage] namespace {value!r} {problem} (ignored)")
        return None
    return value.strip()


def apply_config_namespace(
    sessions: sessionmaker[Session], repository_id: int, files: Sequence[Any], warnings: list[str]
) -> None:
    """Set the repository's namespace from ``finlineage.toml`` (``[openlineage] namespace = ...``)."""
    value = config_namespace(files, warnings)
    if value is not None:
        with sessions.begin() as session:
            ol.set_repository_namespace(session, repository_id, value)

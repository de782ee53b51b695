"""What OpenLineage ingest transactions know and leave for their end: the outcome of an event,
the cache of committed facts (and the view an event reads them through), and the work done once
per transaction just before its commit (``Deferred``)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from finlineage.store import openlineage as ol
from finlineage.store import openlineage_events as ol_events


@dataclass(slots=True)
class Outcome:
    kind: str
    project_id: int
    project: str
    job: str | None = None
    run_id: str | None = None
    datasets: int = 0
    matched: int = 0
    """Datasets found among objects finlineage parsed or received before."""
    table_edges: int = 0
    column_edges: int = 0


@dataclass(slots=True)
class IngestCache:
    """What earlier committed events established, so a steady stream of events for known jobs
    and datasets costs no statement of its own. Only committed facts enter it (entries gathered
    by a transaction are merged after its commit); any failed transaction clears it, the cached
    columns a transaction relied on are checked before it commits (``Deferred``), and a stale
    entry (an object deleted since) fails its foreign key, which clears it and retries."""

    datasets: dict[tuple[str, str], tuple[int, int, str]] = field(default_factory=dict)
    """(namespace, name) → (project id, object id, signature of the stored facets)."""
    foreign: dict[tuple[int, str, str], tuple[int, str]] = field(default_factory=dict)
    """(project id, namespace, name) of a dataset another project's row holds → (the object it
    resolved to in this project, signature of the event's dataset facets that resolved it)."""
    columns: dict[tuple[int, str], tuple[int, str | None]] = field(default_factory=dict)
    edges: set[tuple[Any, ...]] = field(default_factory=set)
    jobs: dict[tuple[str, str], tuple[int, str]] = field(default_factory=dict)
    """(namespace, name) → (job id, signature of what the job row holds)."""
    processes: dict[tuple[int, str], tuple[int | None, float]] = field(default_factory=dict)
    projects: dict[int, str] = field(default_factory=dict)
    limit: int = 500_000
    born: float = field(default_factory=time.monotonic)

    def clear(self) -> None:
        for part in (
            self.datasets,
            self.foreign,
            self.columns,
            self.edges,
            self.jobs,
            self.processes,
            self.projects,
        ):
            part.clear()
        self.born = time.monotonic()

    def expire(self, ttl: float) -> None:
        """Forget everything older than ``ttl`` seconds (deletions elsewhere become visible)."""
        if time.monotonic() - self.born > ttl:
            self.clear()

    def merge(self, other: IngestCache) -> None:
        if len(self.columns) + len(self.edges) + len(self.foreign) > self.limit:
            self.clear()
        self.datasets.update(other.datasets)
        self.foreign.update(other.foreign)
        self.columns.update(other.columns)
        self.edges |= other.edges
        self.jobs.update(other.jobs)
        self.processes.update(other.processes)
        self.projects.update(other.projects)


class FactView:
    """The facts an event may rely on: those of its own transaction (``new``: earlier events
    of the same batch) over the committed ones (``cache``)."""

    __slots__ = ("cache", "new")

    def __init__(self, cache: IngestCache, new: IngestCache) -> None:
        self.cache, self.new = cache, new

    def dataset(self, key: tuple[str, str]) -> tuple[int, int, str] | None:
        return self.new.datasets.get(key) or self.cache.datasets.get(key)

    def foreign(self, key: tuple[int, str, str]) -> tuple[int, str] | None:
        return self.new.foreign.get(key) or self.cache.foreign.get(key)

    def column(self, key: tuple[int, str]) -> tuple[tuple[int, str | None], bool] | None:
        """(column id, data type) and whether it is a committed fact (to be checked)."""
        hit = self.new.columns.get(key)
        if hit is not None:
            return hit, False
        hit = self.cache.columns.get(key)
        return (hit, True) if hit is not None else None

    def edge(self, key: tuple[Any, ...]) -> bool:
        return key in self.new.edges or key in self.cache.edges

    def job(self, key: tuple[str, str]) -> tuple[int, str] | None:
        return self.new.jobs.get(key) or self.cache.jobs.get(key)

    def process(self, key: tuple[int, str]) -> tuple[int | None, float] | None:
        return self.new.processes.get(key) or self.cache.processes.get(key)

    def project(self, pid: int) -> str | None:
        return self.new.projects.get(pid) or self.cache.projects.get(pid)


class StaleCache(Exception):
    """A cached column an event relied on is gone (or its id now names another column): the
    transaction must roll back and run again without the cache."""


@dataclass(slots=True)
class Deferred:
    """Work of one transaction done once, just before its commit, for all its events: the check
    of the cached columns they relied on (one query), their new edges (one read and one insert
    per granularity) and their run states (one read, one insert, one update)."""

    columns: dict[tuple[int, str], int] = field(default_factory=dict)
    runs: list[ol.RunChange] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    """The accepted events as received (one insert for all)."""
    edges: dict[str, dict[tuple[Any, ...], tuple[int, dict[str, Any], Outcome]]] = field(
        default_factory=lambda: {"table": {}, "column": {}}
    )
    """granularity → endpoints (+ kind, subtype for columns) → (project, row, the event's outcome)."""

    def edge(
        self, granularity: str, project_id: int, key: tuple[Any, ...], row: dict[str, Any], outcome: Outcome
    ) -> None:
        self.edges[granularity].setdefault(key, (project_id, row, outcome))

    def flush(self, session: Session) -> None:
        if self.columns and not ol.columns_exist(session, self.columns):
            raise StaleCache("a cached column changed")
        for granularity, items in self.edges.items():
            if not items:
                continue
            have = ol.observed_edges(session, granularity, [k[1] for k in items])
            known = {(s, t) for s, t, _, _ in have} if granularity == "table" else have
            rows: dict[int, list[dict[str, Any]]] = {}
            for key, (pid, row, outcome) in items.items():
                if key in known:
                    continue
                rows.setdefault(pid, []).append(row)
                if granularity == "table":
                    outcome.table_edges += 1
                else:
                    outcome.column_edges += 1
            for pid, part in rows.items():
                ol.insert_observed_edges(session, granularity, pid, part)
            items.clear()
        ol.record_runs(session, self.runs)
        ol_events.add_events(session, self.events)
        self.columns.clear()
        self.runs.clear()
        self.events.clear()

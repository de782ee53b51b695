"""The OpenLineage event writer: events of concurrent requests committed together.

    future = submit(sessions, event, default_project="openlineage")   # → concurrent Future[Outcome]
    outcome = ingest(sessions, event)                                  # the same, waiting

One writer per session factory. A writer thread starts when an event arrives and none runs;
it takes every event waiting (at most ``MAX_BATCH``), writes them in one transaction
(``ingest_event`` each, the end-of-transaction work of all once), commits, and only then
resolves each event's future — so a request answers 201 only once its data is durable — and
takes the next batch; idle for ``IDLE_S``, it ends. Group commit comes from the load itself:
events arriving while a batch is written form the next batch (nothing waits for a timer).

Nothing is half-written: a transaction is all or nothing. A unique or foreign-key conflict (a
concurrent writer elsewhere created the same dataset/job/project first, or a cached fact went
stale) rolls it back, clears the cache and runs it again; a batch failing otherwise is rolled
back and each of its events written alone, so one bad event fails only its own request.
"""

from __future__ import annotations

import threading
import weakref
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from finlineage.ingest.openlineage import CACHE_TTL_S, Event, ingest_event
from finlineage.ingest.openlineage_state import Deferred, IngestCache, Outcome, StaleCache

MAX_BATCH = 64
"""Most events written in one transaction."""
RETRIES = 5
IDLE_S = 5.0
"""How long an idle writer thread waits for more events before it ends."""
_TRANSACTION_LOCK = threading.Lock()
"""Held while a batch is taken and written: writers of this process take turns (two apps over
one store in a process do not contend with themselves)."""


@dataclass(slots=True)
class _Item:
    event: Event
    default_project: str
    future: Future[Outcome] = field(default_factory=Future)


class Writer:
    """Batches the events of one session factory (see the module docstring)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        # weak: the registry is keyed by the session factory, which must stay collectable
        self._sessions = weakref.ref(sessions)
        self.cache = IngestCache()
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)
        self._waiting: deque[_Item] = deque()
        self._running = False
        self.transactions = 0
        """Transactions committed (with ``events``: how well events are grouped)."""
        self.events = 0

    def submit(self, event: Event, default_project: str) -> Future[Outcome]:
        item = _Item(event, default_project)
        with self._lock:
            self._waiting.append(item)
            start = not self._running
            self._running = True
            self._work.notify()
        if start:
            try:
                threading.Thread(target=self._run, name="openlineage-writer", daemon=True).start()
            except BaseException:  # no thread: nothing would ever answer the waiting events
                with self._lock:
                    self._running = False
                    failed = list(self._waiting)
                    self._waiting.clear()
                for waiting in failed:
                    if waiting.future.set_running_or_notify_cancel():
                        waiting.future.set_exception(RuntimeError("the OpenLineage writer could not start"))
                raise
        return item.future

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._waiting:
                    # idle: the thread ends after a while (a later event starts another)
                    if not self._work.wait(IDLE_S) and not self._waiting:
                        self._running = False
                        return
            # the batch is taken once the store is ours: what arrived meanwhile joins it
            with _TRANSACTION_LOCK:
                with self._lock:
                    batch: list[_Item] = []
                    while self._waiting and len(batch) < MAX_BATCH:
                        item = self._waiting.popleft()
                        # a request gone before its turn (client disconnected): not written
                        if item.future.set_running_or_notify_cancel():
                            batch.append(item)
                try:
                    self._write(batch)
                except BaseException as exc:  # never leave a request waiting forever
                    for item in batch:
                        if not item.future.done():
                            item.future.set_exception(exc)
                    if not isinstance(exc, Exception):
                        with self._lock:
                            self._running = False
                        raise

    def _write(self, batch: list[_Item]) -> None:
        if not batch:
            return
        try:
            outcomes = self._transaction(batch)
        except Exception as exc:
            if len(batch) == 1:
                batch[0].future.set_exception(exc)
                return
            for item in batch:  # one bad event fails only its own request
                self._write([item])
            return
        for item, outcome in zip(batch, outcomes, strict=True):
            item.future.set_result(outcome)

    def _transaction(self, batch: list[_Item]) -> list[Outcome]:
        """All events of ``batch`` in one transaction, committed before returning."""
        attempts = RETRIES if len(batch) == 1 else 2
        sessions = self._sessions()
        if sessions is None:
            raise RuntimeError("the store of this writer is closed")
        self.cache.expire(CACHE_TTL_S)
        for attempt in range(attempts):
            new, deferred = IngestCache(), Deferred()
            try:
                with sessions.begin() as session:
                    outcomes = [
                        ingest_event(
                            session,
                            item.event,
                            default_project=item.default_project,
                            cache=self.cache,
                            new=new,
                            deferred=deferred,
                        )
                        for item in batch
                    ]
                    deferred.flush(session)
            except (IntegrityError, StaleCache):
                self.cache.clear()
                if attempt == attempts - 1:
                    raise
                continue
            except Exception:
                self.cache.clear()
                raise
            self.cache.merge(new)
            self.transactions += 1
            self.events += len(batch)
            return outcomes
        raise AssertionError("unreachable")


_WRITERS: weakref.WeakKeyDictionary[Any, Writer] = weakref.WeakKeyDictionary()
_WRITERS_LOCK = threading.Lock()


def writer_for(sessions: sessionmaker[Session]) -> Writer:
    with _WRITERS_LOCK:
        writer = _WRITERS.get(sessions)
        if writer is None:
            writer = _WRITERS[sessions] = Writer(sessions)
        return writer


def submit(
    sessions: sessionmaker[Session], event: Event, *, default_project: str = "openlineage"
) -> Future[Outcome]:
    """Queue a validated event; the future resolves once it is committed (or fails)."""
    return writer_for(sessions).submit(event, default_project)


def ingest(sessions: sessionmaker[Session], event: Event, *, default_project: str = "openlineage") -> Outcome:
    """Write one validated event and wait until it is committed."""
    return submit(sessions, event, default_project=default_project).result()

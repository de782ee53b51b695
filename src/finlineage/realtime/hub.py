"""The event hub: one publishing API for every layer, in-process or across workers via Redis.

Publishing (ingestion, chat, error handling — any layer)
--------------------------------------------------------
Look the hub up at call time (lifespan starters open in any order)::

    events = ctx.services.get("events")          # an EventHub, or None when realtime is off
    if events is not None:
        events.publish("ingestion_started", {"run_id": run.id, "project_id": pid, "files_total": n})
        events.publish("ingestion_progress", {"run_id": run.id, "project_id": pid, "file": path,
                                              "files_done": i, "files_total": n, "percentage": 100*i/n})
        events.publish("ingestion_complete", {"run_id": run.id, "project_id": pid,
                                              "files_processed": a, "files_skipped_duplicate": b,
                                              "files_failed": c, "total_nodes_created": d,
                                              "duration": seconds, "status": "completed"})
        events.publish("query_complete", {"mode": "lineage", "latency_ms": 812.5, "model": "m",
                                          "response_length": 1432, "project": pid,
                                          "query": question})  # text kept only as a preview, opt-in
        with events.track("query"):  # counts towards stats.activeQueries while inside
            ...

`publish(type, data, project_id=None) -> bool`
    * Thread-safe and non-blocking: call it from the event loop, from a worker thread, or from a
      sync route. (A child *process* of a pool cannot reach the hub: send progress back to the
      parent and publish there.)
    * Validates `data` against the model for `type` (`finlineage.realtime.events`). An invalid
      event is logged, counted (`finlineage_events_dropped_total{reason="invalid"}`) and skipped;
      it never raises into the caller. Returns False when the event was dropped or disabled.
    * `project_id` (else `data["project_id"]`/`data["project"]`) is used for client subscriptions.
    * `ingestion_progress` is rate limited per type (`FINLINEAGE_PROGRESS_RATE_LIMIT_PER_S`):
      messages inside the interval are coalesced, the latest per `run_id` wins, and the pending one
      is flushed before that run's `ingestion_complete`. `error`, `ingestion_complete` and
      `system_status_change` always pass.
    * `WEBSOCKET_BROADCAST_{INGESTION,QUERY,ERROR}_EVENTS=false` stops broadcasting that family;
      the domain events (ingestion started/complete, query, error) still reach the activity log.
    * With `FINLINEAGE_REDIS_URL` the event is delivered to this worker's clients at once and
      published on Redis for every other worker; without it, delivery is in-process only.

`publish_local(type, data)` delivers to this worker's clients only (used for `stats_update`).
`track(kind)` is a context manager counting in-flight work (`query`) for the stats.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from finlineage.realtime.events import (
    COALESCED_TYPES,
    DOMAIN_TYPES,
    PERSONAL_TYPES,
    Event,
    InvalidEvent,
    broadcast_enabled,
    build_message,
    parse_wire,
    sanitize_query_data,
    utcnow,
)
from finlineage.settings import Settings

log = logging.getLogger("finlineage.realtime")

CHANNEL = "finlineage:events"
CLIENTS_KEY_PREFIX = "finlineage:ws-clients:"

Sink = Callable[[Event], None]
Recorder = Callable[[str, Mapping[str, Any], str | None], None]


@dataclass
class InstanceInfo:
    """Identifies this worker process; a re-executed server gets a new id and start time."""

    instance_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    started_at: datetime = field(default_factory=utcnow)
    pid: int = 0


@dataclass
class _CoalesceState:
    interval: float
    last_emit: float = float("-inf")
    pending: dict[str, Event] = field(default_factory=dict)
    timer: asyncio.TimerHandle | None = None


class EventHub:
    def __init__(
        self,
        settings: Settings,
        *,
        instance: InstanceInfo,
        metrics: Any = None,
        recorder: Recorder | None = None,
    ) -> None:
        self.settings = settings
        self.instance = instance
        self.metrics = metrics
        self.recorder = recorder
        self._sinks: list[Sink] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        interval = 1.0 / settings.progress_rate_limit_per_s if settings.progress_rate_limit_per_s > 0 else 0
        self._coalesce = {t: _CoalesceState(interval=interval) for t in COALESCED_TYPES}
        self._lock = threading.Lock()
        self.published: Counter[str] = Counter()
        self.delivered: Counter[str] = Counter()
        self.dropped: Counter[str] = Counter()
        self.remote_received = 0
        self._active: Counter[str] = Counter()
        # Redis bridge
        self.redis_url = settings.redis_url
        self._redis: Any = None
        self._outbox: asyncio.Queue[str] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.redis_connected = False
        self.redis_subscribed = asyncio.Event()
        self.redis_errors = 0
        self.redis_last_error: str | None = None

    # ------------------------------------------------------------------ lifecycle

    def add_sink(self, sink: Sink) -> None:
        self._sinks.append(sink)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        if self.redis_url:
            from redis import asyncio as aioredis

            self._redis = aioredis.from_url(self.redis_url, decode_responses=False)
            self._outbox = asyncio.Queue(maxsize=10_000)
            self._tasks = [
                asyncio.create_task(self._redis_publisher(), name="events-redis-publisher"),
                asyncio.create_task(self._redis_subscriber(), name="events-redis-subscriber"),
            ]

    async def wait_ready(self, timeout: float = 5.0) -> bool:
        """With Redis, wait until the subscription is live (so no event published after is missed)."""
        if not self.redis_url:
            return True
        try:
            await asyncio.wait_for(self.redis_subscribed.wait(), timeout)
            return True
        except TimeoutError:
            return False

    async def stop(self) -> None:
        self._closed = True
        for state in self._coalesce.values():
            if state.timer is not None:
                state.timer.cancel()
            self._flush_pending(state)
        if self._outbox is not None:
            # Give queued cross-worker events a moment to leave.
            deadline = time.monotonic() + 2.0
            while not self._outbox.empty() and self.redis_connected and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._redis is not None:
            with contextlib.suppress(Exception):
                await self._redis.aclose()
            if self.redis_url:
                with contextlib.suppress(Exception):
                    await self._clear_client_count()

    # ------------------------------------------------------------------ publishing API

    def enabled(self, type_: str) -> bool:
        return broadcast_enabled(self.settings, type_)

    def publish(self, type_: str, data: Mapping[str, Any] | None = None, project_id: object = None) -> bool:
        """Publish an event to every dashboard client (all workers). Thread-safe; never raises."""
        try:
            return self._publish(type_, data, project_id, local_only=False)
        except Exception:  # the publisher's work must never fail because of the dashboard
            log.exception("event %s could not be published", type_)
            self._count_drop("internal")
            return False

    def publish_local(
        self, type_: str, data: Mapping[str, Any] | None = None, project_id: object = None
    ) -> bool:
        """Like `publish`, but only to this worker's clients (no Redis, no activity record)."""
        try:
            return self._publish(type_, data, project_id, local_only=True)
        except Exception:
            log.exception("event %s could not be published", type_)
            self._count_drop("internal")
            return False

    @contextlib.contextmanager
    def track(self, kind: str) -> Iterator[None]:
        """Count in-flight work of `kind` ("query") for the stats; usable from any thread."""
        with self._lock:
            self._active[kind] += 1
        try:
            yield
        finally:
            with self._lock:
                self._active[kind] -= 1

    def active(self, kind: str) -> int:
        with self._lock:
            return max(0, self._active[kind])

    # ------------------------------------------------------------------ internals

    def _publish(
        self, type_: str, data: Mapping[str, Any] | None, project_id: object, *, local_only: bool
    ) -> bool:
        if type_ in PERSONAL_TYPES:
            log.warning("%s is a per-connection message and cannot be published", type_)
            self._count_drop("invalid")
            return False
        data = dict(data or {})
        if type_ == "query_complete":
            data = sanitize_query_data(data, self.settings.websocket_include_query_text)
        if not local_only and type_ in DOMAIN_TYPES and self.recorder is not None:
            self.recorder(type_, data, None if project_id is None else str(project_id))
        if not self.enabled(type_):
            self._count_drop("disabled")
            return False
        try:
            event = build_message(type_, data, project=project_id)
        except InvalidEvent as exc:
            log.warning("dropping invalid event: %s", exc)
            self._count_drop("invalid")
            return False
        loop = self._loop
        if loop is None or self._closed or loop.is_closed():
            self._count_drop("not_running")
            return False
        with self._lock:
            self.published[type_] += 1
        if self.metrics is not None:
            self.metrics.events_published.labels(type_).inc()
        if _in_loop(loop):
            self._route(event, local_only)
        else:
            loop.call_soon_threadsafe(self._route, event, local_only)
        return True

    def _route(self, event: Event, local_only: bool) -> None:
        state = self._coalesce.get(event.type)
        if state is None:
            # A run's pending progress goes out before its completion, keeping the order.
            if event.coalesce_key:
                for pending_state in self._coalesce.values():
                    pending = pending_state.pending.pop(event.coalesce_key, None)
                    if pending is not None:
                        self._emit(pending, local_only)
            self._emit(event, local_only)
            return
        assert self._loop is not None
        now = self._loop.time()
        key = event.coalesce_key or ""
        if not state.pending and now - state.last_emit >= state.interval:
            state.last_emit = now
            self._emit(event, local_only)
            return
        if key in state.pending:
            self._count_drop("coalesced")
        state.pending[key] = event
        if state.timer is None:
            delay = max(0.0, state.last_emit + state.interval - now)
            state.timer = self._loop.call_later(delay, self._flush_timer, state, local_only)

    def _flush_timer(self, state: _CoalesceState, local_only: bool) -> None:
        state.timer = None
        assert self._loop is not None
        state.last_emit = self._loop.time()
        self._flush_pending(state, local_only)

    def _flush_pending(self, state: _CoalesceState, local_only: bool = False) -> None:
        pending, state.pending = state.pending, {}
        for event in pending.values():
            self._emit(event, local_only)

    def _emit(self, event: Event, local_only: bool) -> None:
        self._deliver(event)
        if not local_only and self._outbox is not None:
            wire = json.dumps(
                {"origin": self.instance.instance_id, "project": event.project, "message": event.text}
            )
            try:
                self._outbox.put_nowait(wire)
            except asyncio.QueueFull:
                self._count_drop("redis_backlog")

    def _deliver(self, event: Event) -> None:
        with self._lock:
            self.delivered[event.type] += 1
        for sink in self._sinks:
            try:
                sink(event)
            except Exception:
                log.exception("event sink failed")

    def _count_drop(self, reason: str) -> None:
        with self._lock:
            self.dropped[reason] += 1
        if self.metrics is not None:
            self.metrics.events_dropped.labels(reason).inc()

    # ------------------------------------------------------------------ Redis bridge

    async def _redis_publisher(self) -> None:
        assert self._outbox is not None
        while True:
            wire = await self._outbox.get()
            try:
                await self._redis.publish(CHANNEL, wire)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # Local clients already have it; the other workers miss this one.
                self._redis_failed(exc)
                self._count_drop("redis_unavailable")

    async def _redis_subscriber(self) -> None:
        backoff = 0.2
        while True:
            pubsub = self._redis.pubsub()
            try:
                await pubsub.subscribe(CHANNEL)
                self.redis_connected = True
                self.redis_subscribed.set()
                backoff = 0.2
                while True:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                    if message is not None and message.get("type") in (b"message", "message"):
                        self._on_remote(message["data"])
            except asyncio.CancelledError:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
                raise
            except Exception as exc:
                self._redis_failed(exc)
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    def _redis_failed(self, exc: Exception) -> None:
        if self.redis_connected:
            log.warning("redis event bridge lost: %s", exc)
        self.redis_connected = False
        self.redis_subscribed.clear()
        self.redis_errors += 1
        self.redis_last_error = type(exc).__name__

    def _on_remote(self, raw: bytes | str) -> None:
        try:
            envelope = json.loads(raw)
            if envelope.get("origin") == self.instance.instance_id:
                return  # delivered locally when published
            event = parse_wire(envelope["message"], project=envelope.get("project"))
        except (InvalidEvent, ValueError, KeyError, TypeError) as exc:
            log.warning("dropping invalid event from redis: %s", exc)
            self._count_drop("invalid")
            return
        self.remote_received += 1
        self._deliver(event)

    async def set_client_count(self, count: int, ttl_s: float) -> None:
        if self._redis is None:
            return
        key = CLIENTS_KEY_PREFIX + self.instance.instance_id
        await self._redis.set(key, str(count), px=max(1000, int(ttl_s * 1000)))

    async def _clear_client_count(self) -> None:
        from redis import asyncio as aioredis

        client = aioredis.from_url(self.redis_url or "", decode_responses=False)
        try:
            await client.delete(CLIENTS_KEY_PREFIX + self.instance.instance_id)
        finally:
            await client.aclose()

    async def cluster_client_count(self, local: int) -> int:
        """Connected clients over every worker (Redis), else this worker's count."""
        if self._redis is None or not self.redis_connected:
            return local
        try:
            others = 0
            async for key in self._redis.scan_iter(match=CLIENTS_KEY_PREFIX + "*", count=100):
                name = key.decode() if isinstance(key, bytes) else str(key)
                if name.endswith(self.instance.instance_id):
                    continue
                value = await self._redis.get(key)
                if value is not None:
                    others += int(value)
            return local + others
        except Exception as exc:
            self._redis_failed(exc)
            return local

    # ------------------------------------------------------------------ introspection

    def redis_health(self) -> dict[str, Any]:
        if not self.redis_url:
            return {"status": "disabled"}
        return {
            "status": "up" if self.redis_connected else "down",
            "channel": CHANNEL,
            "errors": self.redis_errors,
            "last_error": self.redis_last_error,
        }

    def counters(self) -> dict[str, Any]:
        with self._lock:
            return {
                "published": dict(self.published),
                "delivered": dict(self.delivered),
                "dropped": dict(self.dropped),
                "received_from_other_workers": self.remote_received,
                "active": {k: max(0, v) for k, v in self._active.items()},
            }

    def health(self) -> dict[str, Any]:
        return {
            "status": "up" if self._loop is not None and not self._closed else "down",
            "mode": "redis" if self.redis_url else "in-process",
            "instance_id": self.instance.instance_id,
            "pid": self.instance.pid,
            "started_at": self.instance.started_at.isoformat(),
            "dropped": sum(self.dropped.values()),
        }


class RedisHealth:
    """`ctx.services["redis"]`: the health of the event bridge for /health."""

    def __init__(self, hub: EventHub) -> None:
        self.hub = hub

    def health(self) -> dict[str, Any]:
        return self.hub.redis_health()


def _in_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False

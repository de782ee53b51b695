"""`finlineage worker`: execute queued ingestion runs (needs `FINLINEAGE_REDIS_URL`).

Any number of workers (and API instances) share one store, one Redis and one data directory.
Each worker is an rq `SimpleWorker` on the `finlineage-ingest` queue with one long-lived
`IngestionService` (its parse process pool is kept between runs), a reaper thread that
re-enqueues runs whose worker died (see `finlineage.ingest.queue`), and an event publisher that
sends ingestion events to every API instance's dashboard clients through Redis pub/sub.

SIGTERM/SIGINT: the current run is stopped at the next file boundary and handed back to the queue
(status ``queued``), so another worker resumes it; then the worker exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import queue as stdlib_queue
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from types import FrameType
from typing import Any

import typer

from finlineage.settings import Settings

log = logging.getLogger("finlineage.worker")

Recorder = Callable[[str, Mapping[str, Any], str | None], None]


class RedisEventPublisher:
    """An `EventSink` for processes without an event hub: events go straight to the hub's Redis
    channel in its wire format, so every API instance delivers them to its dashboard clients.

    Same rules as `EventHub.publish`: validated, never raises, per-family broadcast switches,
    domain events recorded in the activity log, `ingestion_progress` coalesced to
    `FINLINEAGE_PROGRESS_RATE_LIMIT_PER_S` (latest per run wins; flushed before its completion).
    """

    def __init__(self, settings: Settings, origin: str, *, recorder: Recorder | None = None) -> None:
        import redis

        assert settings.redis_url
        self.settings = settings
        self.origin = origin
        self.recorder = recorder
        self.client = redis.Redis.from_url(settings.redis_url, socket_connect_timeout=5, socket_timeout=10)
        rate = settings.progress_rate_limit_per_s
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._lock = threading.Lock()
        self._last_emit = float("-inf")
        self._pending: dict[str, Any] = {}
        self._outbox: stdlib_queue.Queue[str | None] = stdlib_queue.Queue(maxsize=10_000)
        self.sent = 0
        self.dropped = 0
        self._closed = threading.Event()
        self._sender = threading.Thread(target=self._send_loop, name="events-redis-publisher", daemon=True)
        self._sender.start()
        self._ticker = threading.Thread(target=self._tick_loop, name="events-coalesce", daemon=True)
        self._ticker.start()

    def _enabled(self, type_: str) -> bool:
        from finlineage.realtime.events import broadcast_enabled

        return broadcast_enabled(self.settings, type_)

    def publish(self, type_: str, data: Mapping[str, Any] | None = None, project_id: object = None) -> bool:
        try:
            return self._publish(type_, dict(data or {}), project_id)
        except Exception:
            log.exception("event %s could not be published", type_)
            return False

    def _publish(self, type_: str, data: dict[str, Any], project_id: object) -> bool:
        from finlineage.realtime.events import COALESCED_TYPES, DOMAIN_TYPES, InvalidEvent, build_message

        if type_ in DOMAIN_TYPES and self.recorder is not None:
            self.recorder(type_, data, None if project_id is None else str(project_id))
        if not self._enabled(type_) or self._closed.is_set():
            return False
        try:
            event = build_message(type_, data, project=project_id)
        except InvalidEvent as exc:
            log.warning("dropping invalid event: %s", exc)
            self.dropped += 1
            return False
        with self._lock:
            now = time.monotonic()
            if type_ in COALESCED_TYPES:
                key = event.coalesce_key or ""
                if not self._pending and now - self._last_emit >= self.interval:
                    self._last_emit = now
                    self._emit(event)
                else:
                    self._pending[key] = event
                return True
            if event.coalesce_key and event.coalesce_key in self._pending:
                self._emit(self._pending.pop(event.coalesce_key))
            self._emit(event)
        return True

    def _emit(self, event: Any) -> None:
        wire = json.dumps({"origin": self.origin, "project": event.project, "message": event.text})
        try:
            self._outbox.put_nowait(wire)
        except stdlib_queue.Full:
            self.dropped += 1

    def _tick_loop(self) -> None:
        step = max(0.02, self.interval or 0.1)
        while not self._closed.wait(step):
            self.flush_pending()

    def flush_pending(self) -> None:
        with self._lock:
            if self._pending and time.monotonic() - self._last_emit >= self.interval:
                pending, self._pending = self._pending, {}
                self._last_emit = time.monotonic()
                for event in pending.values():
                    self._emit(event)

    def _send_loop(self) -> None:
        from finlineage.realtime.hub import CHANNEL

        while True:
            wire = self._outbox.get()
            if wire is None:
                return
            for attempt in range(3):
                try:
                    self.client.publish(CHANNEL, wire)
                    self.sent += 1
                    break
                except Exception as exc:
                    if attempt == 2:
                        log.warning("event not published on redis: %s", exc)
                        self.dropped += 1
                    else:
                        time.sleep(0.2 * (attempt + 1))

    def close(self, timeout: float = 5.0) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
            for event in pending.values():
                self._emit(event)
        self._closed.set()
        with contextlib.suppress(stdlib_queue.Full):
            self._outbox.put(None, timeout=timeout)
        self._sender.join(timeout)
        self.client.close()


def worker(
    name: str = typer.Option(None, help="Worker name (default: host-pid-random)."),
    burst: bool = typer.Option(False, "--burst", help="Exit once the queue is empty."),
    reaper_interval: float = typer.Option(2.0, help="Seconds between checks for runs whose worker died."),
    lock_ttl: float = typer.Option(10.0, help="A run whose worker is silent this long is resumed elsewhere."),
) -> None:
    """Execute queued ingestion runs (API instances enqueue them when FINLINEAGE_REDIS_URL is set)."""
    from rq import SimpleWorker

    from finlineage.ingest.queue import RunQueue, WorkerRuntime, configure_worker
    from finlineage.ingest.service import IngestionService
    from finlineage.realtime.activity import ActivityWriter
    from finlineage.store import db as store_db

    settings = Settings()
    if not settings.redis_url:
        typer.echo("finlineage worker needs FINLINEAGE_REDIS_URL (the job queue lives in Redis)", err=True)
        raise typer.Exit(2)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings.ensure_dirs()
    worker_id = name or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:4]}"
    url = settings.effective_database_url
    store_db.migrate(url)
    engine = store_db.create_engine_for(url)
    sessions = store_db.session_factory(engine)
    activity = ActivityWriter(settings, engine)
    activity.start()
    events = RedisEventPublisher(
        settings, origin=f"worker-{worker_id}", recorder=activity.record_domain_event
    )
    service = IngestionService(settings, sessions, events=events)
    run_queue = RunQueue(settings.redis_url)
    runtime = WorkerRuntime(
        service, run_queue, worker_id=worker_id, lock_ttl_s=lock_ttl, heartbeat_s=max(0.2, lock_ttl / 5)
    )
    configure_worker(runtime)
    stop = threading.Event()
    runtime.reaper(stop, every_s=reaper_interval)
    runtime.recover()  # runs orphaned while no worker was up

    class _Worker(SimpleWorker):
        def request_stop(self, signum: int, frame: FrameType | None) -> None:
            # Hand the current run back to the queue at the next file boundary, then stop.
            # (in a thread: the signal may have interrupted a holder of the service's lock)
            runtime.shutting_down = True
            threading.Thread(target=service.drain_sync, args=(0,), daemon=True).start()
            super().request_stop(signum, frame)  # type: ignore[no-untyped-call]

    rq_worker = _Worker([run_queue.queue], connection=run_queue.redis, name=worker_id)
    typer.echo(
        f"finlineage worker {worker_id} on queue {run_queue.queue.name} ({settings.redis_url})", err=True
    )
    try:
        rq_worker.work(burst=burst, with_scheduler=False, logging_level=settings.log_level.upper())
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        stop.set()
        configure_worker(None)
        service.close(interrupt=False)
        events.close()
        asyncio.run(activity.close())
        run_queue.close()
        engine.dispose()


def register(app: typer.Typer) -> None:
    app.command()(worker)

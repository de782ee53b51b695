"""Activity tracking: every request and domain event, recorded without blocking the request.

The dashboard's activity feed shows people's actions only: domain events (ingestion, questions,
errors) and `action` rows — a state-changing request on a matched route (review, manual edge,
restart, key or project administration). The page's own reads (type `request`) and unmatched
requests are recorded for the metrics but never become an `action`.

`record()` is non-blocking and thread-safe: it puts the event on a bounded queue (a full queue
counts a drop and returns). One background thread drains the queue in batches, appends JSON
lines to `$FINLINEAGE_LOG_DIR/activity.jsonl` (rotated by size, flushed after every batch and at
least every `FINLINEAGE_ACTIVITY_FLUSH_INTERVAL_S`) and inserts the rows into `activity_events`.
A disk or database failure is counted (see `health()`) and never raised into a request.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import parse_qs

from sqlalchemy import Engine, insert
from starlette.types import Scope

from finlineage.settings import Settings
from finlineage.store.models import ActivityEvent


def route_template(scope: Scope) -> str:
    """The matched route's path template (`/api/v1/lineage/node/{node_id}`), not the raw path."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else UNMATCHED


log = logging.getLogger("finlineage.activity")

ACTION_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
"""Methods by which a person changes something (reads are never actions)."""
DOMAIN_EVENT_ROUTES = ("/api/chat", "/api/v1/ingest", "/api/v1/files/upload")
"""Route prefixes whose services publish their own domain events (ingestion_*, query_complete):
no second `action` row for them."""
FEED_ROUTES = frozenset({"/api/v1/lineage"})
"""Routes machines post to (OpenLineage producers, one request per event): their request rows
are the record; a second `action` row per event would bury what people did."""
UNMATCHED = "<unmatched>"


def is_person_action(method: str | None, route: str) -> bool:
    """A state-changing request on a matched route that no domain event already reports."""
    if (method or "").upper() not in ACTION_METHODS or route == UNMATCHED or route in FEED_ROUTES:
        return False
    return not route.startswith(DOMAIN_EVENT_ROUTES)


ACTIVITY_FILE = "activity.jsonl"
ROTATE_KEEP = 5
_STOP = object()


class ActivityWriter:
    def __init__(self, settings: Settings, engine: Engine | None) -> None:
        self.settings = settings
        self.engine = engine
        self.path: Path = settings.log_dir / ACTIVITY_FILE
        self.queue: queue.Queue[Any] = queue.Queue(maxsize=max(1, settings.activity_queue_size))
        self.dropped: Counter[str] = Counter()
        self.enqueued = 0
        self.processed = 0
        self.written_file = 0
        self.written_db = 0
        self.rotations = 0
        self.last_error: str | None = None
        self.failing: set[str] = set()
        """Sinks whose most recent write failed ("disk", "database")."""
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._file: IO[str] | None = None
        self.started_at = time.time()

    # ------------------------------------------------------------------ producers

    def record(self, event: Mapping[str, Any]) -> bool:
        """Queue one activity event (dict with at least `type`). Never blocks, never raises."""
        row = dict(event)
        row.setdefault("ts", datetime.now(UTC))
        with self._cond:
            if self._thread is None:
                self.dropped["not_running"] += 1
                return False
            try:
                self.queue.put_nowait(row)
            except queue.Full:
                self.dropped["queue_full"] += 1
                return False
            self.enqueued += 1
        return True

    def observe_request(self, scope: Scope, status: int, seconds: float) -> None:
        """RequestObserver for the request middleware."""
        state = scope.get("state") or {}
        principal = state.get("principal")
        path_params = scope.get("path_params") or {}
        project = path_params.get("project_id") or path_params.get("project")
        if project is None:
            qs = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            project = (qs.get("project_id") or qs.get("project") or [None])[0]
        client = scope.get("client")
        route = route_template(scope)
        row = {
            "type": "request",
            "method": scope.get("method"),
            "route": route,
            "status_code": int(status),
            "latency_ms": round(seconds * 1000.0, 3),
            "client_ip": client[0] if client else None,
            "key_name": getattr(principal, "name", None),
            "project": project,
            "data": {"path": scope.get("path"), "request_id": state.get("request_id")},
        }
        self.record(row)
        if is_person_action(scope.get("method"), route):
            # who acted stays in key_name (shown to admins only, like every request's identity)
            self.record({**row, "type": "action"})

    def record_domain_event(self, type_: str, data: Mapping[str, Any], project: str | None) -> None:
        """Hub recorder: ingestion/query/error events go to the activity log as well."""
        kind = type_
        if type_ == "ingestion_complete" and data.get("status") not in (None, "completed"):
            kind = "ingestion_failed" if data.get("status") == "failed" else f"ingestion_{data.get('status')}"
        payload = {k: v for k, v in data.items() if k not in ("query", "query_text")}
        self.record(
            {
                "type": kind,
                "project": project if project is not None else data.get("project_id", data.get("project")),
                "status_code": data.get("status_code"),
                "route": data.get("endpoint"),
                "latency_ms": data.get("latency_ms"),
                "data": payload,
            }
        )

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._thread = threading.Thread(target=self._run, name="activity-writer", daemon=True)
        self._thread.start()

    async def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything queued so far is written (file and database)."""
        return await asyncio.to_thread(self.flush_sync, timeout)

    def flush_sync(self, timeout: float = 5.0) -> bool:
        with self._cond:
            target = self.enqueued
            return self._cond.wait_for(lambda: self.processed >= target, timeout=timeout)

    async def close(self, timeout: float = 10.0) -> None:
        thread = self._thread
        if thread is None:
            return
        await self.flush(timeout)
        with self._cond:
            self._thread = None  # refuse new records
        await asyncio.to_thread(self.queue.put, _STOP, True, timeout)
        await asyncio.to_thread(thread.join, timeout)

    # ------------------------------------------------------------------ the writer thread

    def _run(self) -> None:
        interval = max(0.05, self.settings.activity_flush_interval_s)
        window = max(0.0, self.settings.activity_batch_window_s)
        stop = False
        while not stop:
            batch: list[dict[str, Any]] = []
            try:
                item = self.queue.get(timeout=interval)
            except queue.Empty:
                self._flush_file()
                continue
            # what arrives within the window joins the batch: one write per window under load
            until = time.monotonic() + window
            while True:
                if item is _STOP:
                    stop = True
                    break
                batch.append(item)
                if len(batch) >= 1000:
                    break
                left = until - time.monotonic()
                try:
                    item = self.queue.get(timeout=left) if left > 0 else self.queue.get_nowait()
                except queue.Empty:
                    break
            if batch:
                self._write_batch(batch)
        self._flush_file()
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None

    def _write_batch(self, batch: list[dict[str, Any]]) -> None:
        try:
            self._append_lines(batch)
            self.written_file += len(batch)
            self.failing.discard("disk")
        except OSError as exc:
            self.dropped["disk"] += len(batch)
            self.failing.add("disk")
            self._error("disk", exc)
        try:
            self._insert_rows(batch)
            self.written_db += len(batch)
            self.failing.discard("database")
        except Exception as exc:
            self.dropped["database"] += len(batch)
            self.failing.add("database")
            self._error("database", exc)
        with self._cond:
            self.processed += len(batch)
            self._cond.notify_all()

    def _error(self, where: str, exc: Exception) -> None:
        message = f"{where}: {type(exc).__name__}: {exc}"[:300]
        if message != self.last_error:
            log.warning("activity log %s", message)
        self.last_error = message

    def _append_lines(self, batch: list[dict[str, Any]]) -> None:
        lines = "".join(
            json.dumps(_jsonable(row), separators=(",", ":"), default=str) + "\n" for row in batch
        )
        f = self._open()
        f.write(lines)
        f.flush()
        if f.tell() >= self.settings.activity_max_bytes:
            self._rotate()

    def _open(self) -> IO[str]:
        if self._file is None or self._file.closed:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("a", encoding="utf-8")
        return self._file

    def _flush_file(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError, ValueError):
                self._file.flush()

    def _rotate(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        for i in range(ROTATE_KEEP - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{i}")
            if older.exists():
                older.replace(self.path.with_name(f"{self.path.name}.{i + 1}"))
        self.path.replace(self.path.with_name(f"{self.path.name}.1"))
        self.rotations += 1

    def _insert_rows(self, batch: list[dict[str, Any]]) -> None:
        if self.engine is None:
            return
        rows = [_db_row(r) for r in batch]
        with self.engine.begin() as conn:
            conn.execute(insert(ActivityEvent), rows)

    # ------------------------------------------------------------------ introspection

    def health(self) -> dict[str, Any]:
        dropped = sum(self.dropped.values())
        running = self._thread is not None and self._thread.is_alive()
        return {
            "status": "up"
            if running and not (self.dropped["disk"] or self.dropped["database"])
            else ("degraded" if running else "down"),
            "path": str(self.path),
            "queued": self.queue.qsize(),
            "written_file": self.written_file,
            "written_db": self.written_db,
            "dropped": dropped,
            "dropped_by_reason": dict(self.dropped),
            "last_error": self.last_error,
        }


def _jsonable(row: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in row.items() if v is not None}
    ts = row.get("ts")
    if isinstance(ts, datetime):
        out["ts"] = ts.astimezone(UTC).isoformat()
    return out


def _project_id(value: Any) -> int | None:
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdecimal():
        return int(value)
    return None


def _db_row(row: Mapping[str, Any]) -> dict[str, Any]:
    data = dict(row.get("data") or {})
    project = row.get("project")
    if project is not None and _project_id(project) is None:
        data["project"] = project
    status = row.get("status_code")
    latency = row.get("latency_ms")
    return {
        "ts": row["ts"],
        "type": str(row.get("type", "event"))[:64],
        "method": row.get("method"),
        "route": (str(row["route"])[:500] if row.get("route") else None),
        "status_code": int(status) if isinstance(status, int) else None,
        "latency_ms": float(latency) if isinstance(latency, int | float) else None,
        "client_ip": row.get("client_ip"),
        "key_name": row.get("key_name"),
        "project_id": _project_id(project),
        "data": json.loads(json.dumps(data, default=str)) if data else None,
    }

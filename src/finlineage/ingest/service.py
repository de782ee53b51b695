"""The ingestion service: sources → runs → parse pool → store, with dedup and re-resolution.

    service = IngestionService(settings, sessions, events=hub)   # events: anything with publish()
    run = service.submit_directory(project="demo", repository_name="wh", paths=["demo"])
    result = service.wait(run.ingestion_id)          # or service.execute(run.run_id) inline (CLI)
    service.status(ingestion_id); service.cancel(ingestion_id); service.resume(ingestion_id)
    service.close()

Pipeline of one run (executed on the service's single run thread, or inline by the CLI):

1. **collect** the source into :class:`~finlineage.ingest.sources.SourceFile` entries (unsafe
   and unusable input becomes per-file errors), read every `finlineage.toml`;
2. **dedup**: SHA-256 per (repository, path) against the newest stored version: identical →
   ``skipped_duplicate``; binary/undecodable → ``error``; otherwise parsed;
3. **order**: a cheap scan finds which files create which tables/views and which identifiers each
   file mentions; files are parsed in dependency levels so the DDL of a level feeds the engine's
   schema for the next (``SELECT *`` and unqualified columns resolve across files and runs);
4. **parse** in the process pool (text + dialect + the slice of the project schema the file can
   refer to), **write** results in batches (new file version, previous version's facts removed,
   objects/columns/edges/chunks bulk-inserted), one transaction per batch;
5. **re-resolve**: files whose referenced tables' columns changed after they were parsed (in this
   run, or earlier runs' files when this run brought new DDL) are re-parsed and their facts
   replaced — up to ``MAX_RERESOLVE_ROUNDS`` rounds.

Per-file results go to ``$DATA_DIR/runs/<ingestion_id>.jsonl`` as they happen; uploads live in
``$DATA_DIR/uploads/<ingestion_id>/``; parsed texts are kept content-addressed in
``$DATA_DIR/blobs/`` so dependants can be re-parsed later.
"""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import json
import logging
import multiprocessing
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from sqlalchemy.orm import Session, sessionmaker

from finlineage.ingest import dbt, openlineage, worker
from finlineage.ingest import git as gitsrc
from finlineage.ingest.dialects import DialectResolver, check_dialect
from finlineage.ingest.models import FileDiagnostic, FileResult, IngestionResult, IngestionStatus
from finlineage.ingest.sources import (
    SourceFile,
    UnsafePath,
    dest_for,
    extract_archive,
    is_archive,
    max_file_bytes,
    safe_relpath,
    too_big_reason,
    walk_tree,
    within,
)
from finlineage.settings import Settings
from finlineage.store import ingest_writes as writes
from finlineage.store import repositories as repo
from finlineage.store.blobs import blob_path
from finlineage.store.models import Run

log = logging.getLogger("finlineage.ingest")

MAX_RERESOLVE_ROUNDS = 3
BATCH_FILES = 64
BATCH_SECONDS = 2.0
TERMINAL = ("completed", "completed_with_errors", "failed", "cancelled", "interrupted")
SUCCEEDED = ("completed", "completed_with_errors")
MODES = ("add", "snapshot")
"""add: the files given are added/updated; snapshot: they are the whole repository (others go)."""


class IngestError(Exception):
    """A request the service refuses (mapped to an HTTP status by the API)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class EventSink(Protocol):
    def publish(self, type_: str, data: dict[str, Any], project_id: object = None) -> Any: ...


ProgressCallback = Callable[[FileResult, int, int], None]


@dataclass(slots=True)
class _Live:
    ingestion_id: str
    cancel: threading.Event = field(default_factory=threading.Event)
    files_total: int | None = None
    files_done: int = 0
    future: Future[IngestionResult] | None = None
    callbacks: list[ProgressCallback] = field(default_factory=list)


@dataclass(slots=True)
class _Task:
    sf: SourceFile
    sha: str
    size: int
    dialect: str
    tokens: set[str]
    defines: set[str]
    file_id: int | None = None
    """Set for already-stored files being re-resolved."""
    previous: writes.CurrentFile | None = None
    attempts: int = 0
    ref_last: set[str] = field(default_factory=set)
    sent: dict[str, int] = field(default_factory=dict)
    own: set[str] = field(default_factory=set)
    reparse: bool = False
    stored: bool = False
    """An earlier run's file re-parsed because its schema changed (not one of this run's files)."""


def _fp(cols: dict[str, str | None] | None) -> int:
    return hash(tuple(cols)) if cols else 0


def _last(name: str) -> str:
    return name.rsplit(".", 1)[-1].lower()


def decode_sql(data: bytes) -> tuple[str | None, str | None]:
    """(text, None) or (None, reason). UTF-8 (BOM optional) and BOM-marked UTF-16 only."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), None
        except UnicodeDecodeError:
            return None, "undecodable: invalid UTF-16 text"
    if b"\x00" in data:
        return None, "binary file (contains NUL bytes), not SQL text"
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        return None, (
            f"undecodable: not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "re-save the file as UTF-8"
        )


class IngestionService:
    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        events: EventSink | None = None,
        *,
        pool: ProcessPoolExecutor | None = None,
        after_run: Callable[[int, threading.Event], object] | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.events = events
        # Follow-up work on a project once a run has written its facts (the API wires in chunk
        # embedding). It runs on its own thread so completion is reported without waiting for it,
        # and gets an event that is set on close() so it stops at its next batch.
        self.after_run = after_run
        self._after_stop = threading.Event()
        self._after_runner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="finlineage-after-run")
        self._pool = pool
        self._own_pool = pool is None
        self._pool_lock = threading.Lock()
        self._runner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="finlineage-ingest")
        self._git = gitsrc.GitCloner(settings)  # clones on their own slots, apart from parsing
        self._live: dict[str, _Live] = {}
        self._lock = threading.Lock()
        self._closed = False
        settings.ensure_dirs()

    # ------------------------------------------------------------------ lifecycle

    @property
    def workers(self) -> int:
        return self.settings.parse_workers or os.cpu_count() or 1

    def _get_pool(self) -> ProcessPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    max_workers=self.workers,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=worker.worker_init,
                )
            return self._pool

    def _reset_pool(self) -> None:
        with self._pool_lock:
            old, self._pool = self._pool, None
        if old is not None:
            old.shutdown(wait=False, cancel_futures=True)

    def close(self, *, interrupt: bool = True) -> None:
        """Stop: running runs are marked ``interrupted`` (resumable), the pool is shut down."""
        self._closed = True
        for live in list(self._live.values()):
            live.cancel.set()
        self._git.close()
        self._runner.shutdown(wait=True, cancel_futures=True)
        self._after_stop.set()
        self._after_runner.shutdown(wait=True, cancel_futures=True)
        if interrupt:
            with self._lock:
                pending = [lv.ingestion_id for lv in self._live.values()]
            for iid in pending:
                with self.sessions.begin() as s:
                    run = repo.get_run_by_ingestion_id(s, iid)
                    if run is not None and run.status in ("queued", "running"):
                        repo.finish_run(s, run.id, "interrupted", "server shut down; resume to continue")
        if self._pool is not None and self._own_pool:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def schedule_after_run(self, project_id: int) -> None:
        hook = self.after_run
        if hook is None or self._closed:
            return

        def _run() -> None:
            try:
                hook(project_id, self._after_stop)
            except Exception:  # follow-up work never fails a finished run
                log.exception("after-run work for project %s failed", project_id)

        with contextlib.suppress(RuntimeError):  # the service is shutting down
            self._after_runner.submit(_run)

    def drain_sync(self, timeout: float) -> None:
        """Let running runs finish for up to ``timeout`` s; the rest stop as ``interrupted``."""
        with self._lock:
            futures = [
                lv.future for lv in self._live.values() if lv.future is not None and not lv.future.done()
            ]
        if futures:
            wait(futures, timeout=max(0.0, timeout))
        self._closed = True
        for live in list(self._live.values()):
            live.cancel.set()
        if futures:
            wait(futures, timeout=10)

    async def drain(self, timeout: float) -> None:
        import asyncio

        await asyncio.to_thread(self.drain_sync, timeout)

    def health(self) -> dict[str, Any]:
        with self._lock:
            active = sum(1 for lv in self._live.values() if lv.future is not None and not lv.future.done())
        return {"status": "up", "workers": self.workers, "active_runs": active}

    # ------------------------------------------------------------------ paths

    @property
    def uploads_root(self) -> Path:
        return self.settings.data_dir / "uploads"

    def upload_dir(self, ingestion_id: str) -> Path:
        return self.uploads_root / ingestion_id

    def log_path(self, ingestion_id: str) -> Path:
        return self.settings.data_dir / "runs" / f"{ingestion_id}.jsonl"

    def _blob_path(self, sha: str) -> Path:
        return blob_path(self.settings.data_dir, sha)

    # ------------------------------------------------------------------ requests

    def _prepare(
        self,
        *,
        project: int | str,
        repository_id: int | None,
        repository_name: str | None,
        kind: str,
        dialect: str,
        params: dict[str, Any],
        default_repo: str,
        url: str | None = None,
        ref: str | None = None,
        create_project: bool = False,
        mode: str = "add",
    ) -> Run:
        try:
            dialect = check_dialect(dialect)
        except ValueError as exc:
            raise IngestError(400, "bad_dialect", str(exc)) from None
        if mode not in MODES:
            raise IngestError(422, "validation_error", f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        with self.sessions.begin() as s:
            proj = writes.ensure_project(s, project, create=create_project)
            if proj is None:
                raise IngestError(
                    404,
                    "not_found",
                    f"project {project!r} not found; create it first (POST /api/v1/projects, "
                    "`create_project: true`, or `--create-project`)",
                )
            name = repository_name or default_repo
            rep = writes.resolve_repository(
                s, proj.id, repository_id=repository_id, name=name, kind=kind, url=url, ref=ref
            )
            if rep is None:
                raise IngestError(404, "not_found", f"repository {repository_id!r} not found in project")
            run = repo.create_run(
                s, proj.id, rep.id, params={**params, "dialect": dialect, "kind": kind, "mode": mode}
            )
            s.flush()
            s.expunge(run)
        return run

    def create_upload_run(
        self,
        *,
        project: int | str,
        repository_id: int | None = None,
        repository_name: str | None = None,
        dialect: str = "auto",
        file_dialects: dict[str, str] | None = None,
        kind: str = "upload",
        default_repo: str = "uploads",
        create_project: bool = False,
        mode: str = "add",
    ) -> Run:
        """A queued run whose files the caller then saves with :meth:`save_upload`."""
        for path, d in (file_dialects or {}).items():
            try:
                check_dialect(d)
            except ValueError as exc:
                raise IngestError(400, "bad_dialect", f"{path}: {exc}") from None
        run = self._prepare(
            project=project,
            repository_id=repository_id,
            repository_name=repository_name,
            kind=kind,
            dialect=dialect,
            params={"source": "upload", "uploads": [], "file_dialects": file_dialects or {}},
            default_repo=default_repo,
            create_project=create_project,
            mode=mode,
        )
        self.upload_dir(run.ingestion_id).mkdir(parents=True, exist_ok=True)
        return run

    def save_upload(self, run: Run, entries: Iterable[tuple[str, BinaryIO]]) -> list[dict[str, Any]]:
        """Stream uploaded files into the run's upload folder (never outside it)."""
        root = self.upload_dir(run.ingestion_id)
        saved: list[dict[str, Any]] = []
        cap_file = max_file_bytes(self.settings)
        cap_archive = int(self.settings.max_archive_total_mb * 1024 * 1024)
        for n, (name, stream) in enumerate(entries):
            entry: dict[str, Any] = {"name": name}
            try:
                rel = safe_relpath(name or "")
            except UnsafePath as exc:
                entry.update(path=name or "", error=f"unsafe upload path: {exc}")
                saved.append(entry)
                continue
            archive = is_archive(rel)
            entry.update(path=rel, archive=archive)
            stored = f"a/{n}/{rel.rsplit('/', 1)[-1]}" if archive else f"f/{rel}"
            cap = cap_archive if archive else cap_file
            try:
                target = dest_for(root, stored)
                size = 0
                with open(target, "wb") as out:
                    while chunk := stream.read(1 << 20):
                        size += len(chunk)
                        if size > cap:
                            break
                        out.write(chunk)
                if size > cap:
                    target.unlink(missing_ok=True)
                    entry["error"] = (
                        too_big_reason(size, self.settings)
                        if not archive
                        else f"archive too large: over {self.settings.max_archive_total_mb:g} MiB"
                    )
                else:
                    entry.update(stored=stored, size=size)
            except (UnsafePath, OSError) as exc:
                entry["error"] = f"could not store upload: {exc}"
            saved.append(entry)
        with self.sessions.begin() as s:
            row = s.get(Run, run.id)
            assert row is not None
            params = dict(row.params or {})
            params["uploads"] = list(params.get("uploads", [])) + saved
            row.params = params
        return saved

    def create_sql_run(
        self,
        *,
        project: int | str,
        sql: str,
        repository_id: int | None = None,
        repository_name: str | None = None,
        dialect: str = "auto",
        path: str | None = None,
        create_project: bool = False,
    ) -> Run:
        data = sql.encode("utf-8")
        if len(data) > max_file_bytes(self.settings):
            raise IngestError(413, "too_large", too_big_reason(len(data), self.settings))
        name = path or f"sql/{hashlib.sha256(data).hexdigest()[:12]}.sql"
        try:
            name = safe_relpath(name)
        except UnsafePath as exc:
            raise IngestError(422, "validation_error", f"path: {exc}") from None
        run = self.create_upload_run(
            project=project,
            repository_id=repository_id,
            repository_name=repository_name,
            dialect=dialect,
            kind="sql",
            default_repo="sql",
            create_project=create_project,
        )
        import io

        self.save_upload(run, [(name, io.BytesIO(data))])
        return run

    def check_server_paths(self, paths: Sequence[str], *, restrict: bool = True) -> list[str]:
        """Absolute, existing paths; with ``restrict`` each must lie under an ingest root."""
        out: list[str] = []
        roots = [Path(r).expanduser().resolve() for r in self.settings.ingest_roots]
        for raw in paths:
            p = Path(raw).expanduser()
            if restrict:
                if not p.is_absolute():
                    raise IngestError(422, "validation_error", f"path {raw!r} must be absolute")
                if not roots:
                    raise IngestError(
                        403,
                        "forbidden",
                        "server-side ingestion is disabled (FINLINEAGE_INGEST_ROOTS is empty)",
                    )
                if not any(within(p, r) for r in roots):
                    raise IngestError(403, "forbidden", f"path {raw!r} is outside the allowed ingest roots")
            rp = p.resolve()
            if not rp.exists():
                raise IngestError(404, "not_found", f"path {raw!r} does not exist")
            out.append(str(rp))
        if not out:
            raise IngestError(422, "validation_error", "no path given")
        return out

    def create_directory_run(
        self,
        *,
        project: int | str,
        paths: Sequence[str],
        repository_id: int | None = None,
        repository_name: str | None = None,
        dialect: str = "auto",
        restrict: bool = True,
        create_project: bool = False,
        mode: str = "add",
    ) -> Run:
        checked = self.check_server_paths(paths, restrict=restrict)
        return self._prepare(
            project=project,
            repository_id=repository_id,
            repository_name=repository_name,
            kind="directory",
            dialect=dialect,
            params={"source": "directory", "paths": checked, "restrict": restrict},
            default_repo=Path(checked[0]).name or "directory",
            create_project=create_project,
            mode=mode,
        )

    def create_git_run(
        self,
        *,
        project: int | str,
        url: str,
        ref: str | None = None,
        subdir: str | None = None,
        repository_id: int | None = None,
        repository_name: str | None = None,
        dialect: str = "auto",
        create_project: bool = False,
    ) -> Run:
        """A git ingestion is always a snapshot of its ref (files gone from it are removed)."""
        target = self._check_git_url(url)
        if subdir:
            try:
                subdir = safe_relpath(subdir)
            except UnsafePath as exc:
                raise IngestError(422, "validation_error", f"subdir: {exc}") from None
        if ref is not None and (ref.startswith("-") or not ref.strip()):
            raise IngestError(422, "validation_error", f"invalid ref {ref!r}")
        default = url.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git") or "git"
        return self._prepare(
            project=project,
            repository_id=repository_id,
            repository_name=repository_name,
            kind="git",
            dialect=dialect,
            params={
                "source": "git",
                "url": url,
                "ref": ref,
                "subdir": subdir,
                "pinned": gitsrc.pinned(target),
            },
            default_repo=default,
            url=url,
            ref=ref,
            create_project=create_project,
            mode="snapshot",
        )

    def _check_git_url(self, url: str) -> gitsrc.GitTarget:
        try:
            return gitsrc.check_git_url(self.settings, url)
        except gitsrc.GitError as exc:
            raise IngestError(exc.status, exc.code, exc.message) from None

    # ------------------------------------------------------------------ running

    def start(self, run: Run, *, on_progress: ProgressCallback | None = None) -> Future[IngestionResult]:
        """Queue ``run`` on the service's run thread; returns its future."""
        if self._closed:
            raise IngestError(503, "unavailable", "the ingestion service is shutting down")
        live = self._live_for(run.ingestion_id)
        if on_progress is not None:
            live.callbacks.append(on_progress)
        params = run.params or {}
        if params.get("source") == "git":  # clone first, on a git slot: nothing waits behind it
            dest = self.upload_dir(run.ingestion_id) / "git"
            fut = self._git.prefetch(
                run.ingestion_id, params, dest, lambda: self._runner.submit(self.execute, run.ingestion_id)
            )
        else:
            fut = self._runner.submit(self.execute, run.ingestion_id)
        live.future = fut
        return fut

    def run_sync(self, run: Run, *, on_progress: ProgressCallback | None = None) -> IngestionResult:
        """Execute inline in the calling thread (the CLI)."""
        live = self._live_for(run.ingestion_id)
        if on_progress is not None:
            live.callbacks.append(on_progress)
        return self.execute(run.ingestion_id)

    def _live_for(self, ingestion_id: str) -> _Live:
        with self._lock:
            live = self._live.get(ingestion_id)
            if live is None:
                live = self._live[ingestion_id] = _Live(ingestion_id)
            return live

    def cancel(self, ingestion_id: str) -> IngestionStatus:
        with self.sessions.begin() as s:
            run = repo.get_run_by_ingestion_id(s, ingestion_id)
            if run is None:
                raise IngestError(404, "not_found", f"ingestion {ingestion_id!r} not found")
            if run.status in ("queued", "running", "interrupted"):
                repo.finish_run(s, run.id, "cancelled", "cancelled by request")
        live = self._live.get(ingestion_id)
        if live is not None:
            live.cancel.set()
            if live.future is not None:
                live.future.cancel()
        self._git.cancel(ingestion_id)  # kills a running clone's process group, removes it
        return self.status(ingestion_id)

    def resume(self, ingestion_id: str) -> Run:
        live = self._live.get(ingestion_id)
        if live is not None and live.future is not None and not live.future.done():
            # cancel() marks the run at once; its execution may still be unwinding to the next file
            # boundary. Let it finish first, or its final status write would override this resume.
            with contextlib.suppress(Exception):
                live.future.result(timeout=60)
        with self.sessions.begin() as s:
            run = repo.get_run_by_ingestion_id(s, ingestion_id)
            if run is None:
                raise IngestError(404, "not_found", f"ingestion {ingestion_id!r} not found")
            if run.status not in ("interrupted", "failed", "cancelled"):
                raise IngestError(
                    409,
                    "conflict",
                    f"ingestion {ingestion_id} is {run.status}; only interrupted, "
                    "failed or cancelled runs can be resumed",
                )
            run.status = "queued"
            run.error = None
            run.finished_at = None
            s.flush()
            s.expunge(run)
        self._live.pop(ingestion_id, None)
        return run

    # ------------------------------------------------------------------ status and logs

    def status(self, ingestion_id: str, *, with_results: bool = True) -> IngestionStatus:
        with self.sessions() as s:
            run = repo.get_run_by_ingestion_id(s, ingestion_id)
            if run is None:
                raise IngestError(404, "not_found", f"ingestion {ingestion_id!r} not found")
            live = self._live.get(ingestion_id)
            params = run.params or {}
            total = live.files_total if live and live.files_total is not None else params.get("files_total")
            done = (
                live.files_done
                if live
                else run.files_processed + run.files_failed + run.files_skipped_duplicate
            )
            pct = 100.0 if run.status in SUCCEEDED else (100.0 * done / total if total else 0.0)
            results = None
            if with_results and run.status in TERMINAL:
                results = self.read_results(ingestion_id)
            return IngestionStatus(
                ingestion_id=run.ingestion_id,
                run_id=run.id,
                project_id=run.project_id,
                repository_id=run.repository_id,
                status=run.status,
                source=params.get("source"),
                files_total=total,
                files_done=done,
                percentage=round(min(pct, 100.0), 1),
                files_processed=run.files_processed,
                files_failed=run.files_failed,
                files_skipped_duplicate=run.files_skipped_duplicate,
                files_removed=run.files_removed or 0,
                total_nodes_created=run.nodes_created,
                total_edges_created=run.edges_created,
                created_at=run.created_at,
                started_at=run.started_at,
                finished_at=run.finished_at,
                duration_ms=run.duration_ms,
                error=run.error,
                log_url=f"/api/v1/ingestion/logs/{run.ingestion_id}",
                results=results,
            )

    def read_results(self, ingestion_id: str) -> list[FileResult]:
        path = self.log_path(ingestion_id)
        latest: dict[str, FileResult] = {}
        if path.exists():
            with open(path, encoding="utf-8") as fh:
                for line in fh:
                    try:
                        rec = json.loads(line)
                    except json.JSONDecodeError:
                        continue
                    if rec.get("event") == "file":
                        latest[rec["path"]] = FileResult.model_validate(
                            {k: v for k, v in rec.items() if k in FileResult.model_fields}
                        )
        return list(latest.values())

    def wait(self, ingestion_id: str, timeout: float | None = None) -> IngestionResult:
        live = self._live.get(ingestion_id)
        if live is None or live.future is None:
            raise IngestError(404, "not_found", f"ingestion {ingestion_id!r} is not running here")
        return live.future.result(timeout=timeout)

    # ------------------------------------------------------------------ events

    def _publish(self, type_: str, data: dict[str, Any], project_id: int) -> None:
        if self.events is None:
            return
        try:
            self.events.publish(type_, data, project_id=project_id)
        except Exception:  # events are best effort; never break a run
            log.debug("event %s not published", type_, exc_info=True)

    # ------------------------------------------------------------------ the pipeline

    def execute(self, ingestion_id: str) -> IngestionResult:
        """Run (or resume) an ingestion to completion in the calling thread."""
        return _Execution(self, ingestion_id).run()

    # ------------------------------------------------------------------ collection

    def collect(self, run: Run, resolver: DialectResolver, warnings: list[str]) -> list[SourceFile]:
        params = run.params or {}
        source = params.get("source")
        if source == "upload":
            return self._collect_uploads(run, params)
        if source == "directory":
            out: list[SourceFile] = []
            multi = len(params["paths"]) > 1
            for n, raw in enumerate(params["paths"]):
                p = Path(raw)
                if params.get("restrict", True):
                    self.check_server_paths([raw])
                if p.is_file():
                    out.extend(self._single_file(p, group=f"d{n}"))
                    continue
                prefix = f"{p.name}/" if multi else ""
                out.extend(walk_tree(p, self.settings, prefix=prefix, group=f"d{n}"))
            return out
        if source == "git":
            return self._collect_git(run, params)
        raise IngestError(422, "validation_error", f"unknown source {source!r}")

    def _single_file(self, p: Path, *, group: str) -> list[SourceFile]:
        size = p.stat().st_size
        if is_archive(p.name):
            dest = self.upload_dir("local") / hashlib.sha256(str(p).encode()).hexdigest()[:16]
            shutil.rmtree(dest, ignore_errors=True)
            dest.mkdir(parents=True, exist_ok=True)
            outcome = extract_archive(p, p.name, dest, self.settings, group=group)
            if outcome.error:
                return [SourceFile(p.name, group=group, error=outcome.error)]
            return outcome.files
        if size > max_file_bytes(self.settings):
            return [SourceFile(p.name, group=group, error=too_big_reason(size, self.settings), size=size)]
        return [SourceFile(p.name, location=p, group=group, size=size)]

    def _collect_uploads(self, run: Run, params: dict[str, Any]) -> list[SourceFile]:
        root = self.upload_dir(run.ingestion_id)
        explicit: dict[str, str] = params.get("file_dialects") or {}
        out: list[SourceFile] = []
        for n, entry in enumerate(params.get("uploads", [])):
            path = entry.get("path") or entry.get("name") or f"upload-{n}"
            if entry.get("error"):
                out.append(SourceFile(path, group="u", error=entry["error"]))
                continue
            stored = root / entry["stored"]
            if not within(stored, root) or not stored.exists():
                out.append(SourceFile(path, group="u", error="uploaded file is missing"))
                continue
            if entry.get("archive"):
                dest = root / "x" / str(n)
                shutil.rmtree(dest, ignore_errors=True)
                dest.mkdir(parents=True, exist_ok=True)
                outcome = extract_archive(stored, path, dest, self.settings, group=f"a{n}")
                if outcome.error:
                    out.append(SourceFile(path, group=f"a{n}", error=outcome.error))
                out.extend(outcome.files)
                continue
            out.append(
                SourceFile(
                    path,
                    location=stored,
                    group="u",
                    size=int(entry.get("size", 0)),
                    explicit_dialect=explicit.get(path),
                )
            )
        return out

    def _collect_git(self, run: Run, params: dict[str, Any]) -> list[SourceFile]:
        dest = self.upload_dir(run.ingestion_id) / "git"
        try:
            self._git.obtain(run.ingestion_id, params, dest)
        except gitsrc.GitError as exc:
            raise IngestError(exc.status, exc.code, exc.message) from None
        root = dest
        if params.get("subdir"):
            root = dest / params["subdir"]
            if not within(root, dest) or not root.is_dir():
                raise IngestError(404, "not_found", f"folder {params['subdir']!r} not in the repository")
        return list(walk_tree(root, self.settings, group="g"))


class _Cancelled(Exception):
    pass


class _Execution:
    """State of one run while it executes."""

    def __init__(self, service: IngestionService, ingestion_id: str) -> None:
        self.svc = service
        self.settings = service.settings
        self.ingestion_id = ingestion_id
        self.live = service._live_for(ingestion_id)
        self.results: dict[str, FileResult] = {}
        self.warnings: list[str] = []
        self.nodes = 0
        self.edges = 0
        self.reresolved = 0
        self.started = time.perf_counter()
        self.done = 0
        self.total = 0
        self.pending_writes: list[tuple[_Task, dict[str, Any] | None, FileResult]] = []
        self.last_flush = time.monotonic()
        self.schema: dict[str, dict[str, str | None]] = {}
        self.by_last: dict[str, set[str]] = {}
        self.parsed: dict[str, _Task] = {}
        self.file_ids: dict[str, int] = {}
        self.removed: set[str] = set()
        """Paths removed because a snapshot no longer has them."""
        self.redefine: set[int] = set()
        """Stored files that co-define an object whose other definer changed or went away."""
        self.writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="finlineage-ingest-writer")
        self.write_futures: list[Future[None]] = []

    # -------------------------------------------------------------- driver

    def run(self) -> IngestionResult:
        svc = self.svc
        with svc.sessions.begin() as s:
            run = repo.get_run_by_ingestion_id(s, self.ingestion_id)
            if run is None:
                raise IngestError(404, "not_found", f"ingestion {self.ingestion_id!r} not found")
            if run.status == "cancelled":
                s.expunge(run)
                return self._result(run, "cancelled")
            repo.start_run(s, run.id)
            s.expunge(run)
        self.run_row = run
        self.project_id = run.project_id
        assert run.repository_id is not None
        self.repository_id = run.repository_id
        self.dialect = (run.params or {}).get("dialect", "auto")
        prior = svc.read_results(self.ingestion_id)  # resume: files already done
        self.results = {r.path: r for r in prior}
        status = "completed"
        error: str | None = None
        try:
            try:
                self._pipeline(run)
            finally:
                try:
                    self._drain_writes()
                finally:
                    self.writer.shutdown(wait=True)
        except _Cancelled:
            status = "cancelled"
        except IngestError as exc:
            status, error = "failed", exc.message
        except Exception as exc:
            log.exception("ingestion %s failed", self.ingestion_id)
            status, error = "failed", f"{type(exc).__name__}: {exc}"
        if svc._closed and status == "cancelled":
            status = "interrupted"
        if status == "completed" and self._counts()[1]:
            status = "completed_with_errors"
        with svc.sessions.begin() as s:
            row = repo.get_run(s, run.id)
            assert row is not None
            if row.status == "cancelled":
                status = "cancelled"
            self._store_counts(row)
            repo.finish_run(s, run.id, status, error)
            s.flush()
            s.expunge(row)
        result = self._result(row, status, error)
        self._log(
            {
                "event": "run",
                "status": status,
                "error": error,
                "duration_ms": result.duration_ms,
                "files_processed": result.files_processed,
                "files_failed": result.files_failed,
                "files_removed": result.files_removed,
                "failed": [
                    {"path": r.path, "line": r.line, "column": r.column, "error": r.error}
                    for r in result.results
                    if r.status == "error"
                ],
            }
        )
        svc._publish(
            "ingestion_complete",
            {
                "run_id": run.id,
                "ingestion_id": self.ingestion_id,
                "project_id": self.project_id,
                "repository_id": self.repository_id,
                "files_processed": result.files_processed,
                "files_skipped_duplicate": result.files_skipped_duplicate,
                "files_failed": result.files_failed,
                "files_removed": len(result.files_removed),
                "total_nodes_created": result.total_nodes_created,
                "total_edges_created": result.total_edges_created,
                "duration_ms": result.duration_ms,
                "duration": result.duration_ms / 1000.0,
                "status": status,
            },
            self.project_id,
        )
        if status in SUCCEEDED and svc.after_run is not None and result.files_processed:
            svc.schedule_after_run(self.project_id)
        if status == "failed":
            svc._publish(
                "error",
                {"error_type": "ingestion_failed", "severity": "error", "message": (error or "")[:300]},
                self.project_id,
            )
        return result

    def _counts(self) -> tuple[int, int, int]:
        """(processed, failed, skipped); a file with parse errors is failed (its parsed facts kept)."""
        processed = sum(1 for r in self.results.values() if r.status == "processed")
        failed = sum(1 for r in self.results.values() if r.status == "error")
        skipped = sum(1 for r in self.results.values() if r.status == "skipped_duplicate")
        return processed, failed, skipped

    def _store_counts(self, row: Run) -> None:
        processed, failed, skipped = self._counts()
        row.files_processed = processed
        row.files_failed = failed
        row.files_skipped_duplicate = skipped
        row.files_removed = len(self.removed)
        row.nodes_created = (row.nodes_created or 0) + self.nodes
        row.edges_created = (row.edges_created or 0) + self.edges
        self.nodes = self.edges = 0

    def _result(self, row: Run, status: str, error: str | None = None) -> IngestionResult:
        processed, failed, skipped = self._counts()
        return IngestionResult(
            project_id=row.project_id,
            repository_id=row.repository_id or 0,
            ingestion_id=row.ingestion_id,
            run_id=row.id,
            status=status,
            files_total=len(self.results),
            files_processed=processed,
            files_failed=failed,
            files_skipped_duplicate=skipped,
            files_removed=sorted(self.removed),
            files_reresolved=self.reresolved,
            total_nodes_created=row.nodes_created or 0,
            total_edges_created=row.edges_created or 0,
            duration_ms=row.duration_ms or int((time.perf_counter() - self.started) * 1000),
            error=error,
            warnings=self.warnings,
            results=list(self.results.values()),
        )

    def _check_cancel(self) -> None:
        if self.live.cancel.is_set():
            raise _Cancelled()

    def _log(self, record: dict[str, Any]) -> None:
        path = self.svc.log_path(self.ingestion_id)
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"ts": time.time(), **record}, default=str) + "\n")

    # -------------------------------------------------------------- per-file outcome

    def _finish_file(self, result: FileResult) -> None:
        self.results[result.path] = result
        self.done += 1
        self.live.files_done = self.done
        self._log({"event": "file", **result.model_dump(mode="json")})
        total = max(self.total, self.done)
        self.svc._publish(
            "ingestion_progress",
            {
                "run_id": self.run_row.id,
                "ingestion_id": self.ingestion_id,
                "project_id": self.project_id,
                "file": result.path,
                "path": result.path,
                "index": self.done,
                "status": result.status,
                "files_done": self.done,
                "files_total": total,
                "percentage": round(100.0 * self.done / total, 1) if total else 100.0,
            },
            self.project_id,
        )
        for cb in self.live.callbacks:
            try:
                cb(result, self.done, total)
            except Exception:
                log.debug("progress callback failed", exc_info=True)

    # -------------------------------------------------------------- pipeline

    def _pipeline(self, run: Run) -> None:
        svc = self.svc
        resolver = DialectResolver()
        files = svc.collect(run, resolver, self.warnings)
        files = dbt.expand(files, self.warnings)  # dbt manifests → their models/sources/seeds (ingest/dbt.py)
        openlineage.apply_config_namespace(svc.sessions, self.repository_id, files, self.warnings)
        # configs first, then dedupe paths
        sql_files: list[SourceFile] = []
        seen: set[str] = set()
        for sf in files:
            leaf = sf.path.rsplit("/", 1)[-1]
            if leaf == "finlineage.toml" and sf.error is None:
                try:
                    resolver.add_config(sf.group, sf.path, sf.read().decode("utf-8", errors="replace"))
                except OSError as exc:
                    self.warnings.append(f"{sf.path}: unreadable ({exc})")
                continue
            if sf.path in seen and sf.error is None:
                sf.error = "duplicate path in this ingestion (an earlier file had the same path)"
            seen.add(sf.path)
            sql_files.append(sf)
        self.warnings.extend(resolver.warnings)
        self.total = len(sql_files)
        self.live.files_total = self.total
        with svc.sessions.begin() as s:
            row = repo.get_run(s, run.id)
            assert row is not None
            row.params = {**(row.params or {}), "files_total": self.total}
        svc._publish(
            "ingestion_started",
            {
                "run_id": run.id,
                "ingestion_id": self.ingestion_id,
                "project_id": self.project_id,
                "repository_id": self.repository_id,
                "files_total": self.total,
            },
            self.project_id,
        )
        self._log({"event": "start", "files_total": self.total, "warnings": self.warnings})
        if (run.params or {}).get("mode") == "snapshot":
            self._remove_absent({sf.path for sf in sql_files})

        with svc.sessions() as s:
            current = writes.current_files(s, self.repository_id)
            self.schema = writes.project_schema(s, self.project_id)
        before = {k: _fp(v) for k, v in self.schema.items()}
        for key in self.schema:
            self.by_last.setdefault(_last(key), set()).add(key)

        tasks: list[_Task] = []
        for sf in sql_files:
            self._check_cancel()
            prior = self.results.get(sf.path)
            if prior is not None:  # resumed run: already done
                self.done += 1
                continue
            dialect_choice = resolver.resolve(sf.group, sf.path, sf.explicit_dialect or self.dialect)
            if sf.error is not None:
                self._finish_file(FileResult(path=sf.path, status="error", error=sf.error))
                continue
            try:
                data = sf.read()
            except OSError as exc:
                self._finish_file(FileResult(path=sf.path, status="error", error=f"unreadable: {exc}"))
                continue
            if len(data) > max_file_bytes(self.settings):
                self._finish_file(
                    FileResult(path=sf.path, status="error", error=too_big_reason(len(data), self.settings))
                )
                continue
            sha = hashlib.sha256(data).hexdigest()
            prev = current.get(sf.path)
            if prev is not None and prev.sha256 == sha and prev.status == "active":
                self._finish_file(FileResult(path=sf.path, status="skipped_duplicate", dialect=None))
                continue
            text, reason = decode_sql(data)
            if text is None:
                self._record_error_file(sf, sha, len(data), prev, reason or "undecodable")
                continue
            self._store_blob(sha, data)
            tasks.append(
                _Task(
                    sf,
                    sha,
                    len(data),
                    dialect_choice,
                    worker.tokens(text),
                    worker.defined_names(text),
                    previous=prev,
                )
            )
            sf.data = data  # keep for the parse; dropped once parsed
        self._drain_writes()
        for level in self._levels(tasks):
            self._parse_all(level)
        self._drain_writes()
        self._reresolve(tasks, before)
        self._drain_writes()

    def _remove_absent(self, present: set[str]) -> None:
        """Snapshot: the repository's files this run does not have are removed with their facts
        (objects only they defined disappear, or stay ``external`` while referenced)."""
        with self.svc.sessions.begin() as s:
            gone = writes.absent_files(s, self.repository_id, present)
            if not gone:
                return
            self.redefine.update(writes.co_definers(s, [f.id for f in gone.values()]))
            for f in gone.values():
                writes.remove_file(s, f.id)
        self.removed.update(gone)
        for path in sorted(gone):
            self._log({"event": "removed", "path": path})

    def _store_blob(self, sha: str, data: bytes) -> None:
        path = self.svc._blob_path(sha)
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)

    def _record_error_file(
        self, sf: SourceFile, sha: str, size: int, prev: writes.CurrentFile | None, reason: str
    ) -> None:
        with self.svc.sessions.begin() as s:
            if prev is not None and prev.status == "error" and prev.sha256 == sha:
                writes.mark_file(
                    s, prev.id, status="error", error=reason, dialect=None, run_id=self.run_row.id
                )
            else:
                writes.add_file_version(
                    s,
                    self.repository_id,
                    sf.path,
                    sha,
                    size=size,
                    dialect=None,
                    run_id=self.run_row.id,
                    previous=prev,
                    status="error",
                    error=reason,
                )
        self._finish_file(FileResult(path=sf.path, status="error", error=reason))

    # -------------------------------------------------------------- ordering

    @staticmethod
    def _levels(tasks: list[_Task]) -> list[list[_Task]]:
        """Dependency levels: a file comes after the files creating tables/views it mentions."""
        if len(tasks) <= 1:
            return [tasks] if tasks else []
        definers: dict[str, list[int]] = {}
        for i, t in enumerate(tasks):
            for name in t.defines:
                definers.setdefault(name, []).append(i)
        deps: list[set[int]] = []
        for i, t in enumerate(tasks):
            d: set[int] = set()
            for name in t.tokens & definers.keys():
                d.update(j for j in definers[name] if j != i)
            deps.append(d)
        level = [-1] * len(tasks)
        remaining = set(range(len(tasks)))
        current = 0
        while remaining:
            ready = [i for i in remaining if all(level[j] != -1 and level[j] < current for j in deps[i])]
            if not ready:  # a cycle: parse the rest together; re-resolution fixes the order
                ready = list(remaining)
            for i in ready:
                level[i] = current
            remaining.difference_update(ready)
            current += 1
        out: list[list[_Task]] = [[] for _ in range(current)]
        for i, lv in enumerate(level):
            out[lv].append(tasks[i])
        return [lv for lv in out if lv]

    # -------------------------------------------------------------- parsing

    def _subset(self, task: _Task) -> dict[str, dict[str, str | None]]:
        out: dict[str, dict[str, str | None]] = {}
        for tok in task.tokens & self.by_last.keys():
            for key in self.by_last[tok]:
                out[key] = self.schema[key]
        return out

    def _submit(self, pool: ProcessPoolExecutor, task: _Task) -> Future[dict[str, Any]]:
        data = task.sf.data if task.sf.data is not None else task.sf.read()
        text, _ = decode_sql(data)
        subset = self._subset(task)
        task.sent = {k: _fp(v) for k, v in subset.items()}
        task.attempts += 1
        return pool.submit(
            worker.parse_file, text or "", task.dialect, subset, self.settings.statement_timeout_s
        )

    def _parse_all(self, tasks: list[_Task]) -> None:
        if not tasks:
            return
        queue = list(reversed(tasks))
        window = max(4, self.svc.workers * 8)
        inflight: dict[Future[dict[str, Any]], _Task] = {}
        pool = self.svc._get_pool()
        while queue or inflight:
            self._check_cancel()
            while queue and len(inflight) < window:
                t = queue.pop()
                try:
                    inflight[self._submit(pool, t)] = t
                except (BrokenProcessPool, RuntimeError):
                    self.svc._reset_pool()
                    pool = self.svc._get_pool()
                    queue.append(t)
                    break
            done, _ = wait(list(inflight), timeout=0.5, return_when=FIRST_COMPLETED)
            broken = False
            for fut in done:
                task = inflight.pop(fut)
                try:
                    facts = fut.result()
                except BrokenProcessPool:
                    broken = True
                    if task.attempts < 2:
                        queue.append(task)
                    else:
                        self._parsed(task, None, "the parser process crashed on this file")
                    continue
                except Exception as exc:
                    self._parsed(task, None, f"parser error: {type(exc).__name__}: {exc}")
                    continue
                self._parsed(task, facts, None)
            if broken:
                for fut, task in list(inflight.items()):
                    fut.cancel()
                    queue.append(task)
                inflight.clear()
                self.svc._reset_pool()
                pool = self.svc._get_pool()
            self._flush()

    def _parsed(self, task: _Task, facts: dict[str, Any] | None, error: str | None) -> None:
        task.sf.data = None
        if facts is None:
            res = FileResult(path=task.sf.path, status="error", dialect=task.dialect, error=error)
            self.pending_writes.append((task, None, res))
            return
        # learn the schema this file defines
        for obj in facts["objects"]:
            if obj["kind"] in writes.SCHEMA_KINDS and obj["columns"]:
                key = obj["canonical"]
                self.schema[key] = {n: t for n, _, t in obj["columns"]}
                self.by_last.setdefault(_last(key), set()).add(key)
        task.own = {o["canonical"] for o in facts["objects"]}
        task.ref_last = {_last(r) for r in facts["referenced"]}
        task.sent = {k: v for k, v in task.sent.items() if _last(k) in task.ref_last}
        self.parsed[task.sf.path] = task
        errors = facts.get("errors") or []
        first = errors[0] if errors else None
        res = FileResult(
            path=task.sf.path,
            status="error" if first else "processed",
            dialect=facts["dialect"] or "ansi",
            objects=len(facts["objects"]),
            edges=len(facts["table_edges"]) + len(facts["column_edges"]),
            diagnostics=[FileDiagnostic.model_validate(d) for d in facts["diagnostics"][:200]],
            error=first["message"] if first else None,
            line=first["line"] if first else None,
            column=first["column"] if first else None,
        )
        self.pending_writes.append((task, facts, res))

    def _flush(self, *, force: bool = False) -> None:
        """Hand the pending results to the writer thread (parsing continues meanwhile)."""
        self._raise_writer_error()
        if not self.pending_writes:
            return
        if (
            not force
            and len(self.pending_writes) < BATCH_FILES
            and (time.monotonic() - self.last_flush < BATCH_SECONDS)
        ):
            return
        batch, self.pending_writes = self.pending_writes, []
        self.last_flush = time.monotonic()
        self.write_futures.append(self.writer.submit(self._write_batch, batch))

    def _raise_writer_error(self) -> None:
        for fut in [f for f in self.write_futures if f.done()]:
            self.write_futures.remove(fut)
            fut.result()

    def _drain_writes(self) -> None:
        self._flush(force=True)
        for fut in self.write_futures:
            fut.result()
        self.write_futures.clear()

    def _write_batch(self, batch: list[tuple[_Task, dict[str, Any] | None, FileResult]]) -> None:
        run_id = self.run_row.id
        with self.svc.sessions.begin() as s:
            replaced = [t.previous.id for t, _, _ in batch if t.file_id is None and t.previous is not None]
            if replaced:  # objects they defined must be re-adopted by their other definers
                self.redefine.update(writes.co_definers(s, replaced))
            items: list[tuple[int, dict[str, Any]]] = []
            for task, facts, res in batch:
                status = "active" if res.status != "error" else "error"
                if task.file_id is not None:  # re-resolution of a stored file
                    writes.remove_facts(s, [task.file_id])
                    fid = task.file_id
                else:
                    fid = writes.add_file_version(
                        s,
                        self.repository_id,
                        task.sf.path,
                        task.sha,
                        size=task.size,
                        dialect=(facts or {}).get("dialect") or None,
                        run_id=run_id,
                        previous=task.previous,
                        status=status,
                        error=res.error,
                        error_line=res.line,
                        error_column=res.column,
                    )
                    task.file_id = fid
                    task.previous = None
                if facts is not None:
                    items.append((fid, facts))
            if items:
                written = writes.write_facts(s, self.project_id, run_id, items)
                self.nodes += written.nodes_created
                self.edges += written.edges_created
            row = repo.get_run(s, run_id)
            if row is not None:
                if row.status == "cancelled":
                    self.live.cancel.set()
                self._store_counts_partial(row, batch)
        for task, _facts, res in batch:
            if task.stored:
                self._log({"event": "reresolved", "path": task.sf.path, "edges": res.edges})
                continue
            if task.reparse:
                self.results[task.sf.path] = res  # re-resolved in this run: refresh its counts
                self._log({"event": "file", **res.model_dump(mode="json")})
                continue
            self._finish_file(res)

    @staticmethod
    def _is_reresolution(task: _Task) -> bool:
        return task.stored

    def _store_counts_partial(self, row: Run, batch: Sequence[tuple[_Task, Any, FileResult]]) -> None:
        processed, failed, skipped = self._counts()
        row.files_processed = processed + sum(1 for _, _, r in batch if r.status == "processed")
        row.files_failed = failed + sum(1 for _, _, r in batch if r.status == "error")
        row.files_skipped_duplicate = skipped
        row.nodes_created = (row.nodes_created or 0) + self.nodes
        row.edges_created = (row.edges_created or 0) + self.edges
        self.nodes = self.edges = 0

    # -------------------------------------------------------------- re-resolution

    def _reresolve(self, tasks: list[_Task], before: dict[str, int]) -> None:
        in_run_ids = {t.file_id for t in tasks if t.file_id is not None}
        baseline = dict(before)
        for _round in range(MAX_RERESOLVE_ROUNDS):
            self._check_cancel()
            redo: list[_Task] = []
            # files of this run parsed before some DDL/view they read was known
            for task in self.parsed.values():
                for last in task.ref_last:
                    keys = self.by_last.get(last, set()) - task.own
                    if any(_fp(self.schema.get(k)) != task.sent.get(k, 0) for k in keys):
                        redo.append(task)
                        break
            # earlier runs' files that read tables whose columns this run changed
            changed = {k for k, v in self.schema.items() if _fp(v) != baseline.get(k, 0)}
            baseline = {k: _fp(v) for k, v in self.schema.items()}
            skip = in_run_ids | {t.file_id for t in redo if t.file_id}
            # stored co-definers of objects whose other definer changed or was removed
            redefine, self.redefine = self.redefine - skip, set()
            if changed or redefine:
                with self.svc.sessions() as s:
                    ids = set(redefine)
                    if changed:
                        ids.update(
                            writes.dependent_files(
                                s, self.project_id, {_last(k) for k in changed}, exclude=skip
                            )
                        )
                    rows = writes.files_by_id(s, sorted(ids))
                for f in rows:
                    blob = self.svc._blob_path(f.sha256)
                    if not blob.exists():
                        self.warnings.append(f"{f.path}: source text not kept; not re-resolved")
                        continue
                    data = blob.read_bytes()
                    text, _ = decode_sql(data)
                    if text is None:
                        continue
                    t = _Task(
                        SourceFile(f.path, location=blob, group="stored"),
                        f.sha256,
                        f.size,
                        f.dialect or "auto",
                        worker.tokens(text),
                        worker.defined_names(text),
                        file_id=f.id,
                    )
                    t.stored = True
                    redo.append(t)
            if not redo:
                return
            self.reresolved += sum(1 for t in redo if t.stored)
            for t in redo:
                t.reparse = True
            self._parse_all(redo)
            self._drain_writes()

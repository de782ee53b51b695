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

A ``snapshot`` run (``mode``; git runs always) first removes the repository's files it does not
contain, with their facts. A file in which a statement fails to parse ends ``error`` (the facts of
the statements that parsed are kept) and the run ``completed_with_errors``. The run itself lives
in ``ingest/execution.py`` (driver) and ``ingest/stages.py`` (parse/write stage); shared types in
``ingest/runtime.py``.

Per-file results go to ``$DATA_DIR/runs/<ingestion_id>.jsonl`` as they happen; uploads live in
``$DATA_DIR/uploads/<ingestion_id>/``; parsed texts are kept content-addressed in
``$DATA_DIR/blobs/`` so dependants can be re-parsed later.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import multiprocessing
import os
import shutil
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy.orm import Session, sessionmaker

from finlineage.ingest import git as gitsrc
from finlineage.ingest import worker
from finlineage.ingest.dialects import DialectResolver, check_dialect
from finlineage.ingest.execution import _Execution
from finlineage.ingest.models import FileResult, IngestionResult, IngestionStatus
from finlineage.ingest.runtime import (
    BATCH_FILES,
    MAX_RERESOLVE_ROUNDS,
    MODES,
    SUCCEEDED,
    TERMINAL,
    EventSink,
    IngestError,
    ProgressCallback,
    _Live,
    decode_sql,
)
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

__all__ = [
    "BATCH_FILES",
    "MAX_RERESOLVE_ROUNDS",
    "MODES",
    "SUCCEEDED",
    "TERMINAL",
    "EventSink",
    "IngestError",
    "IngestionService",
    "ProgressCallback",
    "decode_sql",
]

log = logging.getLogger("finlineage.ingest")


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
        self._git = gitsrc.GitCloner(settings, sessions)  # own slots, apart from parsing
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
            raise IngestError(
                422, "validation_error", f"mode must be one of {', '.join(MODES)}, not {mode!r}"
            )
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
            cap = cap_archive if archive else max_file_bytes(self.settings, rel)
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
                        too_big_reason(size, self.settings, rel)
                        if not archive
                        else f"archive too large: over {self.settings.max_archive_total_mb:g} MiB (raise FINLINEAGE_MAX_ARCHIVE_TOTAL_MB)"
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
            try:
                if "\x00" in raw:
                    raise ValueError("a path has no NUL character")
                p = Path(raw).expanduser()
            except (RuntimeError, ValueError):  # ~unknown-user, NUL: no such path can exist
                raise IngestError(422, "validation_error", f"path {raw!r} is not a valid path") from None
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
        if size > max_file_bytes(self.settings, p.name):
            reason = too_big_reason(size, self.settings, p.name)
            return [SourceFile(p.name, group=group, error=reason, size=size)]
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
        commit = gitsrc.head_commit(dest)
        if commit:  # the run's provenance: its graph version records the commit it was built from
            params["commit"] = commit
            with self.sessions.begin() as s:
                row = repo.get_run(s, run.id)
                if row is not None:
                    row.params = {**(row.params or {}), "commit": commit}
        root = dest
        if params.get("subdir"):
            root = dest / params["subdir"]
            if not within(root, dest) or not root.is_dir():
                raise IngestError(404, "not_found", f"folder {params['subdir']!r} not in the repository")
        return list(walk_tree(root, self.settings, group="g"))

"""The driver of one ingestion run: collect → dedup → snapshot removal → parse in dependency
levels → write → re-resolve, then the run's final status, counts, log record and events."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from finlineage.ingest import dbt, openlineage, worker
from finlineage.ingest.dialects import DialectResolver
from finlineage.ingest.models import FileDiagnostic, FileResult, IngestionResult
from finlineage.ingest.runtime import SUCCEEDED, IngestError, _Cancelled, _fp, _last, _Task, decode_sql
from finlineage.ingest.sources import SourceFile, UnsafePath, max_file_bytes, safe_relpath, too_big_reason
from finlineage.ingest.stages import _RunState
from finlineage.store import ingest_writes as writes
from finlineage.store import repositories as repo
from finlineage.store.models import Run

log = logging.getLogger("finlineage.ingest")


class _Execution(_RunState):
    """Runs one ingestion to its end in the calling thread."""

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
        self.removed.update(self._logged_removals())
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

    # -------------------------------------------------------------- pipeline

    def _pipeline(self, run: Run) -> None:
        svc = self.svc
        resolver = DialectResolver()
        files = svc.collect(run, resolver, self.warnings)
        artifacts = {sf.path for sf in files if dbt.is_artifact(sf.path)}
        files = dbt.expand(files, self.warnings)  # dbt manifests → their models/sources/seeds (ingest/dbt.py)
        # artifacts expand() consumed (it passes on only those that cannot be read, as failed files)
        read_ok = artifacts - {sf.path for sf in files if dbt.is_artifact(sf.path)}
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
            held = tuple(sf.holds for sf in sql_files if sf.holds is not None)
            self._remove_absent({sf.path for sf in sql_files} | read_ok, held)

        with svc.sessions() as s:
            current = writes.current_files(s, self.repository_id)
            self.schema = writes.project_schema(s, self.project_id)
        self._clear_artifact_errors(read_ok, current)
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
                if dbt.is_artifact(sf.path) and _stored_path(sf.path):  # a stored failed file
                    self._record_failed_artifact(sf, current.get(sf.path))
                else:
                    self._finish_file(_failed(sf))
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
            # a dbt model: the engine parses dbt's compiled SQL, the file's own bytes are the evidence
            parse_sha = hashlib.sha256(sf.parse_data).hexdigest() if sf.parse_data is not None else None
            prev = current.get(sf.path)
            if (
                prev is not None
                and prev.sha256 == sha
                and prev.status == "active"
                and prev.parse_sha256 == parse_sha
            ):
                self._finish_file(FileResult(path=sf.path, status="skipped_duplicate", dialect=None))
                continue
            text, reason = decode_sql(data if sf.parse_data is None else sf.parse_data)
            if text is None:
                self._record_error_file(sf, sha, len(data), prev, reason or "undecodable")
                continue
            self._store_blob(sha, data)
            if sf.parse_data is not None and parse_sha is not None:
                self._store_blob(parse_sha, sf.parse_data)
            tasks.append(
                _Task(
                    sf,
                    sha,
                    len(data),
                    dialect_choice,
                    worker.tokens(text),
                    worker.defined_names(text),
                    previous=prev,
                    parse_sha=parse_sha,
                )
            )
            sf.data = data  # keep for the parse; dropped once parsed
        self._drain_writes()
        for level in self._levels(tasks):
            self._parse_all(level)
        self._drain_writes()
        self._reresolve(tasks, before)
        self._drain_writes()

    def _logged_removals(self) -> list[str]:
        """Paths an earlier attempt of this run removed (a resumed snapshot still lists them)."""
        path = self.svc.log_path(self.ingestion_id)
        if not path.exists():
            return []
        out: list[str] = []
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if '"removed"' not in line:
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if rec.get("event") == "removed" and isinstance(rec.get("path"), str):
                    out.append(rec["path"])
        return out

    def _remove_absent(self, present: set[str], held: tuple[str, ...] = ()) -> None:
        """Snapshot: the repository's files this run does not have are removed with their facts
        (objects only they defined disappear, or stay ``external`` while referenced); nothing
        under a ``held`` folder (a dbt project whose manifest could not be read) is."""
        with self.svc.sessions.begin() as s:
            gone = writes.absent_files(s, self.repository_id, present)
            gone = {p: f for p, f in gone.items() if not p.startswith(held)}
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
        self,
        sf: SourceFile,
        sha: str,
        size: int,
        prev: writes.CurrentFile | None,
        reason: str,
        result: FileResult | None = None,
    ) -> None:
        """Store a file that failed before parsing (status ``error``, its line:col when
        ``result`` has them), then report it."""
        res = result or FileResult(path=sf.path, status="error", error=reason)
        with self.svc.sessions.begin() as s:
            if prev is not None and prev.status == "error" and prev.sha256 == sha:
                writes.mark_file(
                    s,
                    prev.id,
                    status="error",
                    error=reason,
                    dialect=None,
                    run_id=self.run_row.id,
                    error_line=res.line,
                    error_column=res.column,
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
                    error_line=res.line,
                    error_column=res.column,
                )
        self._finish_file(res)

    def _record_failed_artifact(self, sf: SourceFile, prev: writes.CurrentFile | None) -> None:
        """A dbt manifest/catalog that cannot be read is a failed file of the repository like a
        SQL file that does not parse (the failed-files lists show it), its text kept as evidence
        when it was read (streamed: an artifact may be hundreds of MB)."""
        digest, size = hashlib.sha256(), sf.size
        keep = sf.error_code is not None  # read and found invalid (not: too large, a link, ...)
        try:
            if sf.data is not None:
                digest.update(sf.data)
                size = len(sf.data)
                if keep:
                    self._store_blob(digest.hexdigest(), sf.data)
            elif sf.location is not None:
                size = self._stream_blob(sf.location, digest, keep=keep)
        except OSError:
            digest = hashlib.sha256()  # unreadable now: stored without its text
        self._record_error_file(sf, digest.hexdigest(), size, prev, sf.error or "", _failed(sf))

    def _stream_blob(self, location: Path, digest: Any, *, keep: bool) -> int:
        """Hash a file in chunks, copying it into the blob store when ``keep``; its size."""
        tmp = self.svc.settings.data_dir / "blobs" / f".{os.getpid()}.{threading.get_ident()}.tmp"
        size = 0
        if keep:
            tmp.parent.mkdir(parents=True, exist_ok=True)
        with open(location, "rb") as src, open(tmp, "wb") if keep else open(os.devnull, "wb") as out:
            while chunk := src.read(1 << 20):
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
        if keep:
            path = self.svc._blob_path(digest.hexdigest())
            if path.exists():
                tmp.unlink(missing_ok=True)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp, path)
        return size

    def _clear_artifact_errors(self, paths: set[str], current: dict[str, writes.CurrentFile]) -> None:
        """dbt artifacts read fine this run whose path is stored as a failed file (an earlier run
        could not read them): that failure is over, so its row is superseded (no longer listed
        among failed files), in either ingest mode."""
        failed = {p: current[p] for p in sorted(paths) if p in current and current[p].status == "error"}
        if not failed:
            return
        with self.svc.sessions.begin() as s:
            for f in failed.values():
                writes.remove_file(s, f.id)
        for path, f in failed.items():
            current[path] = writes.CurrentFile(f.id, f.sha256, "superseded", f.version, f.parse_sha256)
            self._log({"event": "cleared", "path": path})

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


def _stored_path(path: str) -> bool:
    """A path that may be a row of ``files`` (an unsafe archive member's raw name is reported only)."""
    try:
        return safe_relpath(path) == path
    except UnsafePath:
        return False


def _failed(sf: SourceFile) -> FileResult:
    """A file that failed before parsing; an error about its content (an invalid dbt manifest)
    carries its line:col and a diagnostic, like a parse error."""
    diagnostics = []
    if sf.error_code is not None:
        diagnostics.append(
            FileDiagnostic(
                code=sf.error_code,
                message=sf.error or "",
                severity="error",
                line=sf.error_line,
                column=sf.error_column,
            )
        )
    return FileResult(
        path=sf.path,
        status="error",
        error=sf.error,
        line=sf.error_line,
        column=sf.error_column,
        diagnostics=diagnostics,
    )

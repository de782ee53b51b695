"""One run's state and its parse/write stage: files go to the process pool in dependency
order, results are written in batches on a writer thread (new file versions, facts, statement
spans), and files whose schema changed are re-resolved. `execution._Execution` drives it."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any

from finlineage.ingest import dbt, runtime, worker
from finlineage.ingest.models import FileDiagnostic, FileResult
from finlineage.ingest.runtime import (
    MAX_RERESOLVE_ROUNDS,
    _Cancelled,
    _fp,
    _last,
    _Task,
    decode_sql,
)
from finlineage.ingest.sources import SourceFile
from finlineage.store import ingest_writes as writes
from finlineage.store import repositories as repo
from finlineage.store.models import Run

if TYPE_CHECKING:
    from finlineage.ingest.service import IngestionService

log = logging.getLogger("finlineage.ingest")


class _RunState:
    """State of one run while it executes, and its parse/write stage."""

    def __init__(self, service: IngestionService, ingestion_id: str) -> None:
        self.run_row: Run
        self.project_id: int
        self.repository_id: int
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

    def _counts(self) -> tuple[int, int, int]:
        """(processed, failed, skipped); a file with parse errors is failed (its parsed facts kept)."""
        processed = sum(1 for r in self.results.values() if r.status == "processed")
        failed = sum(1 for r in self.results.values() if r.status == "error")
        skipped = sum(1 for r in self.results.values() if r.status == "skipped_duplicate")
        return processed, failed, skipped

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

    # -------------------------------------------------------------- parsing

    def _subset(self, task: _Task) -> dict[str, dict[str, str | None]]:
        out: dict[str, dict[str, str | None]] = {}
        for tok in task.tokens & self.by_last.keys():
            for key in self.by_last[tok]:
                out[key] = self.schema[key]
        return out

    def _submit(self, pool: ProcessPoolExecutor, task: _Task) -> Future[dict[str, Any]]:
        data = task.sf.parse_data  # a dbt model: dbt's compiled SQL (ingest/dbt.py)
        if data is None:
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
        if task.sf.parse_data is not None and facts is not None:  # lines of the original file
            facts = dbt.onto_original(facts, task.sf.data or task.sf.read(), task.sf.parse_data)
        if task.sf.parse_data is None:
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
        task.ref_last = {_last(r) for r in (*facts["referenced"], *facts.get("unknown_functions", ()))}
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
            and len(self.pending_writes) < runtime.BATCH_FILES
            and (time.monotonic() - self.last_flush < runtime.BATCH_SECONDS)
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
                        parse_sha256=task.parse_sha,
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
                    parsed = self.svc._blob_path(f.parse_sha256) if f.parse_sha256 else None
                    if parsed is not None and not parsed.exists():
                        self.warnings.append(f"{f.path}: parsed text not kept; not re-resolved")
                        continue
                    parse_data = parsed.read_bytes() if parsed is not None else None
                    data = parse_data if parse_data is not None else blob.read_bytes()
                    text, _ = decode_sql(data)
                    if text is None:
                        continue
                    t = _Task(
                        SourceFile(f.path, location=blob, group="stored", parse_data=parse_data),
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

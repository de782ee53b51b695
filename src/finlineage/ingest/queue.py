"""Ingestion runs through a Redis job queue (rq), for API instances and `finlineage worker`s.

When ``FINLINEAGE_REDIS_URL`` is set the API does not run ingestion in-process: it creates the
run as before (``queued`` in the ``runs`` table; uploads saved under the shared
``$DATA_DIR/uploads``), hands its ``ingestion_id`` to the queue and answers 202. A worker takes the
job and executes the run with the ordinary :class:`IngestionService` pipeline (status
``queued → running → completed``); its events go through Redis pub/sub to every API instance and
from there to every dashboard client.

    queue = RunQueue(redis_url)
    queue.enqueue(ingestion_id)               # API side (see `dispatch`)
    runtime = WorkerRuntime(service, queue)   # worker side (`finlineage worker`)
    configure_worker(runtime)                 # then rq's SimpleWorker calls `execute_job`
    runtime.recover()                         # reaper pass: re-enqueue runs whose worker died

Exactly-once execution and recovery do not depend on rq's own (slow, 90 s+) abandoned-job
detection:

* the executing worker holds ``finlineage:run-lock:<ingestion_id>`` (a redis-py ``Lock``),
  refreshed by a heartbeat thread every ``HEARTBEAT_S``; a second job for the same run finds the
  lock taken and returns without doing anything;
* a worker that takes a run claims its next attempt number (``runs.attempt``) and every one of its
  transactions checks it before committing: a worker frozen past its lock (the run meanwhile taken
  by another) has its writes refused (``store.fencing``);
* every worker runs a reaper: a run still ``queued``/``running`` in the database that was handed to
  the queue (``finlineage:run-job:<ingestion_id>`` names its last job), whose lock has expired and
  whose job is not waiting in the queue, lost its worker — it is enqueued again. The new job
  executes the same run: files already recorded in the run's JSONL log are not redone, and files
  whose facts were committed but not yet logged are skipped as identical (SHA-256 dedup), so the
  resumed run ends with the same graph as an uninterrupted one.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from concurrent.futures import Future
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from finlineage.ingest.models import IngestionResult
from finlineage.ingest.service import IngestError, IngestionService, ProgressCallback
from finlineage.store import fencing
from finlineage.store.models import Run

if TYPE_CHECKING:
    import redis

log = logging.getLogger("finlineage.ingest.queue")

QUEUE_NAME = "finlineage-ingest"
JOB_FUNC = "finlineage.ingest.queue.execute_job"
LOCK_PREFIX = "finlineage:run-lock:"
JOB_KEY_PREFIX = "finlineage:run-job:"
RECOVER_PREFIX = "finlineage:run-recover:"
LOCK_TTL_S = 10.0
"""A run whose worker stopped refreshing its lock for this long is considered orphaned."""
HEARTBEAT_S = 2.0
JOB_TIMEOUT_S = 24 * 3600
RECORD_TTL_S = 7 * 24 * 3600
ACTIVE = ("queued", "running")
TERMINAL = ("completed", "completed_with_errors", "failed", "cancelled", "interrupted")
WAITING_JOB_STATES = ("queued", "deferred", "scheduled")


class QueueUnavailable(RuntimeError):
    """Redis could not be reached to enqueue a run."""


class RunQueue:
    """The rq queue of ingestion runs plus the per-run lock and job records."""

    def __init__(self, redis_url: str, *, connection: redis.Redis | None = None) -> None:
        import redis as redis_lib
        from rq import Queue

        self.redis_url = redis_url
        self.redis: redis.Redis = connection or redis_lib.Redis.from_url(
            redis_url, socket_connect_timeout=5, socket_timeout=30, health_check_interval=30
        )
        self.queue = Queue(QUEUE_NAME, connection=self.redis)

    # ------------------------------------------------------------------ producer

    def enqueue(self, ingestion_id: str, *, reason: str = "submitted") -> str:
        """Queue one execution of the run; returns the rq job id."""
        job_id = f"ingest-{ingestion_id}-{uuid.uuid4().hex[:8]}"
        try:
            self.queue.enqueue(
                JOB_FUNC,
                ingestion_id,
                job_id=job_id,
                job_timeout=JOB_TIMEOUT_S,
                result_ttl=RECORD_TTL_S,
                failure_ttl=RECORD_TTL_S,
                description=f"ingestion {ingestion_id} ({reason})",
            )
            self.redis.set(JOB_KEY_PREFIX + ingestion_id, job_id, ex=RECORD_TTL_S)
        except Exception as exc:  # redis.exceptions.RedisError and socket errors
            raise QueueUnavailable(f"job queue unreachable at {self.redis_url}: {exc}") from exc
        log.info("ingestion %s queued as job %s (%s)", ingestion_id, job_id, reason)
        return job_id

    # ------------------------------------------------------------------ introspection

    def lock_holder(self, ingestion_id: str) -> str | None:
        raw = self.redis.get(LOCK_PREFIX + ingestion_id)
        return _text(raw)

    def last_job(self, ingestion_id: str) -> tuple[str | None, str | None, datetime | None]:
        """(job id, rq status, started_at) of the run's latest job; status None when the job is gone."""
        from rq.exceptions import NoSuchJobError
        from rq.job import Job

        job_id = _text(self.redis.get(JOB_KEY_PREFIX + ingestion_id))
        if job_id is None:
            return None, None, None
        try:
            job = Job.fetch(job_id, connection=self.redis)
        except NoSuchJobError:
            return job_id, None, None
        status = job.get_status(refresh=False)
        return job_id, (str(status.value) if status is not None else None), job.started_at

    def pending(self) -> int:
        return int(self.queue.count)

    def close(self) -> None:
        self.redis.close()


def _text(raw: Any) -> str | None:
    if raw is None:
        return None
    return raw.decode() if isinstance(raw, bytes) else str(raw)


# ---------------------------------------------------------------------- API side

_queues: dict[str, RunQueue] = {}
_queues_lock = threading.Lock()


def queue_for(redis_url: str) -> RunQueue:
    """One RunQueue (one connection pool) per Redis URL per process."""
    with _queues_lock:
        found = _queues.get(redis_url)
        if found is None:
            found = _queues[redis_url] = RunQueue(redis_url)
        return found


class QueuedIngestionService(IngestionService):
    """The API's ingestion service when ``FINLINEAGE_REDIS_URL`` is set: everything as in
    :class:`IngestionService` (runs are created, uploads saved, status/cancel/resume read and
    write the ``runs`` table), except that :meth:`start` hands the run to the job queue."""

    def start(self, run: Run, *, on_progress: ProgressCallback | None = None) -> Future[IngestionResult]:
        if self._closed:
            raise IngestError(503, "unavailable", "the ingestion service is shutting down")
        return dispatch(self, run)

    def health(self) -> dict[str, Any]:
        return {**super().health(), "mode": "queue", "queue": QUEUE_NAME}


def service_class(redis_url: str | None) -> type[IngestionService]:
    """What an API instance runs: queued with Redis, in-process without."""
    return QueuedIngestionService if redis_url else IngestionService


def dispatch(service: IngestionService, run: Run) -> Future[IngestionResult]:
    """Enqueue the run; the future completes when a worker has finished it.

    The returned future only polls the ``runs`` table when someone waits on it (``?wait=true``).
    """
    from finlineage.store import repositories as repo

    assert service.settings.redis_url
    try:
        queue_for(service.settings.redis_url).enqueue(run.ingestion_id)
    except QueueUnavailable as exc:
        with service.sessions.begin() as s:
            repo.finish_run(s, run.id, "failed", f"{exc}; resume once Redis is back")
        raise IngestError(503, "unavailable", str(exc)) from None
    return RemoteRunFuture(service, run.ingestion_id)


class RemoteRunFuture(Future[IngestionResult]):
    """Completes when a worker has finished the run (polls the ``runs`` table once waited on)."""

    POLL_S = 0.25

    def __init__(self, service: IngestionService, ingestion_id: str) -> None:
        super().__init__()
        self.service = service
        self.ingestion_id = ingestion_id
        self._watching = False
        self._watch_lock = threading.Lock()

    def _ensure_watch(self) -> None:
        with self._watch_lock:
            if self._watching:
                return
            self._watching = True
        threading.Thread(target=self._watch, name=f"run-watch-{self.ingestion_id}", daemon=True).start()

    def add_done_callback(self, fn: Any) -> None:
        self._ensure_watch()
        super().add_done_callback(fn)

    def result(self, timeout: float | None = None) -> IngestionResult:
        self._ensure_watch()
        return super().result(timeout)

    def _watch(self) -> None:
        try:
            while not self.cancelled():
                st = self.service.status(self.ingestion_id, with_results=False)
                if st.status in TERMINAL:
                    results = self.service.read_results(self.ingestion_id)
                    self.set_result(
                        IngestionResult(
                            project_id=st.project_id,
                            repository_id=st.repository_id or 0,
                            ingestion_id=st.ingestion_id,
                            run_id=st.run_id,
                            status=st.status,
                            files_total=st.files_total or len(results),
                            files_processed=st.files_processed,
                            files_failed=st.files_failed,
                            files_skipped_duplicate=st.files_skipped_duplicate,
                            total_nodes_created=st.total_nodes_created,
                            total_edges_created=st.total_edges_created,
                            duration_ms=st.duration_ms or 0,
                            error=st.error,
                            results=results,
                        )
                    )
                    return
                time.sleep(self.POLL_S)
        except Exception as exc:
            if not self.done():
                self.set_exception(exc)


# ---------------------------------------------------------------------- worker side


class _Heartbeat(threading.Thread):
    """Keeps the run's redis-py `Lock` alive; a Redis blip is retried (tenacity) until the TTL
    would have run out, then the lock is considered lost."""

    def __init__(self, lock: Any, every_s: float, ttl_s: float) -> None:
        super().__init__(name=f"heartbeat-{lock.name}", daemon=True)
        self.lock = lock
        self.every_s = every_s
        self.ttl_s = ttl_s
        self.stop_event = threading.Event()
        self.lost = False

    def run(self) -> None:
        from redis.exceptions import LockError, RedisError
        from tenacity import Retrying, retry_if_exception, stop_after_delay, wait_fixed

        while not self.stop_event.wait(self.every_s):
            try:
                for attempt in Retrying(
                    retry=retry_if_exception(
                        lambda e: isinstance(e, RedisError) and not isinstance(e, LockError)
                    ),
                    stop=stop_after_delay(max(0.1, self.ttl_s - self.every_s)),
                    wait=wait_fixed(min(0.2, self.every_s)),
                    reraise=True,
                ):
                    with attempt:
                        self.lock.reacquire()
            except LockError:
                self.lost = True
                log.error("lost the run lock %s (expired); another worker may take the run", self.lock.name)
                return
            except Exception as exc:
                self.lost = True
                log.error("run lock %s could not be refreshed: %s", self.lock.name, exc)
                return

    def stop(self) -> None:
        self.stop_event.set()
        self.join(timeout=5)


class WorkerRuntime:
    """What a `finlineage worker` process needs to execute queued runs and recover orphans."""

    def __init__(
        self,
        service: IngestionService,
        queue: RunQueue,
        *,
        worker_id: str | None = None,
        lock_ttl_s: float = LOCK_TTL_S,
        heartbeat_s: float = HEARTBEAT_S,
    ) -> None:
        self.service = service
        self.queue = queue
        self.worker_id = worker_id or uuid.uuid4().hex[:12]
        self.lock_ttl_s = lock_ttl_s
        self.heartbeat_s = heartbeat_s
        self.executed = 0
        self.recovered = 0
        self.shutting_down = False
        """Set on SIGTERM: a run stopped by it is handed back to the queue for another worker."""
        self.fenced = 0
        self._fence: tuple[str, int] | None = None
        # Every transaction of an execution checks the run's attempt number before it commits.
        event.listen(service.sessions, "before_commit", self._check_fence)

    def _check_fence(self, session: Session) -> None:
        fence = self._fence
        if fence is not None:
            fencing.check_attempt(session, *fence)

    # ------------------------------------------------------------------ execution

    def _run_status(self, ingestion_id: str) -> str | None:
        from finlineage.store import repositories as repo

        with self.service.sessions() as s:
            run = repo.get_run_by_ingestion_id(s, ingestion_id)
            return None if run is None else run.status

    def execute(self, ingestion_id: str) -> dict[str, Any]:
        from redis.exceptions import LockError

        token = f"{self.worker_id}:{uuid.uuid4().hex[:8]}"
        lock = self.queue.redis.lock(
            LOCK_PREFIX + ingestion_id, timeout=self.lock_ttl_s, blocking=False, thread_local=False
        )
        if not lock.acquire(token=token):
            holder = self.queue.lock_holder(ingestion_id)
            log.info("ingestion %s is being executed by %s; skipping", ingestion_id, holder)
            return {"ingestion_id": ingestion_id, "status": "skipped", "reason": "locked"}
        beat = _Heartbeat(lock, self.heartbeat_s, self.lock_ttl_s)
        beat.start()
        try:
            status = self._run_status(ingestion_id)
            if status not in ACTIVE:
                log.info("ingestion %s is %s; nothing to do", ingestion_id, status)
                return {"ingestion_id": ingestion_id, "status": "skipped", "reason": status}
            with self.service.sessions.begin() as s:
                attempt = fencing.claim_attempt(s, ingestion_id)
            self._fence = (ingestion_id, attempt)
            log.info(
                "executing ingestion %s (was %s, attempt %d) on worker %s",
                ingestion_id,
                status,
                attempt,
                self.worker_id,
            )
            try:
                result = self.service.execute(ingestion_id)
            except fencing.StaleAttempt as exc:
                self.fenced += 1
                log.error("ingestion %s: writes refused, another worker took the run (%s)", ingestion_id, exc)
                return {"ingestion_id": ingestion_id, "status": "fenced", "attempt": attempt}
            finally:
                self._fence = None
            self.executed += 1
            if result.status == "interrupted" and self.shutting_down:
                self.service.resume(ingestion_id)  # interrupted -> queued
                self.queue.enqueue(ingestion_id, reason=f"handed back by {self.worker_id} on shutdown")
            return {
                "ingestion_id": ingestion_id,
                "status": result.status,
                "files_processed": result.files_processed,
                "files_skipped_duplicate": result.files_skipped_duplicate,
                "files_failed": result.files_failed,
                "duration_ms": result.duration_ms,
                "resumed": status == "running",
                "attempt": attempt,
            }
        finally:
            beat.stop()
            self.service._live.pop(ingestion_id, None)
            try:
                lock.release()
            except LockError:
                pass  # expired meanwhile (and maybe taken by another worker): not ours to release
            except Exception as exc:
                log.warning("could not release run lock %s: %s", lock.name, exc)

    # ------------------------------------------------------------------ recovery

    def orphaned(self) -> list[str]:
        """Runs handed to the queue, still active in the store, with no live worker and no waiting job."""
        with self.service.sessions() as s:
            active = list(s.scalars(select(Run.ingestion_id).where(Run.status.in_(ACTIVE))))
        out: list[str] = []
        now = datetime.now(UTC)
        for iid in active:
            if self.queue.lock_holder(iid) is not None:
                continue
            job_id, state, started_at = self.queue.last_job(iid)
            if job_id is None:
                continue  # never handed to the queue (in-process run, or an upload still arriving)
            if state in WAITING_JOB_STATES:
                continue
            if state == "started" and started_at is not None:
                begun = started_at if started_at.tzinfo else started_at.replace(tzinfo=UTC)
                if (now - begun).total_seconds() < self.lock_ttl_s:
                    continue  # just picked up; the lock is about to be taken
            out.append(iid)
        return out

    def recover(self) -> list[str]:
        """One reaper pass: re-enqueue orphaned runs (one reaper wins per run)."""
        done: list[str] = []
        for iid in self.orphaned():
            claim = self.queue.redis.set(
                RECOVER_PREFIX + iid, self.worker_id, nx=True, px=int(self.lock_ttl_s * 2000)
            )
            if not claim:
                continue
            log.warning("ingestion %s lost its worker; re-enqueueing to resume it", iid)
            self.queue.enqueue(iid, reason=f"resumed by {self.worker_id} after its worker died")
            self.recovered += 1
            done.append(iid)
        return done

    def reaper(self, stop: threading.Event, every_s: float | None = None) -> threading.Thread:
        interval = every_s if every_s is not None else max(0.5, self.heartbeat_s)

        def loop() -> None:
            while not stop.wait(interval):
                try:
                    self.recover()
                except Exception as exc:
                    log.warning("reaper pass failed: %s", exc)

        thread = threading.Thread(target=loop, name="finlineage-reaper", daemon=True)
        thread.start()
        return thread


_runtime: WorkerRuntime | None = None


def configure_worker(runtime: WorkerRuntime | None) -> None:
    """Install the runtime `execute_job` uses in this worker process (`finlineage worker`)."""
    global _runtime
    _runtime = runtime


def execute_job(ingestion_id: str) -> dict[str, Any]:
    """The rq job: execute (or resume) one ingestion run in this worker process."""
    if _runtime is None:
        raise RuntimeError("no WorkerRuntime configured: run jobs with `finlineage worker`")
    return _runtime.execute(ingestion_id)

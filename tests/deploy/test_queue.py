"""`finlineage.ingest.queue` and the worker's event publisher, against a real redis-server and a
SQLite store (the cluster tests exercise the same code across processes on PostgreSQL)."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from rq import SimpleWorker
from rq.job import Job, JobStatus

from finlineage.cli.worker_cmd import RedisEventPublisher
from finlineage.ingest import queue as q
from finlineage.ingest.service import IngestionService
from finlineage.realtime.events import parse_wire
from finlineage.realtime.hub import CHANNEL
from finlineage.settings import Settings
from finlineage.store import db as store_db

from .conftest import wait_for

pytestmark = [pytest.mark.redis]

SQL = {
    "a.sql": b"CREATE TABLE raw.t (id INT, amount DECIMAL(18,2));\n",
    "b.sql": b"CREATE VIEW mart.v AS SELECT id, amount * 2 AS doubled FROM raw.t;\n",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    binary = shutil.which("redis-server")
    assert binary, "redis-server is not installed (make system-deps)"
    port = _free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
    )

    def ping() -> bool:
        try:
            return bool(redis.Redis(port=port, socket_connect_timeout=0.5).ping())
        except redis.RedisError:
            return False

    try:
        wait_for(lambda: proc.poll() is not None or ping(), 10, "redis-server")
        assert proc.poll() is None
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)


def _service(tmp_path: Path, redis_url: str | None, *, api: bool = False, **extra: Any) -> IngestionService:
    settings = Settings(
        data_dir=tmp_path / "data", log_dir=tmp_path / "logs", redis_url=redis_url, parse_workers=1, **extra
    )
    settings.ensure_dirs()
    url = settings.effective_database_url
    store_db.migrate(url)
    cls = q.service_class(redis_url) if api else IngestionService
    return cls(settings, store_db.session_factory(store_db.create_engine_for(url)))


def _upload_run(service: IngestionService, project: str = "p", sql: dict[str, bytes] | None = None) -> Any:
    import io

    from finlineage.store import repositories as repo

    with service.sessions.begin() as s:  # projects are created explicitly
        if repo.get_project_by_name(s, project) is None:
            repo.create_project(s, project)
    run = service.create_upload_run(project=project, repository_name="r", create_project=True)
    service.save_upload(run, [(name, io.BytesIO(data)) for name, data in (sql or SQL).items()])
    return run


def test_without_redis_runs_execute_in_process(tmp_path: Path) -> None:
    service = _service(tmp_path, None, api=True)
    assert type(service) is IngestionService
    try:
        future = service.start(_upload_run(service))
        assert not isinstance(future, q.RemoteRunFuture)
        result = future.result(timeout=120)
        assert result.status == "completed" and result.files_processed == 2
    finally:
        service.close()


def test_with_redis_the_run_is_queued_and_a_worker_executes_it(tmp_path: Path, redis_url: str) -> None:
    api = _service(tmp_path, redis_url, api=True)
    assert api.health()["mode"] == "queue"
    worker_service = _service(tmp_path, redis_url)
    run_queue = q.RunQueue(redis_url)
    try:
        run = _upload_run(api)
        future = api.start(run)
        assert isinstance(future, q.RemoteRunFuture)
        assert api.status(run.ingestion_id).status == "queued"
        assert run_queue.pending() == 1
        job_id, state, _ = run_queue.last_job(run.ingestion_id)
        assert job_id is not None and state == "queued"

        runtime = q.WorkerRuntime(worker_service, run_queue, worker_id="w1")
        q.configure_worker(runtime)
        SimpleWorker([run_queue.queue], connection=run_queue.redis).work(burst=True)
        result = future.result(timeout=60)
        assert result.status == "completed"
        assert result.files_processed == 2 and {r.path for r in result.results} == set(SQL)
        assert runtime.executed == 1
        assert run_queue.lock_holder(run.ingestion_id) is None  # released
        assert Job.fetch(job_id, connection=run_queue.redis).get_status() == JobStatus.FINISHED
        # a stray duplicate job for a finished run does nothing
        assert runtime.execute(run.ingestion_id)["status"] == "skipped"
    finally:
        q.configure_worker(None)
        api.close()
        worker_service.close()
        run_queue.close()


def test_the_run_lock_prevents_a_second_execution(tmp_path: Path, redis_url: str) -> None:
    service = _service(tmp_path, redis_url)
    run_queue = q.RunQueue(redis_url)
    try:
        run = _upload_run(service)
        run_queue.redis.set(q.LOCK_PREFIX + run.ingestion_id, "other-worker", px=10_000)
        runtime = q.WorkerRuntime(service, run_queue, worker_id="w2")
        assert runtime.execute(run.ingestion_id) == {
            "ingestion_id": run.ingestion_id,
            "status": "skipped",
            "reason": "locked",
        }
        assert service.status(run.ingestion_id).status == "queued"
    finally:
        service.close()
        run_queue.close()


def test_a_run_whose_worker_died_is_re_enqueued_once(tmp_path: Path, redis_url: str) -> None:
    service = _service(tmp_path, redis_url)
    run_queue = q.RunQueue(redis_url)
    try:
        runtime = q.WorkerRuntime(service, run_queue, worker_id="reaper", lock_ttl_s=2)
        never_queued = _upload_run(service, "never-queued")  # an upload still arriving: not ours
        run = _upload_run(service)
        job_id = run_queue.enqueue(run.ingestion_id)
        assert runtime.orphaned() == []  # its job is waiting in the queue

        # a worker took it, marked it running, then died (no lock refresh, job left "started")
        job = Job.fetch(job_id, connection=run_queue.redis)
        run_queue.queue.remove(job)
        job.set_status(JobStatus.STARTED)
        job.started_at = datetime.now(UTC) - timedelta(seconds=30)
        job.save()
        with service.sessions.begin() as s:
            from finlineage.store import repositories as repo

            row = repo.get_run_by_ingestion_id(s, run.ingestion_id)
            assert row is not None
            repo.start_run(s, row.id)
        run_queue.redis.set(q.LOCK_PREFIX + run.ingestion_id, "dead-worker", px=300)
        assert runtime.orphaned() == []  # lock still alive
        wait_for(lambda: run_queue.lock_holder(run.ingestion_id) is None, 5, "the lock to expire")
        assert runtime.orphaned() == [run.ingestion_id]
        assert never_queued.ingestion_id not in runtime.orphaned()

        assert runtime.recover() == [run.ingestion_id]
        assert runtime.recover() == []  # re-enqueued job is waiting; one recovery only
        new_job, state, _ = run_queue.last_job(run.ingestion_id)
        assert new_job != job_id and state == "queued"

        q.configure_worker(runtime)
        SimpleWorker([run_queue.queue], connection=run_queue.redis).work(burst=True)
        st = service.status(run.ingestion_id)
        assert st.status == "completed" and st.files_processed == 2
    finally:
        q.configure_worker(None)
        service.close()
        run_queue.close()


def test_worker_events_reach_the_hub_channel_in_its_wire_format(tmp_path: Path, redis_url: str) -> None:
    settings = Settings(
        data_dir=tmp_path / "d", log_dir=tmp_path / "l", redis_url=redis_url, progress_rate_limit_per_s=5
    )
    client = redis.Redis.from_url(redis_url)
    pubsub = client.pubsub()
    pubsub.subscribe(CHANNEL)
    wait_for(lambda: pubsub.get_message(timeout=0.1), 5, "the subscription")
    recorded: list[str] = []
    publisher = RedisEventPublisher(settings, "worker-x", recorder=lambda t, d, p: recorded.append(t))
    try:
        assert publisher.publish("ingestion_started", {"run_id": 1, "project_id": 3, "files_total": 50})
        for i in range(1, 51):
            publisher.publish(
                "ingestion_progress",
                {
                    "run_id": 1,
                    "project_id": 3,
                    "file": f"f{i}.sql",
                    "files_done": i,
                    "files_total": 50,
                    "percentage": 2.0 * i,
                },
            )
        assert publisher.publish(
            "ingestion_complete",
            {
                "run_id": 1,
                "project_id": 3,
                "files_processed": 50,
                "files_skipped_duplicate": 0,
                "files_failed": 0,
                "total_nodes_created": 10,
                "duration": 0.5,
                "status": "completed",
            },
        )
        assert not publisher.publish("ingestion_progress", {"bogus": True})  # invalid: dropped
        got: list[dict[str, Any]] = []
        deadline = time.monotonic() + 10
        while not (got and got[-1]["type"] == "ingestion_complete") and time.monotonic() < deadline:
            msg = pubsub.get_message(ignore_subscribe_messages=True, timeout=0.5)
            if msg:
                envelope = json.loads(msg["data"])
                assert envelope["origin"] == "worker-x" and envelope["project"] == "3"
                event = parse_wire(envelope["message"], project=envelope["project"])
                got.append({"type": event.type, **event.data})
        types = [m["type"] for m in got]
        assert types[0] == "ingestion_started" and types[-1] == "ingestion_complete"
        progress = [m["files_done"] for m in got if m["type"] == "ingestion_progress"]
        assert 1 <= len(progress) < 50  # coalesced
        assert progress[-1] == 50  # the latest one is flushed before the completion
        assert recorded == ["ingestion_started", "ingestion_complete"]  # activity log
    finally:
        publisher.close()
        pubsub.close()
        client.close()


def test_a_frozen_worker_that_lost_its_run_has_its_writes_refused(tmp_path: Path, redis_url: str) -> None:
    """Worker A freezes after its first write batch (its lock expires, no heartbeat: a paused
    process); worker B takes the run and finishes it; when A wakes up its writes are fenced off by
    the run's attempt number: the run stays as B finished it, one file version per path."""
    import threading

    from sqlalchemy import text

    from finlineage.ingest import runtime as service_mod

    sql = {f"f{i:03d}.sql": f"CREATE TABLE s.t{i} (a INT, b INT);\n".encode() for i in range(150)}
    service_a = _service(tmp_path, redis_url)
    service_b = _service(tmp_path, redis_url)
    queue_a, queue_b = q.RunQueue(redis_url), q.RunQueue(redis_url)
    frozen, wake = threading.Event(), threading.Event()
    original_batch = service_mod.BATCH_FILES
    service_mod.BATCH_FILES = 50  # several write batches
    try:
        run = _upload_run(service_a, sql=sql)
        # A: lock TTL 1 s and no heartbeat within it (a frozen process refreshes nothing)
        runtime_a = q.WorkerRuntime(service_a, queue_a, worker_id="a", lock_ttl_s=1.0, heartbeat_s=3600)
        runtime_b = q.WorkerRuntime(service_b, queue_b, worker_id="b")

        def freeze(*_progress: Any) -> None:
            if not frozen.is_set():
                frozen.set()
                wake.wait(60)

        service_a._live_for(run.ingestion_id).callbacks.append(freeze)
        outcome_a: dict[str, Any] = {}
        thread_a = threading.Thread(target=lambda: outcome_a.update(runtime_a.execute(run.ingestion_id)))
        thread_a.start()
        assert frozen.wait(120), "worker A never wrote its first batch"
        wait_for(lambda: queue_b.lock_holder(run.ingestion_id) is None, 10, "A's lock to expire")
        outcome_b = runtime_b.execute(run.ingestion_id)
        assert outcome_b["status"] == "completed", outcome_b
        assert outcome_b["attempt"] == 2
        done_by_b = service_b.status(run.ingestion_id, with_results=False)
        wake.set()
        thread_a.join(120)
        assert outcome_a["status"] == "fenced", outcome_a
        assert runtime_a.fenced == 1
        after = service_b.status(run.ingestion_id, with_results=False)
        assert after.status == "completed"
        assert (after.files_processed, after.files_skipped_duplicate, after.total_edges_created) == (
            done_by_b.files_processed,
            done_by_b.files_skipped_duplicate,
            done_by_b.total_edges_created,
        )
        with service_b.sessions() as s:
            versions = s.execute(
                text("SELECT path, count(*) FROM files GROUP BY path HAVING count(*) > 1")
            ).all()
            total = s.execute(text("SELECT count(DISTINCT path) FROM files")).scalar()
        assert versions == [] and total == len(sql)
    finally:
        service_mod.BATCH_FILES = original_batch
        wake.set()
        service_a.close()
        service_b.close()
        queue_a.close()
        queue_b.close()

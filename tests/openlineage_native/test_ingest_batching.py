"""Group commit of POST /api/v1/lineage: events of concurrent requests written in one
transaction, each answered 201 only once committed; one bad event fails alone."""

from __future__ import annotations

import json
import threading
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from finlineage.ingest import openlineage as ol_ingest
from finlineage.ingest import openlineage_writer as writer
from finlineage.store import db as store_db
from openlineage_native.conftest import make_key

PRODUCER = "https://example.invalid/batching-test-producer"
JOB_NS = "batch-cluster"


def _event(job: str, run_id: str, state: str, minute: int, out: str | None = None) -> dict[str, Any]:
    """A run event: two fields of ``landing.<job>`` copied into ``out`` (default ``mart.<job>``)."""
    source = f"landing.{job}"
    target = out or f"mart.{job}"
    fields = {
        f: {
            "inputFields": [
                {
                    "namespace": "s3://lake",
                    "name": source,
                    "field": f,
                    "transformations": [{"type": "DIRECT", "subtype": "IDENTITY"}],
                }
            ]
        }
        for f in ("trade_ref", "amount")
    }
    return {
        "eventType": state,
        "eventTime": f"2026-12-06T10:{minute:02d}:00Z",
        "run": {"runId": run_id, "facets": {}},
        "job": {"namespace": JOB_NS, "name": job, "facets": {}},
        "inputs": [{"namespace": "s3://lake", "name": source, "facets": {}}],
        "outputs": [
            {"namespace": "s3://lake", "name": target, "facets": {"columnLineage": {"fields": fields}}}
        ],
        "producer": PRODUCER,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    }


def _rows(engine: Engine, sql: str) -> list[Any]:
    with engine.connect() as c:
        return list(c.execute(text(sql)).all())


def test_concurrent_requests_are_answered_after_their_commit(make_server: Any, database_url: str) -> None:
    """Several clients post START/COMPLETE pairs at once; every 201 is followed at once by a read
    (another connection) that sees the run in at least the state just posted."""
    server = make_server()
    key = make_key(database_url, "producers", "editor")
    clients, runs_per_client = 6, 4

    def produce(c: int) -> list[str]:
        seen: list[str] = []
        with httpx.Client(
            base_url=server.http, headers={"Authorization": f"Bearer {key}"}, timeout=60
        ) as http:
            for r in range(runs_per_client):
                job, run_id = f"load_{c}", str(uuid.uuid4())
                for minute, state in ((2 * r, "START"), (2 * r + 1, "COMPLETE")):
                    resp = http.post("/api/v1/lineage", json=_event(job, run_id, state, minute))
                    assert resp.status_code == 201, resp.text
                    runs = http.get(f"/api/v1/jobs/{quote(JOB_NS, safe='')}/{job}/runs").json()
                    mine = [x for x in runs["runs"] if x["id"] == run_id]
                    assert mine, f"run {run_id} not readable after its 201"
                    seen.append(mine[0]["openlineageState"])
        return seen

    with ThreadPoolExecutor(clients) as pool:
        states = list(pool.map(produce, range(clients)))
    assert all(s == ["START", "COMPLETE"] * runs_per_client for s in states), states

    engine = store_db.create_engine_for(database_url)
    try:
        jobs = _rows(engine, "SELECT name FROM ol_jobs")
        done = _rows(engine, "SELECT state, started_at, ended_at FROM ol_runs")
        edges = _rows(engine, "SELECT origin, status FROM column_edges")
    finally:
        engine.dispose()
    assert sorted(j for (j,) in jobs) == [f"load_{c}" for c in range(clients)]
    assert len(done) == clients * runs_per_client
    assert all(state == "COMPLETE" and started and ended for state, started, ended in done)
    # two fields per job, each edge once however many runs repeated it
    assert len(edges) == 2 * clients
    assert set(edges) == {("openlineage", "observed")}


def _submit_held(sessions: sessionmaker[Session], bodies: list[dict[str, Any]]) -> list[Future[Any]]:
    """Submit events while the writer cannot start a transaction: they wait as one batch."""
    with writer._TRANSACTION_LOCK:
        futures = [
            writer.submit(
                sessions, ol_ingest.validate(json.loads(json.dumps(b))), default_project="openlineage"
            )
            for b in bodies
        ]
    return futures


def test_waiting_events_are_written_in_one_transaction(session_factory: sessionmaker[Session]) -> None:
    w = writer.writer_for(session_factory)
    before = (w.transactions, w.events)
    run_ids = [str(uuid.uuid4()) for _ in range(3)]
    bodies = [
        _event(f"job_{i}", run_ids[i], state, minute)
        for i in range(3)
        for minute, state in ((0, "START"), (1, "COMPLETE"))
    ]
    outcomes = [f.result(timeout=60) for f in _submit_held(session_factory, bodies)]
    assert (w.transactions - before[0], w.events - before[1]) == (1, 6)
    # the second event of each run sees what the first one of the same transaction wrote
    assert [o.column_edges for o in outcomes] == [2, 0] * 3
    assert [o.run_id for o in outcomes] == [r for r in run_ids for _ in (0, 1)]
    with session_factory() as s:
        states = {r[0]: r[1] for r in s.execute(text("SELECT run_id, state FROM ol_runs"))}
    assert states == dict.fromkeys(run_ids, "COMPLETE")


def _poison(engine: Engine) -> None:
    """A real constraint of the store's own engine that refuses one job name."""
    with engine.begin() as c:
        if engine.dialect.name == "sqlite":
            c.execute(
                text(
                    "CREATE TRIGGER poison_job BEFORE INSERT ON ol_jobs WHEN NEW.name = 'poisoned' "
                    "BEGIN SELECT RAISE(ABORT, 'poisoned job'); END"
                )
            )
        else:
            c.execute(
                text(
                    "CREATE FUNCTION poison_job() RETURNS trigger AS $$ BEGIN "
                    "IF NEW.name = 'poisoned' THEN RAISE EXCEPTION 'poisoned job'; END IF; "
                    "RETURN NEW; END $$ LANGUAGE plpgsql"
                )
            )
            c.execute(
                text(
                    "CREATE TRIGGER poison_job BEFORE INSERT ON ol_jobs "
                    "FOR EACH ROW EXECUTE FUNCTION poison_job()"
                )
            )


def test_one_failing_event_fails_alone(engine: Engine, session_factory: sessionmaker[Session]) -> None:
    _poison(engine)
    good = [str(uuid.uuid4()) for _ in range(4)]
    bodies = [_event(f"ok_{i}", good[i], "COMPLETE", i) for i in range(2)]
    bodies.append(_event("poisoned", str(uuid.uuid4()), "START", 5, out="mart.poisoned_only"))
    bodies += [_event(f"ok_{i}", good[i], "COMPLETE", i) for i in range(2, 4)]
    futures = _submit_held(session_factory, bodies)
    with pytest.raises(Exception, match="poisoned job"):
        futures[2].result(timeout=120)
    ok = [f.result(timeout=120) for i, f in enumerate(futures) if i != 2]
    assert [o.column_edges for o in ok] == [2, 2, 2, 2]
    with session_factory() as s:
        jobs = set(s.execute(text("SELECT name FROM ol_jobs")).scalars())
        runs = set(s.execute(text("SELECT run_id FROM ol_runs")).scalars())
        datasets = set(s.execute(text("SELECT name FROM ol_datasets")).scalars())
        objects = set(s.execute(text("SELECT canonical_id FROM objects")).scalars())
    assert jobs == {f"ok_{i}" for i in range(4)}
    assert runs == set(good)
    # nothing of the refused event is left half-written
    assert "mart.poisoned_only" not in datasets
    assert not any("poisoned" in o for o in objects)


def test_a_writer_serves_events_submitted_from_many_threads(session_factory: sessionmaker[Session]) -> None:
    """Producers racing the writer thread's start and stop: every event is written once."""
    run_ids = [str(uuid.uuid4()) for _ in range(24)]
    barrier = threading.Barrier(8)

    def post(i: int) -> Any:
        if i < 8:
            barrier.wait(30)
        body = _event(f"race_{i % 6}", run_ids[i], "COMPLETE", i % 60)
        return writer.ingest(session_factory, ol_ingest.validate(body))

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(post, range(24)))
    assert sorted(o.run_id for o in outcomes) == sorted(run_ids)
    with session_factory() as s:
        assert s.execute(text("SELECT count(*) FROM ol_runs")).scalar_one() == 24
        assert s.execute(text("SELECT count(*) FROM ol_jobs")).scalar_one() == 6


def test_a_dataset_of_another_project_resolves_the_same_cached_or_not(
    session_factory: sessionmaker[Session],
) -> None:
    """A dataset whose row belongs to one project, read by a job of another: each project gets
    its own object, once; repeating the event (from the cache, then with the cache emptied)
    finds the same objects and adds nothing."""
    from finlineage.store import projects

    with session_factory.begin() as s:
        for name in ("risk", "ops"):
            projects.create_repository(s, projects.create_project(s, name).id, f"{name}-db")

    def run(job: str, out: tuple[str, str], inputs: list[tuple[str, str]], minute: int) -> Any:
        body = _event(job, str(uuid.uuid4()), "COMPLETE", minute)
        body["outputs"][0].update(namespace=out[0], name=out[1])
        body["inputs"] = [{"namespace": ns, "name": n} for ns, n in inputs]
        if not inputs:
            body["outputs"][0]["facets"] = {}
        for spec in body["outputs"][0]["facets"].get("columnLineage", {}).get("fields", {}).values():
            spec["inputFields"][0].update(namespace=inputs[0][0], name=inputs[0][1])
        return writer.ingest(session_factory, ol_ingest.validate(body))

    shared = ("s3://lake", "shared.src")
    first = run("load_a", ("mssql://risk-db", "rpt.a"), [shared], 0)
    assert first.project == "risk"
    assert run("seed_b", ("postgres://ops-db", "ops.b"), [], 1).project == "ops"
    outcomes = [run("load_b", ("postgres://ops-db", "ops.b"), [shared], 2 + i) for i in range(2)]
    writer.writer_for(session_factory).cache.clear()
    outcomes.append(run("load_b", ("postgres://ops-db", "ops.b"), [shared], 5))
    assert [o.project for o in outcomes] == ["ops"] * 3
    assert [o.column_edges for o in outcomes] == [2, 0, 0]
    assert [o.matched for o in outcomes] == [1, 2, 2]
    with session_factory() as s:
        owners = s.execute(
            text(
                "SELECT p.name FROM objects o JOIN projects p ON p.id = o.project_id "
                "WHERE o.canonical_id = 'shared.src' ORDER BY p.name"
            )
        ).scalars()
        assert list(owners) == ["ops", "risk"]
        rows = s.execute(text("SELECT count(*) FROM ol_datasets WHERE name = 'shared.src'")).scalar_one()
        assert rows == 1

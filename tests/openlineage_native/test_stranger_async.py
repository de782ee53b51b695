"""#17 second stranger round: the openlineage-python client's other HTTP transport
(``async_http``: up to 100 requests in flight, gzip, a COMPLETE held back until its START was
acknowledged) posting many task runs at once into a real server; every run ends in the state its
events say, every event is kept, and a viewer key or no key is refused without writing."""

from __future__ import annotations

import uuid
from typing import Any

from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.transport.async_http import AsyncHttpConfig, AsyncHttpTransport

from openlineage_native.acceptance_bank import Bank, start_bank

PRODUCER = "https://example.invalid/kestrel-async-stranger"
NS = "kestrel-sched"
LAKE = "s3://kestrel-lake"


def _client(bank: Bank, key: str | None) -> OpenLineageClient:
    config: dict[str, Any] = {
        "url": bank.server.http,
        "compression": "gzip",
        "timeout": 60,
        "max_concurrent_requests": 16,
        "retry": {"total": 0},
    }
    if key is not None:
        config["auth"] = {"type": "api_key", "apiKey": key}
    return OpenLineageClient(transport=AsyncHttpTransport(AsyncHttpConfig.from_dict(config)))


def _event(state: RunState, run_id: str, minute: int, task: int) -> RunEvent:
    return RunEvent(
        eventType=state,
        eventTime=f"2026-12-06T10:{minute:02d}:00Z",
        run=Run(runId=run_id),
        job=Job(namespace=NS, name=f"partitions.copy_{task:02d}"),
        producer=PRODUCER,
        inputs=[InputDataset(namespace=LAKE, name=f"raw/part={task:02d}")],
        outputs=[OutputDataset(namespace=LAKE, name=f"clean/part={task:02d}")],
    )


def test_many_runs_through_the_async_transport(make_server: Any, database_url: str) -> None:
    bank = start_bank(make_server, database_url)
    tasks = 12
    runs = {t: str(uuid.uuid4()) for t in range(tasks)}
    client = _client(bank, bank.editor)
    for t, run_id in runs.items():
        client.emit(_event(RunState.START, run_id, 0, t))
        client.emit(_event(RunState.RUNNING, run_id, 1, t))
        client.emit(_event(RunState.FAIL if t % 4 == 0 else RunState.COMPLETE, run_id, 2 + t % 3, t))
    assert client.transport.close(timeout=120)
    stats = client.transport.get_stats()  # type: ignore[attr-defined]
    assert stats["success"] == 3 * tasks and stats["failed"] == 0, stats

    with bank.http("viewer") as h:
        jobs = h.get(f"/api/v1/namespaces/{NS}/jobs", params={"limit": 100}).json()
        assert jobs["totalCount"] == tasks
        for job in jobs["jobs"]:
            t = int(job["name"].rsplit("_", 1)[1])
            run = job["latestRun"]
            assert run["id"] == runs[t]
            assert run["state"] == ("FAILED" if t % 4 == 0 else "COMPLETED"), job["name"]
            assert run["startedAt"] == "2026-12-06T10:00:00Z"
            assert run["durationMs"] == (2 + t % 3) * 60_000
        events = h.get("/api/v1/events/lineage", params={"limit": 1000}).json()
        assert events["totalCount"] == 3 * tasks
        failed = h.get("/api/v1/jobs", params={"lastRunStates": "FAILED", "limit": 100}).json()
        assert {j["name"] for j in failed["jobs"]} == {f"partitions.copy_{t:02d}" for t in range(0, tasks, 4)}

    # a viewer key, and no key: refused, nothing written
    for key in (bank.viewer, None):
        refused = _client(bank, key)
        refused.emit(_event(RunState.START, str(uuid.uuid4()), 5, 99))
        refused.transport.close(timeout=60)
        assert refused.transport.get_stats()["failed"] == 1  # type: ignore[attr-defined]
    with bank.http("viewer") as h:
        assert h.get("/api/v1/events/lineage", params={"limit": 1000}).json()["totalCount"] == 3 * tasks
        assert h.get(f"/api/v1/namespaces/{NS}/jobs").json()["totalCount"] == tasks

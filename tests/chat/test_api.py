"""/api/chat over the real app (both backends): JSON and SSE answers, validation envelope,
titles, per-session memory, /health components, query_complete events in the activity log."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from finlineage.api.app import create_app
from finlineage.settings import Settings
from finlineage.store.models import ActivityEvent

from .conftest import BankGraph
from .fake_llm import FakeLLM


@pytest.fixture
def client_for(bank: BankGraph, tmp_path: Path) -> Iterator[Callable[..., TestClient]]:
    clients: list[TestClient] = []

    def make(**overrides: Any) -> TestClient:
        settings = Settings(
            data_dir=tmp_path / "data",
            log_dir=tmp_path / "logs",
            database_url=bank.url,
            load_demo=False,
            embeddings_enabled=overrides.pop("embeddings_enabled", False),
            **overrides,
        )
        client = TestClient(create_app(settings), raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for c in clients:
        c.__exit__(None, None, None)


def sse_events(body: str) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for block in body.split("\n\n"):
        lines = block.strip().splitlines()
        if not lines:
            continue
        event = next(line[7:] for line in lines if line.startswith("event: "))
        data = json.loads(next(line[6:] for line in lines if line.startswith("data: ")))
        out.append((event, data))
    return out


@pytest.mark.parametrize("mode", ["text", "semantic", "graph", "deep"])
def test_every_mode_answers_offline(
    client_for: Callable[..., TestClient], bank: BankGraph, mode: str
) -> None:
    client = client_for()
    r = client.post(
        f"/api/chat/{mode}",
        json={"query": "Where does mart.exposure come from?", "context": {"project_id": bank.project_id}},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["query_type"] == mode and body["model"] == "offline"
    assert "`stg.trades`" in body["response"] and "`ref.fx_rates`" in body["response"]
    assert {
        "response",
        "sources",
        "latency_ms",
        "next_actions",
        "warnings",
        "graph_data",
        "message_id",
    } <= set(body)
    assert {s["type"] for s in body["sources"]} >= {"graph_node", "graph_edge"}
    assert body["graph_data"]["nodes"]
    assert r.headers["x-request-id"]


def test_blank_query_is_422_envelope(client_for: Callable[..., TestClient]) -> None:
    client = client_for()
    for path in ("/api/chat/graph", "/api/chat/deep/stream", "/api/chat/title"):
        r = client.post(path, json={"query": "  \n "})
        assert r.status_code == 422
        body = r.json()
        assert body["error"] == "validation_error" and body["request_id"]
    assert client.post("/api/chat/bogus", json={"query": "x"}).status_code == 422


def test_stream_is_real_sse(client_for: Callable[..., TestClient]) -> None:
    client = client_for()
    with client.stream(
        "POST", "/api/chat/graph/stream", json={"query": "What breaks if stg.trades changes?"}
    ) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        body = "".join(r.iter_text())
    events = sse_events(body)
    kinds = [k for k, _ in events]
    assert kinds[0] == "start" and kinds[-1] == "done" and kinds.count("delta") >= 3
    text = "".join(d["text"] for k, d in events if k == "delta")
    done = events[-1][1]
    assert done["response"] == text.strip()
    assert done["sources"] and done["graph_data"]["edges"]


def test_unknown_project_and_unanswerable(client_for: Callable[..., TestClient]) -> None:
    client = client_for()
    r = client.post(
        "/api/chat/graph", json={"query": "where does x come from", "context": {"project_id": "nope"}}
    )
    assert r.status_code == 200 and r.json()["answered"] is False
    r = client.post("/api/chat/graph", json={"query": "tell me a joke about kittens"})
    assert r.status_code == 200
    assert r.json()["response"].startswith("I can't answer that without a language model")


def test_session_memory_is_per_session_and_deletable(client_for: Callable[..., TestClient]) -> None:
    client = client_for()
    client.post(
        "/api/chat/deep", json={"query": "Where does mart.exposure come from?", "session_id": "alice"}
    )
    follow = client.post(
        "/api/chat/deep", json={"query": "And what breaks if it changes?", "session_id": "alice"}
    )
    assert "`rpt.v_exposure_summary`" in follow.json()["response"]
    other = client.post(
        "/api/chat/deep", json={"query": "And what breaks if it changes?", "session_id": "bob"}
    )
    assert "`rpt.v_exposure_summary`" not in other.json()["response"]
    assert client.delete("/api/chat/session/alice").json()["deleted"] is True
    after = client.post(
        "/api/chat/deep", json={"query": "And what breaks if it changes?", "session_id": "alice"}
    )
    assert "`rpt.v_exposure_summary`" not in after.json()["response"]


def test_title(client_for: Callable[..., TestClient]) -> None:
    r = client_for().post("/api/chat/title", json={"query": "where does mart.exposure come from?"})
    assert r.status_code == 200 and r.json()["title"].startswith("Where does mart.exposure")


def test_health_reports_llm_and_embeddings(client_for: Callable[..., TestClient], fake_llm: FakeLLM) -> None:
    comps = client_for().get("/health").json()["components"]
    assert comps["llm"]["status"] == "disabled" and comps["embeddings"]["status"] == "disabled"
    comps = (
        client_for(llm_base_url=fake_llm.base_url, llm_model="fake-small").get("/health").json()["components"]
    )
    assert comps["llm"]["status"] == "up"


def test_llm_over_api_with_fallback(client_for: Callable[..., TestClient], fake_llm: FakeLLM) -> None:
    client = client_for(llm_base_url=fake_llm.base_url, llm_model="fake-small", llm_max_retries=0)
    fake_llm.script([{"echo_evidence": True}])
    r = client.post("/api/chat/graph", json={"query": "Where does mart.exposure come from?"})
    assert r.status_code == 200 and r.json()["model"] == "fake-small"
    fake_llm.script([{"status": 500}])
    r = client.post("/api/chat/graph", json={"query": "Where does mart.exposure come from?"})
    assert r.status_code == 200 and r.json()["model"] == "offline"
    assert any("language model failed" in w for w in r.json()["warnings"])


def test_query_complete_reaches_activity_log(client_for: Callable[..., TestClient], bank: BankGraph) -> None:
    client = client_for()
    hub = client.app.state.ctx.services["events"]  # type: ignore[attr-defined]
    seen: list[Any] = []
    original = hub.publish

    def spy(type_: str, data: Any, project_id: Any = None) -> bool:
        seen.append((type_, dict(data)))
        return bool(original(type_, data, project_id=project_id))

    hub.publish = spy
    r = client.post("/api/chat/graph", json={"query": "Where does mart.exposure come from?"})
    assert r.status_code == 200
    assert any(t == "query_complete" and d["mode"] == "graph" for t, d in seen)
    activity = client.app.state.ctx.services["activity"]  # type: ignore[attr-defined]
    deadline = time.monotonic() + 5
    found = False
    while time.monotonic() < deadline and not found:
        activity.flush_sync(2.0)
        with bank.sessions() as s:
            found = bool(
                s.scalars(select(ActivityEvent).where(ActivityEvent.type == "query_complete")).first()
            )
        time.sleep(0.1)
    assert found

"""The LLM path against a real local OpenAI-compatible HTTP server: citations, retries with
Retry-After, fallback models, offline fallback, streaming relay, tool calls."""

from __future__ import annotations

import json
from typing import Any

import pytest

from finlineage.chat.embeddings import EmbeddingService
from finlineage.chat.llm import LLMClient, LLMConfig
from finlineage.chat.service import ChatQuery, ChatService
from finlineage.settings import Settings

from .conftest import BankGraph
from .fake_llm import FakeLLM


def make_service(bank: BankGraph, fake: FakeLLM, **cfg: Any) -> ChatService:
    config = LLMConfig(
        base_url=fake.base_url,
        model=cfg.pop("model", "fake-small"),
        fallback_models=cfg.pop("fallback_models", []),
        mode_models=cfg.pop("mode_models", {}),
        timeout_s=cfg.pop("timeout_s", 5.0),
        max_retries=cfg.pop("max_retries", 2),
        backoff_base_s=0.01,
    )
    return ChatService(
        Settings(database_url=bank.url, embeddings_enabled=False),
        bank.sessions,
        embedder=EmbeddingService(enabled=False),
        llm=LLMClient(config),
    )


async def collect(service: ChatService, q: ChatQuery) -> tuple[list[tuple[str, dict[str, Any]]], str]:
    events = [ev async for ev in service.stream(q)]
    text = "".join(d["text"] for k, d in events if k == "delta")
    return events, text


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def test_llm_answer_cites_evidence_and_drops_unknown_ids(bank: BankGraph, fake_llm: FakeLLM) -> None:
    node = bank.objects["mart.exposure"]
    fake_llm.script([{"content": f"It is built from `stg.trades` [node:{node}] and [node:99999]."}])
    service = make_service(bank, fake_llm)
    answer = await service.ask(ChatQuery("Where does mart.exposure come from?"))
    assert answer.model == "fake-small"
    assert "[node:99999]" not in answer.response and f"[node:{node}]" in answer.response
    assert [s.id for s in answer.sources] == [f"node:{node}"]
    assert any("unknown evidence" in w and "node:99999" in w for w in answer.warnings)
    prompt = fake_llm.requests[-1]["messages"][-1]["content"]
    assert f"[node:{node}]" in prompt and "Graph analysis" in prompt


async def test_retries_on_500_then_succeeds(bank: BankGraph, fake_llm: FakeLLM) -> None:
    fake_llm.script([{"status": 500}, {"status": 503}, {"echo_evidence": True}])
    answer = await make_service(bank, fake_llm).ask(ChatQuery("Where does stg.trades come from?"))
    assert len(fake_llm.requests) == 3
    assert answer.model == "fake-small" and not any("failed" in w for w in answer.warnings)


async def test_retry_after_is_honoured(bank: BankGraph, fake_llm: FakeLLM) -> None:
    fake_llm.script([{"status": 429, "retry_after": "0.4"}, {"echo_evidence": True}])
    await make_service(bank, fake_llm).ask(ChatQuery("Where does stg.trades come from?"))
    assert len(fake_llm.times) == 2
    assert fake_llm.times[1] - fake_llm.times[0] >= 0.38


async def test_fallback_model_chain(bank: BankGraph, fake_llm: FakeLLM) -> None:
    fake_llm.script([{"status": 404, "body": "model not found"}, {"content": "ok from fallback"}])
    service = make_service(
        bank, fake_llm, model="missing", fallback_models=["backup"], mode_models={"deep": "big"}
    )
    answer = await service.ask(ChatQuery("Where does stg.trades come from?"))
    assert [r["model"] for r in fake_llm.requests] == ["missing", "backup"]
    assert answer.model == "backup" and answer.response == "ok from fallback"
    assert service.llm is not None and service.llm.models_for("deep") == ["big", "backup"]


async def test_llm_failure_falls_back_to_offline_with_warning(bank: BankGraph, fake_llm: FakeLLM) -> None:
    fake_llm.script([{"status": 500}] * 3)
    answer = await make_service(bank, fake_llm).ask(ChatQuery("What breaks if stg.trades changes?"))
    assert answer.model == "offline"
    assert "`mart.exposure`" in answer.response
    assert any("language model failed" in w for w in answer.warnings)


async def test_timeout_falls_back(bank: BankGraph, fake_llm: FakeLLM) -> None:
    fake_llm.script([{"hang": 2}, {"hang": 2}])
    service = make_service(bank, fake_llm, timeout_s=0.3, max_retries=1)
    answer = await service.ask(ChatQuery("What breaks if stg.trades changes?"))
    assert answer.model == "offline" and any("failed" in w for w in answer.warnings)


async def test_stream_relays_tokens_incrementally_and_filters_citations(
    bank: BankGraph, fake_llm: FakeLLM
) -> None:
    node = bank.objects["stg.trades"]
    fake_llm.script([{"content": f"The source is `raw.venue_trades` [node:{node}] and [edge:t424242] done."}])
    events, text = await collect(make_service(bank, fake_llm), ChatQuery("Where does stg.trades come from?"))
    kinds = [k for k, _ in events]
    assert kinds[0] == "start" and kinds[-1] == "done"
    assert kinds.count("delta") >= 5
    assert "edge:t424242" not in text and f"[node:{node}]" in text
    done = events[-1][1]
    assert done["response"] == text.strip()
    assert any("unknown evidence" in w for w in done["warnings"])
    assert fake_llm.requests[-1]["stream"] is True


async def test_stream_failure_before_first_token_uses_offline(bank: BankGraph, fake_llm: FakeLLM) -> None:
    fake_llm.script([{"status": 500}] * 3)
    events, text = await collect(
        make_service(bank, fake_llm), ChatQuery("What breaks if stg.trades changes?")
    )
    assert "`mart.exposure`" in text
    done = events[-1][1]
    assert events[-1][0] == "done" and done["model"] == "offline"
    assert any("language model failed" in w for w in done["warnings"])


async def test_stream_broken_mid_answer_appends_offline(bank: BankGraph, fake_llm: FakeLLM) -> None:
    fake_llm.script([{"content": "one two three four five six", "stream_break_after": 2}])
    events, text = await collect(
        make_service(bank, fake_llm), ChatQuery("What breaks if stg.trades changes?")
    )
    assert text.startswith("one two")
    assert "offline engine's answer follows" in text and "`mart.exposure`" in text
    assert events[-1][0] == "done"


async def test_deep_mode_tool_calls(bank: BankGraph, fake_llm: FakeLLM) -> None:
    fake_llm.script(
        [
            {
                "tool_calls": [
                    {"name": "upstream", "arguments": {"name": "mart.exposure"}},
                    {"name": "node", "arguments": {"name": "rpt.v_exposure_summary"}},
                ]
            },
            {"echo_evidence": True},
        ]
    )
    answer = await make_service(bank, fake_llm).ask(ChatQuery("Explain the exposure report", mode="deep"))
    assert len(fake_llm.requests) == 2
    first, second = fake_llm.requests
    # the MCP tools, run through the same query reads as the offline engine
    assert {t["function"]["name"] for t in first["tools"]} == {
        "search",
        "node",
        "upstream",
        "downstream",
        "impact",
        "explain",
        "path",
        "file_lines",
        "failed_files",
    }
    tool_msgs = [m for m in second["messages"] if m["role"] == "tool"]
    assert len(tool_msgs) == 2
    up = json.loads(tool_msgs[0]["content"].split("\nCitable evidence ids:")[0])
    assert "raw.venue_trades" in {n["name"] for n in up["nodes"]} and up["depth"] == "all"
    assert "CREATE VIEW rpt.v_exposure_summary" in tool_msgs[1]["content"]
    assert answer.model == "fake-small" and answer.sources


async def test_deep_mode_tool_calls_streamed(bank: BankGraph, fake_llm: FakeLLM) -> None:
    fake_llm.script(
        [
            {"tool_calls": [{"name": "downstream", "arguments": {"name": "stg.trades"}}]},
            {"echo_evidence": True},
        ]
    )
    _events, text = await collect(make_service(bank, fake_llm), ChatQuery("impact of trades?", mode="deep"))
    assert "supported by [" in text
    tool_msgs = [m for m in fake_llm.requests[1]["messages"] if m["role"] == "tool"]
    assert '"mart.exposure"' in tool_msgs[0]["content"]


async def test_server_without_tools(bank: BankGraph, fake_llm: FakeLLM) -> None:
    fake_llm.script(
        [{"status": 400, "body": "tools are not supported by this model"}, {"echo_evidence": True}]
    )
    service = make_service(bank, fake_llm)
    answer = await service.ask(ChatQuery("Where does stg.trades come from?", mode="deep"))
    assert "tools" in fake_llm.requests[0] and "tools" not in fake_llm.requests[1]
    assert answer.model == "fake-small"


async def test_text_mode_sends_project_summary_only(bank: BankGraph, fake_llm: FakeLLM) -> None:
    fake_llm.script([{"content": "A warehouse of trades and exposure."}])
    answer = await make_service(bank, fake_llm).ask(ChatQuery("What is this project about?", mode="text"))
    prompt = fake_llm.requests[-1]["messages"][-1]["content"]
    assert "Project summary" in prompt and "Evidence" not in prompt
    assert answer.response == "A warehouse of trades and exposure." and answer.sources == []


async def test_health_and_title(bank: BankGraph, fake_llm: FakeLLM) -> None:
    service = make_service(bank, fake_llm)
    assert service.llm is not None
    health = await service.llm.health()
    assert health["status"] == "up"
    assert (await service.llm.health()) is health  # cached: the same object, no second probe
    fake_llm.script([{"content": "Exposure lineage"}])
    assert (await service.title("where does exposure come from"))["title"] == "Exposure lineage"
    down = LLMClient(LLMConfig(base_url="http://127.0.0.1:9/v1", timeout_s=0.5))
    assert (await down.health())["status"] == "down"
    await down.aclose()
    assert (await LLMClient(LLMConfig(base_url=None)).health())["status"] == "disabled"

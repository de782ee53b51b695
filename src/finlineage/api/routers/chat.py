"""/api/chat: questions about the lineage in four modes, JSON or Server-Sent Events.

    POST   /api/chat/title                 {query, history?}            → {title, model}
    DELETE /api/chat/session/{session_id}                               → {deleted}
    POST   /api/chat/{mode}                {query, history?, context?, session_id?} → answer
    POST   /api/chat/{mode}/stream         same body → text/event-stream: start, delta…, done | error

`mode` is text, semantic, graph or deep. Every route needs the viewer role. The lifespan starter
`start_chat` registers `ctx.services["chat"]`, `["llm"]` and `["embeddings"]` (the last two
answer /health).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any, Literal

from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field, field_validator

from finlineage.api.auth import viewer
from finlineage.api.context import AppContext, get_ctx
from finlineage.api.errors import ApiError
from finlineage.chat.embeddings import EmbeddingService, get_default_embedder
from finlineage.chat.llm import LLMClient, LLMConfig
from finlineage.chat.service import ChatQuery, ChatService, sse

router = APIRouter(prefix="/api/chat", tags=["chat"], dependencies=[viewer])

ModeT = Literal["text", "semantic", "graph", "deep"]


class HistoryItem(BaseModel):
    role: Literal["user", "assistant", "system"] = "user"
    content: str = Field(default="", max_length=20_000)


class ChatContextIn(BaseModel):
    project_id: int | str | None = None
    repository_id: int | str | None = None


def _not_blank(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("query must not be blank")
    return value


class ChatRequest(BaseModel):
    query: str = Field(..., max_length=8000, description="The question.")
    history: list[HistoryItem] | None = Field(default=None, max_length=100)
    context: ChatContextIn | None = None
    session_id: str | None = Field(default=None, max_length=200)

    _query_not_blank = field_validator("query")(_not_blank)


class TitleRequest(BaseModel):
    query: str = Field(..., max_length=8000)
    history: list[HistoryItem] | None = None

    _query_not_blank = field_validator("query")(_not_blank)


class SourceOut(BaseModel):
    type: Literal["graph_node", "graph_edge", "code_chunk"]
    id: str
    label: str
    file: str | None = None
    lines: list[int] | None = None
    score: float


class ChatResponse(BaseModel):
    response: str
    sources: list[SourceOut]
    query_type: str
    intent: str
    latency_ms: float
    model: str
    next_actions: list[str]
    warnings: list[str]
    graph_data: dict[str, Any] | None = None
    message_id: str | None = None
    session_id: str | None = None
    answered: bool
    entities: list[str]


def _service(ctx: AppContext = Depends(get_ctx)) -> ChatService:
    service = ctx.services.get("chat")
    if service is None:
        raise ApiError(503, "chat_unavailable", "the chat service is not running")
    return service  # type: ignore[no-any-return]


def _query(body: ChatRequest, mode: str) -> ChatQuery:
    ctx = body.context or ChatContextIn()
    return ChatQuery(
        query=body.query,
        mode=mode,
        history=[h.model_dump() for h in body.history] if body.history else None,
        project=ctx.project_id,
        repository_id=ctx.repository_id,
        session_id=body.session_id,
    )


@router.post("/title", summary="A short title for a conversation")
async def chat_title(body: TitleRequest, service: ChatService = Depends(_service)) -> dict[str, Any]:
    history = [h.model_dump() for h in body.history] if body.history else None
    return await service.title(body.query, history)


@router.delete("/session/{session_id}", summary="Forget a conversation's memory")
def delete_session(session_id: str, service: ChatService = Depends(_service)) -> dict[str, Any]:
    return {"session_id": session_id, "deleted": service.delete_session(session_id)}


@router.post("/{mode}", response_model=ChatResponse, summary="Ask a question (JSON answer)")
async def chat(mode: ModeT, body: ChatRequest, service: ChatService = Depends(_service)) -> dict[str, Any]:
    answer = await service.ask(_query(body, mode))
    return answer.to_dict()


@router.post(
    "/{mode}/stream",
    summary="Ask a question (Server-Sent Events: start, delta…, done | error)",
    response_class=StreamingResponse,
)
async def chat_stream(
    mode: ModeT, body: ChatRequest, service: ChatService = Depends(_service)
) -> StreamingResponse:
    query = _query(body, mode)

    async def events() -> AsyncIterator[str]:
        async for event, data in service.stream(query):
            yield sse(event, data)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@contextlib.asynccontextmanager
async def start_chat(app: FastAPI, ctx: AppContext) -> AsyncIterator[None]:
    settings = ctx.settings
    embedder = get_default_embedder() if settings.embeddings_enabled else EmbeddingService(enabled=False)
    llm = LLMClient(LLMConfig.from_settings(settings))
    service = ChatService(
        settings,
        ctx.sessions,
        embedder=embedder,
        llm=llm,
        events=lambda: ctx.services.get("events"),
    )
    ctx.services["chat"] = service
    ctx.services["llm"] = llm
    ctx.services["embeddings"] = embedder
    try:
        yield
    finally:
        await llm.aclose()
        for name in ("chat", "llm", "embeddings"):
            ctx.services.pop(name, None)


def include(app: FastAPI) -> None:
    app.include_router(router)

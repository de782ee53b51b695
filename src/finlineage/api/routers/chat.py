"""/api/chat: questions about the lineage in four modes, JSON or Server-Sent Events.

    POST   /api/chat/title                 {query, history?}            → {title, model}
    DELETE /api/chat/session/{session_id}                               → {deleted}
    POST   /api/chat/{mode}                {query, history?, context?, session_id?} → answer
    POST   /api/chat/{mode}/stream         same body → text/event-stream: start, delta…, done | error

`mode` is text, semantic, graph or deep. Every route needs the viewer role. The lifespan starter
`start_chat` registers `ctx.services["chat"]`, `["llm"]` and `["embeddings"]` (the last two
answer /health).

`/mcp` is the MCP server (streamable HTTP, `finlineage.mcp`): `include_mcp` mounts a gate that
checks the API key (viewer role, same keys as the REST API) and hands the request to the MCP
app that `start_mcp` builds and runs for the app's lifetime.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any, Literal

from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field, StrictInt, field_validator
from starlette.types import Receive, Scope, Send

from finlineage.api.auth import ROLE_RANK, resolve_key, viewer
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
    # strict ints: JSON `true` is not project 1 (pydantic's lax int takes booleans)
    project_id: StrictInt | str | None = None
    repository_id: StrictInt | str | None = None


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


# --------------------------------------------------------------------------------------
# MCP over streamable HTTP at /mcp
# --------------------------------------------------------------------------------------


class McpGate:
    """ASGI gate in front of the MCP app: an API key with the viewer role (or auth off)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        ctx: AppContext | None = getattr(scope["app"].state, "ctx", None)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        presented = headers.get("x-api-key")
        auth = headers.get("authorization", "")
        if not presented and auth.lower().startswith("bearer "):
            presented = auth[7:].strip()
        request_id = str(scope.get("state", {}).get("request_id", ""))

        async def deny(status: int, code: str, message: str) -> None:
            body = {"error": code, "message": message, "request_id": request_id, "details": None}
            await JSONResponse(body, status_code=status)(scope, receive, send)

        inner = ctx.services.get("mcp_http") if ctx is not None else None
        if ctx is None or inner is None:
            await deny(503, "mcp_unavailable", "the MCP server is not running")
            return
        principal = resolve_key(ctx, presented)
        if principal is None:
            code = "invalid_api_key" if presented else "missing_api_key"
            await deny(401, code, "a valid API key is required (Authorization: Bearer <key> or X-API-Key)")
            return
        if ROLE_RANK[principal.role] < ROLE_RANK["viewer"]:
            await deny(403, "forbidden", "the MCP tools need the viewer role")
            return
        await inner(scope, receive, send)


@contextlib.asynccontextmanager
async def start_mcp(app: FastAPI, ctx: AppContext) -> AsyncIterator[None]:
    from mcp.server.transport_security import TransportSecuritySettings

    from finlineage.mcp.server import LineageMCP, build_server

    server = build_server(
        LineageMCP(ctx.sessions, data_dir=ctx.settings.data_dir, node_cap=ctx.settings.walk_node_cap)
    )
    # the API's own Host allowlist guards every request before it reaches here
    http_app = server.streamable_http_app(
        streamable_http_path="/",
        stateless_http=True,
        json_response=True,
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    async with server.session_manager.run():
        ctx.services["mcp_http"] = http_app
        try:
            yield
        finally:
            ctx.services.pop("mcp_http", None)


def include_mcp(app: FastAPI) -> None:
    app.mount("/mcp", McpGate(), name="mcp")

"""The chat service: modes, retrieval, offline engine, optional LLM, session memory, events.

    service = ChatService(settings, sessions, embedder=..., llm=..., events=lambda: hub)
    answer = await service.ask(ChatQuery("Where does <schema.table> come from?", mode="graph"))
    async for event, data in service.stream(query): ...   # start, delta…, done | error

Modes
* text     — the model alone with a short summary of the project (offline: the graph engine).
* semantic — hybrid retrieval over code chunks (BM25 + MiniLM, RRF) feeds the answer.
* graph    — entity linking + traversal (the offline engine).
* deep     — both, multi-hop, definitions on the path, tool calls when the server has them.

Without `FINLINEAGE_LLM_BASE_URL` the offline engine answers every mode. With it, the offline
engine's grounded answer and its evidence (ids) are given to the model, which must cite them;
if the model fails the offline answer is returned with a warning — never a bare 500.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from finlineage.chat.citations import CitationFilter, check_citations
from finlineage.chat.embeddings import EmbeddingService
from finlineage.chat.evidence import Evidence
from finlineage.chat.linking import linker_for
from finlineage.chat.llm import LLMClient, LLMError, ToolCall
from finlineage.chat.memory import SessionMemory
from finlineage.chat.offline import CANNOT_ANSWER, OfflineAnswer, OfflineEngine
from finlineage.chat.retrieval import HybridRetriever
from finlineage.chat.tools import TOOL_SPECS, LineageTools, tool_schema
from finlineage.chat.types import MODES, ChatAnswer, RetrievedChunk, Source
from finlineage.chat.vocab import Vocab, VocabCache
from finlineage.query.errors import QueryError
from finlineage.query.projects import resolve_project
from finlineage.settings import Settings
from finlineage.store.models import CatalogObject, Project

__all__ = ["ChatQuery", "ChatService", "NoProject"]

log = logging.getLogger("finlineage.chat")

MAX_TOOL_ROUNDS = 3
MAX_EVIDENCE = 80

SYSTEM_PROMPT = (
    "You are finlineage, an assistant for a bank's data team. You answer questions about SQL data "
    "lineage: where data comes from, what depends on it, how columns are calculated. Use only the "
    "evidence given (and tool results). Cite every claim with the evidence ids in square brackets, "
    "e.g. [node:12] or [edge:c7]; never invent ids, objects or columns. Name objects by their "
    "qualified names in backticks. If the evidence does not answer the question, say so plainly."
)

TOOLS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {"name": name, "description": desc, "parameters": tool_schema(props, req, False)},
    }
    for name, desc, props, req in TOOL_SPECS
]
"""The MCP tools (`chat.tools`), offered to the model for function calling."""


class NoProject(Exception):
    pass


@dataclass
class ChatQuery:
    query: str
    mode: str = "graph"
    history: list[dict[str, str]] | None = None
    project: int | str | None = None
    repository_id: int | str | None = None
    session_id: str | None = None


@dataclass
class _Prepared:
    """An offline answer fully computed, plus what the LLM path needs."""

    answer: ChatAnswer
    evidence_lines: list[str] = field(default_factory=list)
    evidence: dict[str, Source] = field(default_factory=dict)
    summary: str = ""
    project_id: int | None = None
    offline_text: str = ""


def _sse_chunks(text: str, size: int = 48) -> Iterator[str]:
    """Split prose at word boundaries into small deltas."""
    buf = ""
    for word in re.split(r"(\s+)", text):
        buf += word
        if len(buf) >= size:
            yield buf
            buf = ""
    if buf:
        yield buf


class ChatService:
    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        *,
        embedder: EmbeddingService | None = None,
        llm: LLMClient | None = None,
        events: Callable[[], Any] | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.embedder = embedder
        self.llm = llm
        self._events = events or (lambda: None)
        self.vocab_cache = VocabCache()
        self.retriever = HybridRetriever(embedder)
        self.engine = OfflineEngine()
        self.memory = SessionMemory()
        self._default_project: int | None = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ projects
    def resolve_project(self, session: Session, project: int | str | None) -> int:
        if project is not None and str(project).strip():
            ref = str(project).strip()
            try:
                return int(resolve_project(session, int(ref) if ref.isdecimal() else ref).id)
            except QueryError as exc:
                raise NoProject(f"project {ref!r} not found") from exc
        # default: the lowest-id project that has objects (the demo project on a fresh install)
        pid = session.scalar(
            select(CatalogObject.project_id).order_by(CatalogObject.project_id).limit(1)
        ) or session.scalar(select(Project.id).order_by(Project.id).limit(1))
        if pid is None:
            raise NoProject("no project has been ingested yet")
        return int(pid)

    def tools(
        self, s: Session, pid: int, repository_id: int | str | None = None, *, with_text: bool = True
    ) -> LineageTools:
        rid = int(repository_id) if repository_id is not None and str(repository_id).isdecimal() else None
        return LineageTools(
            s,
            self.vocab_cache.get(s, pid),
            data_dir=self.settings.data_dir,
            repository_id=rid,
            with_text=with_text,
            node_cap=self.settings.walk_node_cap,
        )

    # ------------------------------------------------------------------ offline core (sync)
    def _start(self, s: Session, q: ChatQuery) -> tuple[Vocab, OfflineAnswer, int]:
        pid = self.resolve_project(s, q.project)
        # the prose cites file:line; source text is attached only for a model to read
        tools = self.tools(s, pid, q.repository_id, with_text=self.llm is not None and self.llm.enabled)
        g = tools.v
        dense = q.mode in ("semantic", "deep")
        state = self.memory.get(q.session_id, pid)
        focus = state.focus if state is not None else None
        if dense:
            chunks = self.retrieve(s, g, q.query, k=8, dense=True)
            ans = self.engine.start(
                g, q.query, tools=tools, session=s, chunks=chunks, focus=focus, mode=q.mode
            )
        else:
            ans = self.engine.start(
                g,
                q.query,
                tools=tools,
                session=s,
                focus=focus,
                mode=q.mode,
                chunk_fn=lambda: self.retrieve(s, g, q.query, k=5, dense=False),
            )
        return g, ans, pid

    def retrieve(
        self, s: Session, g: Vocab, query: str, k: int = 8, dense: bool = True
    ) -> list[RetrievedChunk]:
        """Hybrid retrieval: keywords + dense embeddings + the chunks of linked entities (RRF)."""
        linker = linker_for(g)
        objects: list[int] = []
        for ent in linker.link(query).ordered():
            if ent.kind == "object":
                ids = [int(i) for i in ent.ids[:3]]
            elif ent.kind == "column":
                ids = [g.columns[int(i)].object_id for i in ent.ids[:3]]
            else:
                continue
            objects.extend(i for i in ids if i not in objects)
        return self.retriever.search(s, g.project_id, query, k=k, dense=dense, objects=objects)

    def _finish(self, g: Vocab, ans: OfflineAnswer, q: ChatQuery, pid: int, t0: float) -> _Prepared:
        text = ans.text
        warnings = list(ans.warnings)
        if (
            self.retriever.last_mode == "keyword"
            and q.mode in ("semantic", "deep")
            and not (self.embedder and self.embedder.available)
        ):
            warnings.append("embeddings are disabled: semantic retrieval used keywords only")
        out = ChatAnswer(
            response=text.strip(),
            sources=ans.ev.source_list()[:MAX_EVIDENCE],
            query_type=q.mode,
            intent=ans.intent,
            model="offline",
            next_actions=ans.next_actions,
            warnings=warnings,
            graph_data=ans.ev.graph_data(),
            answered=ans.answered,
            entities=[e.mention for e in ans.linked.ordered()],
            latency_ms=(time.perf_counter() - t0) * 1000,
            message_id=uuid.uuid4().hex,
            session_id=q.session_id,
            project_id=pid,
        )
        self.memory.record(q.session_id, pid, q.query, out.response, ans.focus_out)
        prepared = _Prepared(answer=out, project_id=pid, offline_text=text)
        if self.llm is not None and self.llm.enabled:
            prepared.evidence_lines = evidence_lines(ans.ev, ans.chunks if q.mode != "text" else [])
            prepared.evidence = dict(ans.ev.sources)
            prepared.summary = project_summary(g)
        return prepared

    def answer_offline(self, q: ChatQuery) -> _Prepared:
        t0 = time.perf_counter()
        with self.sessions() as s:
            g, ans, pid = self._start(s, q)
            for _ in ans.pieces():
                pass
            return self._finish(g, ans, q, pid, t0)

    # ------------------------------------------------------------------ public API
    async def ask(self, q: ChatQuery) -> ChatAnswer:
        _check_mode(q.mode)
        t0 = time.perf_counter()
        with self._track():
            try:
                prepared = await asyncio.to_thread(self.answer_offline, q)
            except NoProject as exc:
                return self._emit(self._no_project(q, str(exc), t0), q)
            answer = prepared.answer
            if self.llm is not None and self.llm.enabled:
                try:
                    answer = await self._ask_llm(q, prepared)
                except LLMError as exc:
                    log.warning("LLM failed, offline answer used: %s", exc)
                    answer.warnings.append(
                        f"the language model failed ({_short(str(exc))}); answered by the offline engine"
                    )
            answer.latency_ms = (time.perf_counter() - t0) * 1000
            return self._emit(answer, q)

    async def stream(self, q: ChatQuery) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        """SSE events: ("start", …), ("delta", {"text"})…, then ("done", full answer) or ("error", …)."""
        _check_mode(q.mode)
        t0 = time.perf_counter()
        message_id = uuid.uuid4().hex
        use_llm = self.llm is not None and self.llm.enabled
        yield (
            "start",
            {
                "message_id": message_id,
                "query_type": q.mode,
                "session_id": q.session_id,
                "model": self.llm.models_for(q.mode)[0] if use_llm and self.llm else "offline",
            },
        )
        with self._track():
            try:
                if use_llm:
                    prepared = await asyncio.to_thread(self.answer_offline, q)
                    answer = prepared.answer
                    async for ev in self._stream_llm(q, prepared):
                        yield ev
                    answer = prepared.answer
                else:
                    holder: dict[str, _Prepared] = {}
                    async for piece in self._offline_pieces(q, holder):
                        yield "delta", {"text": piece}
                    answer = holder["prepared"].answer
            except NoProject as exc:
                answer = self._no_project(q, str(exc), t0)
                yield "delta", {"text": answer.response}
            except Exception as exc:
                log.exception("chat stream failed")
                yield (
                    "error",
                    {"error": "internal_error", "message": f"the answer failed ({type(exc).__name__})"},
                )
                return
        answer.message_id = message_id
        answer.latency_ms = (time.perf_counter() - t0) * 1000
        self._emit(answer, q)
        yield "done", answer.to_dict()

    async def _offline_pieces(self, q: ChatQuery, holder: dict[str, _Prepared]) -> AsyncIterator[str]:
        """Run the offline engine in a worker thread and relay each piece as it is produced."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

        def work() -> None:
            t0 = time.perf_counter()
            try:
                with self.sessions() as s:
                    g, ans, pid = self._start(s, q)
                    for piece in ans.pieces():
                        loop.call_soon_threadsafe(queue.put_nowait, ("piece", piece))
                    holder["prepared"] = self._finish(g, ans, q, pid, t0)
                loop.call_soon_threadsafe(queue.put_nowait, ("end", None))
            except BaseException as exc:
                loop.call_soon_threadsafe(queue.put_nowait, ("exc", exc))

        worker = threading.Thread(target=work, name="chat-offline", daemon=True)
        worker.start()
        while True:
            kind, value = await queue.get()
            if kind == "piece":
                for part in _sse_chunks(value):
                    yield part
            elif kind == "exc":
                raise value
            else:
                break

    # ------------------------------------------------------------------ LLM
    def _messages(self, q: ChatQuery, prepared: _Prepared) -> list[dict[str, Any]]:
        msgs: list[dict[str, Any]] = [{"role": "system", "content": SYSTEM_PROMPT}]
        state = self.memory.get(q.session_id, prepared.project_id)
        history = list(q.history or [])
        if not history and state is not None:
            # the turn just answered offline is the last one recorded; skip it
            history = [{"role": r, "content": c} for r, c in state.turns[:-2]]
        for h in history[-8:]:
            role = h.get("role", "user")
            if role in ("user", "assistant") and h.get("content"):
                msgs.append({"role": role, "content": str(h["content"])[:4000]})
        if q.mode == "text":
            user = f"Project summary:\n{prepared.summary}\n\nQuestion: {q.query}"
        else:
            parts = [f"Question: {q.query}", "", f"Project summary:\n{prepared.summary}"]
            if prepared.answer.answered:
                parts += [
                    "",
                    "Graph analysis (computed from the lineage graph):",
                    prepared.offline_text.strip(),
                ]
            parts += ["", "Evidence (cite these ids):", *prepared.evidence_lines]
            user = "\n".join(parts)
        msgs.append({"role": "user", "content": user})
        return msgs

    async def _ask_llm(self, q: ChatQuery, prepared: _Prepared) -> ChatAnswer:
        assert self.llm is not None
        msgs = self._messages(q, prepared)
        tools = TOOLS if q.mode == "deep" else None
        content = ""
        model = ""
        for _round in range(MAX_TOOL_ROUNDS + 1):
            comp = await self.llm.complete(
                msgs, mode=q.mode, tools=tools if _round < MAX_TOOL_ROUNDS else None
            )
            model = comp.model
            if comp.tool_calls and tools:
                await self._run_tools(q, prepared, msgs, comp.content, comp.tool_calls)
                continue
            content = comp.content
            break
        return self._llm_answer(q, prepared, content, model)

    async def _stream_llm(
        self, q: ChatQuery, prepared: _Prepared
    ) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        assert self.llm is not None
        msgs = self._messages(q, prepared)
        tools = TOOLS if q.mode == "deep" else None
        filt = CitationFilter(prepared.evidence) if q.mode != "text" else None
        shown: list[str] = []
        model = ""
        try:
            for _round in range(MAX_TOOL_ROUNDS + 1):
                calls: list[ToolCall] = []
                round_text: list[str] = []
                async for ev in self.llm.stream(
                    msgs, mode=q.mode, tools=tools if _round < MAX_TOOL_ROUNDS else None
                ):
                    model = ev.model or model
                    if ev.kind == "delta":
                        round_text.append(ev.text)
                        out = filt.feed(ev.text) if filt else ev.text
                        if out:
                            shown.append(out)
                            yield "delta", {"text": out}
                    elif ev.kind == "tool_calls":
                        calls = ev.tool_calls
                if calls and tools:
                    if filt is not None:
                        filt.known = set(prepared.evidence)
                    await self._run_tools(q, prepared, msgs, "".join(round_text), calls)
                    if filt is not None:
                        filt.known = set(prepared.evidence)
                    continue
                break
            if filt is not None:
                rest = filt.flush()
                if rest:
                    shown.append(rest)
                    yield "delta", {"text": rest}
            prepared.answer = self._llm_answer(q, prepared, "".join(shown), model, filt=filt)
        except LLMError as exc:
            log.warning("LLM stream failed, offline answer used: %s", exc)
            offline = prepared.answer
            offline.warnings.append(
                f"the language model failed ({_short(str(exc))}); answered by the offline engine"
            )
            if shown:
                sep = "\n\n(The language model stopped; the offline engine's answer follows.)\n\n"
                yield "delta", {"text": sep}
            for part in _sse_chunks(prepared.offline_text):
                yield "delta", {"text": part}
            prepared.answer = offline

    def _llm_answer(
        self, q: ChatQuery, prepared: _Prepared, content: str, model: str, filt: CitationFilter | None = None
    ) -> ChatAnswer:
        base = prepared.answer
        warnings = [w for w in base.warnings]
        if q.mode == "text":
            text, cited, unknown = content, [], []
        elif filt is not None:
            text, cited, unknown = content, filt.cited, filt.unknown
        else:
            text, cited, unknown = check_citations(content, prepared.evidence)
        if unknown:
            warnings.append(
                f"dropped {len(unknown)} citation(s) to unknown evidence: {', '.join(unknown[:10])}"
            )
        if q.mode == "text":
            sources: list[Source] = []
        elif cited:
            sources = [prepared.evidence[i] for i in cited if i in prepared.evidence]
        else:
            sources = list(prepared.evidence.values())[:MAX_EVIDENCE]
            if prepared.evidence:
                warnings.append("the model cited no evidence; the evidence it was given is listed")
        if not text.strip():
            warnings.append("the model returned an empty answer; answered by the offline engine")
            return ChatAnswer(**{**base.__dict__, "warnings": warnings})
        return ChatAnswer(
            response=text.strip(),
            sources=sources,
            query_type=q.mode,
            intent=base.intent,
            model=model or "llm",
            next_actions=base.next_actions,
            warnings=warnings,
            graph_data=base.graph_data if q.mode != "text" else None,
            answered=True,
            entities=base.entities,
            latency_ms=base.latency_ms,
            message_id=base.message_id,
            session_id=q.session_id,
            project_id=base.project_id,
        )

    async def _run_tools(
        self,
        q: ChatQuery,
        prepared: _Prepared,
        msgs: list[dict[str, Any]],
        content: str,
        calls: list[ToolCall],
    ) -> None:
        msgs.append(
            {
                "role": "assistant",
                "content": content or None,
                "tool_calls": [
                    {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                    for c in calls
                ],
            }
        )
        for call in calls:
            result = await asyncio.to_thread(self._tool, prepared, call, q)
            msgs.append({"role": "tool", "tool_call_id": call.id, "content": result})

    def _tool(self, prepared: _Prepared, call: ToolCall, q: ChatQuery | None = None) -> str:
        """Run one of the MCP tools for the model; its evidence becomes citable."""
        args = call.args()
        pid = prepared.project_id
        if pid is None:
            return json.dumps({"found": False, "message": "no project"})
        with self.sessions() as s:
            tools = self.tools(s, pid, q.repository_id if q is not None else None)
            result = tools.call(call.name, args)
            ev = Evidence(tools.v)
            _register(ev, result)
            prepared.evidence.update(ev.sources)
            ids = [k for k in ev.sources][:MAX_EVIDENCE]
            payload = json.dumps(result, default=str)
            if len(payload) > 60_000:
                payload = payload[:60_000] + "…(cut)"
            return payload + ("\nCitable evidence ids: " + ", ".join(ids) if ids else "")

    # ------------------------------------------------------------------ titles, sessions
    async def title(self, query: str, history: list[dict[str, str]] | None = None) -> dict[str, Any]:
        base = offline_title(query)
        if self.llm is not None and self.llm.enabled:
            try:
                comp = await self.llm.complete(
                    [
                        {
                            "role": "system",
                            "content": "Write a title of at most 6 words for this conversation. Reply with the title only.",
                        },
                        {"role": "user", "content": query[:2000]},
                    ],
                    mode="text",
                )
                title = comp.content.strip().strip('"').splitlines()[0][:80] if comp.content.strip() else ""
                if title:
                    return {"title": title, "model": comp.model}
            except LLMError:
                pass
        return {"title": base, "model": "offline"}

    def delete_session(self, session_id: str) -> bool:
        return self.memory.delete(session_id)

    # ------------------------------------------------------------------ plumbing
    def _no_project(self, q: ChatQuery, reason: str, t0: float) -> ChatAnswer:
        return ChatAnswer(
            response=f"{CANNOT_ANSWER}\n\nThere is no lineage graph to search: {reason}. Ingest SQL first.",
            query_type=q.mode,
            intent="unknown",
            answered=False,
            warnings=[reason],
            latency_ms=(time.perf_counter() - t0) * 1000,
            message_id=uuid.uuid4().hex,
            session_id=q.session_id,
        )

    @contextlib.contextmanager
    def _track(self) -> Iterator[None]:
        hub = self._events()
        track = getattr(hub, "track", None)
        if track is None:
            yield
            return
        try:
            cm = track("query")
        except Exception:
            yield
            return
        with cm:
            yield

    def _emit(self, answer: ChatAnswer, q: ChatQuery) -> ChatAnswer:
        hub = self._events()
        if hub is not None:
            try:
                hub.publish(
                    "query_complete",
                    {
                        "mode": answer.query_type,
                        "latency_ms": max(0.0, float(answer.latency_ms)),
                        "model": answer.model,
                        "response_length": len(answer.response),
                        "project": answer.project_id,
                        "query": q.query,
                    },
                    project_id=answer.project_id,
                )
            except Exception:  # events never break an answer
                log.exception("query_complete publish failed")
        return answer


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise ValueError(f"unknown chat mode {mode!r}")


def _short(text: str, n: int = 160) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def offline_title(query: str) -> str:
    words = re.findall(r"[\w.]+", query)
    title = " ".join(words[:8])
    if len(words) > 8:
        title += "…"
    return (title[:1].upper() + title[1:]) if title else "New conversation"


def project_summary(g: Vocab) -> str:
    kinds = Counter(o.kind for o in g.objects.values())
    schemas = Counter((o.schema or "(none)") for o in g.objects.values())
    k = ", ".join(f"{n} {kind}s" for kind, n in kinds.most_common())
    sc = ", ".join(f"{name} ({n})" for name, n in schemas.most_common(15))
    return (
        f"Project {g.project_name}: {len(g.objects)} objects ({k}); schemas: {sc}; {len(g.columns)} columns."
    )


def _register(ev: Evidence, result: Any) -> None:
    """Register the objects and edges of a tool result as citable evidence."""
    if isinstance(result, dict):
        if "source" in result and "target" in result and "id" in result and "granularity" in result:
            ev.edge(result)
            return
        if (
            result.get("type") == "object"
            and isinstance(result.get("id"), int)
            and result["id"] in ev.v.objects
        ):
            ev.node(result["id"])
        for value in result.values():
            _register(ev, value)
    elif isinstance(result, list):
        for item in result[:400]:
            _register(ev, item)


def evidence_lines(ev: Evidence, chunks: list[RetrievedChunk]) -> list[str]:
    out: list[str] = []
    for key, src in list(ev.sources.items())[:MAX_EVIDENCE]:
        where = (
            f" — {src.file}" + (f" lines {src.lines[0]}-{src.lines[1]}" if src.lines else "")
            if src.file
            else ""
        )
        if src.type == "graph_node":
            oid = int(key.split(":")[1])
            out.append(f"[{key}] {ev.v.objects[oid].kind} {src.label}{where}")
        elif src.type == "graph_edge":
            text = ev.texts.get(key)
            body = f":\n```sql\n{text[:800]}\n```" if text else ""
            out.append(f"[{key}] lineage {src.label}{where}{body}")
    for ch in chunks[:6]:
        key = ch.source_id
        if key not in ev.sources:
            ev.chunk(ch)
        lines = f" lines {ch.line_start}-{ch.line_end}" if ch.line_start is not None else ""
        body = ch.text if len(ch.text) <= 1200 else ch.text[:1200] + "\n…"
        out.append(f"[{key}] code of {ch.label} — {ch.file or '?'}{lines}:\n```sql\n{body}\n```")
    return out


def sse(event: str, data: dict[str, Any]) -> str:
    payload = json.dumps({"type": event, **data}, default=str)
    return f"event: {event}\ndata: {payload}\n\n"

"""A real, tiny OpenAI-compatible HTTP server for tests (uvicorn on 127.0.0.1, random port).

`POST /v1/chat/completions` (JSON and `stream: true` SSE), `GET /v1/models`. Behaviour is
scripted per request with `server.script([...])`; each step is a dict:

    {"status": 500}                         an HTTP error (body mentions the status)
    {"status": 429, "retry_after": "0.2"}   rate limited, with a Retry-After header
    {"status": 400, "body": "tools not supported"}
    {"content": "text [node:1]"}            an answer (streamed word by word when asked to)
    {"tool_calls": [{"name": "upstream", "arguments": {"name": "stg.trades"}}]}
    {"echo_evidence": True}                 cites the first evidence id found in the prompt
    {"hang": 5}                             sleeps (for timeouts)
    {"stream_break_after": 2, "content": "..."}   stream a few tokens, then drop the connection

When the script is empty the server answers with `default`. Every request body is recorded.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


class FakeLLM:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.times: list[float] = []
        self._script: list[dict[str, Any]] = []
        self.default: dict[str, Any] = {"echo_evidence": True}
        self.lock = threading.Lock()
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def script(self, steps: list[dict[str, Any]]) -> None:
        with self.lock:
            self._script = list(steps)

    def _next(self) -> dict[str, Any]:
        with self.lock:
            return self._script.pop(0) if self._script else dict(self.default)

    # ------------------------------------------------------------------ app
    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/chat/completions", self._completions, methods=["POST"]),
                Route("/v1/models", self._models, methods=["GET"]),
            ]
        )

    async def _models(self, request: Request) -> Response:
        return JSONResponse({"object": "list", "data": [{"id": "fake-small", "object": "model"}]})

    def _answer_text(self, step: dict[str, Any], body: dict[str, Any]) -> str:
        if "content" in step:
            return str(step["content"])
        ids: list[str] = []
        for m in body.get("messages", []):
            if m.get("role") != "system":
                ids = re.findall(r"\[((?:node|edge|chunk):[a-z]?\d+)\]", str(m.get("content") or "")) or ids
        if ids:
            return f"According to the lineage graph, the answer is supported by [{ids[0]}]."
        return "I have no evidence."

    async def _completions(self, request: Request) -> Response:
        body = await request.json()
        with self.lock:
            self.requests.append(body)
            self.times.append(time.monotonic())
        step = self._next()
        if "hang" in step:
            await asyncio.sleep(float(step["hang"]))
        status = int(step.get("status", 200))
        if status != 200:
            headers = {"Retry-After": str(step["retry_after"])} if "retry_after" in step else None
            return JSONResponse(
                {"error": {"message": step.get("body", f"scripted {status}")}},
                status_code=status,
                headers=headers,
            )
        model = body.get("model", "fake")
        calls = step.get("tool_calls")
        if body.get("stream"):
            return StreamingResponse(self._stream(step, body, model, calls), media_type="text/event-stream")
        message: dict[str, Any] = {
            "role": "assistant",
            "content": None if calls else self._answer_text(step, body),
        }
        if calls:
            message["tool_calls"] = [
                {
                    "id": f"call_{i}",
                    "type": "function",
                    "function": {"name": c["name"], "arguments": json.dumps(c.get("arguments", {}))},
                }
                for i, c in enumerate(calls)
            ]
        return JSONResponse(
            {
                "id": "cmpl-1",
                "object": "chat.completion",
                "model": model,
                "choices": [
                    {"index": 0, "message": message, "finish_reason": "tool_calls" if calls else "stop"}
                ],
            }
        )

    async def _stream(
        self, step: dict[str, Any], body: dict[str, Any], model: str, calls: list[dict[str, Any]] | None
    ) -> AsyncIterator[bytes]:
        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            data = {
                "id": "cmpl-1",
                "object": "chat.completion.chunk",
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            return f"data: {json.dumps(data)}\n\n".encode()

        yield chunk({"role": "assistant"})
        if calls:
            for i, c in enumerate(calls):
                args = json.dumps(c.get("arguments", {}))
                half = len(args) // 2
                yield chunk(
                    {
                        "tool_calls": [
                            {
                                "index": i,
                                "id": f"call_{i}",
                                "type": "function",
                                "function": {"name": c["name"], "arguments": args[:half]},
                            }
                        ]
                    }
                )
                await asyncio.sleep(0.01)
                yield chunk({"tool_calls": [{"index": i, "function": {"arguments": args[half:]}}]})
            yield chunk({}, "tool_calls")
            yield b"data: [DONE]\n\n"
            return
        words = re.findall(r"\S+\s*", self._answer_text(step, body))
        limit = step.get("stream_break_after")
        for n, w in enumerate(words):
            if limit is not None and n >= int(limit):
                raise RuntimeError("scripted stream break")
            yield chunk({"content": w})
            await asyncio.sleep(0.02)
        yield chunk({}, "stop")
        yield b"data: [DONE]\n\n"

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        sock.close()
        config = uvicorn.Config(
            self.app(), host="127.0.0.1", port=self.port, log_level="error", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake LLM server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)

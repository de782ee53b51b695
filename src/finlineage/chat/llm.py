"""A client for any OpenAI-compatible chat-completions server (optional).

`FINLINEAGE_LLM_BASE_URL` (e.g. http://127.0.0.1:8080/v1), `_MODEL`, `_API_KEY`,
`_MODE_MODELS` (JSON `{"deep": "big-model"}`), `_FALLBACK_MODELS` (comma-separated),
`_TIMEOUT_S`, `_MAX_RETRIES`.

* Each model of the chain (the mode's model or the default, then the fallbacks) is tried in
  turn; each request is retried on connection errors, timeouts, 429 and 5xx with exponential
  backoff, honouring `Retry-After` (seconds or an HTTP date, capped).
* `stream()` relays tokens as they arrive (`stream: true`, SSE `data:` lines, `[DONE]`),
  including incremental `tool_calls`; a request is only retried before its first token.
* Tools are sent when asked; a server that rejects them (HTTP 400/422 mentioning tools) is
  remembered as tool-less and the request is repeated without them.
* `health()` is cheap and cached: `disabled` without a base URL, else `GET /models` → up/down.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from finlineage.settings import Settings

__all__ = ["Completion", "LLMClient", "LLMConfig", "LLMError", "StreamEvent", "ToolCall"]

log = logging.getLogger("finlineage.chat.llm")

MAX_RETRY_AFTER_S = 30.0


class LLMError(Exception):
    """Every model of the chain failed (the caller falls back to the offline engine)."""


class _Retryable(Exception):
    def __init__(self, message: str, delay: float | None = None) -> None:
        super().__init__(message)
        self.delay = delay


class _ModelFailed(Exception):
    pass


@dataclass(slots=True)
class ToolCall:
    id: str
    name: str
    arguments: str

    def args(self) -> dict[str, Any]:
        try:
            value = json.loads(self.arguments or "{}")
        except json.JSONDecodeError:
            return {}
        return value if isinstance(value, dict) else {}


@dataclass(slots=True)
class Completion:
    content: str
    model: str
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str | None = None


@dataclass(slots=True)
class StreamEvent:
    kind: str
    """`delta` (text), `tool_calls` (complete calls of this turn) or `done`."""
    text: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    model: str = ""


@dataclass
class LLMConfig:
    base_url: str | None
    model: str | None = None
    api_key: str | None = None
    fallback_models: list[str] = field(default_factory=list)
    mode_models: dict[str, str] = field(default_factory=dict)
    timeout_s: float = 60.0
    max_retries: int = 2
    backoff_base_s: float = 0.5
    backoff_max_s: float = 8.0

    @classmethod
    def from_settings(cls, settings: Settings) -> LLMConfig:
        return cls(
            base_url=settings.llm_base_url,
            model=settings.llm_model,
            api_key=settings.llm_api_key,
            fallback_models=list(settings.llm_fallback_models),
            mode_models=dict(settings.llm_mode_models),
            timeout_s=settings.llm_timeout_s,
            max_retries=settings.llm_max_retries,
        )


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, min(float(value), MAX_RETRY_AFTER_S))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, min(when.timestamp() - time.time(), MAX_RETRY_AFTER_S))


class LLMClient:
    def __init__(self, config: LLMConfig, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.config = config
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self.tools_supported: bool | None = None
        self._health: tuple[float, dict[str, Any]] | None = None
        self.health_ttl_s = 30.0

    @property
    def enabled(self) -> bool:
        return bool(self.config.base_url)

    def models_for(self, mode: str) -> list[str]:
        chain = [self.config.mode_models.get(mode) or self.config.model or "default"]
        chain += self.config.fallback_models
        return list(dict.fromkeys(m for m in chain if m))

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            headers = {"Content-Type": "application/json"}
            if self.config.api_key:
                headers["Authorization"] = f"Bearer {self.config.api_key}"
            timeout = httpx.Timeout(self.config.timeout_s, connect=min(10.0, self.config.timeout_s))
            self._client = httpx.AsyncClient(
                base_url=(self.config.base_url or "").rstrip("/") + "/",
                headers=headers,
                timeout=timeout,
                transport=self._transport,
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # ------------------------------------------------------------------ health
    async def health(self) -> dict[str, Any]:
        if not self.enabled:
            return {"status": "disabled", "reason": "FINLINEAGE_LLM_BASE_URL not set", "answers": "offline"}
        now = time.monotonic()
        if self._health is not None and now - self._health[0] < self.health_ttl_s:
            return self._health[1]
        try:
            resp = await self._http().get("models", timeout=3.0)
            ok = resp.status_code < 500
            result: dict[str, Any] = {
                "status": "up" if ok else "down",
                "model": self.models_for("graph")[0],
                "http_status": resp.status_code,
            }
        except httpx.HTTPError as exc:
            result = {"status": "down", "error": type(exc).__name__, "model": self.models_for("graph")[0]}
        self._health = (now, result)
        return result

    # ------------------------------------------------------------------ requests
    def _payload(
        self, model: str, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None, stream: bool
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"model": model, "messages": messages, "temperature": 0.1, "stream": stream}
        if tools and self.tools_supported is not False:
            body["tools"] = tools
            body["tool_choice"] = "auto"
        return body

    def _delay(self, attempt: int, hinted: float | None) -> float:
        if hinted is not None:
            return hinted
        return float(min(self.config.backoff_base_s * (2**attempt), self.config.backoff_max_s))

    def _check_status(self, resp: httpx.Response, body: bytes, had_tools: bool) -> None:
        status = resp.status_code
        if status < 400:
            return
        text = body[:300].decode("utf-8", "replace")
        if status == 429 or status >= 500:
            raise _Retryable(f"HTTP {status}: {text}", _retry_after(resp.headers.get("retry-after")))
        if had_tools and status in (400, 422) and "tool" in text.lower():
            self.tools_supported = False
            raise _Retryable("server does not support tools", 0.0)
        raise _ModelFailed(f"HTTP {status}: {text}")

    async def complete(
        self,
        messages: list[dict[str, Any]],
        *,
        mode: str = "graph",
        tools: list[dict[str, Any]] | None = None,
    ) -> Completion:
        errors: list[str] = []
        for model in self.models_for(mode):
            for attempt in range(self.config.max_retries + 1):
                body = self._payload(model, messages, tools, stream=False)
                try:
                    resp = await self._http().post("chat/completions", json=body)
                    self._check_status(resp, resp.content, "tools" in body)
                    data = resp.json()
                    return self._parse_completion(data, model)
                except _Retryable as exc:
                    errors.append(f"{model}: {exc}")
                    if attempt < self.config.max_retries:
                        await asyncio.sleep(self._delay(attempt, exc.delay))
                        continue
                except (httpx.TimeoutException, httpx.TransportError) as exc:
                    errors.append(f"{model}: {type(exc).__name__}")
                    if attempt < self.config.max_retries:
                        await asyncio.sleep(self._delay(attempt, None))
                        continue
                except (_ModelFailed, ValueError, KeyError, IndexError, TypeError) as exc:
                    errors.append(f"{model}: {exc}")
                break
        raise LLMError("; ".join(errors[-4:]) or "no model configured")

    @staticmethod
    def _parse_completion(data: dict[str, Any], model: str) -> Completion:
        choice = data["choices"][0]
        msg = choice.get("message") or {}
        calls = [
            ToolCall(
                id=str(c.get("id") or f"call_{i}"),
                name=str((c.get("function") or {}).get("name") or ""),
                arguments=str((c.get("function") or {}).get("arguments") or "{}"),
            )
            for i, c in enumerate(msg.get("tool_calls") or [])
        ]
        return Completion(
            content=msg.get("content") or "",
            model=str(data.get("model") or model),
            tool_calls=calls,
            finish_reason=choice.get("finish_reason"),
        )

    async def stream(
        self,
        messages: list[dict[str, Any]],
        *,
        mode: str = "graph",
        tools: list[dict[str, Any]] | None = None,
    ) -> AsyncIterator[StreamEvent]:
        """Token deltas, then (if the model asked for tools) one `tool_calls` event, then `done`.

        Retries and the fallback chain apply until the first token has been yielded; a failure
        after that raises LLMError (the caller keeps what was already shown)."""
        errors: list[str] = []
        for model in self.models_for(mode):
            for attempt in range(self.config.max_retries + 1):
                body = self._payload(model, messages, tools, stream=True)
                started = False
                try:
                    async with self._http().stream("POST", "chat/completions", json=body) as resp:
                        if resp.status_code >= 400:
                            raw = await resp.aread()
                            self._check_status(resp, raw, "tools" in body)
                        calls: dict[int, ToolCall] = {}
                        async for line in resp.aiter_lines():
                            line = line.strip()
                            if not line.startswith("data:"):
                                continue
                            payload = line[5:].strip()
                            if payload == "[DONE]":
                                break
                            chunk = json.loads(payload)
                            for choice in chunk.get("choices") or []:
                                delta = choice.get("delta") or {}
                                content = delta.get("content")
                                if content:
                                    started = True
                                    yield StreamEvent("delta", text=content, model=model)
                                for tc in delta.get("tool_calls") or []:
                                    idx = int(tc.get("index", 0))
                                    call = calls.setdefault(idx, ToolCall("", "", ""))
                                    if tc.get("id"):
                                        call.id = str(tc["id"])
                                    fn = tc.get("function") or {}
                                    if fn.get("name"):
                                        call.name += str(fn["name"])
                                    if fn.get("arguments"):
                                        call.arguments += str(fn["arguments"])
                        if calls:
                            started = True
                            done_calls = [calls[i] for i in sorted(calls)]
                            for i, c in enumerate(done_calls):
                                c.id = c.id or f"call_{i}"
                            yield StreamEvent("tool_calls", tool_calls=done_calls, model=model)
                        yield StreamEvent("done", model=model)
                        return
                except _Retryable as exc:
                    errors.append(f"{model}: {exc}")
                    if attempt < self.config.max_retries and not started:
                        await asyncio.sleep(self._delay(attempt, exc.delay))
                        continue
                except (httpx.TimeoutException, httpx.TransportError) as exc:
                    errors.append(f"{model}: {type(exc).__name__}")
                    if started:
                        raise LLMError(f"stream interrupted: {type(exc).__name__}") from exc
                    if attempt < self.config.max_retries:
                        await asyncio.sleep(self._delay(attempt, None))
                        continue
                except (_ModelFailed, ValueError, KeyError, TypeError) as exc:
                    errors.append(f"{model}: {exc}")
                    if started:
                        raise LLMError(f"stream interrupted: {exc}") from exc
                if started:
                    raise LLMError("; ".join(errors[-4:]))
                break
        raise LLMError("; ".join(errors[-4:]) or "no model configured")

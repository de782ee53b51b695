"""The dashboard wire format: every message is `{"type", "data", "timestamp"}`, validated here.

`build_message()` validates `data` against the model for its `type` and returns the message
serialised once (the same text goes to every client). Anything that does not validate raises
`InvalidEvent`; the hub logs it, counts it and skips it.

Privacy rules are enforced by the models, not by the publishers' good will: `error` carries no
stack trace (unknown fields are rejected), and `query_complete` carries the query text only as a
truncated `query_preview`, and only when `WEBSOCKET_INCLUDE_QUERY_TEXT=true`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from finlineage.settings import Settings

EventType = Literal[
    "connection_ack",
    "stats_update",
    "ingestion_started",
    "ingestion_progress",
    "ingestion_complete",
    "query_complete",
    "error",
    "system_status_change",
    "disconnect_notice",
    "pong",
]
EVENT_TYPES: tuple[str, ...] = EventType.__args__  # type: ignore[attr-defined]

INGESTION_TYPES = frozenset({"ingestion_started", "ingestion_progress", "ingestion_complete"})
QUERY_TYPES = frozenset({"query_complete"})
ERROR_TYPES = frozenset({"error"})


def broadcast_enabled(settings: Settings, type_: str) -> bool:
    """The WEBSOCKET_BROADCAST_* toggles: whether events of `type_` go to dashboards at all."""
    if type_ in INGESTION_TYPES:
        return settings.websocket_broadcast_ingestion_events
    if type_ in QUERY_TYPES:
        return settings.websocket_broadcast_query_events
    if type_ in ERROR_TYPES:
        return settings.websocket_broadcast_error_events
    return True


COALESCED_TYPES = frozenset({"ingestion_progress"})
"""Rate limited per type: extra messages inside the interval are coalesced (latest per run wins)."""
ALWAYS_PASS_TYPES = frozenset({"error", "ingestion_complete", "system_status_change"})
PERSONAL_TYPES = frozenset({"connection_ack", "pong", "disconnect_notice"})
"""Sent to one client by the connection manager, never published through the hub."""
DOMAIN_TYPES = frozenset({"ingestion_started", "ingestion_complete", "query_complete", "error"})
"""Published events that are also written to the activity log."""

QUERY_PREVIEW_CHARS = 120


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ConnectionAckData(_Open):
    server_version: str
    connection_id: str
    instance_id: str
    started_at: datetime
    limits: dict[str, Any]
    subscribed: dict[str, list[str] | None] = Field(default_factory=dict)


class StatsData(_Open):
    totalNodes: int
    tables: int
    views: int
    procedures: int
    columns: int
    edges: int
    filesProcessed: int
    activeQueries: int
    activeIngestions: int
    connectedClients: int
    trends: dict[str, Any]


class IngestionStartedData(_Open):
    run_id: int | str
    project_id: int | str | None = None
    files_total: int | None = None


class IngestionProgressData(_Open):
    run_id: int | str
    project_id: int | str | None = None
    file: str | None = None
    files_done: int = Field(ge=0)
    files_total: int = Field(ge=0)
    percentage: float = Field(ge=0, le=100)


class IngestionCompleteData(_Open):
    run_id: int | str
    project_id: int | str | None
    files_processed: int = Field(ge=0)
    files_skipped_duplicate: int = Field(ge=0)
    files_failed: int = Field(ge=0)
    total_nodes_created: int = Field(ge=0)
    duration: float = Field(ge=0, description="seconds")
    status: Literal["completed", "completed_with_errors", "failed", "interrupted", "cancelled"] = "completed"


class QueryCompleteData(_Closed):
    mode: str
    latency_ms: float = Field(ge=0)
    model: str | None = None
    response_length: int = Field(ge=0)
    project: int | str | None = None
    query_preview: str | None = Field(default=None, max_length=QUERY_PREVIEW_CHARS + 1)


class ErrorData(_Closed):
    error_type: str
    severity: Literal["info", "warning", "error", "critical"]
    endpoint: str | None = None
    request_id: str | None = None
    status_code: int | None = None
    message: str | None = Field(default=None, max_length=300)


class SystemStatusData(_Open):
    status: Literal["restarting", "degraded", "healthy"]
    reason: str | None = None


class DisconnectNoticeData(_Closed):
    reason: str
    reconnect_after_s: float | None = None


class PongData(_Open):
    pass


DATA_MODELS: dict[str, type[BaseModel]] = {
    "connection_ack": ConnectionAckData,
    "stats_update": StatsData,
    "ingestion_started": IngestionStartedData,
    "ingestion_progress": IngestionProgressData,
    "ingestion_complete": IngestionCompleteData,
    "query_complete": QueryCompleteData,
    "error": ErrorData,
    "system_status_change": SystemStatusData,
    "disconnect_notice": DisconnectNoticeData,
    "pong": PongData,
}


class DashboardMessage(BaseModel):
    """The envelope. `data` has already been validated against `DATA_MODELS[type]`."""

    model_config = ConfigDict(extra="forbid")

    type: EventType
    data: dict[str, Any]
    timestamp: datetime


class InvalidEvent(ValueError):
    """The message failed validation (unknown type, wrong or forbidden fields)."""


@dataclass(frozen=True, slots=True)
class Event:
    """A validated message, serialised once. `project` is for subscription filtering only."""

    type: str
    data: dict[str, Any]
    timestamp: datetime
    text: str
    project: str | None = None
    coalesce_key: str | None = field(default=None, compare=False)


def utcnow() -> datetime:
    return datetime.now(UTC)


def sanitize_query_data(data: Mapping[str, Any], include_text: bool) -> dict[str, Any]:
    """`query_complete`: turn a publisher's `query`/`query_text` into an optional truncated preview."""
    out = dict(data)
    text = out.pop("query", None)
    text = out.pop("query_text", None) or text
    preview = out.pop("query_preview", None) or text
    if include_text and isinstance(preview, str) and preview:
        out["query_preview"] = (
            preview if len(preview) <= QUERY_PREVIEW_CHARS else preview[:QUERY_PREVIEW_CHARS] + "…"
        )
    return out


def build_message(
    type_: str,
    data: Mapping[str, Any] | None,
    *,
    project: object = None,
    timestamp: datetime | None = None,
) -> Event:
    """Validate and serialise one message. Raises `InvalidEvent`."""
    model = DATA_MODELS.get(type_)
    if model is None:
        raise InvalidEvent(f"unknown event type {type_!r}")
    try:
        validated = model.model_validate(dict(data or {}))
        message = DashboardMessage(
            type=type_,  # type: ignore[arg-type]
            data=validated.model_dump(mode="json"),
            timestamp=(timestamp or utcnow()).astimezone(UTC),
        )
    except (ValidationError, TypeError, ValueError) as exc:
        raise InvalidEvent(f"invalid {type_} event: {exc}") from exc
    if project is None:
        project = message.data.get("project_id", message.data.get("project"))
    coalesce_key = None
    if type_ in COALESCED_TYPES or type_ in ALWAYS_PASS_TYPES:
        coalesce_key = str(message.data.get("run_id", ""))
    return Event(
        type=type_,
        data=message.data,
        timestamp=message.timestamp,
        text=message.model_dump_json(),
        project=None if project is None else str(project),
        coalesce_key=coalesce_key,
    )


def parse_wire(text: str | bytes, project: str | None = None) -> Event:
    """Re-validate a message received from another worker (Redis)."""
    try:
        message = DashboardMessage.model_validate_json(text)
    except ValidationError as exc:
        raise InvalidEvent(f"invalid wire message: {exc}") from exc
    return build_message(message.type, message.data, project=project, timestamp=message.timestamp)

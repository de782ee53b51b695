"""Value types of the chat layer (JSON-friendly, independent of FastAPI)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Mode = Literal["text", "semantic", "graph", "deep"]
MODES: tuple[str, ...] = ("text", "semantic", "graph", "deep")
SourceType = Literal["graph_node", "graph_edge", "code_chunk"]


@dataclass(slots=True)
class Source:
    type: SourceType
    id: str
    """`node:<object id>`, `edge:t<table edge id>`, `edge:c<column edge id>` or `chunk:<id>`."""
    label: str
    file: str | None = None
    lines: list[int] | None = None
    score: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "id": self.id,
            "label": self.label,
            "file": self.file,
            "lines": self.lines,
            "score": round(float(self.score), 4),
        }


@dataclass(slots=True)
class RetrievedChunk:
    id: int
    object_id: int | None
    label: str
    file: str | None
    line_start: int | None
    line_end: int | None
    text: str
    score: float
    keyword_rank: int | None = None
    dense_rank: int | None = None

    @property
    def source_id(self) -> str:
        return f"chunk:{self.id}"

    def lines(self) -> list[int] | None:
        if self.line_start is None:
            return None
        return [self.line_start, self.line_end if self.line_end is not None else self.line_start]


@dataclass
class ChatAnswer:
    response: str
    sources: list[Source] = field(default_factory=list)
    query_type: str = "graph"
    intent: str = "unknown"
    model: str = "offline"
    next_actions: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    graph_data: dict[str, Any] | None = None
    answered: bool = True
    entities: list[str] = field(default_factory=list)
    latency_ms: float = 0.0
    message_id: str | None = None
    session_id: str | None = None
    project_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "response": self.response,
            "sources": [s.to_dict() for s in self.sources],
            "query_type": self.query_type,
            "intent": self.intent,
            "latency_ms": round(self.latency_ms, 2),
            "model": self.model,
            "next_actions": self.next_actions,
            "warnings": self.warnings,
            "graph_data": self.graph_data,
            "message_id": self.message_id,
            "session_id": self.session_id,
            "answered": self.answered,
            "entities": self.entities,
        }

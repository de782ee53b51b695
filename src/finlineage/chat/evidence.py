"""What an answer used: the sources it cites and the nodes/edges it draws.

Names are written in single backticks (`schema.table`), quoted SQL expressions of column edges in
double backticks, files as `path/file.sql`. Every name comes from the project's vocabulary and
every edge from a `finlineage.query` read (via `chat.tools`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from finlineage.chat.types import RetrievedChunk, Source
from finlineage.chat.vocab import Vocab

__all__ = ["Evidence", "Focus", "fmt_lines", "short"]


def short(expr: str, limit: int = 160) -> str:
    one = " ".join(expr.split())
    return one if len(one) <= limit else one[: limit - 1] + "…"


def fmt_lines(lines: list[int] | None) -> str:
    if not lines:
        return ""
    return f" (line {lines[0]})" if lines[0] == lines[1] else f" (lines {lines[0]}–{lines[1]})"


@dataclass
class Focus:
    """What a conversation is about (per-session memory): the last subjects and intent."""

    objects: list[int] = field(default_factory=list)
    columns: list[int] = field(default_factory=list)
    intent: str | None = None


class Evidence:
    def __init__(self, v: Vocab) -> None:
        self.v = v
        self.sources: dict[str, Source] = {}
        self.nodes: dict[int, dict[str, Any]] = {}
        self.edges: dict[str, dict[str, Any]] = {}
        self.texts: dict[str, str] = {}
        """Original source text per cited edge id (for the LLM's evidence lines)."""

    def node(self, oid: int, score: float = 1.0) -> str:
        o = self.v.objects[oid]
        key = f"node:{oid}"
        if key not in self.sources:
            lines = [o.line_start, o.line_end or o.line_start] if o.line_start is not None else None
            self.sources[key] = Source("graph_node", key, o.canonical_id, self.v.file_of(oid), lines, score)
            self.nodes[oid] = {
                "id": str(oid),
                "label": o.canonical_id,
                "kind": o.kind,
                "schema": o.schema,
                "name": o.name,
                "file": self.v.file_of(oid),
            }
        return f"`{o.canonical_id}`"

    def name(self, canonical: str) -> str:
        """A name from a query result: registered when it is an object or column of the vocab."""
        key = canonical.lower()
        if key in self.v.by_canonical:
            return self.node(self.v.by_canonical[key])
        obj, _, col = key.rpartition(".")
        if obj in self.v.by_canonical and (self.v.by_canonical[obj], col) in self.v.col_by_object_name:
            self.node(self.v.by_canonical[obj])
        return f"`{canonical}`"

    def column(self, cid: int) -> str:
        c = self.v.columns[cid]
        self.node(c.object_id)
        return f"`{self.v.col_label(cid)}`"

    def edge(self, e: dict[str, Any], score: float = 1.0) -> None:
        gran = "c" if e.get("granularity") == "column" else "t"
        key = f"edge:{gran}{e['id']}"
        if key in self.sources:
            return
        self.name(e["source"])
        self.name(e["target"])
        label = f"{e['source']} → {e['target']}"
        self.sources[key] = Source("graph_edge", key, label, e.get("file"), e.get("lines"), score)
        if e.get("source_text"):
            self.texts[key] = e["source_text"]
        so = self._object_of(e["source"], gran)
        to = self._object_of(e["target"], gran)
        if so is None or to is None or so == to:
            return
        tkey = f"o{so}-{to}"
        item = self.edges.get(tkey)
        if item is None:
            item = {"id": tkey, "source": str(so), "target": str(to), "kind": e.get("kind"), "columns": []}
            if e.get("via"):
                item["process"] = e["via"]
            self.edges[tkey] = item
        if gran == "c" and len(item["columns"]) < 50:
            item["columns"].append(
                {
                    "source": e["source"].rsplit(".", 1)[-1],
                    "target": e["target"].rsplit(".", 1)[-1],
                    "expression": e.get("expression"),
                }
            )

    def _object_of(self, canonical: str, gran: str) -> int | None:
        key = canonical.lower()
        if gran == "c":
            key = key.rpartition(".")[0]
        return self.v.by_canonical.get(key)

    def chunk(self, ch: RetrievedChunk) -> None:
        key = ch.source_id
        if key not in self.sources:
            self.sources[key] = Source("code_chunk", key, ch.label, ch.file, ch.lines(), ch.score)

    def graph_data(self) -> dict[str, Any] | None:
        if not self.nodes:
            return None
        return {"nodes": list(self.nodes.values()), "edges": list(self.edges.values())}

    def source_list(self) -> list[Source]:
        return list(self.sources.values())

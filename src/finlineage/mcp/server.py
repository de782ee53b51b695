"""The MCP server: finlineage's lineage tools for any agent (Claude Desktop, IDE agents, …).

Built with the official `mcp` Python SDK. The tools are `chat.tools.LineageTools` — the same
reads the offline chat engine and the LLM's function calls use, through `finlineage.query` —
so every client gets the same answers with the same evidence (file, lines, source text):

    search, node, upstream, downstream, impact, explain, path, file_lines, failed_files

Object tools take `name` (a qualified object or column, e.g. `schema.table.column`) and
optional `depth` (omit for the full closure) and `project` (name or id; default: the server's
project, else the first project with objects).

Transports: stdio (`finlineage mcp [--project NAME]`) and streamable HTTP mounted at `/mcp` on
the API server (`mcp_http_app`), behind the same API keys (viewer role).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from mcp.server.mcpserver import MCPServer
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from finlineage import __version__
from finlineage.chat.tools import LineageTools
from finlineage.chat.vocab import VocabCache
from finlineage.query.errors import QueryError
from finlineage.query.lineage import COLUMN_WALK_KINDS, DATA_FLOW_KINDS, NODE_WALK_KINDS
from finlineage.query.projects import resolve_project
from finlineage.store.models import CatalogObject, Project

__all__ = ["LineageMCP", "build_server"]

INSTRUCTIONS = (
    "finlineage answers data lineage questions about ingested SQL (tables, views, procedures, "
    "columns). Use `search` to find names, `upstream`/`downstream`/`impact` to walk lineage "
    "(full depth unless `depth` is given; answers say when they are truncated), `explain` for "
    "a column's composed formula with file:line per step, `path` between two names, `node` for "
    "facts, `file_lines` for original source text and `failed_files` for ingestion health. "
    "Cite the file and lines of the evidence you use."
)

_KINDS_TEXT = (
    f"Edge kinds as the API's walks: {','.join(NODE_WALK_KINDS)} from an object, "
    f"{','.join(COLUMN_WALK_KINDS)} from a column; data_only: value flow only "
    f"({','.join(DATA_FLOW_KINDS)})."
)


class LineageMCP:
    """Runs tool calls against the store (one session per call, in a worker thread)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        data_dir: Path | None = None,
        project: str | int | None = None,
        repository_id: int | None = None,
        node_cap: int | None = None,
    ) -> None:
        self.sessions = sessions
        self.data_dir = data_dir
        self.node_cap = node_cap
        """The `walk_node_cap` setting (None: the query layer's default), as the API's walks."""
        self.project = project
        self.repository_id = repository_id
        self.vocab = VocabCache()

    def _project_id(self, s: Session, project: str | int | None) -> int:
        if self.project is not None and project not in (None, ""):
            scoped = int(resolve_project(s, _ref(self.project)).id)
            if int(resolve_project(s, _ref(project)).id) != scoped:
                raise LookupError(f"this server is scoped to project {self.project!r}")
        ref = project if project not in (None, "") else self.project
        if ref is not None and str(ref).strip():
            text = str(ref).strip()
            return int(resolve_project(s, int(text) if text.isdecimal() else text).id)
        pid = s.scalar(select(CatalogObject.project_id).order_by(CatalogObject.project_id).limit(1))
        pid = pid or s.scalar(select(Project.id).order_by(Project.id).limit(1))
        if pid is None:
            raise LookupError("no project has been ingested yet")
        return int(pid)

    def call_sync(self, tool: str, args: dict[str, Any]) -> dict[str, Any]:
        with self.sessions() as s:
            try:
                pid = self._project_id(s, args.get("project"))
            except (QueryError, LookupError) as exc:
                return {"found": False, "error": "no_project", "message": str(exc)}
            tools = LineageTools(
                s,
                self.vocab.get(s, pid),
                data_dir=self.data_dir,
                repository_id=self.repository_id,
                node_cap=self.node_cap,
            )
            out = tools.call(tool, args)
            out.setdefault("project", tools.v.project_name)
            return out

    async def call(self, tool: str, args: dict[str, Any]) -> dict[str, Any]:
        clean = {k: v for k, v in args.items() if v is not None}
        return await asyncio.to_thread(self.call_sync, tool, clean)


def _ref(project: str | int) -> str | int:
    text = str(project).strip()
    return int(text) if text.isdecimal() else text


def build_server(runner: LineageMCP) -> MCPServer:
    """An MCP server exposing the lineage tools (JSON results with evidence)."""
    server: MCPServer = MCPServer(name="finlineage", version=__version__, instructions=INSTRUCTIONS)

    def dump(result: dict[str, Any]) -> str:
        return json.dumps(result, default=str)

    @server.tool(
        description="Search objects and columns by name or words; returns names, kinds, files and lines."
    )
    async def search(query: str, limit: int = 10, project: str | None = None) -> str:
        return dump(await runner.call("search", {"query": query, "limit": limit, "project": project}))

    @server.tool(
        description="Facts about an object or column: kind, columns, definition with lines and source "
        "text, what it reads and writes, what a procedure does per statement, diagnostics."
    )
    async def node(name: str, project: str | None = None) -> str:
        return dump(await runner.call("node", {"name": name, "project": project}))

    @server.tool(
        description="Everything an object or column is derived from (full depth unless depth is given), "
        f"with hop per node and file, lines and source text per edge. {_KINDS_TEXT}"
    )
    async def upstream(
        name: str, depth: int | None = None, project: str | None = None, data_only: bool = False
    ) -> str:
        return dump(
            await runner.call(
                "upstream", {"name": name, "depth": depth, "project": project, "data_only": data_only}
            )
        )

    @server.tool(
        description="Everything derived from an object or column (full depth unless depth is given), "
        f"with evidence per edge. {_KINDS_TEXT}"
    )
    async def downstream(
        name: str, depth: int | None = None, project: str | None = None, data_only: bool = False
    ) -> str:
        return dump(
            await runner.call(
                "downstream", {"name": name, "depth": depth, "project": project, "data_only": data_only}
            )
        )

    @server.tool(
        description="What breaks if an object or column changes: everything downstream grouped by hop and kind."
    )
    async def impact(name: str, depth: int | None = None, project: str | None = None) -> str:
        return dump(await runner.call("impact", {"name": name, "depth": depth, "project": project}))

    @server.tool(
        description="How a column (schema.table.column) is calculated: the composed formula and every "
        "step with file, lines and source text."
    )
    async def explain(name: str, project: str | None = None) -> str:
        return dump(await runner.call("explain", {"name": name, "project": project}))

    @server.tool(description="Shortest lineage path between two objects or two columns, in either direction.")
    async def path(source: str, target: str, project: str | None = None) -> str:
        return dump(await runner.call("path", {"source": source, "target": target, "project": project}))

    @server.tool(description="Original text of lines of an ingested file (path as ingested, or file id).")
    async def file_lines(
        path: str, line_from: int = 1, line_to: int | None = None, project: str | None = None
    ) -> str:
        return dump(
            await runner.call(
                "file_lines", {"path": path, "line_from": line_from, "line_to": line_to, "project": project}
            )
        )

    @server.tool(
        description="Ingestion health: files that failed (path, line, error) and objects with diagnostics."
    )
    async def failed_files(project: str | None = None) -> str:
        return dump(await runner.call("failed_files", {"project": project}))

    return server

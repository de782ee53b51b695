"""What the app factory opens and mounts: lifespan starters and router includers, in order.

Each layer contributes one starter (resources it opens and closes with the app) and/or one
includer (its routers). Listed here, explicitly, so the app factory stays small.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from fastapi import FastAPI

from finlineage import realtime, web
from finlineage.api.routers import chat, governance, ingest, lineage, marquez, openlineage
from finlineage.api.routers import realtime as realtime_routes

STARTERS: list[Callable[[FastAPI, Any], AbstractAsyncContextManager[None]]] = [
    realtime.starter,  # event hub, dashboard WebSocket, activity log, admin restart
    chat.start_chat,  # offline engine, hybrid retrieval, optional LLM
    chat.start_mcp,  # MCP server (streamable HTTP) behind /mcp
    ingest.start_ingestion,  # ingestion service (process pool, or the Redis job queue)
]

ROUTERS: list[Callable[[FastAPI], None]] = [
    # first: producers post an event per run state change, and routes are matched in order
    # (about a third of an event's CPU went to matching it against the routes before it)
    openlineage.register,  # OpenLineage events in, the repository namespace setting
    realtime_routes.register,
    chat.include,
    chat.include_mcp,  # /mcp: MCP tools, API keys (viewer)
    lineage.register,  # projects, lineage graph, search, files, export, config
    governance.register,  # manual edges (maker-checker), edge history, versions, diffs
    marquez.register,  # Marquez-compatible reads: lineage, namespaces, datasets, jobs, runs, search
    ingest.register,  # uploads, raw SQL, server directories, git, runs, logs
    web.register,  # the dashboard page at / (+ /static): public; it calls the authenticated API
]

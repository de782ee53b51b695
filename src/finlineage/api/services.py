"""Registration lists: each layer appends its lifespan starter and its router includer here.

Kept apart from app.py so concurrent work on separate layers touches one line each.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from fastapi import FastAPI

STARTERS: list[Callable[[FastAPI, Any], AbstractAsyncContextManager[None]]] = []
ROUTERS: list[Callable[[FastAPI], None]] = []

# issue #5: event hub, dashboard WebSocket, activity log, admin restart
from finlineage import realtime as _realtime  # noqa: E402

STARTERS.append(_realtime.starter)
ROUTERS.append(_realtime.register)

# issue #6: chat (offline engine, hybrid retrieval, optional LLM)
from finlineage.api.routers import chat as _chat  # noqa: E402

STARTERS.append(_chat.start_chat)
ROUTERS.append(_chat.include)

# issue #4 (serve): projects, lineage graph, search, files, export, config
from finlineage.api.routers import lineage as _lineage  # noqa: E402

ROUTERS.append(_lineage.register)

# issue #4 (ingest): uploads, raw SQL, server directories, git, runs, logs
from finlineage.api.routers import ingest as _ingest  # noqa: E402

STARTERS.append(_ingest.start_ingestion)
ROUTERS.append(_ingest.register)

# issue #7: the dashboard page at / (+ /static), public; it calls the authenticated API
from finlineage import web as _web  # noqa: E402

ROUTERS.append(_web.register)

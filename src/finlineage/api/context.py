"""The per-app bundle of resources, opened and closed by the lifespan and injected into routes.

Routes get it with `Depends(get_ctx)`; nothing imports app state from a module global.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from finlineage.api.metrics import Metrics
from finlineage.settings import Settings


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    metrics: Metrics
    auth_enabled: bool
    keys: Any
    """Key verifier: `.verify(plaintext) -> record with .name/.role or None`."""
    services: dict[str, Any] = field(default_factory=dict)
    """Optional services registered by later layers (event hub, ingestion, chat), by name."""

    def session(self) -> Iterator[Session]:
        with self.sessions() as session:
            yield session


def get_ctx(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


def get_session(request: Request) -> Iterator[Session]:
    yield from get_ctx(request).session()

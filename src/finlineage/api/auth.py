"""API-key authentication and role checks.

Keys are random tokens shown once at creation; only their SHA-256 is stored. Roles are ordered
viewer < editor < admin. When auth is off every caller is an anonymous admin.

The dependencies are coroutines: FastAPI runs a plain `def` dependency on the thread pool, a hop
per dependency per request. Only the store lookup of a presented key (auth on) goes to a thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from finlineage.api.context import AppContext
from finlineage.api.errors import ApiError

Role = Literal["viewer", "editor", "admin"]
ROLE_RANK: dict[str, int] = {"viewer": 1, "editor": 2, "admin": 3}

SECURITY_SCHEMES: dict[str, dict[str, str]] = {
    "APIKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key", "description": "API key header"},
    "HTTPBearer": {"type": "http", "scheme": "bearer", "description": "API key as a bearer token"},
}
"""How a key is presented (the OpenAPI document declares them; ``presented_key`` reads them)."""


def presented_key(request: Request) -> str | None:
    """The API key a request presents: ``X-API-Key``, else ``Authorization: Bearer <key>``."""
    key = request.headers.get("x-api-key")
    if key:
        return key
    scheme, _, credentials = (request.headers.get("authorization") or "").partition(" ")
    credentials = credentials.strip()
    return credentials if scheme.lower() == "bearer" and credentials else None


@dataclass(frozen=True, slots=True)
class Principal:
    name: str
    role: str
    authenticated: bool
    key_id: int | None = None


ANONYMOUS_ADMIN = Principal(name="anonymous", role="admin", authenticated=False)


def resolve_key(ctx: AppContext, presented: str | None) -> Principal | None:
    if not ctx.auth_enabled:
        return ANONYMOUS_ADMIN
    if not presented:
        return None
    found = ctx.keys.verify(presented)
    if found is None:
        return None
    return Principal(name=found.name, role=found.role, authenticated=True, key_id=getattr(found, "id", None))


_PRINCIPAL_KEY = "finlineage.principal"
"""Where a request's principal is kept in its own ASGI scope (checked once per request)."""


async def current_principal(request: Request) -> Principal:
    # headers read here rather than through FastAPI's security dependencies: one dependency per
    # route instead of four (every request, OpenLineage events included, pays for each)
    known: Principal | None = request.scope.get(_PRINCIPAL_KEY)
    if known is not None:  # a second role check of the same request
        return known
    ctx: AppContext = request.app.state.ctx
    presented = presented_key(request)
    if not ctx.auth_enabled:
        principal: Principal | None = ANONYMOUS_ADMIN
    elif not presented:
        principal = None
    else:
        principal = await run_in_threadpool(resolve_key, ctx, presented)  # reads the store
    if principal is None:
        code = "invalid_api_key" if presented else "missing_api_key"
        raise ApiError(401, code, "a valid API key is required (Authorization: Bearer <key> or X-API-Key)")
    request.state.principal = principal
    request.scope[_PRINCIPAL_KEY] = principal
    return principal


def require_role(role: Role):  # type: ignore[no-untyped-def]
    """Dependency factory: the caller must hold `role` or higher."""

    async def _check(request: Request) -> Principal:
        principal = await current_principal(request)
        if ROLE_RANK[principal.role] < ROLE_RANK[role]:
            raise ApiError(
                403, "forbidden", f"this endpoint needs the {role} role (you have {principal.role})"
            )
        return principal

    _check.__name__ = f"require_{role}"
    return _check


viewer = Depends(require_role("viewer"))
editor = Depends(require_role("editor"))
admin = Depends(require_role("admin"))

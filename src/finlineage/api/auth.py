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
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from finlineage.api.context import AppContext
from finlineage.api.errors import ApiError

Role = Literal["viewer", "editor", "admin"]
ROLE_RANK: dict[str, int] = {"viewer": 1, "editor": 2, "admin": 3}

_bearer = HTTPBearer(auto_error=False, description="API key as a bearer token")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="API key header")


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


async def current_principal(
    request: Request,
    bearer: HTTPAuthorizationCredentials | None = Depends(_bearer),
    header_key: str | None = Depends(_header),
) -> Principal:
    ctx: AppContext = request.app.state.ctx
    presented = header_key or (bearer.credentials if bearer else None)
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
    return principal


def require_role(role: Role):  # type: ignore[no-untyped-def]
    """Dependency factory: the caller must hold `role` or higher."""

    async def _check(principal: Principal = Depends(current_principal)) -> Principal:
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

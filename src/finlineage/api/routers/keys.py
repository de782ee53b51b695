"""API keys over HTTP (admin): list, create (the secret is shown once), revoke.

Revocation applies on the next request on every instance (keys are checked against the store on
each request) and closes the key's open WebSockets with code 1008.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Path
from pydantic import BaseModel, Field

from finlineage.api.auth import Principal, admin
from finlineage.api.context import AppContext, get_ctx
from finlineage.api.errors import ApiError
from finlineage.store import repositories as repo

router = APIRouter(prefix="/api/v1/keys", tags=["keys"])


class KeyCreate(BaseModel):
    name: str = Field(
        ..., min_length=1, max_length=200, pattern=r"^[\w.@-]+$", description="Holder, e.g. ops."
    )
    role: Literal["viewer", "editor", "admin"] = "viewer"


class KeyOut(BaseModel):
    id: int
    name: str
    role: str
    prefix: str
    created_at: datetime | None = None
    last_used_at: datetime | None = None
    revoked: bool = False


class KeyCreated(KeyOut):
    key: str = Field(..., description="The secret, shown once; only its SHA-256 is stored.")


class KeyList(BaseModel):
    count: int
    keys: list[KeyOut]


def _out(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "role": row.role,
        "prefix": row.prefix,
        "created_at": row.created_at,
        "last_used_at": row.last_used_at,
        "revoked": bool(row.revoked),
    }


@router.get("", summary="List API keys (never their secrets)", response_model=KeyList)
def list_keys(ctx: AppContext = Depends(get_ctx), _: Principal = admin) -> dict[str, Any]:
    with ctx.sessions() as session:
        rows = [_out(r) for r in repo.list_api_keys(session, include_revoked=True)]
    return {"count": len(rows), "keys": rows}


@router.post(
    "",
    summary="Create an API key (the secret is in this answer only)",
    status_code=201,
    response_model=KeyCreated,
)
def create_key(body: KeyCreate, ctx: AppContext = Depends(get_ctx), _: Principal = admin) -> dict[str, Any]:
    with ctx.sessions() as session:
        if repo.get_api_key_by_name(session, body.name) is not None:
            raise ApiError(409, "conflict", f"a key named {body.name!r} already exists")
        row, plaintext = repo.create_api_key(session, name=body.name, role=body.role)
        out = _out(row)
        session.commit()
    return {**out, "key": plaintext}


@router.delete("/{key_id}", summary="Revoke an API key (at once, on every instance)", response_model=KeyOut)
async def revoke_key(
    key_id: int = Path(..., ge=1, le=2**31 - 1), ctx: AppContext = Depends(get_ctx), _: Principal = admin
) -> dict[str, Any]:
    def _revoke() -> dict[str, Any] | None:
        with ctx.sessions() as session:
            if not repo.revoke_api_key(session, key_id):
                return None
            session.commit()
            row = next((r for r in repo.list_api_keys(session, include_revoked=True) if r.id == key_id), None)
            return _out(row) if row is not None else None

    out = await asyncio.to_thread(_revoke)
    if out is None:
        raise ApiError(404, "not_found", f"API key {key_id} not found")
    forget = getattr(ctx.keys, "forget", None)
    if forget is not None:
        forget(key_id)
    manager = ctx.services.get("ws")
    if manager is not None and hasattr(manager, "close_keys"):
        await manager.close_keys({key_id})
    return out


def register(app: FastAPI) -> None:
    app.include_router(router)

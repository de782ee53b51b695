"""Admin operations: `POST /admin/restart`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Response

from finlineage.api.auth import Principal, admin, viewer
from finlineage.api.context import AppContext, get_ctx
from finlineage.api.errors import ApiError

router = APIRouter(tags=["admin"])


@router.post(
    "/admin/restart",
    summary="Gracefully restart the server",
    description=(
        "Answers at once, then: broadcasts `system_status_change`, stops taking new work, lets in-flight "
        "requests and ingestion runs finish within the grace period (runs still going are marked "
        "interrupted and resumable), flushes the activity log, closes WebSockets with a "
        "`disconnect_notice` and restarts (exit 0 under a supervisor, re-exec under `finlineage serve`)."
    ),
    status_code=202,
)
async def restart(ctx: AppContext = Depends(get_ctx), principal: Principal = admin) -> dict[str, Any]:
    lifecycle = ctx.services.get("lifecycle")
    if lifecycle is None:
        raise ApiError(503, "unavailable", "the lifecycle service is not running")
    started = lifecycle.request_restart(principal.name)
    return {
        "status": "restarting",
        "already_requested": not started,
        "grace_s": ctx.settings.restart_grace_s,
    }


@router.options("/admin/restart", summary="Allowed methods for /admin/restart", status_code=204)
def restart_options(_: Principal = viewer) -> Response:
    return Response(status_code=204, headers={"Allow": "OPTIONS, POST"})

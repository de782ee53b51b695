"""Walking the registered routes: every route through included routers, and the role it needs.

Used by `/api/v1/endpoints` and by the route-auth test, so both read auth the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from finlineage.api.auth import ROLE_RANK


def iter_routes(routes: Any) -> Iterator[tuple[str, Any, Any]]:
    """(effective path, original route, effective route) for every route, through included routers
    (FastAPI >= 0.16x keeps them nested instead of flattening them into `app.routes`)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: routes are flat
        for route in routes:
            yield str(getattr(route, "path", "")), route, route
        return
    for context in iter_route_contexts(routes):
        yield str(context.path or ""), context.original_route, context


def _calls(dependant: Any) -> Iterator[Any]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _calls(sub)


def required_role(dependant: Any) -> str | None:
    """The strongest `require_<role>` dependency in a route's dependency tree, or None (public)."""
    roles = [
        name.removeprefix("require_")
        for name in (getattr(call, "__name__", "") for call in _calls(dependant))
        if name.startswith("require_") and name.removeprefix("require_") in ROLE_RANK
    ]
    return max(roles, key=ROLE_RANK.__getitem__) if roles else None

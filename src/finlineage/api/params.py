"""Query parameters shared by several routers (paging, scope, multi-valued filters, edge
statuses/kinds, walk depth, node cap). Routers import them from here, never from each other."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from fastapi import Depends, Path, Query

from finlineage.api.context import AppContext, get_ctx
from finlineage.query.common import PageParams, Scope
from finlineage.query.errors import InvalidQueryError
from finlineage.query.lineage import COLUMN_WALK_KINDS, NODE_WALK_KINDS
from finlineage.query.schemas import DEFAULT_LIMIT, MAX_DEPTH, MAX_LIMIT
from finlineage.store.graph import DEFAULT_STATUSES
from finlineage.store.models import EDGE_KINDS, EDGE_STATUSES


def page_params(
    limit: int = Query(DEFAULT_LIMIT, ge=1, description=f"Page size (capped at {MAX_LIMIT})"),
    offset: int = Query(0, ge=0, description="Items to skip"),
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


def scope_params(
    project_id: int | None = Query(None, ge=1, description="Only this project"),
    repository_id: int | None = Query(None, ge=1, description="Only this repository (source)"),
) -> Scope:
    return Scope(project_id=project_id, repository_id=repository_id)


def multi(values: Sequence[str] | None, name: str, allowed: Sequence[str] | None = None) -> list[str]:
    """Repeated and/or comma-separated query values, validated against `allowed` (→ 422)."""
    out = [v.strip() for raw in values or () for v in raw.split(",") if v.strip()]
    if allowed is not None:
        bad = sorted(set(out) - set(allowed))
        if bad:
            raise InvalidQueryError(
                f"invalid {name}: {', '.join(bad)} (allowed: {', '.join(allowed)})",
                details=[{"loc": ["query", name], "msg": f"must be one of {list(allowed)}", "type": "enum"}],
            )
    return list(dict.fromkeys(out))


def edge_statuses(
    status: list[str] | None = Query(
        None,
        description="Edge statuses to follow (repeat or comma-separate); default "
        f"{','.join(DEFAULT_STATUSES)} (rejected edges are not lineage)",
    ),
) -> list[str]:
    chosen = multi(status, "status", EDGE_STATUSES)
    return chosen or list(DEFAULT_STATUSES)


def edge_kinds_param(default: Sequence[str]) -> Callable[..., list[str]]:
    """`edge_kind`: direct (data flows into the value) and/or indirect (filters, joins, grouping).
    ``default`` is the walk's default from `query.lineage` (`NODE_WALK_KINDS`,
    `COLUMN_WALK_KINDS`), never a literal of its own."""
    fallback = list(default)

    def edge_kinds(
        edge_kind: list[str] | None = Query(
            None,
            description="Edge kinds to follow: direct, indirect (repeat or comma-separate); default "
            f"{','.join(fallback)}",
        ),
    ) -> list[str]:
        return multi(edge_kind, "edge_kind", EDGE_KINDS) or list(fallback)

    return edge_kinds


def path_edge_kinds(
    edge_kind: list[str] | None = Query(
        None,
        description="Edge kinds to follow: direct, indirect (repeat or comma-separate); default: the "
        f"walks' — {','.join(NODE_WALK_KINDS)} between objects, {','.join(COLUMN_WALK_KINDS)} between "
        "columns",
    ),
) -> list[str] | None:
    """`edge_kind` of a path: None (nothing asked) lets the query layer pick the walk's default
    for the path's granularity."""
    return multi(edge_kind, "edge_kind", EDGE_KINDS) or None


def parse_depth(value: str | None, name: str = "depth") -> int | None:
    """`all` (or nothing) → None (the full closure); a number of hops → that int."""
    text = (value or "all").strip().lower()
    if text == "all":
        return None
    if text.isdecimal() and int(text) <= MAX_DEPTH:
        return int(text)
    raise InvalidQueryError(
        f"{name} must be `all` or a number of hops from 0 to {MAX_DEPTH}",
        details=[{"loc": ["query", name], "msg": "all or 0..", "type": "value_error"}],
    )


def depth_param(
    depth: str = Query(
        "all",
        max_length=8,
        description="Hops to follow: `all` (default, the full closure up to the node cap) or a number",
    ),
) -> int | None:
    return parse_depth(depth)


def node_cap(ctx: AppContext = Depends(get_ctx)) -> int:
    """The `walk_node_cap` setting: most nodes one walk returns (`truncated`/`omitted` beyond)."""
    return int(ctx.settings.walk_node_cap)


ProjectQ = Query(None, ge=1, description="Resolve names in this project only")
AsOfQ = Query(
    None,
    ge=1,
    description="Answer from this graph version (see GET /api/v1/projects/{id}/versions); "
    "default: the current graph",
)
NodeIdP = Path(description="Numeric object id or canonical name such as `stg.trades` (case-insensitive)")
ColumnRefP = Path(description="`schema.table.column` (case-insensitive) or numeric column id")

"""Catalog search (`lineage/search?q=`) over `finlineage.store.search`: full text (FTS5 on SQLite,
tsvector on PostgreSQL) plus fuzzy (pg_trgm) and substring fallbacks, hydrated in bulk."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from finlineage.query.catalog import node_out, node_select
from finlineage.query.common import PageParams, Scope, check_scope, chunks
from finlineage.query.errors import InvalidQueryError
from finlineage.query.schemas import Page, SearchHit
from finlineage.store import search as store_search
from finlineage.store.models import CatalogObject, Project

MAX_HITS = 1000
"""Search ranks at most this many objects per project; `total` counts those."""


def search(
    session: Session,
    q: str,
    scope: Scope,
    page: PageParams,
    *,
    kinds: Sequence[str] = (),
) -> Page[SearchHit]:
    query = q.strip()
    if not store_search.tokenize(query):
        raise InvalidQueryError("q must contain at least one letter or digit", details={"q": q})
    check_scope(session, scope)
    if scope.project_id is not None:
        project_ids = [scope.project_id]
    else:
        project_ids = [int(p) for p in session.scalars(select(Project.id).order_by(Project.id))]
    ranked: list[store_search.SearchHit] = []
    columns: dict[int, list[str]] = {}
    for pid in project_ids:
        hits = store_search.search_objects(session, pid, query, limit=MAX_HITS, kinds=list(kinds) or None)
        ranked.extend(hits)
        for ch in store_search.search_columns(session, pid, query, limit=MAX_HITS):
            columns.setdefault(ch.object_id, []).append(ch.column_name)
    if len(project_ids) > 1:  # interleave projects by match quality, then score
        order = {"fts": 0, "fuzzy": 1, "substring": 2}
        ranked.sort(key=lambda h: (order[h.match], -h.score, len(h.canonical_id), h.canonical_id))
    details = {}
    for part in chunks([h.object_id for h in ranked]):
        for obj, path, repo, n in session.execute(node_select().where(CatalogObject.id.in_(list(part)))):
            if scope.repository_id is None or repo == scope.repository_id:
                details[obj.id] = (node_out(obj, path, repo, n), obj.definition or "")
    ranked = [h for h in ranked if h.object_id in details]
    tokens = store_search.tokenize(query)
    items: list[SearchHit] = []
    for h in ranked[page.offset : page.offset + page.limit]:
        node, definition = details[h.object_id]
        matched: list[str] = []
        if any(t in h.canonical_id.lower() for t in tokens):
            matched.append("name")
        cols = columns.get(h.object_id, [])
        if cols:
            matched.append("column")
        if h.match == "fts" and any(t in definition.lower() for t in tokens) and not matched:
            matched.append("definition")
        items.append(SearchHit(node=node, score=h.score, match=h.match, matched=matched, columns=cols[:20]))
    return Page[SearchHit](items=items, total=len(ranked), limit=page.limit, offset=page.offset)

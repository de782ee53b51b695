"""Catalog search: full text + fuzzy, same API on both backends.

* SQLite: FTS5 ``search_index`` (rowid = object id; columns name/columns/definition weighted
  10/4/1 in ``bm25``), every query token as a prefix query (``"tok"*`` AND-ed), then a
  ``LIKE '%query%'`` fallback on canonical ids for substrings FTS tokens cannot see.
* PostgreSQL: generated ``objects.search_tsv`` (weights A/B/C) ``@@ to_tsquery('simple',
  'tok:* & ...')`` ranked by ``ts_rank``, then pg_trgm similarity (``%`` on name and canonical
  id, GIN-indexed) for typos, then ``ILIKE`` (when pg_trgm is missing this is the only fuzzy
  step).

Both tokenise identifiers the same way: split on anything not a letter or digit, so
``dbo.fact_trades`` matches ``fact``, ``trades``, ``fact trad`` ...
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import BindParameter, bindparam, select, text, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import Executable

from finlineage.lineage.model import ColumnDef
from finlineage.store.bulk import _chunks, _table, is_sqlite
from finlineage.store.models import CatalogObject, Column

MatchKind = Literal["fts", "fuzzy", "substring"]
_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)


@dataclass(frozen=True, slots=True)
class SearchHit:
    object_id: int
    canonical_id: str
    name: str
    kind: str
    score: float
    """Higher is better; comparable within one match kind only."""
    match: MatchKind


@dataclass(frozen=True, slots=True)
class ColumnHit:
    column_id: int
    object_id: int
    canonical_id: str
    column_name: str
    object_kind: str


def tokenize(query: str) -> list[str]:
    return [t.lower() for t in _TOKEN.findall(query)][:16]


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def has_trigram(session: Session) -> bool:
    if session.get_bind().dialect.name != "postgresql":
        return False
    return bool(session.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")).scalar())


def _kinds_sql(kinds: Collection[str] | None, params: dict[str, Any]) -> str:
    if kinds is None:
        return ""
    params["kinds"] = list(kinds)
    return " AND o.kind IN :kinds"


def _run(session: Session, sql: str, params: dict[str, Any]) -> list[Any]:
    stmt = text(sql)
    if "kinds" in params:
        stmt = stmt.bindparams(bindparam("kinds", expanding=True))
    if "exclude" in params:
        stmt = stmt.bindparams(bindparam("exclude", expanding=True))
    return list(session.execute(stmt, params))


def search_objects(
    session: Session,
    project_id: int,
    query: str,
    *,
    limit: int = 20,
    kinds: Collection[str] | None = None,
) -> list[SearchHit]:
    """Objects matching ``query`` (names, column names, definitions), best first."""
    tokens = tokenize(query)
    if not tokens or limit <= 0:
        return []
    pg = session.get_bind().dialect.name == "postgresql"
    hits: list[SearchHit] = []
    seen: set[int] = set()

    def add(rows: list[Any], match: MatchKind) -> None:
        for oid, cid, name, kind, score in rows:
            if int(oid) not in seen and len(hits) < limit:
                seen.add(int(oid))
                hits.append(SearchHit(int(oid), cid, name, kind, float(score or 0.0), match))

    params: dict[str, Any] = {"p": project_id, "limit": limit}
    kind_sql = _kinds_sql(kinds, params)
    if pg:
        params["tsq"] = " & ".join(f"{t}:*" for t in tokens)
        add(
            _run(
                session,
                "SELECT o.id, o.canonical_id, o.name, o.kind,"
                " ts_rank(o.search_tsv, to_tsquery('simple', :tsq)) AS rank"
                " FROM objects o WHERE o.project_id = :p"
                f" AND o.search_tsv @@ to_tsquery('simple', :tsq){kind_sql}"
                " ORDER BY rank DESC, length(o.canonical_id), o.canonical_id LIMIT :limit",
                params,
            ),
            "fts",
        )
        if len(hits) < limit and has_trigram(session):
            params["q"] = query.strip().lower()
            add(
                _run(
                    session,
                    "SELECT o.id, o.canonical_id, o.name, o.kind,"
                    " greatest(similarity(lower(o.name), :q), similarity(lower(o.canonical_id), :q)) AS sim"
                    " FROM objects o WHERE o.project_id = :p"
                    f" AND (o.name % :q OR o.canonical_id % :q){kind_sql}"
                    " ORDER BY sim DESC, o.canonical_id LIMIT :limit",
                    params,
                ),
                "fuzzy",
            )
    else:
        params["fts"] = " AND ".join(f'"{t}"*' for t in tokens)
        add(
            _run(
                session,
                "SELECT o.id, o.canonical_id, o.name, o.kind,"
                " -bm25(search_index, 0.0, 0.0, 10.0, 4.0, 1.0) AS score"
                " FROM search_index JOIN objects o ON o.id = search_index.rowid"
                f" WHERE search_index MATCH :fts AND o.project_id = :p{kind_sql}"
                " ORDER BY score DESC, length(o.canonical_id), o.canonical_id LIMIT :limit",
                params,
            ),
            "fts",
        )
    if len(hits) < limit:
        like = "ILIKE" if pg else "LIKE"  # SQLite LIKE is case-insensitive for ASCII
        params["pat"] = "%" + "%".join(_like_escape(t) for t in tokens) + "%"
        add(
            _run(
                session,
                "SELECT o.id, o.canonical_id, o.name, o.kind, 0.0"
                f" FROM objects o WHERE o.project_id = :p AND o.canonical_id {like} :pat ESCAPE '\\'"
                f"{kind_sql} ORDER BY length(o.canonical_id), o.canonical_id LIMIT :limit",
                params,
            ),
            "substring",
        )
    return hits


def search_columns(session: Session, project_id: int, query: str, *, limit: int = 50) -> list[ColumnHit]:
    """Columns whose name contains ``query`` (case-insensitive), exact matches first."""
    q = query.strip().lower()
    if not q:
        return []
    params: dict[str, Any] = {"p": project_id, "q": q, "pat": f"%{_like_escape(q)}%", "limit": limit}
    rows = _run(
        session,
        "SELECT c.id, o.id, o.canonical_id, c.name, o.kind FROM columns c"
        " JOIN objects o ON o.id = c.object_id"
        " WHERE o.project_id = :p AND lower(c.name) LIKE :pat ESCAPE '\\'"
        " ORDER BY CASE WHEN lower(c.name) = :q THEN 0 ELSE 1 END, o.canonical_id, c.name LIMIT :limit",
        params,
    )
    return [ColumnHit(int(a), int(b), c, d, e) for a, b, c, d, e in rows]


# index upkeep: denormalised column names and the SQLite FTS5 rows, kept by the writers


def column_names(columns: Iterable[ColumnDef]) -> str | None:
    """``objects.column_names`` of an object with exactly these columns: names by ordinal
    (unknown, 0, last), then name, as ``_refresh_column_names`` orders them."""
    by_name = {c.name: c for c in columns}  # one column per name, the last definition wins
    ordered = sorted(by_name.values(), key=lambda c: (not c.ordinal, c.ordinal or 0, c.name))
    return " ".join(c.name for c in ordered) or None


@functools.cache
def _names_statements() -> tuple[Executable, Executable]:
    """The two reads of ``_refresh_column_names``, built once (they run per ingested dataset)."""
    t, c = _table(CatalogObject), _table(Column)
    ids: BindParameter[Any] = bindparam("ids", expanding=True)
    names = (
        select(c.c.object_id, c.c.name)
        .where(c.c.object_id.in_(ids))
        .order_by(c.c.object_id, c.c.ordinal.asc().nulls_last(), c.c.name)
    )
    return names, select(t.c.id, t.c.column_names).where(t.c.id.in_(ids))


def _refresh_column_names(session: Session, object_ids: Sequence[int]) -> None:
    """Recompute ``objects.column_names``; only rows whose value changes are written (each
    write re-indexes the search columns on PostgreSQL)."""
    t = _table(CatalogObject)
    names_stmt, current_stmt = _names_statements()
    for part in _chunks(list(object_ids)):
        names: dict[int, list[str]] = {int(i): [] for i in part}
        for oid, name in session.execute(names_stmt, {"ids": list(part)}):
            names[int(oid)].append(name)
        current = {int(oid): cn for oid, cn in session.execute(current_stmt, {"ids": list(part)})}
        changed = [
            {"_id": oid, "cn": " ".join(cols) or None}
            for oid, cols in names.items()
            if oid in current and current[oid] != (" ".join(cols) or None)
        ]
        if changed:
            session.connection().execute(
                update(t).where(t.c.id == bindparam("_id")).values(column_names=bindparam("cn")), changed
            )


def _delete_search_rows(session: Session, object_ids: Sequence[int]) -> None:
    for part in _chunks(list(object_ids)):
        params = {f"i{n}": oid for n, oid in enumerate(part)}
        placeholders = ", ".join(f":{k}" for k in params)
        session.execute(text(f"DELETE FROM search_index WHERE rowid IN ({placeholders})"), params)


def refresh_search(
    session: Session, object_ids: Sequence[int], *, names_current: Collection[int] = ()
) -> None:
    """Recompute the denormalised ``column_names`` of these objects (but those in
    ``names_current``, known to be right) and, on SQLite, their rows in the FTS5
    ``search_index`` (PostgreSQL's ``search_tsv`` is a generated column)."""
    if not object_ids:
        return
    stale = [oid for oid in object_ids if oid not in names_current] if names_current else object_ids
    if stale:
        _refresh_column_names(session, stale)
    if not is_sqlite(session):
        session.expire_all()
        return
    _delete_search_rows(session, object_ids)
    for part in _chunks(list(object_ids)):
        params = {f"i{n}": oid for n, oid in enumerate(part)}
        placeholders = ", ".join(f":{k}" for k in params)
        session.execute(
            text(
                "INSERT INTO search_index(rowid, object_id, project_id, name, columns, definition) "
                "SELECT id, id, project_id, canonical_id, coalesce(column_names, ''), "
                f"coalesce(definition, '') FROM objects WHERE id IN ({placeholders})"
            ),
            params,
        )
    session.expire_all()


def rebuild_search_index(session: Session, project_id: int | None = None) -> int:
    """Rebuild search data for a project (or everything); returns the number of objects."""
    stmt = select(CatalogObject.id)
    if project_id is not None:
        stmt = stmt.where(CatalogObject.project_id == project_id)
    ids = [int(x) for x in session.scalars(stmt)]
    refresh_search(session, ids)
    return len(ids)

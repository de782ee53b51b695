"""The offline engine on a warehouse it was not written for (tests/chat/treasury: other schema
names, procedures with TRUNCATE/DELETE and calls, a temp table, a broken file, a six-hop chain),
ingested by the real ingestion service: ≥ 95 % of tests/chat/treasury_questions.jsonl fully
answered (provenance, formulas, impact, reports, writers, paths, health, facts, ambiguity,
unknown names, follow-ups)."""

from __future__ import annotations

from pathlib import Path

from .bank import ingest, score

HERE = Path(__file__).resolve().parent


def test_treasury_bank_fully_answered(tmp_path: Path) -> None:
    chat = ingest(HERE / "treasury", tmp_path, "treasury")
    rate, rows = score(chat, HERE / "treasury_questions.jsonl", "treasury")
    failed = [r for r in rows if not r["ok"]]
    assert len(rows) >= 60
    assert rate >= 0.95, failed

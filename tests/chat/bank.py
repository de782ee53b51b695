"""Scoring a question bank with the offline engine (shared by the treasury and demo bank tests):
an answer is fully answered when it names every expected entity (a column also as
`table.col`), contains every expected text, names no forbidden entity, and — for questions about
something that does not exist — does not claim an answer."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from finlineage.chat.embeddings import EmbeddingService
from finlineage.chat.service import ChatQuery, ChatService
from finlineage.ingest.service import IngestionService
from finlineage.settings import Settings
from finlineage.store import db as store_db


def named(expected: str, answer: str) -> bool:
    e, a = expected.lower(), answer.lower()
    if re.search(r"(?<![\w.])" + re.escape(e) + r"(?![\w])", a):
        return True
    parts = e.split(".")
    if len(parts) == 3 and "/" not in e:
        return bool(re.search(r"(?<![\w.])" + re.escape(".".join(parts[1:])) + r"(?![\w])", a))
    return False


def ingest(corpus: Path, work: Path, project: str) -> ChatService:
    url = f"sqlite:///{work / 'bank.db'}"
    settings = Settings(
        data_dir=work / "data",
        log_dir=work / "logs",
        database_url=url,
        load_demo=False,
        embeddings_enabled=False,
    )
    store_db.migrate(url)
    sessions = store_db.session_factory(store_db.create_engine_for(url))
    svc = IngestionService(settings, sessions)
    try:
        run = svc.create_directory_run(
            project=project, paths=[str(corpus)], repository_name=project, restrict=False, create_project=True
        )
        svc.run_sync(run)
    finally:
        svc.close()
    return ChatService(settings, sessions, embedder=EmbeddingService(enabled=False))


def score(chat: ChatService, questions: Path, project: str) -> tuple[float, list[dict[str, Any]]]:
    rows = []
    for line in questions.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        q = json.loads(line)
        ans = chat.answer_offline(
            ChatQuery(q["question"], mode="graph", project=project, session_id=q.get("session"))
        ).answer
        text = ans.response
        missing = [e for e in q.get("expected", []) if not named(e, text)]
        missing += [t for t in q.get("expected_text", []) if t.lower() not in text.lower()]
        missing += [f"forbidden:{f}" for f in q.get("forbidden", []) if named(f, text)]
        if q.get("unanswered") and ans.answered:
            missing.append("claimed an answer")
        rows.append({"id": q["id"], "ok": not missing, "missing": missing, "intent": ans.intent})
    return sum(r["ok"] for r in rows) / max(1, len(rows)), rows

"""bench/chat_questions.jsonl is well formed and every expected entity exists in the demo corpus."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

from finlineage.demo.corpus import (
    created_objects,
    dialect_for,
    iter_corpus_files,
    load_dialect_map,
    split_statements,
)

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "demo"
QUESTIONS = REPO / "bench" / "chat_questions.jsonl"
INTENTS = {
    "where_from",
    "column_feeds",
    "impact",
    "how_calculated",
    "proc_io",
    "path",
    "schema_contents",
    "defined_in",
}


def _name(t: exp.Table) -> str:
    return ".".join(p for p in (t.db, t.name) if p).lower()


@pytest.fixture(scope="module")
def catalog() -> tuple[set[str], dict[str, set[str]]]:
    """Object names, and the columns of every table/view (DDL, CTAS and view outputs)."""
    mapping = load_dialect_map(DEMO / "finlineage.toml")
    objects: set[str] = set()
    columns: dict[str, set[str]] = {}
    creates: list[exp.Create] = []
    for rel, path in iter_corpus_files(DEMO):
        text = path.read_text(encoding="utf-8")
        objects |= {o.name for o in created_objects(text)}
        dialect = dialect_for(rel, mapping)
        assert dialect is not None
        for st in split_statements(text, dialect):
            if st.procedural:
                continue
            for e in sqlglot.parse(st.text, read=dialect):
                if isinstance(e, exp.Create):
                    creates.append(e)
    for _ in range(3):  # views over views: resolve stars in a few passes
        for e in creates:
            target = e.this
            if isinstance(target, exp.Schema):
                columns[_name(target.this)] = {
                    c.name.lower() for c in target.expressions if isinstance(c, exp.ColumnDef)
                }
            elif isinstance(target, exp.Table) and isinstance(e.expression, exp.Query):
                query = e.expression
                cols: set[str] = set()
                for s in query.selects:
                    star = isinstance(s, exp.Star) or (
                        isinstance(s, exp.Column) and isinstance(s.this, exp.Star)
                    )
                    if star:
                        for t in query.find_all(exp.Table):
                            if not isinstance(s, exp.Column) or t.alias_or_name == s.table:
                                cols |= columns.get(_name(t), set())
                    else:
                        cols.add(s.alias_or_name.lower())
                columns[_name(target)] = cols
    return objects, columns


@pytest.fixture(scope="module")
def questions() -> list[dict[str, object]]:
    lines = QUESTIONS.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def test_format(questions: list[dict[str, object]]) -> None:
    assert len(questions) >= 60
    ids = [q["id"] for q in questions]
    assert len(ids) == len(set(ids))
    for q in questions:
        assert set(q) == {"id", "question", "intent", "expected"}
        assert isinstance(q["question"], str) and q["question"].strip()
        assert q["intent"] in INTENTS
        assert isinstance(q["expected"], list) and q["expected"]
        assert all(isinstance(e, str) and e for e in q["expected"])
    counts = Counter(q["intent"] for q in questions)
    assert set(counts) == INTENTS
    assert min(counts.values()) >= 5


def test_phrasing_variety(questions: list[dict[str, object]]) -> None:
    texts = [str(q["question"]) for q in questions]
    assert any("where does exposure_usd come from" in t.lower() for t in texts)
    assert any("exposure number" in t.lower() for t in texts)
    column_level = [q for q in questions if any(str(e).count(".") == 2 for e in q["expected"])]  # type: ignore[union-attr]
    assert len(column_level) >= 20


def test_expected_entities_exist(
    questions: list[dict[str, object]], catalog: tuple[set[str], dict[str, set[str]]]
) -> None:
    objects, columns = catalog
    missing: list[str] = []
    for q in questions:
        for e in q["expected"]:  # type: ignore[union-attr]
            if q["intent"] == "defined_in":
                if not (DEMO / e).is_file():
                    missing.append(f"{q['id']}: file {e}")
                continue
            parts = e.split(".")
            if len(parts) == 2:
                if e not in objects:
                    missing.append(f"{q['id']}: object {e}")
            elif len(parts) == 3:
                table = ".".join(parts[:2])
                if parts[2] not in columns.get(table, set()):
                    missing.append(f"{q['id']}: column {e}")
            else:
                missing.append(f"{q['id']}: malformed {e}")
    assert missing == []


def test_schema_contents_complete(
    questions: list[dict[str, object]], catalog: tuple[set[str], dict[str, set[str]]]
) -> None:
    objects, _ = catalog
    for q in questions:
        if q["intent"] != "schema_contents" or "procedure" in str(q["question"]).lower():
            continue
        expected = set(q["expected"])  # type: ignore[arg-type]
        schemas = {e.split(".")[0] for e in expected}
        assert len(schemas) == 1
        (schema,) = schemas
        assert expected == {o for o in objects if o.startswith(schema + ".")}, q["id"]


def test_demo_bank_fully_answered_offline(tmp_path: Path) -> None:
    """The demo bank through the offline engine on the ingested demo: ≥ 95 % fully answered."""
    from chat.bank import ingest, score  # tests/chat/bank.py (same rootdir)

    chat = ingest(DEMO, tmp_path, "demo")
    rate, rows = score(chat, QUESTIONS, "demo")
    assert rate >= 0.95, [r for r in rows if not r["ok"]]

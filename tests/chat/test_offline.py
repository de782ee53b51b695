"""The offline answer engine on a real store (both backends): intents, linking, prose, sources."""

from __future__ import annotations

import re

import pytest

from finlineage.chat.offline import CANNOT_ANSWER, OfflineEngine
from finlineage.chat.tools import LineageTools
from finlineage.chat.vocab import VocabCache

from .conftest import COLUMN_EDGES, BankGraph


def ask(bank: BankGraph, question: str, mode: str = "graph") -> tuple[str, object]:
    with bank.sessions() as s:
        v = VocabCache().get(s, bank.project_id)
        ans = OfflineEngine().start(v, question, tools=LineageTools(s, v), session=s, mode=mode)
        text = "".join(ans.pieces())
        return text, ans


def names_in(text: str) -> set[str]:
    # single-backtick spans that are not inside double-backtick expressions
    stripped = re.sub(r"``.*?``", "", text)
    stripped = re.sub(r"```.*?```", "", stripped, flags=re.S)
    return {m for m in re.findall(r"`([^`]+)`", stripped)}


def assert_supported(bank: BankGraph, text: str) -> None:
    known = set(bank.objects)
    cols = {r for e in COLUMN_EDGES for r in e[:2]}
    files = {e[4] for e in COLUMN_EDGES} | {"ddl/raw.sql"}
    for name in names_in(text):
        if "/" in name or name.endswith(".sql"):
            assert name in files, name
        elif name.count(".") == 1:
            assert name in known, name
        elif name.count(".") == 2:
            assert name in cols or name.rpartition(".")[0] in known, name
    exprs = re.findall(r"``(.*?)``", text)
    edge_exprs = {e[2] for e in COLUMN_EDGES}
    for expr in exprs:
        assert expr in edge_exprs, expr


def test_upstream_of_object_names_the_whole_chain(bank: BankGraph) -> None:
    text, ans = ask(bank, "Where does rpt.v_exposure_summary come from?")
    for name in ("mart.exposure", "stg.trades", "raw.venue_trades", "ref.fx_rates", "ref.counterparties"):
        assert f"`{name}`" in text
    assert "mart.usp_build_exposure" in text
    assert ans.intent == "upstream" and ans.answered  # type: ignore[attr-defined]
    assert_supported(bank, text)


def test_column_lineage_shows_expressions(bank: BankGraph) -> None:
    text, ans = ask(bank, "What feeds mart.exposure.exposure_usd at column level?")
    assert ans.intent == "column_lineage"  # type: ignore[attr-defined]
    assert "``SUM(t.notional_local * fx.fx_rate)``" in text
    assert "`ref.fx_rates.fx_rate`" in text and "`raw.venue_trades.price`" in text
    assert_supported(bank, text)


def test_calculation_chain_with_synonym(bank: BankGraph) -> None:
    text, ans = ask(bank, "How is exposure_usd calculated?")
    assert ans.intent == "calculation"  # type: ignore[attr-defined]
    assert "SUM(t.notional_local * fx.fx_rate)" in text
    assert "t.side_sign * t.quantity * t.price" in text
    assert_supported(bank, text)


def test_impact_lists_downstream_and_readers(bank: BankGraph) -> None:
    text, ans = ask(bank, "What breaks if stg.trades changes?")
    assert ans.intent == "impact"  # type: ignore[attr-defined]
    assert "`mart.exposure`" in text and "`rpt.v_exposure_summary`" in text
    assert "`mart.usp_build_exposure`" in text
    assert "`raw.venue_trades`" not in text
    assert_supported(bank, text)


def test_column_impact_from_phrase(bank: BankGraph) -> None:
    text, ans = ask(bank, "Who uses the fx rate?")
    assert ans.intent == "impact"  # type: ignore[attr-defined]
    assert "`mart.exposure.exposure_usd`" in text and "`rpt.v_exposure_summary.band`" in text


def test_procedure_reads_and_writes(bank: BankGraph) -> None:
    text, ans = ask(bank, "Which objects does stg.usp_build_trades read and write?")
    assert ans.intent == "proc_io"  # type: ignore[attr-defined]
    reads, writes = text.split("Writes:")
    assert "`raw.venue_trades`" in reads and "`ref.counterparties`" in reads
    assert "`stg.trades`" in writes


def test_path_between_objects_and_reverse(bank: BankGraph) -> None:
    text, _ = ask(bank, "What is the path from raw.venue_trades to rpt.v_exposure_summary?")
    assert "`raw.venue_trades` → `stg.trades` → `mart.exposure` → `rpt.v_exposure_summary`" in text
    text, _ = ask(bank, "path from rpt.v_exposure_summary to raw.venue_trades")
    assert "other way" in text
    text, _ = ask(bank, "path from ref.fx_rates to ref.counterparties")
    assert "no lineage path" in text


def test_schema_and_files(bank: BankGraph) -> None:
    text, ans = ask(bank, "What is in schema ref?")
    assert ans.intent == "schema"  # type: ignore[attr-defined]
    assert "`ref.fx_rates`" in text and "`ref.counterparties`" in text
    text, ans = ask(bank, "Which files define rpt.v_exposure_summary?")
    assert ans.intent == "files"  # type: ignore[attr-defined]
    assert "`views/rpt.sql`" in text and "lines 1–3" in text


def test_fuzzy_and_bracketed_names(bank: BankGraph) -> None:
    text, _ = ask(bank, "where does [stg].[trades] come from")
    assert "`raw.venue_trades`" in text
    text, _ = ask(bank, "where does stg.trdes come from")
    assert "`raw.venue_trades`" in text


def test_unanswerable_is_honest(bank: BankGraph) -> None:
    text, ans = ask(bank, "What will the weather be tomorrow?")
    assert text.startswith(CANNOT_ANSWER)
    assert not ans.answered  # type: ignore[attr-defined]


def test_sources_are_graph_ids_and_graph_data(bank: BankGraph) -> None:
    _, ans = ask(bank, "Where does mart.exposure come from?")
    ids = {s.id for s in ans.ev.source_list()}  # type: ignore[attr-defined]
    assert f"node:{bank.objects['mart.exposure']}" in ids
    assert any(i.startswith("edge:t") for i in ids)
    data = ans.ev.graph_data()  # type: ignore[attr-defined]
    labels = {n["label"] for n in data["nodes"]}
    assert {"mart.exposure", "stg.trades"} <= labels
    node_ids = {n["id"] for n in data["nodes"]}
    assert all(e["source"] in node_ids and e["target"] in node_ids for e in data["edges"])


def test_deep_mode_adds_definitions(bank: BankGraph) -> None:
    text, _ = ask(bank, "tell me about rpt.v_exposure_summary", mode="deep")
    assert "```sql" in text and "CREATE VIEW rpt.v_exposure_summary" in text


@pytest.mark.parametrize(
    "question,intent",
    [
        ("where does X come from", "upstream"),
        ("what feeds X at column level", "column_lineage"),
        ("what breaks if X changes", "impact"),
        ("who uses X", "impact"),
        ("how is X calculated", "calculation"),
        ("which objects does P read and write", "proc_io"),
        ("path from A to B", "path"),
        ("what is in schema S", "schema"),
        ("which files define X", "files"),
    ],
)
def test_intent_cues(question: str, intent: str) -> None:
    from finlineage.chat.intents import classify

    assert classify(question)[0] == intent


def test_bare_column_name_in_several_tables_names_every_candidate(bank: BankGraph) -> None:
    text, _ = ask(bank, "where does exposure_usd come from?")
    assert_supported(bank, text)
    assert "That name matches 2 columns" in text
    assert "`mart.exposure.exposure_usd`" in text and "`rpt.v_exposure_summary.exposure_usd`" in text
    named, _ = ask(bank, "where does mart.exposure.exposure_usd come from?")
    assert "That name matches" not in named  # the table was named: nothing ambiguous

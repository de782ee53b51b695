"""Pure units: session memory (LRU + TTL, isolation), citation checking (text and stream)."""

from __future__ import annotations

import time

from finlineage.chat.citations import CitationFilter, check_citations
from finlineage.chat.memory import SessionMemory
from finlineage.chat.offline import Focus


def test_memory_isolated_bounded_and_expiring() -> None:
    mem = SessionMemory(max_sessions=2, ttl_s=0.2)
    mem.record("a", 1, "q1", "a1", Focus(objects=[1]))
    mem.record("b", 1, "q2", "a2", Focus(objects=[2]))
    a = mem.get("a", 1)
    assert a is not None and a.focus is not None and a.focus.objects == [1]
    b = mem.get("b", 1)
    assert b is not None and b.focus is not None and b.focus.objects == [2]
    assert mem.get("a", 2) is None  # another project never sees it
    mem.record("c", 1, "q3", "a3", None)  # evicts the least recently used ("a" was read before "b")
    assert mem.get("a", 1) is None and mem.get("b", 1) is not None
    time.sleep(0.25)
    assert mem.get("b", 1) is None
    mem.record("d", 1, "q", "a", None)
    assert mem.delete("d") and not mem.delete("d")


def test_memory_keeps_last_turns() -> None:
    mem = SessionMemory(max_turns=4)
    for i in range(5):
        mem.record("s", None, f"q{i}", f"a{i}", None)
    state = mem.get("s")
    assert state is not None and [t[1] for t in state.turns] == ["q3", "a3", "q4", "a4"]


def test_check_citations() -> None:
    text, cited, unknown = check_citations(
        "A [node:1] B [node:2, edge:t9] C [chunk:3]", {"node:1", "edge:t9"}
    )
    assert text == "A [node:1] B [edge:t9] C "
    assert cited == ["node:1", "edge:t9"] and unknown == ["node:2", "chunk:3"]


def test_citation_filter_streams_across_token_boundaries() -> None:
    f = CitationFilter({"node:1"})
    out = "".join(f.feed(tok) for tok in ["See [no", "de:1] and [nod", "e:7] or [a note] [x"]) + f.flush()
    assert out == "See [node:1] and  or [a note] [x"
    assert f.cited == ["node:1"] and f.unknown == ["node:7"]

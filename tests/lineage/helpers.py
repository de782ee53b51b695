"""Small helpers for lineage tests: flatten results into comparable sets."""

from __future__ import annotations

from finlineage.lineage import LineageResult, StatementLineage


def direct(stmt: StatementLineage) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for e in stmt.column_edges:
        if e.kind == "direct":
            out.setdefault(e.target, set()).update(e.sources)
    return out


def indirect(stmt: StatementLineage) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for e in stmt.column_edges:
        if e.kind == "indirect":
            out.setdefault(e.target, set()).update(e.sources)
    return out


def rollup_direct(result: LineageResult) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for e in result.rollup.column_edges:
        if e.kind == "direct":
            out.setdefault(e.target, set()).update(e.sources)
    return out


def codes(result: LineageResult) -> set[str]:
    found = {d.code for d in result.diagnostics}
    for s in result.statements:
        found |= {d.code for d in s.diagnostics}
    return found

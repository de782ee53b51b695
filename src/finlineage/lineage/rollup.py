"""Script-level lineage: temporary and intermediate tables collapsed (A -> #tmp -> B is A -> B)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from finlineage.lineage.model import ColumnEdge, EdgeKind, ScriptLineage, StatementLineage

__all__ = ["apply_renames", "is_temporary_name", "process_units", "rollup"]


def is_temporary_name(name: str) -> bool:
    return name.startswith(("#", "@"))


def _table_of(column: str, tables: Iterable[str]) -> str:
    """The longest known table name that prefixes `column` (else everything before the last dot)."""
    known = tables if isinstance(tables, (set, frozenset, dict)) else set(tables)
    head = column
    while "." in head:
        head = head.rsplit(".", 1)[0]
        if head in known:
            return head
    return column.rsplit(".", 1)[0] if "." in column else ""


def _rename_column(col: str, mapping: dict[str, str]) -> str:
    table = _table_of(col, mapping)
    return mapping[table] + col[len(table) :] if table in mapping else col


def apply_renames(statements: Sequence[StatementLineage]) -> list[StatementLineage]:
    """Statements with tables named by their final name: a later RENAME (old -> new) renames the
    table in the statements before it, so script lineage ends at the table that survives."""
    if not any(st.renames for st in statements):
        return list(statements)
    mapping: dict[str, str] = {}
    out: list[StatementLineage] = []
    for st in reversed(statements):
        if mapping:
            st = replace(
                st,
                source_tables=tuple(mapping.get(t, t) for t in st.source_tables),
                target_tables=tuple(mapping.get(t, t) for t in st.target_tables),
                column_edges=tuple(
                    replace(
                        e,
                        target=_rename_column(e.target, mapping),
                        sources=tuple(_rename_column(x, mapping) for x in e.sources),
                    )
                    for e in st.column_edges
                ),
            )
        out.append(st)
        for old, new in st.renames:
            mapping[old] = mapping.get(new, new)
    out.reverse()
    return out


def _merged(tables: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(tables))


def process_units(statements: Sequence[StatementLineage]) -> list[StatementLineage]:
    """Consecutive statements of one routine merged into one unit: a procedure/function body is
    one process whose inputs are everything it reads and outputs everything it writes (it runs
    when called, not as part of the script's own sequence)."""
    units: list[StatementLineage] = []
    for st in statements:
        prev = units[-1] if units else None
        if st.process and prev is not None and prev.process == st.process:
            units[-1] = replace(
                prev,
                type="routine",
                source_tables=_merged((*prev.source_tables, *st.source_tables)),
                target_tables=_merged((*prev.target_tables, *st.target_tables)),
                source_paths=_merged((*prev.source_paths, *st.source_paths)),
                target_paths=_merged((*prev.target_paths, *st.target_paths)),
                temporary_tables=_merged((*prev.temporary_tables, *st.temporary_tables)),
                column_edges=prev.column_edges + st.column_edges,
                calls=_merged((*prev.calls, *st.calls)),
                diagnostics=prev.diagnostics + st.diagnostics,
                renames=prev.renames + st.renames,
                line_end=max(prev.line_end, st.line_end),
            )
        else:
            units.append(st)
    return units


def rollup(statements: Sequence[StatementLineage], temp_tables: Iterable[str] = ()) -> ScriptLineage:
    """Collapse temporary tables and tables written then read later into end-to-end lineage."""
    statements = process_units(apply_renames(statements))
    temps = set(temp_tables)
    for st in statements:
        temps.update(st.temporary_tables)
        temps.update(t for t in (*st.source_tables, *st.target_tables) if is_temporary_name(t))
    written_at: dict[str, int] = {}
    intermediate: set[str] = set()
    for i, st in enumerate(statements):
        if st.type in ("drop", "truncate"):
            continue
        for t in st.source_tables:
            if t in written_at and written_at[t] < i and t not in st.target_tables:
                intermediate.add(t)
        for t in st.target_tables:
            written_at.setdefault(t, i)
    hidden = temps | intermediate

    sources: list[str] = []
    targets: list[str] = []
    for st in statements:
        if st.type in ("drop", "truncate"):
            continue
        for t in (*st.source_tables, *st.source_paths):
            if t not in hidden and t not in sources:
                sources.append(t)
        for t in (*st.target_tables, *st.target_paths):
            if t not in hidden and t not in targets:
                targets.append(t)

    all_tables = {t for st in statements for t in (*st.source_tables, *st.target_tables)}
    current: dict[tuple[str, str], set[str]] = {}
    """(kind, column) -> root sources as of the statements processed so far."""

    def roots(col: str, kind: str) -> set[str]:
        hit = current.get((kind, col))
        if hit is not None:
            return hit
        table = _table_of(col, all_tables)
        if table in hidden:
            star = current.get((kind, table + ".*"))
            if star is not None:
                name = col[len(table) + 1 :]
                return {s[:-1] + name if s.endswith(".*") else s for s in star}
            return set()  # a temporary column nobody wrote: no root
        return {col}

    final: dict[tuple[EdgeKind, str], set[str]] = {}
    order: list[tuple[EdgeKind, str]] = []
    for st in statements:
        if st.type in ("drop", "truncate"):
            continue
        staged: dict[tuple[EdgeKind, str], set[str]] = {}
        for e in st.column_edges:
            if "." not in e.target and not st.target_tables:
                continue  # SELECT outputs are not stored anywhere
            srcs: set[str] = set()
            for s in e.sources:
                srcs |= (
                    roots(s, "direct") if e.kind == "direct" else (roots(s, "direct") | roots(s, "indirect"))
                )
            key = (e.kind, e.target)
            staged.setdefault(key, set()).update(srcs)
        for key, srcs in staged.items():
            target = key[1]
            prev = current.get(key, set())
            current[key] = prev | srcs
            if _table_of(target, all_tables) not in hidden:
                if key not in final:
                    order.append(key)
                final[key] = final.get(key, set()) | srcs
    edges = tuple(ColumnEdge(t, tuple(sorted(final[(k, t)])), k) for k, t in order)
    return ScriptLineage(tuple(sources), tuple(targets), edges)

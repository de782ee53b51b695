"""Script-level lineage: temporary tables collapsed (A -> #tmp -> B is A -> B)."""

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


_MAX_EXPR_TEXT = 2000


class _Flow:
    """What flowed into one column so far: root sources, how, and how surely."""

    __slots__ = ("conf", "direct", "exprs", "indirect")

    def __init__(self) -> None:
        self.direct: dict[str, None] = {}
        self.indirect: dict[str, None] = {}
        self.exprs: list[str] = []
        self.conf = 1.0

    def add(self, direct: Iterable[str], indirect: Iterable[str], expr: str, conf: float) -> None:
        self.direct.update(dict.fromkeys(direct))
        self.indirect.update(dict.fromkeys(indirect))
        if expr and expr not in self.exprs and sum(map(len, self.exprs)) < _MAX_EXPR_TEXT:
            self.exprs.append(expr)
        self.conf = min(self.conf, conf)

    def expression(self) -> str:
        text = " | ".join(self.exprs)
        return text if len(text) <= _MAX_EXPR_TEXT else text[:_MAX_EXPR_TEXT] + "..."


def _temporaries(statements: Sequence[StatementLineage], temp_tables: Iterable[str]) -> set[str]:
    temps = set(temp_tables)
    for st in statements:
        temps.update(st.temporary_tables)
        temps.update(t for t in (*st.source_tables, *st.target_tables) if is_temporary_name(t))
    return temps


def rollup(statements: Sequence[StatementLineage], temp_tables: Iterable[str] = ()) -> ScriptLineage:
    """End-to-end lineage of the script: temporary tables collapsed, statement by statement.

    Only temporary objects are collapsed (#t, ##t, @t, DECLARE @t TABLE, CREATE TEMP/TEMPORARY/
    VOLATILE TABLE, SELECT INTO #t, Spark CACHE TABLE): a permanent table written and read in one
    file is a real object, so it stays a source and a target. At column level an edge into #t.c
    followed by an edge out of #t.c becomes one edge from the roots of #t.c into the target,
    with both expressions; the columns that shaped #t's rows (filters, joins) become indirect
    sources of what is computed from it. Re-creating, dropping or truncating a temporary table
    starts its columns afresh."""
    statements = apply_renames(statements)
    temps = _temporaries(statements, temp_tables)

    sources: dict[str, None] = {}
    targets: dict[str, None] = {}
    for st in statements:
        if st.type in ("drop", "truncate"):
            continue
        sources.update((t, None) for t in (*st.source_tables, *st.source_paths) if t not in temps)
        targets.update((t, None) for t in (*st.target_tables, *st.target_paths) if t not in temps)

    final: dict[tuple[EdgeKind, str], _Flow] = {}
    if not temps:  # nothing to collapse: merge the stored edges per target
        for st in statements:
            if st.type in ("drop", "truncate"):
                continue
            for e in st.column_edges:
                if "." not in e.target and not st.target_tables:
                    continue  # SELECT outputs are not stored anywhere
                flow = final.get((e.kind, e.target))
                if flow is None:
                    flow = final[(e.kind, e.target)] = _Flow()
                if e.kind == "direct":
                    flow.add(e.sources, (), e.expression, e.confidence)
                else:
                    flow.add((), e.sources, "", e.confidence)
        return ScriptLineage(tuple(sources), tuple(targets), _edges(final))

    tables = {t for st in statements for t in (*st.source_tables, *st.target_tables)}
    flows: dict[str, dict[str, _Flow]] = {}
    """temporary table -> column -> what flowed into it so far."""

    def through(col: str) -> tuple[Iterable[str], Iterable[str], str] | None:
        """(direct roots, indirect roots, expression) of a temporary column; None if permanent."""
        table = _table_of(col, tables)
        if table not in temps:
            return None
        cols = flows.get(table, {})
        name = col[len(table) + 1 :]
        flow = cols.get(name)
        if flow is not None:
            expr = flow.expression()
            return flow.direct, flow.indirect, f"{col} = {expr}" if expr else ""
        star = cols.get("*")
        if star is not None:  # SELECT * INTO #t from an unknown schema: table.* roots
            direct = [s[:-1] + name if s.endswith(".*") else s for s in star.direct]
            return direct, star.indirect, ""
        return (), (), ""  # a temporary column nobody wrote (or filled by EXEC): no root

    for st in statements:
        written = [t for t in st.target_tables if t in temps]
        if st.type in ("drop", "truncate", "create_table") or (st.type == "create_view" and written):
            for t in written:
                flows.pop(t, None)
            if st.type != "create_table" and st.type != "create_view":
                continue
        staged: dict[str, tuple[_Flow, _Flow]] = {}
        for e in st.column_edges:
            if "." not in e.target and not st.target_tables:
                continue  # SELECT outputs are not stored anywhere
            direct: dict[str, None] = {}
            indirect: dict[str, None] = {}
            via: list[str] = []
            for src in e.sources:
                hop = through(src)
                if hop is None:
                    (direct if e.kind == "direct" else indirect)[src] = None
                    continue
                d, i, expr = hop
                (direct if e.kind == "direct" else indirect).update(dict.fromkeys(d))
                indirect.update(dict.fromkeys(i))
                if expr:
                    via.append(expr)
            expr = e.expression
            if via and e.kind == "direct":
                expr = f"{expr} [via {'; '.join(via)}]" if expr else "; ".join(via)
            pair = staged.get(e.target)
            if pair is None:
                pair = staged[e.target] = (_Flow(), _Flow())
            pair[0].add(direct, (), expr if e.kind == "direct" else "", e.confidence)
            pair[1].add((), indirect, "", e.confidence)
        for target, (dflow, iflow) in staged.items():
            table = _table_of(target, tables)
            if table in temps:
                flow = flows.setdefault(table, {}).setdefault(target[len(table) + 1 :], _Flow())
                flow.add(dflow.direct, iflow.indirect, dflow.expression(), min(dflow.conf, iflow.conf))
                continue
            if dflow.direct or dflow.exprs or not iflow.indirect:
                final.setdefault(("direct", target), _Flow()).add(
                    dflow.direct, (), dflow.expression(), dflow.conf
                )
            if iflow.indirect:
                final.setdefault(("indirect", target), _Flow()).add((), iflow.indirect, "", iflow.conf)
    return ScriptLineage(tuple(sources), tuple(targets), _edges(final))


def _edges(final: dict[tuple[EdgeKind, str], _Flow]) -> tuple[ColumnEdge, ...]:
    return tuple(
        ColumnEdge(
            target,
            tuple(sorted(flow.direct if kind == "direct" else flow.indirect)),
            kind,
            flow.expression(),
            flow.conf,
        )
        for (kind, target), flow in final.items()
    )

"""Script-level lineage: temporary tables collapsed (A -> #tmp -> B is A -> B), formulas composed."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from sqlglot import exp

from finlineage.lineage.formula import Formula, wrap
from finlineage.lineage.model import ColumnEdge, ScriptLineage, StatementLineage

__all__ = ["apply_renames", "is_temporary_name", "process_units", "rollup", "table_flows"]


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
                unknown_functions=_merged((*prev.unknown_functions, *st.unknown_functions)),
                line_end=max(prev.line_end, st.line_end),
            )
        else:
            units.append(st)
    return units


_MAX_EXPR_TEXT = 2000
_MAX_ALTERNATIVES = 16
"""Alternatives kept per column; beyond that, alternatives are merged (sources kept, formula
dropped) so that nothing is silently lost and nothing explodes."""
_RANK = {"": 0, "IDENTITY": 1, "TRANSFORMATION": 2, "AGGREGATION": 3}

Trees = Mapping[tuple[int, int], Sequence[Formula]]
"""(statement index, position of the edge in the statement's column_edges) -> formula trees
(one, or one per branch of a set operation)."""


@dataclass(slots=True)
class _Alt:
    """One way a column got its value: roots, formula over them, contributing statements."""

    sources: dict[str, None]
    tree: Formula | None
    steps: tuple[int, ...]
    exprs: list[str] = field(default_factory=list)
    conf: float = 1.0
    subtype: str = ""
    origin: tuple[int, int] = (-1, 0)
    """(statement, branch) that produced the row this value belongs to: the columns of a
    temporary table are combined only with values of the same rows."""

    def expression(self) -> str:
        text = " | ".join(self.exprs)
        return text if len(text) <= _MAX_EXPR_TEXT else text[:_MAX_EXPR_TEXT] + "..."


@dataclass(slots=True)
class _Col:
    """What flowed into one column so far: alternative values and the columns shaping its rows."""

    alts: list[_Alt] = field(default_factory=list)
    indirect: dict[str, dict[str, None]] = field(default_factory=dict)
    """subtype -> root columns."""
    steps: dict[int, None] = field(default_factory=dict)

    def add_indirect(self, subtype: str, cols: Iterable[str], steps: Iterable[int]) -> None:
        self.indirect.setdefault(subtype, {}).update(dict.fromkeys(cols))
        self.steps.update(dict.fromkeys(steps))


def _temporaries(statements: Sequence[StatementLineage], temp_tables: Iterable[str]) -> set[str]:
    temps = set(temp_tables)
    for st in statements:
        temps.update(st.temporary_tables)
        temps.update(t for t in (*st.source_tables, *st.target_tables) if is_temporary_name(t))
    return temps


def _steps(*groups: Iterable[int]) -> tuple[int, ...]:
    return tuple(sorted({i for g in groups for i in g}))


class _Rollup:
    """The one temp-table collapse: statement edges composed in script order."""

    def __init__(self, statements: Sequence[StatementLineage], temps: set[str], trees: Trees, dialect: str):
        self.statements = statements
        self.temps = temps
        self.trees = trees
        self.dialect = dialect
        self.tables = {t for st in statements for t in (*st.source_tables, *st.target_tables)}
        self.flows: dict[str, dict[str, _Col]] = {}
        """temporary table -> column -> what flowed into it so far."""
        self.final: dict[str, _Col] = {}
        """persistent target column -> its writers (alternatives) and row-shaping columns."""
        self.last: dict[tuple[str | None, str], list[_Alt]] = {}
        """(routine, persistent column) -> the alternatives its latest write left (composition)."""
        self.last_at: dict[tuple[str | None, str], int] = {}
        """... and the statement that wrote them."""

    # ------------------------------------------------------------------ lookups
    def _temp_col(self, col: str) -> tuple[str, str] | None:
        if not self.temps:
            return None
        table = _table_of(col, self.tables)
        if table not in self.temps:
            return None
        return table, col[len(table) + 1 :]

    def _through(self, col: str) -> _Col | None:
        """What a temporary column holds (None: not temporary)."""
        hit = self._temp_col(col)
        if hit is None:
            return None
        table, name = hit
        cols = self.flows.get(table, {})
        found = cols.get(name)
        if found is not None:
            return found
        star = cols.get("*")
        if star is not None:  # SELECT * INTO #t from an unknown schema: table.* roots
            out = _Col(indirect=star.indirect, steps=star.steps)
            for a in star.alts:
                roots = [s[:-1] + name if s.endswith(".*") else s for s in a.sources]
                tree = Formula.ref(roots[0], self.dialect) if len(roots) == 1 else None
                out.alts.append(_Alt(dict.fromkeys(roots), tree, a.steps, [], a.conf, a.subtype, a.origin))
            return out
        return _Col()  # a temporary column nobody wrote (or filled by EXEC): no root

    # ------------------------------------------------------------------ statements
    def run(self) -> tuple[ColumnEdge, ...]:
        owner: dict[str, str | None] = {}
        for st in self.statements:
            written = [t for t in st.target_tables if t in self.temps]
            for t in _new_scope(st, written, owner):
                self.flows.pop(t, None)
            if st.type in ("drop", "truncate", "create_table") or (st.type == "create_view" and written):
                for t in written:
                    self.flows.pop(t, None)
                if st.type not in ("create_table", "create_view"):
                    continue
            self._statement(st)
        return self._edges()

    def _statement(self, st: StatementLineage) -> None:
        for pos, e in enumerate(st.column_edges):
            if "." not in e.target and not st.target_tables:
                continue  # SELECT outputs are not stored anywhere
            if e.kind == "direct":
                self._direct(st, pos, e)
            else:
                self._indirect(st, e)

    def _slot(self, target: str) -> _Col:
        hit = self._temp_col(target)
        if hit is not None:
            return self.flows.setdefault(hit[0], {}).setdefault(hit[1], _Col())
        return self.final.setdefault(target, _Col())

    def _indirect(self, st: StatementLineage, e: ColumnEdge) -> None:
        slot = self._slot(e.target)
        sub = e.subtype or "indirect"
        if not self.temps:
            slot.add_indirect(sub, e.sources, (st.index,))
            return
        for src in e.sources:
            held = self._through(src)
            if held is None:
                slot.add_indirect(sub, (src,), (st.index,))
                continue
            for a in held.alts:
                slot.add_indirect(sub, a.sources, (*a.steps, st.index))
            for s2, cols in held.indirect.items():
                slot.add_indirect(s2, cols, (*held.steps, st.index))

    def _direct(self, st: StatementLineage, pos: int, e: ColumnEdge) -> None:
        slot = self._slot(e.target)
        found = self.trees.get((st.index, pos))
        writers: list[tuple[Formula | None, tuple[str, ...]]] = []
        if found and len(found) > 1:  # one alternative per branch, with that branch's columns
            for part in found:
                own = part.ref_names()
                writers.append((part, tuple(s for s in e.sources if s in own) or e.sources))
        elif found:
            writers.append((found[0], e.sources))
        elif len(e.sources) == 1 and e.subtype == "IDENTITY":
            writers.append((Formula.ref(e.sources[0], self.dialect), e.sources))
        else:
            writers.append((None, e.sources))
        new: list[_Alt] = []
        consumed: list[_Alt] = []
        if not self.temps and e.target not in e.sources:  # nothing to substitute: as written
            exprs = [e.expression] if e.expression else []
            for branch, (formula, sources) in enumerate(writers):
                origin = (st.index, branch)
                new.append(
                    _Alt(dict.fromkeys(sources), formula, (st.index,), exprs, e.confidence, e.subtype, origin)
                )
        else:
            for branch, (formula, sources) in enumerate(writers):
                made, used = self._writer(st, e, slot, formula, sources, branch)
                new.extend(made)
                consumed.extend(used)
        if consumed:
            slot.alts = [a for a in slot.alts if all(a is not o for o in consumed)]
        slot.alts.extend(new)
        if len(slot.alts) > _MAX_ALTERNATIVES:
            slot.alts = _merge_alts(slot.alts)
        if self._temp_col(e.target) is None:
            key = (st.process, e.target)
            if self.last_at.get(key) == st.index:  # another branch of the same statement (MERGE)
                self.last[key] = [*self.last[key], *new]
            else:
                self.last[key] = new
                self.last_at[key] = st.index

    def _writer(
        self,
        st: StatementLineage,
        e: ColumnEdge,
        slot: _Col,
        tree: Formula | None,
        sources: tuple[str, ...],
        branch: int,
    ) -> tuple[list[_Alt], list[_Alt]]:
        """Alternatives one formula of edge `e` yields, and the earlier ones it supersedes."""
        temp_target = self._temp_col(e.target) is not None
        key = (st.process, e.target)
        # what each source column stands for: a temporary column's values, the prior value of
        # the target written earlier in the same routine, or itself
        subst: dict[str, list[_Alt]] = {}
        plain: dict[str, None] = {}
        consumed: list[_Alt] = []
        for src in sources:
            held = self._through(src)
            if held is not None:
                subst[src] = held.alts
                for s2, cols in held.indirect.items():
                    slot.add_indirect(s2, cols, (*held.steps, st.index))
                if src == e.target:
                    consumed.extend(held.alts)
                continue
            if src == e.target and not temp_target and self.last.get(key):
                subst[src] = self.last[key]
                consumed.extend(self.last[key])
                continue
            plain[src] = None
        return self._compose(st, e, tree, subst, plain, branch), consumed

    def _compose(
        self,
        st: StatementLineage,
        e: ColumnEdge,
        tree: Formula | None,
        subst: dict[str, list[_Alt]],
        plain: dict[str, None],
        branch: int,
    ) -> list[_Alt]:
        combos, cut = self._combos(subst)
        out: list[_Alt] = []
        for chosen in combos:
            sources = dict(plain)
            steps: list[tuple[int, ...]] = [(st.index,)]
            subtype = e.subtype
            via: list[str] = []
            conf = e.confidence
            for name, alt in chosen.items():
                sources.update(alt.sources)
                steps.append(alt.steps)
                conf = min(conf, alt.conf)
                if _RANK.get(alt.subtype, 0) > _RANK.get(subtype, 0):
                    subtype = alt.subtype
                if alt.exprs:
                    via.append(f"{name} = {alt.expression()}")
            expr = e.expression
            if via:
                expr = f"{expr} [via {'; '.join(via)}]" if expr else "; ".join(via)
            prior = chosen.get(e.target)
            origin = prior.origin if prior is not None else (st.index, branch)
            tree_out = _substitute(tree, chosen)
            out.append(_Alt(sources, tree_out, _steps(*steps), [expr] if expr else [], conf, subtype, origin))
        if cut:  # too many combinations: the rest merged into one, not lost
            rest = _Alt(dict(plain), None, (st.index,), [], e.confidence, e.subtype, (st.index, branch))
            for alts in subst.values():
                for a in alts:
                    rest.sources.update(a.sources)
                    rest.steps = _steps(rest.steps, a.steps)
            out.append(rest)
        return out

    def _combos(self, subst: dict[str, list[_Alt]]) -> tuple[list[dict[str, _Alt]], bool]:
        """Choices of one alternative per substituted column, row-coherent: the columns of one
        temporary table take the alternatives written by the same statement (branch) together,
        never a column of one UNION branch with a column of another. Bool: combinations cut."""
        if not any(subst.values()):
            return [{}], False
        groups: dict[str, list[str]] = {}
        for name, alts in subst.items():
            if alts:
                hit = self._temp_col(name)
                groups.setdefault(hit[0] if hit else name, []).append(name)
        per_group: list[list[dict[str, _Alt]]] = []
        cut = False
        for names in groups.values():
            options: list[dict[str, _Alt]] = []
            seen: set[tuple[int, ...]] = set()
            for origin in dict.fromkeys(a.origin for n in names for a in subst[n]):
                lists = [[a for a in subst[n] if a.origin == origin] or subst[n] for n in names]
                for combo in itertools.product(*lists):
                    key = tuple(id(a) for a in combo)
                    if key in seen:
                        continue
                    seen.add(key)
                    if len(options) >= _MAX_ALTERNATIVES:
                        cut = True
                        break
                    options.append(dict(zip(names, combo, strict=True)))
            per_group.append(options)
        combos: list[dict[str, _Alt]] = []
        for pick in itertools.product(*per_group):
            if len(combos) >= _MAX_ALTERNATIVES:
                cut = True
                break
            merged: dict[str, _Alt] = {}
            for d in pick:
                merged.update(d)
            combos.append(merged)
        return combos, cut

    # ------------------------------------------------------------------ output
    def _edges(self) -> tuple[ColumnEdge, ...]:
        edges: list[ColumnEdge] = []
        for target, col in self.final.items():
            alts = _distinct(col.alts) if len(col.alts) > 1 else col.alts
            for a in alts:
                edges.append(
                    ColumnEdge(
                        target,
                        tuple(sorted(a.sources)),
                        "direct",
                        a.expression(),
                        a.conf,
                        a.subtype,
                        formula=a.tree.text() if a.tree is not None else "",
                        steps=a.steps,
                    )
                )
            if col.indirect:
                conf = min((a.conf for a in col.alts), default=1.0)
                steps = tuple(sorted(col.steps))
                for sub, cols in col.indirect.items():
                    if cols:
                        kind_sub = "" if sub == "indirect" else sub
                        edges.append(
                            ColumnEdge(
                                target, tuple(sorted(cols)), "indirect", "", conf, kind_sub, steps=steps
                            )
                        )
        return tuple(edges)


def _distinct(alts: list[_Alt]) -> list[_Alt]:
    """Branches of one statement computing the same value from the same columns: one edge."""
    same: dict[tuple[str, tuple[str, ...], tuple[int, ...]], _Alt] = {}
    out: list[_Alt] = []
    for a in alts:
        formula = a.tree.text() if a.tree is not None else ""
        key = (formula, tuple(sorted(a.sources)), a.steps)
        kept = same.get(key) if formula else None
        if kept is None:
            kept = _Alt(dict(a.sources), a.tree, a.steps, list(a.exprs), a.conf, a.subtype)
            if formula:
                same[key] = kept
            out.append(kept)
        else:
            kept.exprs.extend(x for x in a.exprs if x not in kept.exprs)
    return out


def _merge_alts(alts: list[_Alt]) -> list[_Alt]:
    keep = alts[: _MAX_ALTERNATIVES - 1]
    rest = _Alt({}, None, ())
    for a in alts[_MAX_ALTERNATIVES - 1 :]:
        rest.sources.update(a.sources)
        rest.steps = _steps(rest.steps, a.steps)
        rest.conf = min(rest.conf, a.conf)
    return [*keep, rest]


def _substitute(formula: Formula | None, chosen: Mapping[str, _Alt]) -> Formula | None:
    """`formula` with the references in `chosen` replaced by their formulas (sqlglot transform)."""
    if formula is None or not chosen:
        return formula
    if not formula.ref_names() & chosen.keys():
        return formula
    missing = False

    def swap(node: exp.Expr) -> exp.Expr:
        nonlocal missing
        if isinstance(node, exp.Var) and node.name in chosen:
            alt = chosen[node.name]
            if alt.tree is None:
                missing = True
                return node
            return wrap(alt.tree.tree().copy(), node.parent)
        return node

    out = formula.transformed(swap)
    return None if missing else Formula.of_tree(out, formula.dialect)


def rollup(
    statements: Sequence[StatementLineage],
    temp_tables: Iterable[str] = (),
    *,
    trees: Trees | None = None,
    dialect: str = "",
) -> ScriptLineage:
    """End-to-end lineage of the script: temporary tables collapsed, formulas composed.

    Only temporary objects are collapsed (#t, ##t, @t, DECLARE @t TABLE, CREATE TEMP/TEMPORARY/
    VOLATILE TABLE, SELECT INTO #t, Spark CACHE TABLE): a permanent table written and read in one
    file is a real object, so it stays a source and a target. At column level an edge into #t.c
    followed by an edge out of #t.c becomes one edge from the roots of #t.c into the target, its
    formula the target's with #t.c replaced by #t.c's formula; the columns that shaped #t's rows
    (filters, joins) become indirect sources of what is computed from it. A statement reading
    the column it writes (`SET x += y`) after an earlier write of it in the same routine composes
    with that write (`(<earlier>) + y`); other writers of one column stay separate alternatives
    (one direct edge each, with the statements that contributed as `steps`). Re-creating,
    dropping or truncating a temporary table starts its columns afresh."""
    statements = apply_renames(statements)
    temps = _temporaries(statements, temp_tables)
    sources: dict[str, None] = {}
    targets: dict[str, None] = {}
    for st in statements:
        if st.type in ("drop", "truncate"):
            continue
        sources.update((t, None) for t in (*st.source_tables, *st.source_paths) if t not in temps)
        targets.update((t, None) for t in (*st.target_tables, *st.target_paths) if t not in temps)
    edges = _Rollup(statements, temps, trees or {}, dialect).run()
    return ScriptLineage(tuple(sources), tuple(targets), edges)


def _new_scope(st: StatementLineage, written: list[str], owner: dict[str, str | None]) -> list[str]:
    """Temporary tables ``st`` writes whose earlier rows belong to another routine: a routine's
    temporary table is its own (created and dropped with each call), so what another routine
    put in a table of the same name never flows into this one."""
    fresh = [t for t in written if t in owner and owner[t] != st.process]
    for t in written:
        owner[t] = st.process
    return fresh


def table_flows(
    statements: Sequence[StatementLineage], temp_tables: Iterable[str] = ()
) -> list[tuple[str, str, int]]:
    """The script's table-level data flow with temporary tables collapsed, statement by
    statement: (source, target, statement index) for each persistent table a statement writes
    and each table it reads, a temporary table read standing for the tables its rows came from
    earlier in the script (the same collapse as `rollup`, at table level, with the statement
    that moves the data as provenance). Dropping or truncating a temporary table empties it."""
    temps = _temporaries(statements, temp_tables)
    held: dict[str, dict[str, None]] = {}
    out: dict[tuple[str, str, int], None] = {}
    owner: dict[str, str | None] = {}
    for st in statements:
        written = [t for t in st.target_tables if t in temps]
        for t in _new_scope(st, written, owner):
            held.pop(t, None)
        if st.type in ("drop", "truncate", "create_table") or (st.type == "create_view" and written):
            for t in written:
                held.pop(t, None)
            if st.type in ("drop", "truncate"):
                continue
        read: dict[str, None] = {}
        for s in st.source_tables:
            read.update(held.get(s, {}) if s in temps else {s: None})
        for t in st.target_tables:
            if t in temps:
                held.setdefault(t, {}).update(read)
            else:
                out.update(((s, t, st.index), None) for s in read if s != t)
    return list(out)

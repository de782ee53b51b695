"""`explain_column`: how one column is computed, as one formula with its evidence.

The formula of a column is the engine's rollup formula stored on its incoming direct edges
(temporary tables, table variables, CTEs, derived tables, `SELECT … INTO`, MERGE `USING`
subqueries and earlier writes of the same routine already substituted away, C3). Each writer of
the column (a statement, or several composed in sequence) is one formula; other writers (MERGE
branches, other procedures) are listed as `alternatives`, never dropped. `steps` are the
statements that contributed, in data-flow order, each with its original text and true lines read
from the stored file, and the expression that statement computes for what the chain reads of it
(`step_formulas`: the statement's text analysed on its own).

`through="all"` goes on through views and persistent tables: every source column that is itself
written by a statement is replaced, inside the formula, by its own formula (sqlglot expression
substitution), down to the leaves. The upstream edges come from THE column walk
(`query.lineage.column_walk` → `store.graph.traverse`: one recursive CTE, the column walk's
defaults — full closure, direct edges (the API's `edge_kind` default for column walks), the node
cap with `truncated`/`omitted`), so explain, the lineage API and the chat see the same upstream
columns; the formulas are then composed in memory from the walk's edges. The chat, the page and exports use this one function.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import sqlglot
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, aliased
from sqlglot import exp
from sqlglot.errors import SqlglotError

from finlineage.query.catalog import resolve_column
from finlineage.query.common import Scope, chunks, parse_steps
from finlineage.query.evidence import SourceReader, content_link
from finlineage.query.governance import check_version
from finlineage.query.lineage import COLUMN_WALK_KINDS, MAX_NODES, column_walk
from finlineage.query.schemas import ExplainAlternative, ExplainOut, ExplainStep
from finlineage.query.step_formulas import chain_expressions
from finlineage.store.graph import DEFAULT_STATUSES, GraphEdge, Traversal
from finlineage.store.models import VISIBLE_STATUSES, CatalogObject, Column, ColumnEdge, File, Statement
from finlineage.store.versions import edge_visibility

Through = Literal["persistent", "all"]
MAX_ALTERNATIVES = 50
MAX_FORMULA_CHARS = 20_000
"""A composed formula stops expanding upstream columns past this size (then `truncated`)."""


@dataclass(slots=True)
class _Writer:
    """One way a column is written: the edges of one rollup edge (same statement and formula)."""

    target_id: int
    target: str
    kind: str
    formula: str
    expression: str | None
    file_id: int | None
    file: str | None
    dialect: str | None
    statement_index: int | None
    line_start: int | None
    line_end: int | None
    steps: tuple[int, ...]
    sources: dict[int, str] = field(default_factory=dict)
    """source column id → qualified name."""

    @property
    def key(self) -> tuple[str, int]:
        return (self.file or "", self.statement_index if self.statement_index is not None else -1)


def _writers(
    session: Session,
    column_ids: Collection[int],
    *,
    statuses: Collection[str] | None,
    as_of: int | None,
) -> dict[int, list[_Writer]]:
    """Direct writers of each column (one query per 500 columns)."""
    src_c = aliased(Column, name="src_c")
    src_o = aliased(CatalogObject, name="src_o")
    tgt_c = aliased(Column, name="tgt_c")
    tgt_o = aliased(CatalogObject, name="tgt_o")
    out: dict[int, dict[tuple[Any, ...], _Writer]] = {}
    for part in chunks(sorted(set(column_ids))):
        rows = session.execute(
            select(
                ColumnEdge.target_column_id,
                ColumnEdge.source_column_id,
                src_o.canonical_id.label("src_obj"),
                src_c.name.label("src_col"),
                tgt_o.canonical_id.label("tgt_obj"),
                tgt_c.name.label("tgt_col"),
                ColumnEdge.kind,
                ColumnEdge.formula,
                ColumnEdge.expression,
                ColumnEdge.steps,
                ColumnEdge.file_id,
                File.path,
                File.dialect,
                ColumnEdge.statement_index,
                ColumnEdge.line_start,
                ColumnEdge.line_end,
            )
            .join(src_c, src_c.id == ColumnEdge.source_column_id)
            .join(src_o, src_o.id == src_c.object_id)
            .join(tgt_c, tgt_c.id == ColumnEdge.target_column_id)
            .join(tgt_o, tgt_o.id == tgt_c.object_id)
            .outerjoin(File, File.id == ColumnEdge.file_id)
            .where(
                ColumnEdge.target_column_id.in_(part),
                ColumnEdge.kind == "direct",
                edge_visibility(ColumnEdge, statuses=statuses, as_of=as_of),
            )
            .order_by(ColumnEdge.id)
        )
        for r in rows:
            key = (r.file_id, r.statement_index, r.formula or r.expression or "", r.steps or "")
            bucket = out.setdefault(int(r.target_column_id), {})
            w = bucket.get(key)
            if w is None:
                w = bucket[key] = _Writer(
                    target_id=int(r.target_column_id),
                    target=f"{r.tgt_obj}.{r.tgt_col}",
                    kind=r.kind,
                    formula=r.formula or "",
                    expression=r.expression,
                    file_id=r.file_id,
                    file=r.path,
                    dialect=r.dialect,
                    statement_index=r.statement_index,
                    line_start=r.line_start,
                    line_end=r.line_end,
                    steps=tuple(parse_steps(r.steps)),
                )
            w.sources[int(r.source_column_id)] = f"{r.src_obj}.{r.src_col}"
    return {cid: sorted(ws.values(), key=lambda w: w.key) for cid, ws in out.items()}


def _walk_writers(session: Session, t: Traversal) -> dict[int, list[_Writer]]:
    """Direct writers of every column of the walk ``t``, from the walk's own edges (plus one
    query for the files' paths and dialects). Grouped exactly as `_writers` groups edge rows."""
    names = {n.id: n.canonical_id for n in t.nodes}
    direct: list[GraphEdge] = [e for e in t.edges if e.kind == "direct"]
    files: dict[int | None, tuple[str | None, str | None]] = {}
    for part in chunks(sorted({e.file_id for e in direct if e.file_id is not None})):
        for row in session.execute(select(File.id, File.path, File.dialect).where(File.id.in_(part))):
            files[int(row.id)] = (row.path, row.dialect)
    out: dict[int, dict[tuple[Any, ...], _Writer]] = {}
    for e in direct:  # edge id order, as `_writers`
        key = (e.file_id, e.statement_index, e.formula or e.expression or "", " ".join(map(str, e.steps)))
        bucket = out.setdefault(e.target_id, {})
        w = bucket.get(key)
        if w is None:
            path, dialect = files.get(e.file_id, (None, None))
            w = bucket[key] = _Writer(
                target_id=e.target_id,
                target=names[e.target_id],
                kind=e.kind,
                formula=e.formula or "",
                expression=e.expression,
                file_id=e.file_id,
                file=path,
                dialect=dialect,
                statement_index=e.statement_index,
                line_start=e.line_start,
                line_end=e.line_end,
                steps=e.steps,
            )
        w.sources[e.source_id] = names[e.source_id]
    return {cid: sorted(ws.values(), key=lambda w: w.key) for cid, ws in out.items()}


def _own_formula(w: _Writer) -> str:
    """The writer's formula; without a stored rollup formula, its one source (a copy) or the
    parser's expression."""
    if w.formula:
        return w.formula
    if len(w.sources) == 1 and not w.expression:
        return next(iter(w.sources.values()))
    return w.expression or ", ".join(sorted(w.sources.values()))


def _dialect(name: str | None) -> str | None:
    if not name or name in ("auto", "ansi"):
        return None
    return name


def _substitute(formula: str, replacements: dict[str, str], dialect: str | None) -> str:
    """`formula` with each column reference named in ``replacements`` (qualified, any case)
    replaced by its own formula (parenthesised)."""
    wanted = {k.lower(): v for k, v in replacements.items() if v and v.lower() != k.lower()}
    if not wanted:
        return formula
    try:
        tree = sqlglot.parse_one(formula, read=dialect)
    except (SqlglotError, ValueError):
        return formula
    parsed: dict[str, exp.Expr] = {}

    def swap(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Column):
            name = ".".join(p.name for p in node.parts).lower()
            repl = wanted.get(name)
            if repl is not None:
                if name not in parsed:
                    try:
                        parsed[name] = sqlglot.parse_one(repl, read=dialect)
                    except (SqlglotError, ValueError):
                        return node
                sub = parsed[name].copy()
                atomic = isinstance(sub, exp.Column | exp.Paren | exp.Func | exp.Literal)
                return sub if atomic else exp.Paren(this=sub)
        return node

    try:
        return tree.transform(swap).sql(dialect=dialect)
    except (SqlglotError, ValueError):
        return formula


class _Explainer:
    def __init__(
        self,
        session: Session,
        *,
        data_dir: Path | None,
        statuses: Collection[str] | None,
        as_of: int | None,
        max_nodes: int | None,
    ) -> None:
        self.session = session
        self.sources = SourceReader(session, data_dir) if data_dir is not None else None
        self.statuses = statuses
        self.as_of = as_of
        self.max_nodes = max_nodes
        self.truncated = False
        self.omitted = 0
        self.spans: dict[tuple[int, int], tuple[int, int, str, str | None]] = {}

    # ---------------------------------------------------------------- upstream writers

    def upstream(self, column_id: int) -> dict[int, list[_Writer]]:
        """Writers of ``column_id`` and of every column upstream of it: THE column walk (one
        recursive CTE, the lineage API's defaults for a column), its edges grouped into writers.

        At the node cap the walk keeps only edges between the columns it kept; a kept column
        one hop short of the cut may also be written from a column left out, so the writers of
        the last two hop levels are read whole (one batched read): a column left out is a leaf."""
        t = column_walk(
            self.session,
            column_id,
            "upstream",
            kinds=COLUMN_WALK_KINDS,
            statuses=self.statuses,
            as_of=self.as_of,
            max_nodes=self.max_nodes,
        )
        known = _walk_writers(self.session, t)
        if t.truncated:
            self.truncated = True
            self.omitted = t.omitted
            last = max((n.hop for n in t.nodes), default=0)
            edge = [n.id for n in t.nodes if n.hop >= last - 1]
            found = _writers(self.session, edge, statuses=self.statuses, as_of=self.as_of)
            for cid in edge:
                known.pop(cid, None)
            known.update(found)
        return known

    def compose(
        self,
        w: _Writer,
        known: dict[int, list[_Writer]],
        pick: dict[int, _Writer] | None = None,
    ) -> tuple[str, dict[str, None], list[_Writer]]:
        """(formula down to the leaves, leaf sources, writers in data-flow order). An upstream
        column written several ways uses its first writer, or the one ``pick`` names. Each column
        is composed once per call (a shared upstream column is not expanded again per path), and
        a formula that would pass ``MAX_FORMULA_CHARS`` keeps the column it would expand as a
        leaf instead (``truncated``): formulas of wide view chains grow exponentially."""
        memo: dict[int, tuple[str, dict[str, None], dict[int, _Writer]]] = {}
        formula, leaves, chain = self._compose(w, known, frozenset(), pick or {}, memo)
        return formula, leaves, list(chain.values())

    def _compose(
        self,
        w: _Writer,
        known: dict[int, list[_Writer]],
        trail: frozenset[int],
        pick: dict[int, _Writer],
        memo: dict[int, tuple[str, dict[str, None], dict[int, _Writer]]],
    ) -> tuple[str, dict[str, None], dict[int, _Writer]]:
        if w.target_id in memo:
            return memo[w.target_id]
        replacements: dict[str, str] = {}
        leaves: dict[str, None] = {}
        chain: dict[int, _Writer] = {}  # by identity: each writer object once, in data-flow order
        budget = MAX_FORMULA_CHARS
        for sid, name in sorted(w.sources.items(), key=lambda kv: kv[1]):
            ups = known.get(sid)
            if not ups or sid in trail:
                if sid in trail:
                    self.truncated = True
                leaves[name] = None
                continue
            chosen = pick.get(sid, ups[0])
            sub_formula, sub_leaves, sub_chain = self._compose(
                chosen, known, trail | {w.target_id}, pick, memo
            )
            if len(sub_formula) > budget:
                self.truncated = True
                leaves[name] = None
                continue
            budget -= len(sub_formula)
            replacements[name] = sub_formula
            leaves.update(sub_leaves)
            chain.update(sub_chain)
        formula = _substitute(_own_formula(w), replacements, _dialect(w.dialect))
        chain[id(w)] = w
        memo[w.target_id] = (formula, leaves, chain)
        return formula, leaves, chain

    # ---------------------------------------------------------------- evidence

    def load_spans(self, writers: Sequence[_Writer]) -> None:
        wanted = {(w.file_id, i) for w in writers if w.file_id is not None for i in self._indexes(w)}
        by_file: dict[int, list[int]] = {}
        for fid, idx in wanted:
            by_file.setdefault(fid, []).append(idx)
        conds = [
            and_(Statement.file_id == fid, Statement.statement_index.in_(ix)) for fid, ix in by_file.items()
        ]
        for part in chunks(conds, 50):
            for row in self.session.execute(
                select(
                    Statement.file_id,
                    Statement.statement_index,
                    Statement.line_start,
                    Statement.line_end,
                    Statement.type,
                    Statement.target,
                ).where(or_(*part))
            ):
                self.spans[(int(row[0]), int(row[1]))] = (int(row[2]), int(row[3]), row[4], row[5])

    @staticmethod
    def _indexes(w: _Writer) -> tuple[int, ...]:
        if w.steps:
            return w.steps
        return (w.statement_index,) if w.statement_index is not None else ()

    def steps(self, writers: Sequence[_Writer]) -> list[ExplainStep]:
        """Each statement of each writer once, with its original text and the expression it
        computes for what the chain reads of it (`step_formulas.chain_expressions`)."""
        out: list[ExplainStep] = []
        seen: set[tuple[int | None, int | None]] = set()
        for w in writers:
            rows: list[tuple[int | None, bool, str | None, str, int | None, int | None, str | None]] = []
            for idx in self._indexes(w) or (None,):
                final = idx == w.statement_index or idx is None
                span = self.spans.get((w.file_id, idx)) if w.file_id is not None and idx is not None else None
                if not final and span is None:
                    continue
                ls, le = (span[0], span[1]) if span else (w.line_start, w.line_end)
                target = w.target if final else (span[3] if span else None)
                kind = w.kind if final else (span[2] if span else "statement")
                text = self.sources.text(w.file_id, ls, le) if self.sources else None
                rows.append((idx, final, target, kind, ls, le, text))
            exprs = chain_expressions(
                [r[6] for r in rows],
                w.dialect,
                w.target,
                [w.target.rpartition(".")[0] if r[1] else r[2] for r in rows],
            )
            for (idx, final, target, kind, ls, le, text), expr in zip(rows, exprs, strict=True):
                if (w.file_id, idx) in seen:
                    continue
                seen.add((w.file_id, idx))
                if expr is None and final:
                    expr = _own_formula(w) or None
                out.append(
                    ExplainStep(
                        target=target,
                        expression=expr,
                        kind=kind,
                        file=w.file,
                        file_id=w.file_id,
                        line_start=ls,
                        line_end=le,
                        source_text=text,
                        content_url=content_link(w.file_id, ls, le),
                        statement_index=idx,
                    )
                )
        return out


def explain_column(
    session: Session,
    scope: Scope,
    ref: str | int,
    *,
    through: Through = "persistent",
    as_of: int | None = None,
    statuses: Collection[str] | None = DEFAULT_STATUSES,
    data_dir: Path | None = None,
    max_nodes: int | None = MAX_NODES,
) -> ExplainOut:
    """How ``ref`` (`schema.table.column` or a column id) is computed: one formula over base
    columns, the statements that contributed (original text, true lines), and the other writers
    as alternatives. ``through="all"`` composes through views and persistent tables too."""
    col = resolve_column(session, ref, project_id=scope.project_id)
    check_version(session, col.object.project_id, as_of)
    owner = session.get(CatalogObject, col.object_id)
    name = f"{owner.canonical_id}.{col.name}" if owner is not None else str(ref)
    if statuses is None:  # the visibility rule's default (`edge_visibility`), for the walk too
        statuses = VISIBLE_STATUSES
    ex = _Explainer(session, data_dir=data_dir, statuses=statuses, as_of=as_of, max_nodes=max_nodes)
    if through == "all":
        known = ex.upstream(col.id)
        # the column's own writers are the answer's writers; a source that is the column itself
        # (`SET x += y`, a cycle back to it) stays a leaf
        writers = known.pop(col.id, [])
    else:  # the column's own writers only: one batched edge read, no walk
        known = {}
        writers = _writers(session, [col.id], statuses=statuses, as_of=as_of).get(col.id, [])
    if not writers:  # a base column: nothing writes it
        return ExplainOut(column=name, formula=name, sources=[name], steps=[], through=through)
    composed: list[tuple[str, list[str], list[_Writer]]] = []
    for w in writers:
        if through == "all":
            formula, leaves, chain = ex.compose(w, known)
            composed.append((formula, sorted(leaves), chain))
        else:
            composed.append((_own_formula(w), sorted(set(w.sources.values())), [w]))
    if through == "all":  # upstream columns written several ways: each other way is an alternative
        for up in composed[0][2]:
            for other in known.get(up.target_id, [])[1:]:
                if len(composed) > MAX_ALTERNATIVES:
                    ex.truncated = True
                    break
                formula, leaves, chain = ex.compose(writers[0], known, pick={up.target_id: other})
                composed.append((formula, sorted(leaves), chain))
    ex.load_spans([x for _, _, chain in composed for x in chain])
    if ex.sources is not None:
        ex.sources.prefetch([x.file_id for _, _, chain in composed for x in chain])
    (formula, sources, chain), *others = composed
    return ExplainOut(
        column=name,
        formula=formula,
        sources=sources,
        steps=ex.steps(chain),
        alternatives=[ExplainAlternative(formula=f, sources=s, steps=ex.steps(c)) for f, s, c in others],
        through=through,
        truncated=ex.truncated,
        omitted=ex.omitted,
    )

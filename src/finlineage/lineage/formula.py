"""Formulas: the value written into a target column as one SQL expression over qualified columns.

A statement's formula for a target column is the expression that computes it, with every column
reference replaced by the qualified name of the column it reads (`core.positions.qty`, or
`#pos.value_base` for a temporary table) and every CTE / derived-table column replaced by the
expression that computes it inside that CTE or derived table. References are `exp.Var` nodes
named by the qualified column (flagged with `REF`), so the rollup can substitute temporary
columns and earlier writes away with `exp.Expr.transform` and render the result in the dialect.

`statement_formulas` reads the statement kinds that write columns: INSERT ... SELECT/VALUES,
CREATE TABLE ... AS, SELECT ... INTO, UPDATE ... SET and MERGE (one alternative per WHEN
branch). A UNION feeding a target gives no formula (its branches are alternatives the edge
merges). Best effort: a column that cannot be placed stays as written.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from typing import TypeVar

from sqlglot import exp
from sqlglot.errors import OptimizeError
from sqlglot.optimizer.scope import Scope, build_scope

from finlineage.lineage.model import ColumnEdge
from finlineage.lineage.names import dialect_of

__all__ = [
    "REF",
    "Formula",
    "attach",
    "column_ref",
    "projection_trees",
    "refs",
    "render",
    "statement_formulas",
    "wrap",
]

REF = "lineage_ref"
"""`meta` flag of a qualified column reference in a formula tree."""

Formulas = dict[str, list["Formula | None"]]
"""target column -> formulas of its writers in this statement, in statement order."""

_T = TypeVar("_T")

_MAX_DEPTH = 32


def column_ref(name: str) -> exp.Var:
    """A qualified column reference `name` (rendered verbatim)."""
    v = exp.Var(this=name)
    v.meta[REF] = True
    return v


def refs(tree: exp.Expr) -> Iterator[exp.Var]:
    """The qualified column references of a formula tree."""
    if isinstance(tree, exp.Var):  # find_all includes the node itself, but a ref is common
        if tree.meta.get(REF):
            yield tree
        return
    for node in tree.find_all(exp.Var):
        if node.meta.get(REF):
            yield node


def render(tree: exp.Expr, dialect: str) -> str:
    return dialect_of(dialect).generate(tree, copy=False)


class Formula:
    """One formula: a node of the analysed statement plus the column references to put in place
    of some of its columns. Rendered by swapping them in, generating SQL and swapping back (no
    copy of the statement); a tree of its own is made only when the rollup or the variable flow
    has to substitute into it."""

    __slots__ = ("_text", "_tree", "dialect", "node", "swaps")

    def __init__(self, node: exp.Expr, swaps: list[tuple[exp.Expr, exp.Expr]], dialect: str) -> None:
        self.node = node
        self.swaps = swaps
        self.dialect = dialect
        self._text: str | None = None
        self._tree: exp.Expr | None = None

    @classmethod
    def of_tree(cls, tree: exp.Expr, dialect: str) -> Formula:
        f = cls(tree, [], dialect)
        f._tree = tree
        return f

    @classmethod
    def ref(cls, name: str, dialect: str) -> Formula:
        return cls.of_tree(column_ref(name), dialect)

    def text(self) -> str:
        if self._text is None:
            self._text = self._swapped(lambda top: render(top, self.dialect))
        return self._text

    def tree(self) -> exp.Expr:
        """The formula as an expression tree of its own (references as `column_ref` nodes)."""
        if self._tree is None:
            self._tree = self._swapped(lambda top: top.copy())
        return self._tree

    def ref_names(self) -> set[str]:
        """Qualified columns the formula reads."""
        if self._tree is not None:
            return {r.name for r in refs(self._tree)}
        return {r.name for _, rep in self.swaps for r in refs(rep)}

    def transformed(self, fn: Callable[[exp.Expr], exp.Expr]) -> exp.Expr:
        """A new tree: the formula with `fn` applied to every node (one copy)."""
        if self._tree is not None:
            return self._tree.transform(fn)
        return self._swapped(lambda top: top.transform(fn))

    def _swapped(self, fn: Callable[[exp.Expr], _T]) -> _T:
        top = self.node
        applied: list[tuple[exp.Expr, exp.Expr]] = []
        try:
            for orig, rep in self.swaps:
                if orig is self.node:
                    top = rep
                    continue
                orig.replace(rep)
                applied.append((orig, rep))
            return fn(top)
        finally:
            for orig, rep in reversed(applied):
                rep.replace(orig)


def attach(
    stmt: exp.Expr,
    edges: list[ColumnEdge],
    targets: list[str],
    name_of: Callable[[exp.Table], str],
    dialect: str,
    variables: frozenset[str] = frozenset(),
    scopes: Mapping[int, tuple[exp.Expr, Scope]] | None = None,
) -> tuple[list[ColumnEdge], dict[int, list[Formula]]]:
    """`edges` with `formula` filled on direct edges, and the formula trees by edge position.

    A plain copy of one column is that column; other direct edges get the statement's formula
    for their target (the k-th direct edge of a target gets its k-th writer, e.g. MERGE WHENs).
    An edge fed by a set operation gets one tree per branch and no single formula."""
    direct = [e for e in edges if e.kind == "direct"]
    if not direct:
        return edges, {}
    needs = any(not (e.subtype == "IDENTITY" and len(e.sources) == 1) for e in direct)
    formulas: Formulas = {}
    if needs:
        hints = frozenset(s for e in direct for s in e.sources)
        try:
            need = frozenset(
                e.target for e in direct if not (e.subtype == "IDENTITY" and len(e.sources) == 1)
            )
            prefix = targets[0] + "." if targets else ""
            columns = list(
                dict.fromkeys(e.target[len(prefix) :] for e in direct if e.target.startswith(prefix))
            )
            formulas = statement_formulas(
                stmt, targets, name_of, hints, variables, dialect, need, scopes, columns if prefix else None
            )
        except (OptimizeError, ValueError, KeyError, AttributeError, TypeError, RecursionError):
            formulas = {}
    out: list[ColumnEdge] = []
    trees: dict[int, list[Formula]] = {}
    remaining = Counter(e.target for e in direct)
    for pos, e in enumerate(edges):
        if e.kind == "direct":
            got: list[Formula] = []
            pending = formulas.get(e.target)
            if pending:
                remaining[e.target] -= 1
                # the last edge of a target takes all remaining writers (UNION branches)
                taken = pending[:] if remaining[e.target] <= 0 else [pending[0]]
                del pending[: len(taken)]
                got = [f for f in taken if f is not None]
            if not got and e.subtype == "IDENTITY" and len(e.sources) == 1:
                got = [Formula.ref(e.sources[0], dialect)]
            if got:
                trees[pos] = got
                if len(got) == 1:
                    e = replace(e, formula=got[0].text())
        out.append(e)
    return out, trees


def _atomic(node: exp.Expr) -> bool:
    return isinstance(node, (exp.Column, exp.Var, exp.Literal, exp.Func, exp.Paren, exp.Null, exp.Boolean))


def wrap(node: exp.Expr, parent: exp.Expr | None) -> exp.Expr:
    """`node` put in place of a child of `parent`: parenthesised when it is not atomic and the
    parent is an operator (`(a + b) * c`), bare inside function calls and at the top."""
    if _atomic(node) or not isinstance(parent, (exp.Binary, exp.Unary)):
        return node
    return exp.Paren(this=node)


class _Qualifier:
    def __init__(
        self,
        name_of: Callable[[exp.Table], str],
        hints: frozenset[str],
        variables: frozenset[str] = frozenset(),
        dialect: str = "",
    ) -> None:
        self.name_of = name_of
        self.hints = hints
        self.dialect = dialect
        self.need: frozenset[str] | None = None
        """Target columns whose formulas are wanted (None: all)."""
        self.variables = variables
        """Routine parameters/variables: a bare such name no source surely has stays as written."""
        self.row_tables: Mapping[str, str] = {}
        """Trigger row records (new/old) -> the table the trigger fires on."""
        """Qualified source columns the analysis found (disambiguate unqualified columns)."""
        self.by_expr: dict[int, Scope] = {}
        self.scopes: Mapping[int, tuple[exp.Expr, Scope]] = {}
        """Scope trees the analysis built, by id of their query."""

    def root(self, query: exp.Expr) -> Scope | None:
        """The scope tree of `query`: the analysis's own when it built one for this node."""
        hit = self.scopes.get(id(query))
        if hit is not None and hit[0] is query:
            return hit[1]
        return _root(query)

    def index(self, root: Scope) -> None:
        for s in root.traverse():
            self.by_expr[id(s.expression)] = s

    def add(self, out: Formulas, key: str, node: exp.Expr, scope: Scope | None) -> None:
        """The formula of `node` for target column `key` (None when nobody needs it)."""
        out.setdefault(key, []).append(
            self.plan(node, scope) if self.need is None or key in self.need else None
        )

    def plan(self, node: exp.Expr, scope: Scope | None) -> Formula:
        """`node` (of the analysed statement, left untouched) with its columns qualified."""
        if isinstance(node, exp.Alias):
            node = node.this
        swaps: list[tuple[exp.Expr, exp.Expr]] = []
        if scope is not None:
            for orig in node.walk():
                new = self._row_field(orig)
                if new is None and isinstance(orig, exp.Column) and not isinstance(orig.this, exp.Star):
                    at = self._scope_of(orig, node, scope)
                    new = self.column(orig, at, 0) if at is not None else None
                if new is not None:
                    swaps.append((orig, new if orig is node else wrap(new, orig.parent)))
        return Formula(node, swaps, self.dialect)

    def qualify(self, node: exp.Expr, scope: Scope | None, depth: int = 0) -> exp.Expr:
        """A copy of `node` with its columns qualified (CTE/derived columns expanded)."""
        if isinstance(node, exp.Alias):
            node = node.this
        copy = node.copy()
        if scope is None or depth > _MAX_DEPTH:
            return copy
        originals = list(node.walk())
        copies = list(copy.walk())
        if len(originals) != len(copies):
            return copy
        replacements: list[tuple[exp.Expr, exp.Expr]] = []
        for orig, dup in zip(originals, copies, strict=True):
            row = self._row_field(orig)
            if row is not None:
                replacements.append((dup, row))
                continue
            if isinstance(orig, exp.Column) and not isinstance(orig.this, exp.Star):
                at = self._scope_of(orig, node, scope)
                new = self.column(orig, at, depth) if at is not None else None
                if new is not None:
                    replacements.append((dup, wrap(new, dup.parent)))
        for dup, new in replacements:
            if dup is copy:
                return new
            dup.replace(new)
        return copy

    def _row_field(self, node: exp.Expr) -> exp.Expr | None:
        """Oracle `:NEW.c` (a placeholder and a field) as the trigger table's column."""
        if not self.row_tables or not isinstance(node, exp.Dot) or not isinstance(node.this, exp.Placeholder):
            return None
        table = self.row_tables.get(str(node.this.name).lower())
        field = node.expression
        if table and isinstance(field, exp.Identifier):
            return column_ref(f"{table}.{field.name}")
        return None

    def _scope_of(self, col: exp.Column, top: exp.Expr, scope: Scope) -> Scope | None:
        """The scope a column is evaluated in: its nearest enclosing query inside `top` (None:
        a query whose scopes were not built, whose columns stay as written)."""
        node = col.parent
        while node is not None and node is not top:
            if isinstance(node, exp.Select):
                return self.by_expr.get(id(node))
            node = node.parent
        return scope

    def column(self, col: exp.Column, scope: Scope, depth: int) -> exp.Expr | None:
        name = col.name
        if col.table and col.table.lower() in self.row_tables and col.table not in scope.sources:
            return column_ref(f"{self.row_tables[col.table.lower()]}.{name}")
        s: Scope | None = scope
        while s is not None:
            src = self._source(col, name, s)
            if src is not None:
                if isinstance(src, exp.Table):
                    return column_ref(f"{self.name_of(src)}.{name}")
                return self._derived(src, name, depth)
            s = s.parent if (s.is_subquery or s.is_correlated_subquery or s.is_udtf) else None
        return None

    def _source(self, col: exp.Column, name: str, scope: Scope) -> exp.Table | Scope | None:
        if col.table:
            src = scope.sources.get(col.table)
            return src if isinstance(src, (exp.Table, Scope)) else None
        cands = [v for v in scope.selected_sources.values() if isinstance(v[1], (exp.Table, Scope))]
        if name.lower() in self.variables:
            for _, src in cands:
                if isinstance(src, exp.Table) and f"{self.name_of(src)}.{name}" in self.hints:
                    return src
            return None
        if len(cands) == 1:
            return cands[0][1]
        found: list[exp.Table | Scope] = []
        for _, src in cands:
            if isinstance(src, exp.Table):
                if f"{self.name_of(src)}.{name}" in self.hints:
                    found.append(src)
            elif isinstance(src.expression, exp.Select) and name in src.expression.named_selects:
                found.append(src)
        return found[0] if len(found) == 1 else None

    def _derived(self, src: Scope, name: str, depth: int) -> exp.Expr | None:
        query = src.expression
        if isinstance(query, exp.Lateral) and isinstance(query.this, exp.Subquery):
            inner = self.by_expr.get(id(query.this.unnest()))  # LATERAL (subquery)
            return self._derived(inner, name, depth) if inner is not None else None
        if not isinstance(query, exp.Select):
            return None
        holder = query.parent  # `(...) AS d (a, b)` / `WITH c (a, b) AS`: names by position
        alias = holder.args.get("alias") if isinstance(holder, (exp.Subquery, exp.CTE)) else None
        listed = [c.name for c in alias.columns] if isinstance(alias, exp.TableAlias) else []
        if name in listed and listed.index(name) < len(query.selects):
            return self.qualify(query.selects[listed.index(name)], src, depth + 1)
        for proj in query.selects:
            if proj.alias_or_name == name:
                return self.qualify(proj, src, depth + 1)
        return None


def _root(query: exp.Expr) -> Scope | None:
    try:
        return build_scope(query)
    except (OptimizeError, ValueError, KeyError, AttributeError, TypeError):
        return None


def _query_of(node: exp.Expr | None) -> exp.Expr | None:
    while isinstance(node, exp.Subquery):
        node = node.this
    return node


def statement_formulas(
    stmt: exp.Expr,
    targets: list[str],
    name_of: Callable[[exp.Table], str],
    hints: frozenset[str],
    variables: frozenset[str] = frozenset(),
    dialect: str = "",
    need: frozenset[str] | None = None,
    scopes: Mapping[int, tuple[exp.Expr, Scope]] | None = None,
    columns: list[str] | None = None,
) -> Formulas:
    """Formulas of the target columns `stmt` writes (`targets`: its target tables; `need`: the
    columns wanted, None for all; `columns`: the target's columns a plain query fills in order)."""
    if not targets:
        return {}
    target = targets[0]  # the statement's own target (an OUTPUT ... INTO table comes after it)
    q = _Qualifier(name_of, hints, variables, dialect)
    q.need = need
    q.scopes = scopes or {}
    out: Formulas = {}
    if isinstance(stmt, exp.Insert):
        _insert(stmt, target, q, out)
    elif isinstance(stmt, exp.Create):
        query = _query_of(stmt.expression)
        if isinstance(query, (exp.Select, exp.SetOperation)):
            _select(query, target, None, q, out)
    elif isinstance(stmt, exp.Select) and stmt.args.get("into"):
        _select(stmt, target, None, q, out)
    elif isinstance(stmt, (exp.Select, exp.SetOperation)) and columns:
        _select(stmt, target, columns, q, out)  # a query whose rows fill a table (RETURN QUERY)
    elif isinstance(stmt, exp.Update):
        _update(stmt, target, q, out)
    elif isinstance(stmt, exp.Merge):
        _merge(stmt, target, q, out)
    return out


def _select(query: exp.Query, target: str, columns: list[str] | None, q: _Qualifier, out: Formulas) -> None:
    """Formulas of a query's outputs; a set operation gives one alternative per branch."""
    root = q.root(query)
    if root is None:
        return
    q.index(root)
    branches: list[Scope] = []
    stack = [root]
    while stack:
        s = stack.pop(0)
        if isinstance(s.expression, exp.SetOperation):
            stack[:0] = list(s.set_operation_scopes)
        elif isinstance(s.expression, exp.Select):
            branches.append(s)
    names = columns
    for branch in branches:
        select = branch.expression
        assert isinstance(select, exp.Select)
        projections = select.selects
        if names is None:
            names = [p.alias_or_name for p in projections]
        if len(names) != len(projections) or any(isinstance(p, exp.Star) for p in projections):
            return
        for col, proj in zip(names, projections, strict=True):
            q.add(out, f"{target}.{col}", proj, branch)


def projection_trees(
    stmt: exp.Expr,
    name_of: Callable[[exp.Table], str],
    hints: frozenset[str],
    variables: frozenset[str] = frozenset(),
    row_tables: Mapping[str, str] | None = None,
    dialect: str = "",
) -> list[Formula]:
    """Formula trees of the outputs of a SELECT (one per projection; [] for other queries)."""
    query = _query_of(stmt)
    if not isinstance(query, exp.Select):
        return []
    try:
        root = _root(query)
        q = _Qualifier(name_of, hints, variables, dialect)
        q.row_tables = row_tables or {}
        if root is not None:
            q.index(root)
        return [q.plan(p, root) for p in query.selects]
    except (OptimizeError, ValueError, KeyError, AttributeError, TypeError, RecursionError):
        return []


def _insert(stmt: exp.Insert, target: str, q: _Qualifier, out: Formulas) -> None:
    this = stmt.this
    columns = (
        [c.name for c in this.expressions] if isinstance(this, exp.Schema) and this.expressions else None
    )
    query = _query_of(stmt.expression)
    if isinstance(query, (exp.Select, exp.SetOperation)):
        with_ = stmt.args.get("with_")
        if isinstance(with_, exp.With) and not query.args.get("with_"):
            query = query.copy()
            query.set("with_", with_.copy())
        _select(query, target, columns, q, out)
    elif isinstance(query, exp.Values) and columns and len(query.expressions) == 1:
        row = query.expressions[0]
        values = row.expressions if isinstance(row, exp.Tuple) else [row]
        if len(values) == len(columns):
            sel = exp.Select(expressions=[v.copy() for v in values])
            root = _root(sel)
            if root is not None:
                q.index(root)
            for col, v in zip(columns, sel.expressions, strict=True):
                q.add(out, f"{target}.{col}", v, root)


def _frame(
    target: exp.Expr, from_: exp.Expr | None, joins: list[exp.Expr], with_: object = None
) -> Scope | None:
    """Scopes of a SELECT over the target and the other tables of an UPDATE/MERGE (the values
    themselves are planned where they are, in the statement), with the statement's CTEs."""
    sel = exp.Select(expressions=[exp.Literal.number(1)])
    if isinstance(with_, exp.With):
        sel.set("with_", with_.copy())
    base = target.copy()
    base.set("joins", None)
    sel.set("from_", exp.From(this=base))
    extra: list[exp.Expr] = [exp.Join(this=from_.copy(), kind="CROSS")] if from_ is not None else []
    extra += [j.copy() for j in joins]
    if extra:
        sel.set("joins", extra)
    return _root(sel)


def _update(stmt: exp.Update, target: str, q: _Qualifier, out: Formulas) -> None:
    cols: list[str] = []
    values: list[exp.Expr] = []
    for eq in stmt.expressions:
        if isinstance(eq, exp.EQ) and isinstance(eq.this, exp.Column):
            cols.append(eq.this.name)
            values.append(eq.expression)
    if not cols or not isinstance(stmt.this, exp.Table):
        return
    from_ = stmt.args.get("from_")
    from_node = from_.this if isinstance(from_, exp.From) else None
    joins = list(from_node.args.get("joins") or []) if from_node is not None else []
    if from_node is not None:
        from_node = from_node.copy()
        from_node.set("joins", None)
    alias = stmt.this.name if not stmt.this.args.get("db") else ""
    if from_node is not None and alias:
        # T-SQL: UPDATE alias SET ... FROM table alias: the FROM names the target
        named = [t for t in [from_node, *(j.this for j in joins)] if isinstance(t, exp.Table)]
        if any(t.alias == alias for t in named):
            _emit(values, _frame(from_node, None, joins, stmt.args.get("with_")), target, cols, q, out)
            return
    _emit(values, _frame(stmt.this, from_node, joins, stmt.args.get("with_")), target, cols, q, out)


def _emit(
    values: list[exp.Expr], root: Scope | None, target: str, cols: list[str], q: _Qualifier, out: Formulas
) -> None:
    if root is not None:
        q.index(root)
    for col, v in zip(cols, values, strict=False):
        q.add(out, f"{target}.{col}", v, root)


def _merge(stmt: exp.Merge, target: str, q: _Qualifier, out: Formulas) -> None:
    using = stmt.args.get("using")
    whens = stmt.args.get("whens")
    if not isinstance(stmt.this, exp.Table) or not isinstance(using, exp.Expr):
        return
    root = _frame(stmt.this, using, [], stmt.args.get("with_"))
    for w in whens.expressions if isinstance(whens, exp.Whens) else []:
        then = w.args.get("then")
        cols: list[str] = []
        values: list[exp.Expr] = []
        if isinstance(then, exp.Update):
            for eq in then.expressions:
                if isinstance(eq, exp.EQ) and isinstance(eq.this, exp.Column):
                    cols.append(eq.this.name)
                    values.append(eq.expression)
        elif isinstance(then, exp.Insert):
            names = then.this
            vals = then.expression
            if isinstance(names, exp.Tuple) and isinstance(vals, exp.Tuple):
                cols = [c.name for c in names.expressions]
                values = list(vals.expressions)
        if cols and len(cols) == len(values):
            _emit(values, root, target, cols, q, out)

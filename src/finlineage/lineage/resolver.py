"""One-pass column lineage through a query's scopes.

`QueryResolver` walks the scope tree sqlglot builds for a query (CTEs, derived tables, unions,
subqueries, UDTFs) and resolves every output column to base-table columns, memoising the
outputs of each scope so each is computed once. Unqualified columns are resolved with the
schema (user-given or learnt from the script) and the outputs of derived sources; ambiguities
and unknowns become diagnostics, never exceptions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from sqlglot import exp
from sqlglot.optimizer.scope import Scope

from finlineage.lineage.model import Diagnostic
from finlineage.lineage.names import SchemaIndex
from finlineage.lineage.refs import (
    _EMPTY,
    _INDIRECT_ARGS,
    CONDITIONAL,
    DIRECT,
    IDENTITY,
    PSEUDO_COLUMNS,
    TRANSFORMATION,
    WINDOW,
    ExprSources,
    Indirect,
    Output,
    Sources,
    argument_outputs,
    column_refs,
    direct_subtype,
    dot_parts,
    function_tables,
    is_table_function,
    output_name,
    pivoted,
    renamed_by_alias,
    role_refs,
    star_modifiers,
    stronger,
    subquery_role,
    transform_outputs,
    values_outputs,
)

__all__ = [
    "ExprSources",
    "Indirect",
    "Output",
    "QueryResolver",
    "column_refs",
    "direct_subtype",
    "output_name",
    "role_refs",
    "stronger",
]


class _ColumnResolution:
    """Resolution of column references to base-table columns within a query's scopes (the
    outputs of derived scopes come from `outputs`, which `QueryResolver` implements)."""

    def __init__(
        self,
        root: Scope,
        *,
        dialect: str,
        schema: SchemaIndex,
        name_of: Callable[[exp.Table], str],
        lateral_alias: bool = False,
        statement_index: int | None = None,
        variables: frozenset[str] = frozenset(),
        row_tables: Mapping[str, str] | None = None,
    ) -> None:
        self.root = root
        self.dialect = dialect
        self.schema = schema
        self._name_of = name_of
        self._names: dict[int, str] = {}
        self.lateral_alias = lateral_alias
        self.statement_index = statement_index
        self.variables = variables
        self.row_tables = row_tables or {}
        """Trigger row records (new/old) -> the table the trigger fires on."""
        """Parameters/variables of the enclosing routine: a bare such name that no source surely
        has as a column is the variable (no column source, no diagnostic)."""
        self.diagnostics: list[Diagnostic] = []
        self._outputs: dict[int, list[Output]] = {}
        self._indirect: dict[int, Indirect] = {}
        self._by_expr: dict[int, Scope] = {}
        self._in_progress: set[int] = set()
        self._unqualified: dict[tuple[int, str], Sources] = {}
        self._columns: dict[int, dict[str, str] | None] = {}
        self._diag_seen: set[tuple[str, str]] = set()
        self._through: list[Output] | None = None
        self._alias_first = False
        """While resolving GROUP BY/HAVING/QUALIFY/ORDER BY: an output alias wins over a column
        that no schema says a source has (no phantom `table.alias` column)."""
        """While resolving an expression: the derived outputs its columns went through."""
        self.scopes: list[Scope] = list(root.traverse())
        for s in self.scopes:
            self._by_expr[id(s.expression)] = s

    def name_of(self, table: exp.Table) -> str:
        """Canonical name of a table node (memoised: asked once per candidate column)."""
        key = id(table)
        hit = self._names.get(key)
        if hit is None:
            hit = self._names[key] = self._name_of(table)
        return hit

    def _diag(self, code: str, message: str) -> None:
        key = (code, message)
        if key in self._diag_seen:
            return
        self._diag_seen.add(key)
        self.diagnostics.append(Diagnostic(code, message, "warning", None, self.statement_index))

    def scope_of(self, query: exp.Expr) -> Scope | None:
        return self._by_expr.get(id(query))

    def base_tables(self) -> list[exp.Table]:
        """Every base-table reference read by the query, in scope order."""
        out: list[exp.Table] = []
        seen: set[int] = set()
        for s in self.scopes:
            for src in s.sources.values():
                if isinstance(src, exp.Table) and id(src) not in seen and src.name:
                    seen.add(id(src))
                    out.append(src)
                elif isinstance(src, exp.Table) and is_table_function(src):
                    for t in function_tables(src.this):
                        if id(t) not in seen:
                            seen.add(id(t))
                            out.append(t)
        return out

    def _find_source(self, scope: Scope, name: str) -> exp.Table | Scope | None:
        s: Scope | None = scope
        while s is not None:
            src = s.sources.get(name)
            if isinstance(src, (exp.Table, Scope)):
                return src
            s = s.parent
        # lenient engines let an aliased table still be named by its own name
        s = scope
        while s is not None:
            for v in s.selected_sources.values():
                node = v[1]
                if isinstance(node, exp.Table) and (node.name == name or self.name_of(node) == name):
                    return node
            s = s.parent
        return None

    def _table_columns(self, table: exp.Table) -> dict[str, str] | None:
        """The schema's columns of a table node (memoised per node), None when unknown: each
        name, and its case-folded form when no other column folds the same, -> the schema's
        spelling."""
        key = id(table)
        if key in self._columns:
            return self._columns[key]
        cols = self.schema.columns(self.name_of(table))
        got: dict[str, str] | None = None
        if cols is not None:
            folded: dict[str, list[str]] = {}
            for c in cols:
                folded.setdefault(c.casefold(), []).append(c)
            got = {f: cs[0] for f, cs in folded.items() if len(cs) == 1}
            got.update({c: c for c in cols})
        self._columns[key] = got
        return got

    def _column_spelling(self, table: exp.Table, name: str) -> str:
        """The schema's spelling of a column (an exact match first, then the only column equal
        to it ignoring case: a quoted `"TotalPrice"` finds the catalog's TOTALPRICE)."""
        cols = self._table_columns(table)
        if not cols:
            return name
        return cols.get(name) or cols.get(name.casefold()) or name

    def _knows(self, src: object, name: str) -> bool | None:
        """True/False when the source surely has/lacks the column, None when unknown."""
        if isinstance(src, exp.Table):
            passed = self._function_outputs(src)
            if passed is not None:
                return True if any(o.name == name for o in passed) else None
            cols = self._table_columns(src)
            return None if cols is None else (name in cols or name.casefold() in cols)
        if isinstance(src, Scope):
            outs = self.outputs(src)
            if any(o.name == name for o in outs):
                return True
            if any(o.star for o in outs):
                return None
            return False
        return False

    def _function_outputs(self, table: exp.Table) -> list[Output] | None:
        """A table-valued function over queries (BigQuery `ML.PREDICT(MODEL m, (SELECT ...))`,
        `ML.EVALUATE`, ...): the outputs of its query arguments, passed through; None when the
        table is not such a function. Its alias names no table, and the columns it adds
        (predictions, scores) have no column upstream."""
        pivots = table.args.get("pivots")
        if pivots:  # PIVOT / UNPIVOT: the pivoted columns of the table (or function)
            return pivoted(self._plain_outputs(table), pivots)
        fn = table.this
        if not is_table_function(table):
            return None
        outs: list[Output] = []
        for sub in fn.find_all(exp.Subquery):
            child = self.scope_of(sub.unnest())
            if child is not None:
                outs.extend(o for o in self.outputs(child) if not o.star)
        for t in function_tables(fn):  # `TABLE t` / SEMANTIC_VIEW(t ...): t's columns pass
            if isinstance(t.parent, exp.Predict) and t.arg_key == "this":
                continue  # the MODEL is read, its columns are not passed through
            tname = self.name_of(t)
            cols = self.schema.columns(tname)
            if cols is None:
                outs.append(Output("*", frozenset({f"{tname}.*"}), t, star=True))
            else:
                outs.extend(Output(c, frozenset({f"{tname}.{c}"}), t) for c in cols)
        if not outs:  # `jsonb_to_recordset(p.body) AS r (a int, b text)`: from its arguments
            outs = argument_outputs(table, self.scopes, lambda scope: self.expr_sources(scope, fn, []).direct)
        return outs

    def _plain_outputs(self, table: exp.Table) -> list[Output]:
        """A table's (or table function's) columns before its PIVOT/UNPIVOT clauses."""
        if is_table_function(table):
            bare = table.copy()
            bare.set("pivots", None)
            return self._function_outputs(bare) or []
        tname = self.name_of(table)
        cols = self.schema.columns(tname)
        if cols is None:
            return [Output("*", frozenset({f"{tname}.*"}), table, star=True)]
        return [Output(c, frozenset({f"{tname}.{c}"}), table) for c in cols]

    def source_column(self, src: exp.Table | Scope, name: str) -> Sources:
        if isinstance(src, exp.Table):
            passed = self._function_outputs(src)
            if passed is not None:
                hit = next((o for o in passed if o.name == name and not o.star), None)
                if hit is not None:
                    if self._through is not None:
                        self._through.append(hit)
                    return hit.sources
                return frozenset(s[:-1] + name for o in passed if o.star for s in o.sources)
            tname = self.name_of(src)
            return frozenset({f"{tname}.{self._column_spelling(src, name)}"}) if tname else _EMPTY
        outs = self.outputs(src)
        for o in outs:
            if o.name == name and not o.star:
                if self._through is not None:
                    self._through.append(o)
                return o.sources
        stars = [o for o in outs if o.star]
        if stars:
            res: set[str] = set()
            for o in stars:
                for s in o.sources:
                    res.add(s[:-1] + name if s.endswith(".*") else s)
            return frozenset(res)
        self._diag("unresolved_column", f"column {name!r} not found in a derived source")
        return _EMPTY

    def resolve_column(
        self,
        scope: Scope,
        col: exp.Column | exp.Dot,
        aliases: dict[str, Output] | None = None,
    ) -> Sources:
        """Sources of a column reference: `col`, `src.col`, `db.src.col`, or a struct field path
        `[src.]col.field...` (lineage then goes to `table.col.field...`)."""
        if isinstance(col, exp.Column) and not col.args.get("table"):
            return self._resolve_unqualified(scope, col.name, aliases)  # the common case
        parts = dot_parts(col)
        if not parts:
            return _EMPTY
        if len(parts) == 1:
            return self._resolve_unqualified(scope, parts[0], aliases)
        if parts[0] in self.variables and self._find_source(scope, parts[0]) is None:
            table = self.row_tables.get(parts[0])  # rec.field of a record/loop variable
            return frozenset({f"{table}.{parts[-1]}"}) if table else _EMPTY
        # the longest qualifier naming a source wins: `db.src.col`, then `src.col.field`, ...
        for i in range(len(parts) - 1, 0, -1):
            q = ".".join(parts[:i])
            src = self._find_source(scope, q) or self._find_source(scope, parts[i - 1])
            if src is not None:
                element = self._unnest_element(src, parts[i - 1], parts[i])
                if element is not None:  # `UNNEST(arr) AS item` ... item.field
                    return frozenset(f"{s}.{'.'.join(parts[i:])}" for s in element.sources)
                return self._with_path(src, parts[i], parts[i + 1 :])
        # `struct_col.field` with no source qualifier: a schema listing nested fields by their
        # dotted path, else the struct column of some source
        dotted = ".".join(parts)
        owners = [
            v[1]
            for v in scope.selected_sources.values()
            if isinstance(v[1], exp.Table) and self._knows(v[1], dotted) is True
        ]
        if len(owners) == 1:
            return self.source_column(owners[0], dotted)
        res = self._resolve_unqualified(scope, parts[0], None)
        if res:
            if len(res) == 1:
                return frozenset({f"{next(iter(res))}.{'.'.join(parts[1:])}"})
            return res
        self._diag("unresolved_column", f"cannot resolve column {col.sql()}")
        return _EMPTY

    def _unnest_element(self, src: exp.Table | Scope, alias: str, name: str) -> Output | None:
        """The element output of `UNNEST(arr) AS alias` (BigQuery: the alias names the element)
        when `alias.name` reads a field of the element rather than an output column."""
        if not isinstance(src, Scope) or not src.is_udtf or not isinstance(src.expression, exp.Unnest):
            return None
        outs = self.outputs(src)
        if any(o.name == name for o in outs):
            return None
        return next((o for o in outs if o.name == alias and not o.star), None)

    def _with_path(self, src: exp.Table | Scope, name: str, path: list[str]) -> Sources:
        """The sources of column `name` of `src`, extended by a struct field path when the column
        is a plain column (a table's, or a derived table's copy of one)."""
        got = self.source_column(src, name)
        if not path or len(got) != 1:
            return got
        if isinstance(src, Scope):
            out = next((o for o in self.outputs(src) if o.name == name and not o.star), None)
            if out is None or out.subtype != IDENTITY:
                return got
        return frozenset({f"{next(iter(got))}.{'.'.join(path)}"})

    def _resolve_unqualified(self, scope: Scope, name: str, aliases: dict[str, Output] | None) -> Sources:
        if aliases and name in aliases:  # depends on the projections seen so far: not memoised
            return self._resolve_unqualified_uncached(scope, name, aliases)
        key = (id(scope), name)
        hit = self._unqualified.get(key)
        if hit is None:
            hit = self._unqualified[key] = self._resolve_unqualified_uncached(scope, name, None)
        return hit

    def _resolve_unqualified_uncached(
        self, scope: Scope, name: str, aliases: dict[str, Output] | None
    ) -> Sources:
        s: Scope | None = scope
        while s is not None:
            cands = [v[1] for v in s.selected_sources.values()]
            cands = [c for c in cands if isinstance(c, (exp.Table, Scope))]
            known: list[exp.Table | Scope] = []
            unknown: list[exp.Table | Scope] = []
            for c in cands:
                k = self._knows(c, name)
                if k is True:
                    known.append(c)
                elif k is None:
                    unknown.append(c)
            if known:
                if len(known) == 1:
                    return self.source_column(known[0], name)
                if name not in self._using_columns(s):
                    self._diag("ambiguous_column", f"column {name!r} exists in several sources")
                merged: set[str] = set()
                for src in known:  # USING/NATURAL join columns merge their sources
                    merged |= self.source_column(src, name)
                return frozenset(merged)
            if name in self.variables:
                return _EMPTY  # a routine parameter/variable (a column only when a schema says so)
            if name.lower() in PSEUDO_COLUMNS.get(self.dialect, ()) and not (
                s is scope and aliases and name in aliases
            ):
                return _EMPTY  # ROWNUM, LEVEL, USER, _TABLE_SUFFIX, ...: no column of any table
            if (
                s is scope
                and aliases
                and name in aliases
                and (self.lateral_alias or self._alias_first or not unknown)
            ):
                return aliases[name].sources
            if len(unknown) == 1:
                return self.source_column(unknown[0], name)
            if len(unknown) > 1:
                self._diag(
                    "ambiguous_column",
                    f"column {name!r} could come from several sources (no schema to decide)",
                )
                return frozenset({name})
            if s is scope and aliases and name in aliases:
                return aliases[name].sources
            s = s.parent if (s.is_subquery or s.is_udtf or s.is_correlated_subquery) else None
        self._diag("unresolved_column", f"cannot resolve column {name!r}")
        return _EMPTY

    def _row_field(self, ref: exp.Placeholder) -> Sources:
        """Oracle trigger `:NEW.col` / `:OLD.col`: the column of the table the trigger fires on."""
        parent = ref.parent
        if not self.row_tables or not isinstance(parent, exp.Dot) or parent.this is not ref:
            return _EMPTY
        table = self.row_tables.get(str(ref.name).lower())
        field = parent.expression
        if table and isinstance(field, exp.Identifier):
            return frozenset({f"{table}.{field.name}"})
        return _EMPTY

    @staticmethod
    def _using_columns(scope: Scope) -> set[str]:
        expr = scope.expression
        out: set[str] = set()
        if isinstance(expr, exp.Select):
            for j in expr.args.get("joins") or []:
                for u in j.args.get("using") or []:
                    if isinstance(u, exp.Expr):
                        out.add(u.name)
        return out

    def expr_sources(
        self,
        scope: Scope,
        node: exp.Expr,
        prior: list[Output],
        aliases: dict[str, Output] | None = None,
    ) -> ExprSources:
        """Sources of an expression evaluated in `scope`, by role (direct, window, conditional),
        with the strongest direct subtype of the derived outputs it reads through."""
        roles: dict[str, set[str]] = {DIRECT: set(), WINDOW: set(), CONDITIONAL: set()}
        outer = self._through
        through: list[Output] = []
        self._through = through
        try:
            for role, ref in role_refs(node):
                res = roles[role]
                if isinstance(ref, (exp.Column, exp.Dot)):
                    res |= self.resolve_column(scope, ref, aliases)
                elif isinstance(ref, exp.Placeholder):
                    res |= self._row_field(ref)
                elif isinstance(ref, exp.Star):
                    # COUNT(*) and friends depend on whole rows
                    for v in scope.selected_sources.values():
                        if isinstance(v[1], exp.Table):
                            res.add(f"{self.name_of(v[1])}.*")
                else:
                    child = self.scope_of(ref)
                    if child is not None:
                        for o in self.outputs(child):
                            res |= o.sources
        finally:
            self._through = outer
        subtype = IDENTITY
        window = set(roles[WINDOW])
        conditional = set(roles[CONDITIONAL])
        for o in through:  # a derived output brings its own subtype and indirect columns
            subtype = stronger(subtype, o.subtype)
            window |= o.window
            conditional |= o.conditional
        # a CASE WHEN / IF condition decides the value: its columns are direct sources as well
        # as CONDITIONAL ones; a window specification only orders/partitions rows: WINDOW only
        direct = frozenset(roles[DIRECT] | roles[CONDITIONAL])
        return ExprSources(direct, frozenset(window), frozenset(conditional), subtype)

    def outputs(self, scope: Scope) -> list[Output]:
        raise NotImplementedError


class QueryResolver(_ColumnResolution):
    """Resolve outputs of scopes to base columns for one statement, and the indirect lineage
    (joins, filters, grouping, sorting, windows, conditions) that shapes them."""

    def outputs(self, scope: Scope) -> list[Output]:
        key = id(scope)
        cached = self._outputs.get(key)
        if cached is not None:
            return cached
        if key in self._in_progress:  # recursive CTE referencing itself
            return []
        canon = self._by_expr.get(id(scope.expression))
        if canon is not None and canon is not scope:  # a recursive CTE read in its recursive branch:
            union = self._by_expr.get(id(scope.expression.parent))  # its anchor, named by the CTE
            outs = self.outputs(canon)
            return renamed_by_alias(union, outs) if union is not None else outs
        self._in_progress.add(key)
        try:
            result = renamed_by_alias(scope, self._compute_outputs(scope))
            holder = scope.expression.parent
            if isinstance(holder, exp.Subquery) and holder.args.get("pivots"):
                result = pivoted(result, holder.args["pivots"])
        finally:
            self._in_progress.discard(key)
        self._outputs[key] = result
        return result

    def _compute_outputs(self, scope: Scope) -> list[Output]:
        expr = scope.expression
        if isinstance(expr, exp.SetOperation):
            branches = scope.set_operation_scopes
            if not branches:
                return []
            left = self.outputs(branches[0])
            merged = list(left)
            for other in branches[1:]:
                right = self.outputs(other)
                if len(right) != len(left) and not any(o.star for o in (*left, *right)):
                    # invalid SQL in every database: reported, the extra columns left out
                    self._diag(
                        "set_operation_columns",
                        f"set operation branches have {len(left)} and {len(right)} columns; "
                        f"columns past the first branch's {len(left)} have no target",
                    )
                for i, o in enumerate(right):
                    if i < len(merged):
                        m = merged[i]
                        merged[i] = Output(
                            m.name,
                            m.sources | o.sources,
                            m.expression,
                            m.star,
                            m.window | o.window,
                            m.conditional | o.conditional,
                            stronger(m.subtype, o.subtype),
                        )
            return merged
        if scope.is_udtf:
            return self._udtf_outputs(scope)
        if isinstance(expr, exp.Select):
            return self._select_outputs(scope, expr)
        return []

    def _udtf_outputs(self, scope: Scope) -> list[Output]:
        node = scope.expression
        inner = node.this if isinstance(node, exp.Lateral) else None
        rows = inner.unnest() if isinstance(inner, exp.Subquery) else None
        if isinstance(rows, exp.Values):  # LATERAL / CROSS APPLY (VALUES ...)
            return values_outputs(lambda e: self.expr_sources(scope, e, []), rows, node.args.get("alias"))
        if isinstance(inner, exp.Subquery):
            child = self.scope_of(inner.unnest())
            if child is None:
                return []
            return self._with_correlation(child, self.outputs(child))
        # explode/unnest/...: every alias column comes from the function's arguments
        srcs = self.expr_sources(scope, node, []).direct
        alias = node.args.get("alias")
        names: list[str] = []
        if isinstance(alias, exp.TableAlias):
            names = [c.name for c in alias.columns]
            if not names and alias.name and isinstance(node, exp.Unnest):  # UNNEST(arr) AS element
                names = [alias.name]
        unnest = node.this if isinstance(node, exp.Lateral) else node  # LATERAL unnest(...) WITH ORDINALITY
        offset = unnest.args.get("offset") if isinstance(unnest, exp.Unnest) else None
        extra = (
            [Output(offset.name, _EMPTY, node, subtype=TRANSFORMATION)]
            if isinstance(offset, exp.Expr) and offset.name
            else []
        )
        if not names:
            return [Output("*", srcs, node, star=True, subtype=TRANSFORMATION), *extra]
        # (UNNEST ... WITH OFFSET AS pos: the position, no column source)
        return [*(Output(n, srcs, node, subtype=TRANSFORMATION) for n in names), *extra]

    def _with_correlation(self, child: Scope, outs: list[Output]) -> list[Output]:
        """LATERAL (subquery): the subquery runs once per row of the sources before it, and the
        outer columns it is correlated on pick the values it returns (as a CASE condition picks a
        value): they are sources of every output, direct and CONDITIONAL."""
        corr: set[str] = set()
        for col in child.external_columns:
            if col.table:
                corr |= self.resolve_column(child, col)
        if not corr:
            return outs
        extra = frozenset(c for c in corr if not c.endswith(".*"))
        return [
            o
            if o.star
            else Output(
                o.name,
                o.sources | extra,
                o.expression,
                o.star,
                o.window,
                o.conditional | extra,
                stronger(o.subtype, TRANSFORMATION),
            )
            for o in outs
        ]

    def _select_outputs(self, scope: Scope, select: exp.Select) -> list[Output]:
        outs: list[Output] = []
        aliases: dict[str, Output] = {}
        for proj in select.expressions:
            star = self._star_of(proj)
            if star is not None:
                outs.extend(self._expand_star(scope, proj, star))
                continue
            if self._computed_star(proj):
                continue
            if isinstance(proj, exp.QueryTransform):  # Hive TRANSFORM (...) USING 'script' AS (...)
                outs.extend(transform_outputs(proj, lambda e: self.expr_sources(scope, e, outs, aliases)))
                continue
            name = output_name(proj, self.dialect, len(outs))
            body = proj.this if isinstance(proj, exp.Alias) else proj
            got = self.expr_sources(scope, body, outs, aliases)
            subtype = stronger(direct_subtype(body), got.subtype)
            if subtype == IDENTITY and not got.direct:
                subtype = TRANSFORMATION  # a pseudo-column or variable: not a copy of a column
            window = got.window | self._named_windows(scope, select, body)
            out = Output(name, got.direct, proj, False, window, got.conditional, subtype)
            outs.append(out)
            if isinstance(proj, exp.Alias):
                aliases[name] = out
        return outs

    def _named_windows(self, scope: Scope, select: exp.Select, body: exp.Expr) -> Sources:
        """`f(x) OVER w ... WINDOW w AS (PARTITION BY a ORDER BY b)`: the named window's PARTITION
        BY / ORDER BY columns are WINDOW columns of every output using it."""
        named = {w.name: w for w in select.args.get("windows") or [] if isinstance(w, exp.Window)}
        if not named:
            return _EMPTY
        res: set[str] = set()
        for win in body.find_all(exp.Window):
            ref = win.args.get("alias")
            spec = named.get(ref.name) if isinstance(ref, exp.Identifier) else None
            if spec is None:
                continue
            for key in ("partition_by", "order"):
                part = spec.args.get(key)
                for node in part if isinstance(part, list) else [part]:
                    if isinstance(node, exp.Expr):
                        res |= self.expr_sources(scope, node, []).all()
        return frozenset(res)

    def _computed_star(self, proj: exp.Expr) -> bool:
        """`IF(c, a, b).*` / `(SELECT AS STRUCT ...).*`: the fields of a computed row or struct,
        unknown without its type: no output columns (a diagnostic says so)."""
        if not (isinstance(proj, exp.Dot) and isinstance(proj.expression, exp.Star)):
            return False
        if isinstance(proj.this, (exp.Column, exp.Dot)):
            return False
        self._diag(
            "star_unexpanded",
            f"fields of {proj.this.sql(dialect=self.dialect or None)[:80]}.* are unknown: no output columns",
        )
        return True

    @staticmethod
    def _star_of(proj: exp.Expr) -> exp.Star | None:
        if isinstance(proj, exp.Star):
            return proj
        if isinstance(proj, exp.Column) and isinstance(proj.this, exp.Star):
            return proj.this
        return None

    def _expand_star(self, scope: Scope, proj: exp.Expr, star: exp.Star) -> list[Output]:
        qualifier = proj.table if isinstance(proj, exp.Column) else ""
        if qualifier:
            src = self._find_source(scope, qualifier)
            targets = [(qualifier, src)] if src is not None else []
            if src is None:
                self._diag("unresolved_column", f"unknown table {qualifier!r} in {qualifier}.*")
        else:
            targets = [(k, v[1]) for k, v in scope.selected_sources.items()]
        excluded = {
            c.name
            for key in ("except", "except_")
            for c in (star.args.get(key) or [])
            if isinstance(c, exp.Expr)
        }
        outs: list[Output] = []
        for _, src in targets:
            passed = self._function_outputs(src) if isinstance(src, exp.Table) else None
            if passed is not None:
                outs.extend(o for o in passed if o.name not in excluded)
            elif isinstance(src, exp.Table):
                tname = self.name_of(src)
                cols = self.schema.columns(tname)
                if cols is None:
                    outs.append(Output("*", frozenset({f"{tname}.*"}), proj, star=True))
                    self._diag(
                        "star_without_schema",
                        f"columns of {tname} are unknown: lineage of * kept as {tname}.*",
                    )
                else:
                    outs.extend(
                        Output(c, frozenset({f"{tname}.{c}"}), proj) for c in cols if c not in excluded
                    )
            elif isinstance(src, Scope):
                outs.extend(o for o in self.outputs(src) if o.name not in excluded)
        if not qualifier:
            outs = self._merge_using(scope, outs)
        return star_modifiers(star, outs, lambda e: self.expr_sources(scope, e, []))

    def _merge_using(self, scope: Scope, outs: list[Output]) -> list[Output]:
        """`SELECT * FROM a JOIN b USING (k)`: k is one output column, from both sides (NATURAL
        JOIN: every column name the sides share)."""
        using = self._using_columns(scope)
        expr = scope.expression
        if isinstance(expr, exp.Select) and any(
            str(j.args.get("method") or "").upper() == "NATURAL" for j in expr.args.get("joins") or []
        ):
            seen: set[str] = set()
            for o in outs:
                if o.name in seen:
                    using.add(o.name)
                seen.add(o.name)
        if not using:
            return outs
        merged: dict[str, int] = {}
        result: list[Output] = []
        for o in outs:
            if o.name in using and not o.star:
                at = merged.get(o.name)
                if at is not None:
                    m = result[at]
                    result[at] = Output(m.name, m.sources | o.sources, m.expression, subtype=TRANSFORMATION)
                    continue
                merged[o.name] = len(result)
            result.append(o)
        return result

    def indirect(self, scope: Scope) -> Indirect:
        """Columns that filter, join, group, sort or otherwise shape the rows of `scope`
        (recursively through its derived sources and subqueries), by subtype."""
        key = id(scope)
        cached = self._indirect.get(key)
        if cached is not None:
            return cached
        self._indirect[key] = {}  # cycle guard
        res: dict[str, set[str]] = {}

        def add(sub: str, cols: Sources) -> None:
            if cols:
                res.setdefault(sub, set()).update(cols)

        def merge(other: Indirect) -> None:
            for sub, cols in other.items():
                add(sub, cols)

        expr = scope.expression
        if isinstance(expr, exp.SetOperation):
            for b in scope.set_operation_scopes:
                merge(self.indirect(b))
        elif scope.is_udtf:  # LATERAL (subquery): the subquery's filters/joins (its correlation)
            inner = expr.this if isinstance(expr, exp.Lateral) else None
            child = self.scope_of(inner.unnest()) if isinstance(inner, exp.Subquery) else None
            if child is not None:
                merge(self.indirect(child))
        elif isinstance(expr, exp.Select):
            outs = self.outputs(scope)
            aliases = {o.name: o for o in outs if not o.star}
            for arg, sub in _INDIRECT_ARGS:
                v = expr.args.get(arg)
                if isinstance(v, exp.Expr):
                    # a filter/sort on a window's alias (`WHERE rn = 1`) filters/sorts by the
                    # window's PARTITION BY/ORDER BY columns: they play the clause's role here
                    self._alias_first = arg != "where"
                    try:
                        add(sub, self.expr_sources(scope, v, [], aliases).all())
                    finally:
                        self._alias_first = False
            for j in expr.args.get("joins") or []:
                for arg in ("on", "using"):
                    v = j.args.get(arg)
                    items = [v] if isinstance(v, exp.Expr) else v if isinstance(v, list) else []
                    for x in items:
                        if isinstance(x, exp.Expr):
                            add("JOIN", self.expr_sources(scope, x, [], aliases).all())
            for v in scope.selected_sources.values():
                if isinstance(v[1], Scope):
                    merge(self.indirect(v[1]))
            for sub_scope in scope.subquery_scopes:  # EXISTS / IN / scalar subqueries
                merge(self.indirect(sub_scope))
                role = subquery_role(sub_scope)
                if role:
                    for o in self.outputs(sub_scope):
                        add(role, o.sources)
        result = {sub: frozenset(c for c in cols if not c.endswith(".*")) for sub, cols in res.items()}
        result = {sub: cols for sub, cols in result.items() if cols}
        self._indirect[key] = result
        return result

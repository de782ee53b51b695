"""INSERT statements: INSERT ... SELECT/VALUES and multi-table INSERT ALL/FIRST."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from sqlglot import exp

from finlineage.lineage.extractors.base import Extractor, StatementResult, _add, _expr_text
from finlineage.lineage.model import ColumnEdge
from finlineage.lineage.resolver import Output, output_name


class InsertExtractor(Extractor):
    """INSERT into a table, a directory or several tables."""

    def insert(self, stmt: exp.Insert) -> StatementResult:
        res = StatementResult("insert")
        target = stmt.this
        cols: list[str] | None = None
        static_parts: set[str] = set()
        if isinstance(target, exp.Schema):
            cols = [c.name for c in target.expressions if isinstance(c, (exp.Identifier, exp.Column))]
            target = target.this
        if isinstance(target, exp.Subquery):  # Oracle `INSERT INTO (SELECT a, b FROM t ...) VALUES`
            view = self._insert_view(target)
            if view is not None:
                target, cols = view
        tgt = ""
        if isinstance(target, exp.Table):
            tgt = self.name(target)
            part = target.args.get("partition")
            if isinstance(part, exp.Partition):
                for p in part.expressions:
                    if isinstance(p, exp.EQ) and isinstance(p.this, exp.Column):
                        static_parts.add(p.this.name)
            _add(res.target_tables, tgt)
        elif isinstance(target, exp.Directory):
            path = target.this.name if isinstance(target.this, exp.Literal) else target.this.sql()
            _add(res.target_paths, path)
        elif isinstance(target, exp.Func) or stmt.args.get("is_function"):
            self.diag(res, "unsupported_statement", "INSERT INTO a table function")
        query = stmt.expression
        if query is None:
            return res
        if cols is None and tgt:
            known = self.ctx.schema.columns(tgt)
            if known is not None:
                cols = [c for c in known if c not in static_parts]
        if stmt.args.get("by_name"):
            cols = None
        if isinstance(query, exp.Values):
            row = None
            if cols is not None and tgt:
                row = self._values_row(query, res)
                for i, c in enumerate(cols):
                    o = row[i] if row is not None and i < len(row) else None
                    if o is None:
                        res.column_edges.append(
                            ColumnEdge(f"{tgt}.{c}", (), "direct", "VALUES", subtype="TRANSFORMATION")
                        )
                        continue
                    expr = o.expression.this if isinstance(o.expression, exp.Alias) else o.expression
                    self.emit(res, f"{tgt}.{c}", o, {}, _expr_text(expr, self.dialect))
            if row is None:
                for sub in query.find_all(exp.Subquery):
                    self.query(sub.unnest(), res)  # tables read by subqueries in VALUES
        else:
            query = self._attach_with(stmt, query)
            if isinstance(query, exp.Query):
                got = self.query(query, res)
                if got:
                    dest = tgt or (res.target_paths[0] if res.target_paths else "")
                    self.edges_into(res, dest, cols, *got)
        if tgt and isinstance(target, exp.Table):
            self._on_conflict(stmt, res, target, tgt)
            self.output_into(stmt, res, target)
        self._mark_temp(res)
        return res

    def _on_conflict(self, stmt: exp.Insert, res: StatementResult, target: exp.Table, tgt: str) -> None:
        """PostgreSQL/SQLite `ON CONFLICT ... DO UPDATE SET c = expr`, MySQL `ON DUPLICATE KEY
        UPDATE c = expr`: an alternative write of c, from the target row's current columns and the
        proposed row (`EXCLUDED.x`, MySQL `VALUES(x)`: what the INSERT gives column x)."""
        conflict = stmt.args.get("conflict")
        if not isinstance(conflict, exp.OnConflict):
            return
        proposed: dict[str, set[str]] = {}
        for e in res.column_edges:
            if e.kind == "direct" and e.target.startswith(tgt + "."):
                proposed.setdefault(e.target[len(tgt) + 1 :], set()).update(e.sources)
        own = {target.alias_or_name, target.name}
        column_of = {name: name for name in proposed}  # a name of the proposed row -> its column
        rows = stmt.expression
        alias = rows.args.get("alias") if isinstance(rows, exp.Values) else None
        if isinstance(alias, exp.TableAlias) and alias.name:  # MySQL `VALUES (...) AS new [(a, b)]`
            renamed = [c.name for c in alias.columns]
            written = list(proposed)
            for i, name in enumerate(renamed):
                if i < len(written):
                    column_of.setdefault(f"{alias.name}.{name}", written[i])
            for name in written:
                column_of.setdefault(f"{alias.name}.{name}", name)
            for key, name in column_of.items():
                proposed.setdefault(key, proposed[name])
        read = self._query_column_reader(rows, res) if isinstance(rows, exp.Select) else None
        where = conflict.args.get("where")
        filters = self._row_refs(where, own, proposed, tgt, read) if isinstance(where, exp.Expr) else set()
        label = "ON DUPLICATE KEY UPDATE" if conflict.args.get("duplicate") else "ON CONFLICT DO UPDATE"
        for eq in conflict.expressions:
            if not isinstance(eq, exp.EQ) or not isinstance(eq.this, exp.Column):
                continue
            col = f"{tgt}.{eq.this.name}"
            value = eq.expression
            subtype = "IDENTITY" if isinstance(value, exp.Column) or _values_ref(value) else "TRANSFORMATION"
            used: set[str] = set()
            sources = self._row_refs(value, own, proposed, tgt, read, used)
            expr = f"{label}: {_expr_text(value, self.dialect)}"
            if used:  # what the INSERT gives those columns may still gain sources (variables)
                res.proposed_reads[len(res.column_edges)] = tuple(sorted({column_of[k] for k in used}))
            res.column_edges.append(ColumnEdge(col, tuple(sorted(sources)), "direct", expr, subtype=subtype))
            if filters:
                res.column_edges.append(ColumnEdge(col, tuple(sorted(filters)), "indirect", subtype="FILTER"))
        if any(s.startswith(tgt + ".") for e in res.column_edges for s in e.sources):
            _add(res.source_tables, tgt)

    @staticmethod
    def _insert_view(view: exp.Subquery) -> tuple[exp.Table, list[str]] | None:
        """The table an INSERT into a one-table subquery writes, and its columns the subquery's
        outputs are (in order); None when the subquery is no plain projection of one table."""
        query = view.unnest()
        src = query.args.get("from_") if isinstance(query, exp.Select) else None
        if not isinstance(query, exp.Select) or not isinstance(src, exp.From) or query.args.get("joins"):
            return None
        if not isinstance(src.this, exp.Table) or not isinstance(src.this.this, exp.Identifier):
            return None
        cols: list[str] = []
        for proj in query.expressions:
            body = proj.this if isinstance(proj, exp.Alias) else proj
            if not isinstance(body, exp.Column) or isinstance(body.this, exp.Star):
                return None
            cols.append(body.name)
        table = src.this.copy()
        table.set("alias", None)
        return table, cols

    def _query_column_reader(
        self, select: exp.Select, res: StatementResult
    ) -> Callable[[exp.Column], set[str]]:
        """MySQL `INSERT ... SELECT ... FROM src ON DUPLICATE KEY UPDATE c = src.x`: a column of
        the SELECT's sources, resolved as the SELECT would resolve it."""

        def read(col: exp.Column) -> set[str]:
            probe = select.copy()
            probe.set("expressions", [col.copy()])
            for key in ("group", "having", "order", "limit", "qualify"):
                probe.set(key, None)
            got = self.query(probe, StatementResult("select"))
            return set(got[2][0].sources) if got and got[2] else set()

        return read

    @staticmethod
    def _row_refs(
        node: exp.Expr,
        own: set[str],
        proposed: dict[str, set[str]],
        tgt: str,
        read: Callable[[exp.Column], set[str]] | None = None,
        used: set[str] | None = None,
    ) -> set[str]:
        """Columns of an ON CONFLICT expression: `EXCLUDED.x` / `VALUES(x)` / MySQL's row alias
        `new.x` -> what the INSERT gives x; a column of the INSERT's SELECT sources -> its
        sources; any other column -> the target row's column."""
        out: set[str] = set()
        used = set() if used is None else used
        for call in node.find_all(exp.Anonymous):  # MySQL `VALUES(x)` parsed with a bare name
            named = _values_ref(call)
            if named and named in proposed:
                out |= proposed[named]
                used.add(named)
        for c in node.find_all(exp.Column):
            qualifier = c.table.lower()
            in_values = isinstance(c.parent, (exp.Values, exp.Anonymous)) and (
                isinstance(c.parent, exp.Values) or c.parent.name.lower() == "values"
            )
            if qualifier == "excluded" or in_values:
                out |= proposed.get(c.name, set())
                used.update([c.name] if c.name in proposed else [])
            elif f"{c.table}.{c.name}" in proposed:
                out |= proposed[f"{c.table}.{c.name}"]
                used.add(f"{c.table}.{c.name}")
            elif not qualifier or qualifier in own:
                out.add(f"{tgt}.{c.name}")
            elif read is not None:
                out |= read(c)
        return out

    def _values_row(self, values: exp.Values, res: StatementResult) -> list[Output] | None:
        """Outputs of VALUES rows that are more than literals (variables, trigger rows,
        expressions, scalar subqueries): by position, the sources of every row; None for rows
        of literals only (data)."""
        rows = [r for r in values.expressions if isinstance(r, exp.Tuple)]
        if not rows or len(rows) != len(values.expressions):
            return None
        if not any(isinstance(n, (exp.Column, exp.Placeholder)) for r in rows for n in r.walk()):
            return None
        query: exp.Expr = self._synth(None, [], None, list(rows[0].expressions), None)
        for r in rows[1:]:
            query = exp.union(query, self._synth(None, [], None, list(r.expressions), None), distinct=False)
        got = self.query(query, res)
        return got[2] if got else None

    def _from_first_insert(self, stmt: exp.MultitableInserts, source: exp.Expr) -> StatementResult:
        """Hive `FROM src INSERT OVERWRITE TABLE t1 SELECT a WHERE ... INSERT INTO t2 SELECT b`:
        each branch is an INSERT ... SELECT whose FROM is the shared source."""
        res = StatementResult("insert")
        for ins in stmt.expressions:
            if not isinstance(ins, exp.Insert) or not isinstance(ins.expression, exp.Select):
                continue
            branch = ins.copy()
            query = branch.expression
            if isinstance(query, exp.Select) and not query.args.get("from_"):
                query.set("from_", exp.From(this=source.copy()))
            got = self.insert(branch)
            for t in got.source_tables:
                _add(res.source_tables, t)
            for t in got.target_tables:
                _add(res.target_tables, t)
            res.column_edges.extend(got.column_edges)
            res.diagnostics.extend(got.diagnostics)
        self._mark_temp(res)
        return res

    def multi_insert(self, stmt: exp.MultitableInserts) -> StatementResult:
        """Oracle INSERT ALL/FIRST: each INTO branch reads the shared source query."""
        res = StatementResult("insert")
        source = stmt.args.get("source")
        if isinstance(source, (exp.Table, exp.Subquery)):
            return self._from_first_insert(stmt, source)
        if not isinstance(source, exp.Query):
            self.diag(res, "unsupported_statement", "multi-table INSERT without a source query")
            return res
        for branch in stmt.expressions:
            ins = branch.this if isinstance(branch, exp.ConditionalInsert) else branch
            if not isinstance(ins, exp.Insert):
                continue
            target = ins.this
            cols: list[str] | None = None
            if isinstance(target, exp.Schema):
                cols = [c.name for c in target.expressions]
                target = target.this
            if not isinstance(target, exp.Table):
                continue
            tgt = self.name(target)
            _add(res.target_tables, tgt)
            if cols is None:
                cols = self.ctx.schema.columns(tgt)
            values = ins.expression
            row = values.expressions[0] if isinstance(values, exp.Values) and values.expressions else None
            projections: list[exp.Expr] = (
                [exp.alias_(v.copy(), output_name(v, self.dialect, i)) for i, v in enumerate(row.expressions)]
                if isinstance(row, exp.Tuple)
                else [exp.Star()]
            )
            sel = exp.Select(expressions=projections).from_(
                exp.Subquery(this=source.copy(), alias=exp.TableAlias(this=exp.to_identifier("_source")))
            )
            cond = branch.args.get("expression") if isinstance(branch, exp.ConditionalInsert) else None
            if isinstance(cond, exp.Expr):
                sel = sel.where(cond.copy())
            got = self.query(sel, res)
            if got:
                self.edges_into(res, tgt, cols, *got)
        self._mark_temp(res)
        return res


def _values_ref(node: exp.Expr) -> str:
    """The column x of MySQL's `VALUES(x)` (the value the INSERT proposes for x), else ''."""
    if not isinstance(node, exp.Anonymous) or node.name.lower() != "values" or len(node.expressions) != 1:
        return ""
    arg = node.expressions[0]
    return arg.name if isinstance(arg, (exp.Identifier, exp.Column)) else ""


def with_proposed(edges: list[ColumnEdge], reads: dict[int, tuple[str, ...]], table: str) -> list[ColumnEdge]:
    """ON CONFLICT / ON DUPLICATE KEY edges (at positions `reads`) with the sources the INSERT
    gives the proposed columns they read, as known now (variables resolved after extraction)."""
    given: dict[str, set[str]] = {}
    for pos, e in enumerate(edges):
        if e.kind == "direct" and pos not in reads and e.target.startswith(table + "."):
            given.setdefault(e.target[len(table) + 1 :], set()).update(e.sources)
    out = list(edges)
    for pos, names in reads.items():
        if pos < len(out) and out[pos].kind == "direct":
            extra = set().union(*(given.get(n, set()) for n in names))
            out[pos] = replace(out[pos], sources=tuple(sorted(set(out[pos].sources) | extra)))
    return out

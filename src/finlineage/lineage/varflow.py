"""Lineage through variables of a routine: `SELECT ... INTO v`, `SELECT @v = ...`,
`SET v = (SELECT ...)`, `v := (SELECT ...)`, then `UPDATE t SET c = v` or `INSERT ... VALUES (v)`.

The splitter marks the segments that assign variables (`Segment.assigns`); `Variables.assign`
records what each variable holds (its source columns and formula) per routine, and
`Variables.apply` adds those sources to the edges of later statements that read the variable,
with the variable's formula substituted into theirs. A variable is never read as a column of the
target. An assignment to a trigger row field (`:NEW.c := expr`, `NEW.c := expr`) is a write of
column `c` of the trigger's table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from sqlglot import exp

from finlineage.lineage.formula import Formula, projection_trees, wrap
from finlineage.lineage.model import ColumnEdge, StatementLineage

__all__ = ["Variables", "variable_key"]


@dataclass(frozen=True, slots=True)
class _Value:
    sources: tuple[str, ...]
    tree: Formula | None
    indirect: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """(subtype, columns) that shaped the value (the filters/joins of its query)."""
    branch: tuple[int, ...] = ()
    """The conditional regions of the assignment (see `Segment.branch`)."""
    tables: tuple[str, ...] = ()
    """The tables the value was read from (a statement reading the variable reads them)."""
    hidden: frozenset[int] = frozenset()
    """Regions in which the variable was assigned again after this value: statements in them
    after that assignment do not see it (see `Variables.at`)."""


def variable_key(node: exp.Expr, names: frozenset[str]) -> str | None:
    """The variable a formula node reads (`@v`, `:v`, a bare declared name, or a field `r.f` of a
    record that holds a row), else None."""
    if isinstance(node, exp.Parameter):
        return "@" + node.name.lower()
    if isinstance(node, exp.Placeholder) and node.name:
        return node.name.lower()
    if isinstance(node, exp.Anonymous) and not isinstance(node.parent, exp.Dot):  # coll(i)
        name = str(node.this).lower()
        return name if name in names and len(node.expressions) == 1 else None
    if isinstance(node, exp.Dot) and isinstance(node.this, exp.Anonymous):  # coll(i).field
        record = str(node.this.this).lower()
        key = f"{record}.{node.name.lower()}"
        return key if key in names or f"{record}.*" in names else None
    if isinstance(node, exp.Column):
        if not node.table:
            return node.name.lower() if node.name.lower() in names else None
        if not node.args.get("db"):
            record = node.table.lower()
            key = f"{record}.{node.name.lower()}"
            if key in names or f"{record}.*" in names:
                return key
    return None


def _field(target: str) -> str:
    """The name a query output has as a field of a record (`t.c` / `c` -> `c`)."""
    return target.rsplit(".", 1)[-1].lower()


class Variables:
    """What the variables of each routine may hold, in statement order.

    A variable holds one value per way it may have been assigned: an assignment replaces the
    values assigned in its own conditional region (or in regions nested in it) and keeps those
    of other branches and of enclosing code, which may still hold when its branch does not run
    (IF/ELSE and CASE branches merge, a loop body keeps what was assigned before the loop);
    within its region an assignment hides the older values from the statements after it. When
    a construct one of whose arms always runs ends (`close`), a variable assigned on every arm
    holds only what the arms assigned.
    A record (`FOR r IN query`, a cursor, `SELECT * INTO rec`) holds a row: one value per field
    (`r.f`), in the query's output order (what `FETCH c INTO a, b` assigns by position); a field
    of a row read with `*` from a table without schema is that table's column of the same name.
    Variables declared at the level of an Oracle package (`scopes`) are shared by its routines.
    """

    def __init__(self, dialect: str, scopes: Mapping[str, tuple[str, frozenset[str]]] | None = None) -> None:
        self.dialect = dialect
        self.values: dict[tuple[str | None, str], tuple[_Value, ...]] = {}
        self.rows: dict[tuple[str | None, str], tuple[str, ...]] = {}
        """(owner, record) -> its fields in order."""
        self.scopes = dict(scopes or {})
        """routine -> (package, its package-level variables)."""
        self.at: tuple[int, ...] = ()
        """The conditional regions of the statement being analysed (reads see no value hidden
        in one of them)."""

    def _owner(self, process: str | None, name: str) -> str | None:
        scope = self.scopes.get(process) if process is not None else None
        return scope[0] if scope is not None and name.split(".", 1)[0] in scope[1] else process

    def known(self, process: str | None) -> frozenset[str]:
        scope = self.scopes.get(process) if process is not None else None
        own = frozenset(name for p, name in self.values if p == process)
        if scope is None or scope[0] == process:
            return own
        pkg, shared = scope
        return own | frozenset(n for p, n in self.values if p == pkg and n.split(".", 1)[0] in shared)

    def _visible(self, values: tuple[_Value, ...]) -> tuple[_Value, ...]:
        at = self.at
        if not at or not any(v.hidden for v in values):
            return values
        return tuple(v for v in values if not v.hidden.intersection(at))

    def _get(self, process: str | None, name: str) -> tuple[_Value, ...]:
        found = self._visible(self.values.get((self._owner(process, name), name), ()))
        if found or "." not in name:
            return found
        record, field = name.rsplit(".", 1)
        star = self._visible(self.values.get((self._owner(process, record), f"{record}.*"), ()))
        return tuple(
            _Value(
                tuple(x[:-1] + field if x.endswith(".*") else x for x in v.sources),
                None,
                v.indirect,
                v.branch,
                v.tables,
            )
            for v in star
        )

    def _set(
        self, process: str | None, name: str, value: tuple[_Value, ...], branch: tuple[int, ...]
    ) -> None:
        """`name` now holds `value`: what it held in `branch` (or regions nested in it) is
        replaced; what it held before the region is hidden for the rest of it."""
        key = (self._owner(process, name), name)
        depth = len(branch)
        kept = tuple(
            replace(v, hidden=v.hidden | {branch[-1]}) if depth else v
            for v in self.values.get(key, ())
            if v.branch[:depth] != branch
        )
        self.values[key] = (*kept, *value)

    def close(self, enclosing: tuple[int, ...], arms: tuple[int, ...]) -> None:
        """A construct one of whose `arms` (conditional regions in `enclosing`) always runs has
        ended: a variable assigned on every arm no longer holds what it held before (it holds
        what the arms assigned, now values of `enclosing`); one that some arm leaves alone keeps
        every value."""
        depth = len(enclosing)
        wanted = frozenset(arms)
        for key, values in list(self.values.items()):
            inside = [
                v
                for v in values
                if len(v.branch) > depth and v.branch[depth] in wanted and v.branch[:depth] == enclosing
            ]
            if not inside:
                continue
            definite = {v.branch[depth] for v in inside if len(v.branch) == depth + 1}
            if definite != wanted:
                continue
            kept = [
                replace(v, hidden=v.hidden | {enclosing[-1]}) if depth else v
                for v in values
                if v.branch[:depth] != enclosing
            ]
            self.values[key] = (*kept, *(replace(v, branch=enclosing) for v in inside))

    def bind_parameters(self, routine: str, params: tuple[str, ...]) -> None:
        """The parameters of `routine` hold what its callers in the script pass: until the calls
        are known, each holds a placeholder source (`parameter_placeholder`), resolved by
        `resolve_parameters` once every statement is analysed."""
        for p in params:
            self.values.setdefault((routine, p), (_Value((parameter_placeholder(routine, p),), None),))

    def reset(self, process: str | None, names: tuple[str, ...], branch: tuple[int, ...]) -> None:
        """`names` are set to constants: they hold nothing read from a table any more."""
        for name in names:
            self._set(process, name, (_Value((), None, (), branch),), branch)

    def value_of(self, process: str | None, name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(source columns, tables) of everything `name` may hold; ((), ()) when unknown."""
        values = self._get(process, name)
        sources = dict.fromkeys(x for v in values for x in v.sources)
        return tuple(sorted(sources)), tuple(dict.fromkeys(t for v in values for t in v.tables))

    def fields(self, process: str | None, record: str) -> tuple[str, ...]:
        """The fields of the row `record` holds, in order; () when it holds none."""
        return self.rows.get((self._owner(process, record), record), ())

    def record_insert(
        self, process: str | None, stmt: exp.Expr, table: str
    ) -> tuple[list[ColumnEdge], tuple[str, ...]]:
        """PL/SQL `INSERT INTO t [(cols)] VALUES rec | coll(i)`: the record's fields, by position,
        into the table's columns (the listed ones, else the fields' names): (edges, tables)."""
        values = stmt.expression if isinstance(stmt, exp.Insert) else None
        if not isinstance(values, exp.Values) or len(values.expressions) != 1:
            return [], ()
        row = values.expressions[0]
        items = row.expressions if isinstance(row, exp.Tuple) else [row]
        if len(items) != 1:
            return [], ()
        item = items[0]
        if isinstance(item, exp.Column) and not item.table:
            record = item.name.lower()
        elif isinstance(item, exp.Anonymous):
            record = str(item.this).lower()
        else:
            return [], ()
        fields = self.fields(process, record)
        if not fields:
            return [], ()
        schema = stmt.this if isinstance(stmt.this, exp.Schema) else None
        columns = [c.name for c in schema.expressions] if schema is not None else list(fields)
        edges: list[ColumnEdge] = []
        read: dict[str, None] = {}
        for column, field in zip(columns, fields, strict=False):
            sources, tables = self.value_of(process, f"{record}.{field}")
            read.update(dict.fromkeys(tables))
            subtype = "IDENTITY" if len(sources) == 1 else "TRANSFORMATION"
            edges.append(
                ColumnEdge(f"{table}.{column}", sources, "direct", f"{record}.{field}", 1.0, subtype)
            )
        return edges, tuple(read)

    def copy(self, process: str | None, names: tuple[str, ...], source: str, branch: tuple[int, ...]) -> None:
        """`names` receive the row of cursor or record `source` (FETCH ... INTO, FOR r IN c): a
        record takes every field, variables take the fields by position."""
        row = self.rows.get((self._owner(process, source), source))
        if not row:
            return
        if len(names) == 1 and (names[0].endswith(".*") or len(row) > 1 or row == ("*",)):
            record = names[0].removesuffix(".*")
            for field in row:
                got = self._get(process, f"{source}.{field}")
                self._set(process, f"{record}.{field}", tuple(replace(v, branch=branch) for v in got), branch)
            self.rows[(self._owner(process, record), record)] = row
            return
        for name, field in zip(names, row, strict=False):
            got = self._get(process, f"{source}.{field}")
            self._set(process, name, tuple(replace(v, branch=branch) for v in got), branch)

    def assign(
        self,
        process: str | None,
        names: tuple[str, ...],
        stmt: exp.Expr,
        edges: list[ColumnEdge],
        name_of: Callable[[exp.Table], str],
        variables: frozenset[str],
        branch: tuple[int, ...] = (),
        tables: Sequence[str] = (),
    ) -> None:
        """Record the outputs of the query `stmt` (its direct `edges`, in output order; it reads
        `tables`) as the values of `names`, by position, assigned in the conditional regions
        `branch`."""
        direct = [e for e in edges if e.kind == "direct"]
        hints = frozenset(s for e in direct for s in e.sources)
        trees = projection_trees(stmt, name_of, hints, variables, None, self.dialect)
        record = _record(names, direct)
        if record is not None:  # one record gets the whole row, field by field
            fields = tuple(_field(e.target) for e in direct)
            self.rows[(self._owner(process, record), record)] = fields
            names = tuple(f"{record}.{f}" for f in fields)
        for i, name in enumerate(names):
            if "." in name and name.split(".", 1)[0] in ("new", "old") and record is None:
                continue  # a trigger row field: a write (see `row_field_write`)
            if i >= len(direct):
                break
            tree = trees[i] if i < len(trees) else None
            sources, tree, used = self._through(process, direct[i].sources, tree, variables)
            shaped = [
                (e.subtype, e.sources) for e in edges if e.kind == "indirect" and e.target == direct[i].target
            ]
            shaped += [x for v in used for x in v.indirect]
            read = [t for t in tables if any(x.startswith(t + ".") for x in sources)]
            read += [t for v in used for t in v.tables]
            value = _Value(sources, tree, tuple(shaped), branch, tuple(dict.fromkeys(read)))
            self._set(process, name, (value,), branch)
            if record is None and len(names) == 1 == len(direct) and "." not in name:
                # one named column into one variable: a record of one field, if it is one
                field = _field(direct[0].target)
                if field and not field.startswith("_col_"):
                    self._set(process, f"{name}.{field}", (value,), branch)

    def _through(
        self,
        process: str | None,
        sources: tuple[str, ...],
        formula: Formula | None,
        variables: frozenset[str],
    ) -> tuple[tuple[str, ...], Formula | None, list[_Value]]:
        """`sources` and `formula` with the variables it reads replaced by what they may hold
        (the formula only where a variable holds one value), and the values used."""
        if formula is None:
            return sources, None, []
        names = self.known(process)
        if not names:
            return sources, formula, []
        tree = formula.tree()
        found: dict[str, tuple[_Value, ...]] = {}
        for node in tree.walk():
            key = variable_key(node, variables | names)
            if key is not None and (key in names or f"{key.rsplit('.', 1)[0]}.*" in names):
                found[key] = self._get(process, key)
        if not found:
            return sources, formula, []

        def swap(node: exp.Expr) -> exp.Expr:
            key = variable_key(node, variables | names)
            values = found.get(key, ()) if key is not None else ()
            if len(values) != 1 or values[0].tree is None:
                return node
            return wrap(values[0].tree.tree().copy(), node.parent)

        merged = dict.fromkeys(sources)
        used = [v for values in found.values() for v in values]
        for value in used:
            merged.update(dict.fromkeys(value.sources))
        new = Formula.of_tree(tree.transform(swap), self.dialect)
        return tuple(sorted(merged)), new, used

    def conditions(
        self, process: str | None, stmt: exp.Expr, edges: list[ColumnEdge], variables: frozenset[str]
    ) -> tuple[list[ColumnEdge], tuple[str, ...]]:
        """A variable read in a row condition (`WHERE k = v`, `JOIN ... ON`, MERGE `ON`) shapes
        the rows every target column gets: its sources become indirect sources (FILTER / JOIN)
        of each target. Also returns the tables its value came from."""
        names = self.known(process)
        targets = list(dict.fromkeys(e.target for e in edges if e.kind == "direct"))
        if not names or not targets:
            return edges, ()
        found: dict[str, dict[str, None]] = {}
        read: dict[str, None] = {}
        for node in stmt.find_all(exp.Column, exp.Parameter, exp.Placeholder, exp.Dot, exp.Anonymous):
            key = variable_key(node, variables | names)
            if key is None or not (key in names or f"{key.rsplit('.', 1)[0]}.*" in names):
                continue
            subtype = _condition_of(node, stmt)
            if subtype is None:
                continue
            for v in self._get(process, key):
                found.setdefault(subtype, {}).update(dict.fromkeys(v.sources))
                read.update(dict.fromkeys(v.tables))
        if not found:
            return edges, ()
        out = list(edges)
        index = {(e.target, e.subtype): i for i, e in enumerate(out) if e.kind == "indirect"}
        for target in targets:
            for subtype, cols in found.items():
                i = index.get((target, subtype))
                if i is None:
                    out.append(ColumnEdge(target, tuple(sorted(cols)), "indirect", "", 1.0, subtype))
                else:
                    merged = tuple(sorted(dict.fromkeys((*out[i].sources, *cols))))
                    out[i] = replace(out[i], sources=merged)
        return out, tuple(read)

    def apply(
        self,
        process: str | None,
        edges: list[ColumnEdge],
        trees: dict[int, list[Formula]],
        variables: frozenset[str],
    ) -> tuple[list[ColumnEdge], tuple[str, ...]]:
        """Direct edges reading a known variable get its sources, and its formula substituted; the
        columns that shaped the variable's value become indirect sources of the target. Also
        returns the tables the variables read were read from."""
        if not self.known(process):
            return edges, ()
        read: dict[str, None] = {}
        out: list[ColumnEdge] = []
        shaped: dict[tuple[str, str], dict[str, None]] = {}
        for pos, e in enumerate(edges):
            got = trees.get(pos)
            if e.kind == "direct" and got:
                new_trees: list[Formula] = []
                sources = e.sources
                for tree in got:
                    sources, t, used = self._through(process, sources, tree, variables)
                    new_trees.append(t if t is not None else tree)
                    for v in used:
                        read.update(dict.fromkeys(v.tables))
                        for sub, cols in v.indirect:
                            shaped.setdefault((e.target, sub), {}).update(dict.fromkeys(cols))
                if sources != e.sources or any(a is not b for a, b in zip(new_trees, got, strict=True)):
                    trees[pos] = new_trees
                    formula = new_trees[0].text() if len(new_trees) == 1 else e.formula
                    e = replace(e, sources=sources, formula=formula)
            out.append(e)
        if not shaped:
            return out, tuple(read)
        for i, e in enumerate(out):  # one indirect edge per (target, subtype)
            extra = shaped.pop((e.target, e.subtype), None) if e.kind == "indirect" else None
            if extra:
                out[i] = replace(e, sources=tuple(sorted(dict.fromkeys((*e.sources, *extra)))))
        for (target, sub), found in shaped.items():
            out.append(ColumnEdge(target, tuple(sorted(found)), "indirect", "", 1.0, sub))
        return out, tuple(read)


_CONDITION_SUBTYPE: tuple[tuple[type[exp.Expr], str], ...] = (
    (exp.Where, "FILTER"),
    (exp.Having, "FILTER"),
    (exp.Qualify, "FILTER"),
    (exp.Join, "JOIN"),
)


def _condition_of(node: exp.Expr, root: exp.Expr) -> str | None:
    """The subtype of the row condition (WHERE/HAVING/QUALIFY: FILTER, JOIN ... ON: JOIN) that
    `node` is part of, or None when it is in no such clause."""
    parent = node.parent
    while parent is not None and parent is not root:
        for kind, subtype in _CONDITION_SUBTYPE:
            if isinstance(parent, kind):
                return subtype
        parent = parent.parent
    if isinstance(root, exp.Merge) and node.find_ancestor(exp.When) is None:
        return "JOIN"  # MERGE ... ON
    return None


_PARAM = "\x00param\x00"


def parameter_placeholder(routine: str, param: str) -> str:
    return f"{_PARAM}{routine}\x00{param}"


def resolve_parameters(
    statements: list[StatementLineage],
    passed: Mapping[tuple[str, str], tuple[dict[str, None], dict[str, None]]],
) -> list[StatementLineage]:
    """Statements with parameter placeholders replaced by the columns (and tables) the callers
    pass for that parameter ((routine, parameter) -> (columns, tables)); nothing when no call in
    the script passes one."""
    out: list[StatementLineage] = []
    for st in statements:
        if not any(x.startswith(_PARAM) for e in st.column_edges for x in e.sources):
            out.append(st)
            continue
        tables = dict.fromkeys(st.source_tables)
        edges: list[ColumnEdge] = []
        for e in st.column_edges:
            sources: dict[str, None] = {}
            for x in e.sources:
                if not x.startswith(_PARAM):
                    sources[x] = None
                    continue
                routine, param = x[len(_PARAM) :].split("\x00", 1)
                cols, read = passed.get((routine, param), ({}, {}))
                sources.update(cols)
                tables.update(read)
            edges.append(replace(e, sources=tuple(sorted(sources))))
        out.append(replace(st, column_edges=tuple(edges), source_tables=tuple(tables)))
    return out


def _record(names: tuple[str, ...], direct: list[ColumnEdge]) -> str | None:
    """The record a query's row is assigned to: `r.*` (a loop record or a cursor), or the one
    variable `SELECT a, b INTO rec` / `SELECT * INTO rec` names; None for scalar variables."""
    if len(names) != 1:
        return None
    name = names[0]
    if name.endswith(".*"):
        return name[:-2]
    if "." not in name and (len(direct) > 1 or (direct and direct[0].target.endswith("*"))):
        return name
    return None


def row_field_write(
    names: tuple[str, ...], row_tables: Mapping[str, str], edges: list[ColumnEdge]
) -> tuple[str, list[ColumnEdge]] | None:
    """An assignment to a trigger row field (`new.c`): (the trigger's table, the edges retargeted
    to its column `c`), or None."""
    if len(names) != 1 or "." not in names[0]:
        return None
    record, column = names[0].split(".", 1)
    table = row_tables.get(record)
    if not table:
        return None
    first = next((e.target for e in edges if e.kind == "direct"), None)
    target = f"{table}.{column}"
    return table, [replace(e, target=target) for e in edges if e.target == first]

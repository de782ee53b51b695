"""What routines produce besides their plain statements: the rows a T-SQL `INSERT ... EXEC`
takes from a procedure, the result rows of table functions (a `RETURNS @t TABLE` variable, the
columns of an undeclared result), PL/pgSQL `RETURN NEXT` rows, and assignments that are only
bookkeeping of variables."""

from __future__ import annotations

import re
from dataclasses import replace

from sqlglot import exp
from sqlglot.errors import SqlglotError

from finlineage.lineage.model import ColumnDef, ColumnEdge, Diagnostic, ObjectDefinition, StatementLineage
from finlineage.lineage.names import canonical_dotted, canonicalize, normalize_name
from finlineage.lineage.rollup import is_temporary_name
from finlineage.lineage.splitters.base import Segment
from finlineage.lineage.statements import Context, StatementResult
from finlineage.lineage.varflow import Variables
from finlineage.lineage.variables import parameters

__all__ = [
    "as_result",
    "bookkeeping",
    "call_bindings",
    "insert_exec",
    "insert_exec_statement",
    "passed_values",
    "qualify_calls",
    "result_columns_of",
    "return_next",
]

_NAME_PART = r"(?:\[[^\]]+\]|\"[^\"]+\"|[\w#@$]+)"
_INSERT_EXEC = re.compile(
    rf"\bINSERT\s+(?:INTO\s+)?({_NAME_PART}(?:\s*\.\s*{_NAME_PART})*)\s*(?:\(([^()]*)\))?\s*"
    rf"EXEC(?:UTE)?\s+(?:@\w+\s*=\s*)?({_NAME_PART}(?:\s*\.\s*{_NAME_PART})*)",
    re.I,
)


def insert_exec(
    span: str, calls: tuple[str, ...], ctx: Context, index: int, line: int
) -> tuple[str, list[str], str] | None:
    """(target, columns, procedure) of a T-SQL `INSERT [INTO] t [(cols)] EXEC proc` in `span`
    (the original lines of a call-only segment), or None."""
    best: tuple[str, list[str], str] | None = None
    for m in _INSERT_EXEC.finditer(span):
        try:
            table = exp.to_table(m.group(1), dialect=ctx.dialect or None)
        except (SqlglotError, ValueError, TypeError):
            continue
        canonicalize(table, ctx.dialect)
        cols = [normalize_name(c.strip().strip('[]"`'), ctx.dialect) for c in (m.group(2) or "").split(",")]
        proc = canonical_dotted(re.sub(r"[\s\[\]\"]", "", m.group(3)), ctx.dialect)
        found = (ctx.name_of(table), [c for c in cols if c], proc.lower())
        if best is None or proc.lower() in {c.lower() for c in calls}:
            best = found
    return best


def insert_exec_statement(
    found: tuple[str, list[str], str],
    ctx: Context,
    index: int,
    line_start: int,
    line_end: int,
    process: str | None,
    calls: tuple[str, ...],
) -> StatementLineage:
    target, cols, proc = found
    call = next((c for c in calls if c.lower() == proc), calls[0] if calls else proc)
    temp = (target,) if target in ctx.temp_tables or is_temporary_name(target) else ()
    return StatementLineage(
        index=index,
        type="insert",
        target_tables=(target,),
        column_edges=tuple(
            ColumnEdge(f"{target}.{c}", (), "direct", f"EXEC {call}", 0.5, "TRANSFORMATION") for c in cols
        ),
        line_start=line_start,
        line_end=line_end,
        process=process,
        calls=calls,
        temporary_tables=temp,
        diagnostics=(
            Diagnostic(
                "procedure_result_set",
                f"rows of {target} come from the result set of procedure {call}: "
                "its column lineage is that procedure's, not analysed here",
                "info",
                line_start,
                index,
            ),
        ),
    )


def as_result(res: StatementResult, var: str, func: str) -> None:
    """Rows written to a T-SQL function's `RETURNS @t TABLE` variable are the function's result."""

    def rename(name: str) -> str:
        return func + name[len(var) :] if name == var or name.startswith(var + ".") else name

    if var not in res.target_tables and var not in res.source_tables:
        return
    res.target_tables = [rename(t) for t in res.target_tables]
    res.source_tables = [rename(t) for t in res.source_tables]
    res.temporary_tables = [t for t in res.temporary_tables if t != var]
    res.column_edges = [
        replace(e, target=rename(e.target), sources=tuple(rename(x) for x in e.sources))
        for e in res.column_edges
    ]


def result_columns_of(
    objects: list[ObjectDefinition], statements: list[StatementLineage], results: dict[str, tuple[str, ...]]
) -> list[ObjectDefinition]:
    """Functions returning the rows of a query without declaring their columns (T-SQL inline
    `RETURNS TABLE`, `RETURNS SETOF`) have the columns their result statements write."""
    found: dict[str, dict[str, None]] = {}
    for st in statements:
        name = st.process
        if name is None or name not in results or results[name] or name not in st.target_tables:
            continue
        prefix = name + "."
        cols = found.setdefault(name, {})
        cols.update((e.target[len(prefix) :], None) for e in st.column_edges if e.target.startswith(prefix))
    return [
        replace(
            o, columns=tuple(ColumnDef(c, i + 1) for i, c in enumerate(c for c in found[o.name] if c != "*"))
        )
        if o.name in found and not o.columns
        else o
        for o in objects
    ]


def bookkeeping(res: StatementResult) -> bool:
    """An assignment whose query reads no table and failed in nothing: no statement of its own."""
    return (
        res.type == "select"
        and not res.source_tables
        and not res.target_tables
        and not res.source_paths
        and not any(d.severity == "error" for d in res.diagnostics)
    )


def return_next(
    seg: Segment, flow: Variables, columns: tuple[str, ...], index: int
) -> StatementLineage | None:
    """PL/pgSQL `RETURN NEXT [record]` in a function that RETURNS TABLE (columns): the row's
    columns get what the OUT columns (variables of the same names) or the record's fields hold."""
    func = seg.process or ""
    if seg.source:
        fields = flow.fields(func, seg.source)
        names = [f"{seg.source}.{f}" for f in fields]
    else:
        names = [c.lower() for c in columns]
    edges: list[ColumnEdge] = []
    tables: dict[str, None] = {}
    for column, name in zip(columns, names, strict=False):
        sources, read = flow.value_of(func, name)
        if sources:
            edges.append(ColumnEdge(f"{func}.{column}", sources, "direct", "", 1.0, "TRANSFORMATION"))
            tables.update(dict.fromkeys(read))
    if not edges:
        return None
    return StatementLineage(
        index=index,
        type="return_next",
        source_tables=tuple(tables),
        target_tables=(func,),
        column_edges=tuple(edges),
        line_start=seg.line_start,
        line_end=seg.line_end,
        process=seg.process,
        calls=seg.calls,
    )


def qualify_calls(segments: list[Segment], routines: list[ObjectDefinition]) -> list[Segment]:
    """PL/SQL name resolution of calls: a routine name that leaves out the enclosing package or
    the caller's schema (`member`, `package.member` called from `schema.package.caller`) names
    the routine the script defines in the innermost such scope; other names stay as written."""
    defined = {r.name for r in routines if r.kind in ("procedure", "function")}

    def resolve(name: str, process: str | None) -> str:
        if name in defined or not process:
            return name
        scope = process
        while "." in scope:
            scope = scope.rsplit(".", 1)[0]
            if f"{scope}.{name}" in defined:
                return f"{scope}.{name}"
        return name

    out: list[Segment] = []
    for seg in segments:
        calls = tuple(resolve(c, seg.process) for c in seg.calls)
        source = resolve(seg.source, seg.process) if seg.bookkeeping and seg.source else seg.source
        out.append(
            replace(seg, calls=calls, source=source) if (calls, source) != (seg.calls, seg.source) else seg
        )
    return out


def call_bindings(
    segments: list[Segment], routines: list[ObjectDefinition]
) -> dict[int, tuple[str, tuple[str, ...]]]:
    """The calls with arguments of routines defined in the script: segment number of the
    arguments (a bookkeeping `SELECT a, b` whose `source` is the routine) -> (routine, its
    parameters). An unqualified name may leave out the caller's qualifier (an Oracle package,
    a T-SQL schema)."""
    defined = {r.name: r for r in routines if r.kind in ("procedure", "function")}
    params: dict[str, tuple[str, ...]] = {}
    out: dict[int, tuple[str, tuple[str, ...]]] = {}
    for n, seg in enumerate(segments):
        if not (seg.bookkeeping and seg.source and seg.assigns):
            continue
        name = seg.source
        if name not in defined and seg.process and "." in seg.process:
            name = f"{seg.process.rsplit('.', 1)[0]}.{name}"  # pkg.caller -> pkg.callee
        if name not in defined:
            continue
        if name not in params:
            params[name] = parameters(defined[name].definition)
        if params[name]:
            out[n] = (name, params[name])
    return out


def passed_values(
    flow: Variables,
    process: str | None,
    assigns: tuple[str, ...],
    binding: tuple[str, tuple[str, ...]],
    passed: dict[tuple[str, str], tuple[dict[str, None], dict[str, None]]],
) -> None:
    """Add what the arguments of one call (the values of `#arg<n>` by position and `#arg=<p>` by
    name, variables of the caller `process`) pass to the routine's parameters. A name that is
    no parameter of the routine passes nothing."""
    routine, params = binding
    for arg in assigns:
        if arg.startswith("#arg="):
            param = arg[len("#arg=") :]
            if param not in params:
                continue
        else:
            pos = int(arg[len("#arg") :])
            if pos >= len(params):
                continue
            param = params[pos]
        cols, tables = flow.value_of(process, arg)
        got = passed.setdefault((routine, param), ({}, {}))
        got[0].update(dict.fromkeys(cols))
        got[1].update(dict.fromkeys(tables))

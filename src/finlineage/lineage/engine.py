"""`extract`: the lineage of a SQL script, statement by statement and rolled up."""

from __future__ import annotations

import re
import signal
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from types import FrameType

import sqlglot
from sqlglot import TokenType, exp
from sqlglot.errors import ErrorLevel, SqlglotError, TokenError

from finlineage.lineage.dml_ctes import implicitly_recursive, returning_ctes
from finlineage.lineage.extractors.insert import with_proposed
from finlineage.lineage.formula import Formula, attach, projection_trees
from finlineage.lineage.model import (
    ColumnDef,
    Diagnostic,
    LineageResult,
    ObjectDefinition,
    StatementLineage,
)
from finlineage.lineage.names import (
    SchemaIndex,
    canonical_dialect,
    canonical_dotted,
    canonicalize,
    dialect_of,
    normalize_name,
    sql_text,
)
from finlineage.lineage.rollup import rollup
from finlineage.lineage.routine_results import (
    as_result,
    bookkeeping,
    call_bindings,
    insert_exec,
    insert_exec_statement,
    passed_values,
    qualify_calls,
    result_columns_of,
    return_next,
)
from finlineage.lineage.splitters.base import Segment
from finlineage.lineage.statements import Context, StatementResult, analyze_statement
from finlineage.lineage.table_functions import inline_table_functions, with_body
from finlineage.lineage.varflow import Variables, resolve_parameters, row_field_write
from finlineage.lineage.variables import (
    declared_names,
    returned_rows,
    trigger_pseudo_tables,
    trigger_records,
    trigger_table,
)

__all__ = ["MAX_INPUT_CHARS", "MAX_STATEMENT_CHARS", "extract"]

MAX_INPUT_CHARS = 20_000_000
"""Larger inputs are refused with a `too_large` diagnostic."""
MAX_STATEMENT_CHARS = 2_000_000
"""Larger single statements are skipped with a `too_large` diagnostic."""
STATEMENT_TIMEOUT_S = 5.0


class _StatementTimeout(Exception):
    pass


@contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Raise _StatementTimeout after `seconds` (main thread only; elsewhere no limit).

    The alarm keeps re-firing, and a block that ran past the limit ends with _StatementTimeout
    even when every alarm landed where Python swallows exceptions (a GC callback, `__del__`,
    or compiled code whose only Python frames are such callbacks)."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return
    fired = False

    def on_alarm(signum: int, frame: FrameType | None) -> None:
        nonlocal fired
        fired = True
        raise _StatementTimeout()

    try:
        previous = signal.signal(signal.SIGALRM, on_alarm)
    except (ValueError, OSError):
        yield
        return
    signal.setitimer(signal.ITIMER_REAL, seconds, 0.05)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if fired:
            raise _StatementTimeout()


_Closes = dict[int, list[tuple[tuple[int, ...], tuple[int, ...]]]]
"""Segment number -> constructs one of whose arms always runs, ending before it (enclosing
regions, arms), innermost first."""
_Split = tuple[
    list[Segment], list[ObjectDefinition], list[Diagnostic], dict[str, tuple[str, frozenset[str]]], _Closes
]


def _split(sql: str, dialect: str) -> _Split:
    """Segments (names canonical), routines, diagnostics, and the package-level variables of each
    routine of an Oracle package (routine -> (package, variables))."""
    from finlineage.lineage.procedural import split_script

    try:
        res = split_script(sql, dialect)
    except Exception as e:  # a splitter bug must not lose the whole script
        diag = Diagnostic(
            "split_error",
            f"script splitter failed ({type(e).__name__}: {e}); "
            "falling back to the parser's own statement split",
            "warning",
        )
        return [Segment(sql, 1, sql.count("\n") + 1)], [], [diag], {}, {}
    segs = []
    diags: list[Diagnostic] = list(res.diagnostics)
    for s in res.segments:
        # the splitter folds unquoted names the dialect's way (UPPER for Snowflake/Oracle)
        process = canonical_dotted(s.process, dialect) if s.process else s.process
        calls = tuple(canonical_dotted(c, dialect) for c in s.calls)
        if s.bookkeeping and s.source:  # the routine a call's arguments are passed to
            s = replace(s, source=canonical_dotted(s.source, dialect))
        segs.append(
            replace(s, process=process, calls=calls) if process != s.process or calls != s.calls else s
        )
        diags.extend(s.diagnostics)
    routines = [replace(r, name=canonical_dotted(r.name, dialect)) for r in res.routines]
    scopes: dict[str, tuple[str, frozenset[str]]] = {}
    containers = {r.name.rsplit(".", 1)[0] for r in routines if "." in r.name}
    package_vars: dict[str, frozenset[str]] = {}
    for package, names in res.package_vars:
        pkg = canonical_dotted(package, dialect)
        if "." not in pkg and pkg not in containers:
            # a spec that leaves out the schema its body names: the same package
            qualified = [c for c in containers if c.endswith("." + pkg)]
            if len(qualified) == 1:
                pkg = qualified[0]
        package_vars[pkg] = package_vars.get(pkg, frozenset()) | frozenset(names)
    for pkg, members in package_vars.items():
        shared = (pkg, members)
        scopes[pkg] = shared
        for r in routines:
            if r.name.startswith(pkg + "."):
                scopes[r.name] = shared
    closes: _Closes = {}
    for at, enclosing, arms in res.closes:
        closes.setdefault(at, []).append((enclosing, arms))
    return segs, routines, diags, scopes, closes


_DECLARES = re.compile(r"\b(?:DECLARE|LET|FOR)\s", re.I)
"""Words that may declare a variable of a script or anonymous block (see `declared_names`)."""


def extract(
    sql: str | bytes,
    dialect: str | None = "",
    *,
    schema: Mapping[str, Mapping[str, object]] | None = None,
    default_db: str | None = None,
    default_schema: str | None = None,
    lateral_alias: bool = False,
    statement_timeout: float = STATEMENT_TIMEOUT_S,
) -> LineageResult:
    """Table and column lineage of every statement of `sql`, plus the script-level rollup.

    Never raises for bad SQL: problems are reported as diagnostics. Raises ValueError only for
    an unknown dialect name.
    """
    d = canonical_dialect(dialect)
    if isinstance(sql, bytes):
        sql = sql.decode("utf-8", errors="replace")
    if not isinstance(sql, str):
        raise TypeError("sql must be str or bytes")
    diagnostics: list[Diagnostic] = []
    if d == "auto":
        from finlineage.lineage.detect import detect_dialect

        try:
            d = canonical_dialect(detect_dialect(sql[:200_000]))
        except Exception:
            d = ""
    if len(sql) > MAX_INPUT_CHARS:
        diagnostics.append(
            Diagnostic("too_large", f"input of {len(sql)} characters exceeds {MAX_INPUT_CHARS}", "error")
        )
        return LineageResult(dialect=d, diagnostics=tuple(diagnostics))
    if "\x00" in sql:
        sql = sql.replace("\x00", " ")
    if "\ufeff" in sql:  # a byte order mark is not text: not a statement, not a column
        sql = ("" if sql.startswith("\ufeff") else sql[0]) + sql[1:].replace("\ufeff", " ")

    index = SchemaIndex(d)
    if schema:
        index.add_user_schema(schema)
    ctx = Context(
        dialect=d,
        schema=index,
        default_db=normalize_name(default_db, d) if default_db else None,
        default_schema=normalize_name(default_schema, d) if default_schema else None,
        lateral_alias=lateral_alias,
    )

    segments, routines, split_diags, scopes, closes = _split(sql, d)
    if d == "oracle":
        segments = qualify_calls(segments, routines)
    diagnostics.extend(split_diags)
    statements: list[StatementLineage] = []
    objects: list[ObjectDefinition] = list(routines)
    variables: dict[str | None, frozenset[str]] = {}
    row_tables: dict[str | None, dict[str, str]] = {}
    pseudo_tables: dict[str | None, dict[str, str]] = {}
    results: dict[str, tuple[str, ...]] = {}
    """Functions returning rows -> their declared result columns (() when a query's outputs)."""
    table_vars: dict[str, str] = {}
    """T-SQL `RETURNS @t TABLE (...)` functions -> @t, whose rows are the function's result."""
    for r in routines:
        if r.kind == "function" and (rows := returned_rows(r.definition)) is not None:
            results[r.name] = rows[0]
            if rows[1]:
                table_vars[r.name] = rows[1]
    objects = [
        replace(r, columns=tuple(ColumnDef(c, i + 1) for i, c in enumerate(results[r.name])))
        if r.name in results and not r.columns
        else r
        for r in objects
    ]
    for r in routines:
        variables[r.name] = variables.get(r.name, frozenset()) | declared_names(r.definition)
        if r.name in scopes:  # an Oracle package's own variables
            variables[r.name] |= scopes[r.name][1]
        on = trigger_table(r.definition) if r.kind == "trigger" else None
        if on:
            try:
                table = canonicalize(exp.to_table(on, dialect=d or None), d)
            except (SqlglotError, ValueError, TypeError):
                table = None
            if isinstance(table, exp.Table):
                if pseudo := trigger_pseudo_tables(d):  # T-SQL: `inserted`/`deleted`, no NEW/OLD
                    pseudo_tables[r.name] = dict.fromkeys(pseudo, ctx.name_of(table))
                else:
                    row_tables[r.name] = dict.fromkeys(trigger_records(r.definition), ctx.name_of(table))
    # PostgreSQL: a trigger function's NEW/OLD rows are those of the table whose trigger runs it
    for seg in segments:
        if not seg.sql and seg.process in row_tables and seg.calls:
            for fn in seg.calls:
                row_tables.setdefault(fn, dict(row_tables[seg.process]))
    for pkg, shared in scopes.items():
        variables.setdefault(pkg, shared[1])
    lines: list[str] | None = None
    flow = Variables(d, scopes)
    bindings = call_bindings(segments, routines)
    for routine, params in set(bindings.values()):
        flow.bind_parameters(routine, params)
    passed: dict[tuple[str, str], tuple[dict[str, None], dict[str, None]]] = {}
    trees: dict[tuple[int, int], list[Formula]] = {}
    """Formula trees of statement edges, for the rollup to compose."""
    for seg_no, seg in enumerate(segments):
        for enclosing, arms in closes.get(seg_no, ()):
            flow.close(enclosing, arms)
        flow.at = seg.branch
        text, line_start, line_end, process, calls = (
            seg.sql,
            seg.line_start,
            seg.line_end,
            seg.process,
            seg.calls,
        )
        if process not in variables:  # an anonymous block or the script: DECLARE sections in it
            variables[process] = declared_names(sql, routine=False) if _DECLARES.search(sql) else frozenset()
        ctx.variables = variables[process] | flow.known(process)
        ctx.row_tables = row_tables.get(process, {})
        ctx.pseudo_tables = pseudo_tables.get(process, {})
        ctx.result = (process, results[process]) if seg.returns and process in results else None
        # a scalar function's RETURN (SELECT ...) is a value, not a result set
        ctx.in_expression = seg.in_expression or (seg.returns and process not in results)
        if not text.strip():
            if seg.source and seg.assigns:  # FETCH c INTO ..., FOR r IN c LOOP
                flow.copy(process, seg.assigns, seg.source, seg.branch)
                continue
            if seg.returns:  # RETURN NEXT: a row of the function's result
                if process is not None and process in results:
                    row = return_next(seg, flow, results[process], len(statements))
                    if row is not None:
                        statements.append(row)
                continue
            if seg.assigns and not calls:  # v := <constant>
                flow.reset(process, seg.assigns, seg.branch)
                continue
            found = None
            if calls and d in ("tsql", "fabric"):
                if lines is None:
                    lines = sql.split("\n")
                span = "\n".join(lines[max(line_start - 1, 0) : line_end])
                found = insert_exec(span, calls, ctx, len(statements), line_start)
            if found is not None:
                statements.append(
                    insert_exec_statement(found, ctx, len(statements), line_start, line_end, process, calls)
                )
                continue
            if calls:
                statements.append(
                    StatementLineage(
                        index=len(statements),
                        type="call",
                        line_start=line_start,
                        line_end=line_end,
                        process=process,
                        calls=calls,
                    )
                )
            continue
        for res, (ls, le), stmt_text in _analyze_segment(
            text,
            ctx,
            len(statements),
            (line_start, line_end, seg.column),
            statement_timeout,
            _Facts(trees, flow, process, seg.assigns, seg.branch),
        ):
            if seg.assigns and (seg.bookkeeping or bookkeeping(res)):
                continue  # `v := expr of variables`: what v holds is recorded, no table is read
            if process in table_vars:
                as_result(res, table_vars[process], process)
            # an object's definition is its statement's own text, not SQL printed from the tree
            objects.extend(
                replace(o, line_start=ls, line_end=le, definition=o.definition or stmt_text)
                for o in res.objects
            )
            statements.append(
                StatementLineage(
                    index=len(statements),
                    type=res.type,
                    source_tables=tuple(res.source_tables),
                    target_tables=tuple(res.target_tables),
                    column_edges=tuple(res.column_edges),
                    line_start=ls,
                    line_end=le,
                    sql=stmt_text,
                    process=process,
                    calls=calls,
                    source_paths=tuple(res.source_paths),
                    target_paths=tuple(res.target_paths),
                    temporary_tables=tuple(res.temporary_tables),
                    renames=tuple(res.renames),
                    unknown_functions=tuple(res.unknown_functions),
                    diagnostics=tuple(
                        Diagnostic(x.code, x.message, x.severity, x.line or ls, len(statements), x.column)
                        for x in res.diagnostics
                    ),
                )
            )
        if seg_no in bindings:  # what this call passes to the routine's parameters
            passed_values(flow, process, seg.assigns, bindings[seg_no], passed)
    if bindings:
        statements = resolve_parameters(statements, passed)
    objects = result_columns_of(objects, statements, results)
    return LineageResult(
        dialect=d,
        statements=tuple(statements),
        objects=tuple(objects),
        rollup=rollup(statements, ctx.temp_tables, trees=trees, dialect=d),
        diagnostics=tuple(diagnostics),
    )


class _Facts:
    """What the engine adds to a statement's analysis: formulas (kept as trees for the rollup)
    and lineage through variables and trigger row fields."""

    __slots__ = ("assigns", "branch", "flow", "process", "trees")

    def __init__(
        self,
        trees: dict[tuple[int, int], list[Formula]],
        flow: Variables,
        process: str | None,
        assigns: tuple[str, ...],
        branch: tuple[int, ...] = (),
    ) -> None:
        self.trees = trees
        self.flow = flow
        self.process = process
        self.assigns = assigns
        self.branch = branch

    def add(self, stmt: exp.Expr, res: StatementResult, ctx: Context, index: int) -> None:
        variables = ctx.variables | self.flow.known(self.process)
        if isinstance(stmt, exp.Insert) and res.target_tables and self.flow.values:
            edges, read = self.flow.record_insert(self.process, stmt, res.target_tables[0])
            if edges:  # INSERT ... VALUES rec: the record's fields
                res.column_edges = edges
                res.source_tables.extend(t for t in read if t not in res.source_tables)
                return
        if self.assigns and not res.target_tables and res.column_edges:
            self.flow.assign(
                self.process,
                self.assigns,
                stmt,
                res.column_edges,
                ctx.name_of,
                variables,
                self.branch,
                res.source_tables,
            )
            write = row_field_write(self.assigns, ctx.row_tables, res.column_edges)
            if write is None:
                return
            table, edges = write
            res.type = "assign"
            res.target_tables = [table]
            res.column_edges = edges
            found = {
                pos: [t]
                for pos, t in enumerate(
                    projection_trees(stmt, ctx.name_of, frozenset(), variables, ctx.row_tables, ctx.dialect)[
                        :1
                    ]
                )
                if t is not None
            }
            res.column_edges = [
                replace(e, formula=found[0][0].text()) if pos == 0 and found else e
                for pos, e in enumerate(edges)
            ]
        elif res.target_tables and res.column_edges:
            res.column_edges, found = attach(
                stmt, res.column_edges, res.target_tables, ctx.name_of, ctx.dialect, variables, res.scopes
            )
        else:
            return
        res.column_edges, read = self.flow.apply(self.process, res.column_edges, found, variables)
        if res.target_tables and self.flow.values:
            res.column_edges, shaped = self.flow.conditions(self.process, stmt, res.column_edges, variables)
            read += shaped
        if res.proposed_reads and res.target_tables:  # EXCLUDED.x: what x got, variables included
            res.column_edges = with_proposed(res.column_edges, res.proposed_reads, res.target_tables[0])
        for table in read:  # rows read into a variable earlier are read by this statement
            if table not in res.source_tables:
                res.source_tables.append(table)
        self.trees.update(((index, pos), t) for pos, t in found.items())


def _analyze_segment(
    text: str,
    ctx: Context,
    first_index: int,
    span: tuple[int, int, int],
    timeout: float,
    facts: _Facts,
) -> list[tuple[StatementResult, tuple[int, int], str]]:
    line_start, line_end, column = span
    if len(text) > MAX_STATEMENT_CHARS:
        res = StatementResult("unknown")
        res.diagnostics.append(
            Diagnostic("too_large", f"statement of {len(text)} characters skipped", "error", line_start)
        )
        return [(res, (line_start, line_end), text[:1000])]
    out: list[tuple[StatementResult, tuple[int, int], str]] = []
    spans: list[tuple[int, int]] = []
    started = time.perf_counter()
    try:
        with _time_limit(timeout):
            parsed, used, err = _parse(text, ctx.dialect)
            if err is not None:
                return [(_unparsed(text, ctx, err, line_start, column), (line_start, line_end), text)]
            for i, stmt in enumerate(parsed):
                try:
                    stmt = canonicalize(stmt, ctx.dialect)
                    work, functions = inline_table_functions(
                        stmt, ctx.table_functions, ctx.name_of, ctx.dialect, ctx.schema.columns
                    )
                    work, writes = returning_ctes(work, ctx.name_of, ctx.schema.columns, ctx.dialect)
                    work = implicitly_recursive(work, ctx.dialect)
                    res = analyze_statement(work, ctx, first_index + i)
                    res.source_tables.extend(f for f in functions.read if f not in res.source_tables)
                    res.unknown_functions = functions.unknown
                    res.diagnostics.extend(
                        Diagnostic(
                            "table_function_unknown",
                            f"table-valued function {f}: its result columns are unknown (not defined "
                            "before this statement in the script, nor in the schema): what is read "
                            "through it has no upstream",
                            "warning",
                            line_start,
                        )
                        for f in functions.unknown
                    )
                    res.diagnostics.extend(
                        Diagnostic(
                            "column_aliases_unmapped",
                            f"columns of {t} are unknown: its column alias list cannot be mapped to "
                            "them by position, so the aliases are read as its column names",
                            "warning",
                            line_start,
                        )
                        for t in dict.fromkeys(functions.unrenamed)
                    )
                    facts.add(work, res, ctx, first_index + i)
                    for write in writes:  # a data-modifying CTE writes its own table
                        _merge_write(res, analyze_statement(write, ctx, first_index + i))
                    if res.type == "return_query" and ctx.result is not None:
                        func, columns = ctx.result  # the query is the function's rows: readers inline it
                        body = with_body(ctx.table_functions.get(func), work, columns)
                        if body is not None:
                            ctx.table_functions[func] = body
                    if used != ctx.dialect:
                        res.diagnostics.append(
                            Diagnostic(
                                "dialect_fallback",
                                f"not valid {ctx.dialect or 'ansi'} SQL; parsed as {used or 'ansi'}",
                                "info",
                                line_start,
                            )
                        )
                except (SqlglotError, ValueError, TypeError, KeyError, IndexError, AttributeError) as e:
                    res = StatementResult("unknown")
                    res.diagnostics.append(
                        Diagnostic("analysis_error", f"{type(e).__name__}: {e}", "error", line_start)
                    )
                stmt_text = text if len(parsed) == 1 else sql_text(stmt, ctx.dialect)
                if len(parsed) > 1 and i == 0:
                    spans = _statement_spans(text, used, len(parsed), line_start)
                span_i = spans[i] if len(parsed) > 1 and spans else (line_start, line_end)
                out.append((res, span_i, stmt_text))
    except _StatementTimeout:
        res = StatementResult("unknown")
        res.diagnostics.append(
            Diagnostic(
                "timeout",
                f"statement analysis exceeded {timeout:.1f}s after {time.perf_counter() - started:.1f}s",
                "error",
                line_start,
            )
        )
        out.append((res, (line_start, line_end), text))
    except (RecursionError, MemoryError):
        res = StatementResult("unknown")
        res.diagnostics.append(
            Diagnostic("too_complex", "statement nesting too deep to analyse", "error", line_start)
        )
        out.append((res, (line_start, line_end), text))
    except Exception as e:  # the per-statement boundary: one statement never takes the script down
        res = StatementResult("unknown")
        res.diagnostics.append(Diagnostic("analysis_error", f"{type(e).__name__}: {e}", "error", line_start))
        out = [(res, (line_start, line_end), text)]
    return out


def _merge_write(res: StatementResult, write: StatementResult) -> None:
    """The write a data-modifying CTE makes, added to the statement holding it (a SELECT reading
    it is then that write: its own outputs go to the client, not to a table)."""
    if res.type == "select" and write.target_tables:
        res.type = write.type
        res.column_edges = [e for e in res.column_edges if "." in e.target]
    res.target_tables.extend(t for t in write.target_tables if t not in res.target_tables)
    res.source_tables.extend(t for t in write.source_tables if t not in res.source_tables)
    res.column_edges.extend(write.column_edges)
    res.diagnostics.extend(write.diagnostics)


def _statement_spans(text: str, dialect: str, count: int, line_start: int) -> list[tuple[int, int]]:
    """Lines of each of the `count` statements sqlglot found in one segment (split at `;`), in
    the original file; [] when the tokens do not split into that many statements."""
    try:
        tokens = dialect_of(dialect).tokenize(text)
    except _PARSE_ERRORS:
        return []
    spans: list[tuple[int, int]] = []
    first = last = -1
    for tok in tokens:
        if tok.token_type == TokenType.SEMICOLON:
            if first >= 0:
                spans.append((first, last))
            first = last = -1
            continue
        if first < 0:  # a token's line is where it ends
            first = tok.line - tok.text.count("\n")
        last = max(last, tok.line)
    if first >= 0:
        spans.append((first, last))
    if len(spans) != count:
        return []
    return [(line_start + a - 1, line_start + b - 1) for a, b in spans]


_PARSE_FALLBACKS: dict[str, tuple[str, ...]] = {
    "athena": ("hive", "trino"),
    "trino": ("presto",),
    "presto": ("trino",),
    "spark": ("databricks", "hive"),
    "spark2": ("spark", "hive"),
    "databricks": ("spark",),
    "hive": ("spark",),
    "redshift": ("postgres",),
    "postgres": ("redshift", "duckdb"),
    "materialize": ("postgres",),
    "risingwave": ("postgres",),
    "tsql": ("fabric",),
    "fabric": ("tsql",),
    "mysql": ("singlestore", "doris"),
    "teradata": ("",),
    "exasol": ("",),
    "": ("postgres", "tsql", "mysql", "spark", "snowflake", "bigquery"),
}
_PARSE_ERRORS = (SqlglotError, ValueError, TypeError, KeyError, IndexError, AttributeError)


def _parse(text: str, dialect: str) -> tuple[list[exp.Expr], str, Exception | None]:
    """Parse in `dialect`; when that fails, in closely related dialects (a diagnostic notes it)."""
    first_error: Exception | None = None
    for d in (dialect, *_PARSE_FALLBACKS.get(dialect, ("",))):
        try:
            # a cached Dialect instance: sqlglot builds a new one per call when given a name
            parsed = [p for p in sqlglot.parse(text, dialect=dialect_of(d)) if p is not None]
        except _PARSE_ERRORS as e:
            first_error = first_error or e
            continue
        return parsed, d, None
    return [], dialect, first_error


def _error_position(err: Exception, line: int, column: int) -> tuple[int, int | None]:
    """(line, column) in the original file of a parse error in a segment starting at line:column."""
    errors = getattr(err, "errors", None)
    if not errors or not isinstance(errors[0], dict):
        return line, None
    first = errors[0]
    at_line, at_col = first.get("line"), first.get("col")
    if not isinstance(at_line, int) or not isinstance(at_col, int) or at_line < 1:
        return line, None
    start = max(at_col - len(str(first.get("highlight") or "")) + 1, 1)
    return line + at_line - 1, start + (column - 1 if at_line == 1 else 0)


_SQLGLOT_CLASS = re.compile(r"<class 'sqlglot\.expressions(?:\.\w+)*\.(\w+)'>")


def _plain_message(err: Exception) -> str:
    """The parser's complaint in plain words (no parser class names, one line)."""
    errors = getattr(err, "errors", None)
    if errors and isinstance(errors[0], dict):
        desc = str(errors[0].get("description") or "")
        near = str(errors[0].get("highlight") or "").strip()
        near_text = f" near {near!r}" if near else ""
        if desc.startswith("Invalid expression / Unexpected token"):
            return f"syntax error: unexpected {near!r}" if near else "syntax error: unexpected token"
        if desc.startswith("Required keyword"):
            what = _SQLGLOT_CLASS.search(desc)
            part = what.group(1).upper() if what else "expression"
            return f"syntax error: incomplete {part}{near_text}"
        if desc:
            return f"syntax error: {_SQLGLOT_CLASS.sub(lambda m: m.group(1), desc)}{near_text}"[:300]
    if isinstance(err, TokenError):
        return "syntax error: the text cannot be read as SQL tokens (an unterminated string, quoted name or comment?)"
    return f"syntax error: {str(err).splitlines()[0] if str(err) else type(err).__name__}"[:300]


def _unparsed(text: str, ctx: Context, err: Exception, line: int, column: int = 1) -> StatementResult:
    """A statement sqlglot cannot parse: report it, and salvage table names when possible."""
    res = StatementResult("unknown")
    at_line, at_col = _error_position(err, line, column)
    res.diagnostics.append(Diagnostic("parse_error", _plain_message(err), "error", at_line, None, at_col))
    try:
        parsed = sqlglot.parse(text, dialect=ctx.dialect or None, error_level=ErrorLevel.IGNORE)
    except (SqlglotError, ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError):
        return res
    for p in parsed:
        if p is None:
            continue
        try:
            p = canonicalize(p, ctx.dialect)
            salvage = analyze_statement(p, ctx, 0)
        except Exception:
            continue
        res.type = salvage.type
        res.source_tables = salvage.source_tables
        res.target_tables = salvage.target_tables
        res.column_edges = salvage.column_edges
        res.source_paths = salvage.source_paths
        res.target_paths = salvage.target_paths
        res.diagnostics.append(
            Diagnostic(
                "partial_parse",
                "lineage salvaged from a partial parse; may be incomplete",
                "warning",
                at_line,
                None,
                at_col,
            )
        )
        break
    return res

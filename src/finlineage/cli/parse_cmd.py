"""`finlineage parse`: lineage of a SQL file, or the JSON-lines batch protocol (`--batch`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer

__all__ = ["answer_request", "error_lines", "register", "result_to_answer"]

_TRUE = {"1", "true", "yes", "on"}


def _edges_json(edges: Any) -> list[dict[str, Any]]:
    """Column lineage as the peers score it: every column the target's value is computed from.
    That is the direct edges plus the expression-level indirect ones (a window's PARTITION BY /
    ORDER BY); the row-level indirect edges (JOIN, FILTER, GROUP_BY, SORT) are not a column's
    inputs. CASE/IF conditions are already direct sources as well as CONDITIONAL. A plain
    SELECT's `*` that no schema expands is no output column (a table's `t.*` target is kept)."""
    merged: dict[str, list[str]] = {}
    for e in edges:
        if e.kind != "direct" and e.subtype != "WINDOW":
            continue
        if e.target == "*":  # a result set's unexpanded `*` (no schema) names no column
            continue
        srcs = merged.setdefault(e.target, [])
        srcs.extend(s for s in e.sources if s not in srcs)
    return [{"target": t, "sources": s} for t, s in merged.items()]


def result_to_answer(result: Any) -> dict[str, Any]:
    """The scorer/batch answer: rolled-up flat fields plus the per-statement breakdown (one entry
    per statement, also inside procedures, as `parse` gives them)."""
    from finlineage.lineage.rollup import apply_renames

    r = result.rollup
    statements = apply_renames(result.statements)
    routines = {o.name: o for o in result.objects if o.kind in ("procedure", "function", "trigger")}
    entries: list[dict[str, Any]] = []
    seen: set[str] = set()
    for s in statements:
        if s.process and s.process not in seen and s.process in routines:
            seen.add(s.process)
            entries.append(
                _routine_entry(routines[s.process], [x for x in statements if x.process == s.process])
            )
        entries.append(
            {
                "type": s.type,
                "source_tables": list(s.source_tables),
                "target_tables": list(s.target_tables),
                "source_paths": list(s.source_paths),
                "target_paths": list(s.target_paths),
                "column_lineage": _edges_json(s.column_edges),
                "line_start": s.line_start,
                "line_end": s.line_end,
                "process": s.process,
                "calls": list(s.calls),
            }
        )
    answer: dict[str, Any] = {
        "dialect": result.dialect,
        "source_tables": [t for t in r.source_tables if not _is_path(t, result)],
        "target_tables": [t for t in r.target_tables if not _is_path(t, result)],
        "source_paths": sorted({p for s in result.statements for p in s.source_paths}),
        "target_paths": sorted({p for s in result.statements for p in s.target_paths}),
        "column_lineage": _edges_json(r.column_edges),
        "statements": entries,
        "diagnostics": [
            {
                "code": d.code,
                "message": d.message,
                "severity": d.severity,
                "line": d.line,
                "column": d.column,
                "statement": d.statement_index,
            }
            for d in (*result.diagnostics, *(x for s in result.statements for x in s.diagnostics))
        ][:50],
    }
    return answer


def _routine_entry(routine: Any, body: list[Any]) -> dict[str, Any]:
    """The CREATE PROCEDURE/FUNCTION/TRIGGER statement itself: its reads and writes are the
    routine's (what it reads and writes when it runs), its lines the whole definition; the
    statements of its body follow as their own entries."""

    def union(attr: str) -> list[str]:
        return list(dict.fromkeys(t for x in body for t in getattr(x, attr)))

    return {
        "type": f"create_{routine.kind}",
        "source_tables": union("source_tables"),
        "target_tables": union("target_tables"),
        "source_paths": union("source_paths"),
        "target_paths": union("target_paths"),
        "column_lineage": [],
        "line_start": routine.line_start,
        "line_end": routine.line_end,
        "process": routine.name,
        "calls": union("calls"),
    }


def _is_path(name: str, result: Any) -> bool:
    return any(name in (*s.source_paths, *s.target_paths) for s in result.statements)


def _lateral_flag(req: dict[str, Any]) -> bool:
    if isinstance(req.get("lateral_alias"), bool):
        return bool(req["lateral_alias"])
    config = req.get("config")
    if isinstance(config, dict):
        for k, v in config.items():
            if "LATERAL_COLUMN_ALIAS" in str(k).upper() and str(v).strip().lower() in _TRUE:
                return True
    return False


def _request_dialect(req: dict[str, Any]) -> str:
    from finlineage.lineage.names import canonical_dialect

    for key in ("sqlglot_dialect", "dialect"):
        value = req.get(key)
        if isinstance(value, str) and value.strip():
            return canonical_dialect(value)
    return ""


def answer_request(req: dict[str, Any]) -> dict[str, Any]:
    """One batch request -> one answer (raises on a bad request)."""
    from finlineage.lineage import extract

    sql = req.get("sql")
    if not isinstance(sql, str):
        raise ValueError("request has no 'sql' string")
    schema = req.get("schema")
    if schema is not None and not isinstance(schema, dict):
        raise ValueError("'schema' must be an object {table: {column: type}}")
    result = extract(
        sql,
        _request_dialect(req),
        schema=schema,
        default_db=req.get("default_db") or None,
        default_schema=req.get("default_schema") or None,
        lateral_alias=_lateral_flag(req),
    )
    return result_to_answer(result)


def run_batch(stdin: Any = None, stdout: Any = None) -> int:
    """The JSON-lines protocol: one request a line in, one answer a line out, flushed."""
    import logging

    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    inp = stdin or sys.stdin
    out = stdout or sys.stdout
    for line in inp:
        line = line.strip()
        if not line:
            continue
        try:
            req = json.loads(line)
            if not isinstance(req, dict):
                raise ValueError("request must be a JSON object")
            ans = answer_request(req)
        except Exception as e:  # one bad request never stops the loop
            ans = {"error": f"{type(e).__name__}: {str(e)[:300]}"}
        try:
            text = json.dumps(ans, default=str)
        except (TypeError, ValueError) as e:
            text = json.dumps({"error": f"unserialisable answer: {e}"})
        out.write(text + "\n")
        out.flush()
    return 0


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=2)


def _print_text(result: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    st = Table(title=f"Statements ({result.dialect or 'ansi'})")
    for col in ("#", "lines", "type", "sources", "targets", "process", "diagnostics"):
        st.add_column(col)
    for s in result.statements:
        st.add_row(
            str(s.index),
            f"{s.line_start}-{s.line_end}",
            s.type,
            "\n".join((*s.source_tables, *s.source_paths)),
            "\n".join((*s.target_tables, *s.target_paths)),
            s.process or "",
            "\n".join(f"{d.code}: {d.message}" for d in s.diagnostics),
        )
    console.print(st)
    ct = Table(title="Column lineage (script level)")
    for col in ("target", "kind", "sources", "formula", "statements"):
        ct.add_column(col)
    for e in result.rollup.column_edges:
        ct.add_row(e.target, e.kind, "\n".join(e.sources), e.formula, ", ".join(map(str, e.steps)))
    console.print(ct)
    if result.objects:
        ot = Table(title="Objects defined")
        for col in ("name", "kind", "lines", "columns"):
            ot.add_column(col)
        for o in result.objects:
            ot.add_row(o.name, o.kind, f"{o.line_start}-{o.line_end}", ", ".join(c.name for c in o.columns))
        console.print(ot)
    if result.diagnostics:
        for d in result.diagnostics:
            console.print(f"[yellow]{d.code}[/]: {d.message}")


def parse(
    file: str = typer.Argument("-", help="SQL file to analyse, or - for stdin."),
    dialect: str = typer.Option("", "--dialect", "-d", help="SQL dialect (sqlglot name, or 'auto')."),
    schema: Path | None = typer.Option(None, "--schema", help="JSON file {table: {column: type}}."),
    default_db: str | None = typer.Option(None, "--default-db"),
    default_schema: str | None = typer.Option(None, "--default-schema"),
    fmt: str = typer.Option("json", "--format", "-f", help="json or text."),
    batch: bool = typer.Option(False, "--batch", help="JSON-lines protocol on stdin/stdout."),
    allow_errors: bool = typer.Option(
        False, "--allow-errors", help="Exit 0 even when a statement fails to parse."
    ),
) -> None:
    """Extract table and column lineage from SQL.

    Exits 1 when any statement has an error diagnostic (printed to stderr as
    `path:line:col: message`), unless --allow-errors."""
    if batch:
        raise typer.Exit(code=run_batch())
    from finlineage.lineage import extract
    from finlineage.lineage.names import canonical_dialect

    if fmt not in ("json", "text"):
        raise _fail(f"unknown format {fmt!r} (json or text)")
    try:
        d = canonical_dialect(dialect)
    except ValueError as e:
        raise _fail(str(e)) from None
    try:
        sql = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8", errors="replace")
    except OSError as e:
        raise _fail(f"cannot read {file}: {e.strerror or e}") from None
    schema_map = None
    if schema is not None:
        try:
            schema_map = json.loads(schema.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise _fail(f"cannot read schema {schema}: {e}") from None
        if not isinstance(schema_map, dict):
            raise _fail("schema must be a JSON object {table: {column: type}}")
    import logging

    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    result = extract(sql, d, schema=schema_map, default_db=default_db, default_schema=default_schema)
    if fmt == "json":
        typer.echo(json.dumps(result.to_dict(), indent=2, default=str))
    else:
        _print_text(result)
    errors = error_lines(result, "<stdin>" if file == "-" else file)
    for line in errors:
        typer.echo(line, err=True)
    if errors and not allow_errors:
        raise typer.Exit(code=1)


def error_lines(result: Any, path: str) -> list[str]:
    """`path:line:col: message` for every error diagnostic of a result (col 1 when unknown)."""
    out: list[str] = []
    for d in (*result.diagnostics, *(x for s in result.statements for x in s.diagnostics)):
        if d.severity == "error":
            out.append(f"{path}:{d.line or 1}:{d.column or 1}: {d.message}")
    return out


def register(app: typer.Typer) -> None:
    app.command("parse")(parse)

"""Lineage of one parsed statement: dispatch to the extractor of its kind.

One extractor per statement kind lives in `lineage.extractors` (select, insert, create, update,
delete/truncate, merge, other DDL, session/raw commands), all built on `extractors.base.Extractor`
(query resolution and column-edge emission with OpenLineage subtypes).
"""

from __future__ import annotations

from sqlglot import exp

from finlineage.lineage.extractors.base import Context, Extractor, StatementResult, _add
from finlineage.lineage.extractors.create import CreateExtractor
from finlineage.lineage.extractors.ddl import DdlExtractor
from finlineage.lineage.extractors.delete import DeleteExtractor
from finlineage.lineage.extractors.insert import InsertExtractor
from finlineage.lineage.extractors.merge import MergeExtractor
from finlineage.lineage.extractors.query import SelectExtractor
from finlineage.lineage.extractors.session import NO_LINEAGE, NO_LINEAGE_TYPES, SessionExtractor
from finlineage.lineage.extractors.update import UpdateExtractor

__all__ = ["Context", "StatementResult", "analyze_statement"]


def _run(stmt: exp.Expr, ctx: Context, index: int) -> StatementResult:
    if isinstance(stmt, (exp.Select, exp.SetOperation)):
        return SelectExtractor(ctx, index).select(stmt)
    if isinstance(stmt, exp.Subquery):
        inner = stmt.unnest()
        if isinstance(inner, exp.Query):
            return SelectExtractor(ctx, index).select(inner)
        return Extractor(ctx, index).other(stmt)
    if isinstance(stmt, exp.Insert):
        return InsertExtractor(ctx, index).insert(stmt)
    if isinstance(stmt, exp.MultitableInserts):
        return InsertExtractor(ctx, index).multi_insert(stmt)
    if isinstance(stmt, exp.Create):
        return CreateExtractor(ctx, index).create(stmt)
    if isinstance(stmt, exp.Merge):
        return MergeExtractor(ctx, index).merge(stmt)
    if isinstance(stmt, exp.Update):
        return UpdateExtractor(ctx, index).update(stmt)
    if isinstance(stmt, exp.Delete):
        return DeleteExtractor(ctx, index).delete(stmt)
    if isinstance(stmt, exp.TruncateTable):
        return DeleteExtractor(ctx, index).truncate(stmt)
    if isinstance(stmt, (exp.Drop, exp.Alter, exp.Copy, exp.LoadData, exp.Cache, exp.Declare, exp.Refresh)):
        return DdlExtractor(ctx, index).run(stmt)
    if isinstance(stmt, exp.Use):
        return SessionExtractor(ctx, index).use(stmt)
    if isinstance(stmt, exp.Set) and (path := _search_path(stmt)):
        SessionExtractor(ctx, index)._set_schema(path)  # names of what follows
        return StatementResult("set")
    if isinstance(stmt, NO_LINEAGE):
        return StatementResult(NO_LINEAGE_TYPES.get(type(stmt), type(stmt).__name__.lower()))
    if isinstance(stmt, exp.Command):
        return SessionExtractor(ctx, index).command(stmt)
    return Extractor(ctx, index).other(stmt)


def _search_path(stmt: exp.Set) -> str:
    """The schema list of a parsed `SET search_path TO|= x` (PostgreSQL family), as written."""
    for item in stmt.expressions:
        eq = item.this if isinstance(item, exp.SetItem) else None
        if not isinstance(eq, exp.EQ) or not isinstance(eq.this, exp.Column):
            continue
        if eq.this.name.lower() != "search_path":
            continue
        value = eq.expression
        if isinstance(value, exp.Identifier) and value.quoted:
            return f'"{value.name}"'
        if isinstance(value, exp.Literal) and value.is_string:
            return f"'{value.name}'"
        return value.name if isinstance(value, (exp.Var, exp.Identifier, exp.Column)) else ""
    return ""


def analyze_statement(stmt: exp.Expr, ctx: Context, index: int) -> StatementResult:
    """Lineage of one parsed, identifier-normalised statement."""
    res = _run(stmt, ctx, index)
    if ctx.row_tables:  # a trigger reading its NEW/OLD row reads the table it fires on
        for table in dict.fromkeys(ctx.row_tables.values()):
            prefix = table + "."
            if any(src.startswith(prefix) for e in res.column_edges for src in e.sources):
                _add(res.source_tables, table)
    return res

"""SQL dialects the engine accepts: sqlglot's dialects plus `auto` (detect per file)."""

from __future__ import annotations

from sqlglot.dialects.dialect import Dialect

from finlineage.lineage.names import DIALECT_ALIASES
from finlineage.query.schemas import DialectsOut


def sql_dialects() -> DialectsOut:
    names = sorted(name for name in Dialect.classes if name)
    aliases = {alias: (target or "ansi") for alias, target in sorted(DIALECT_ALIASES.items())}
    return DialectsOut(default="auto", dialects=["auto", "ansi", *names], aliases=aliases)

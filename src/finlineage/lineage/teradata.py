"""Teradata data attribute phrases sqlglot does not read.

Teradata lets a selected expression carry data attributes in parentheses: `DOB (TITLE 'Birth
date')`, `amt (FORMAT 'ZZ9.99')`, `x (NAMED y)` (an alias). Titles and formats only change how
a client displays the column; `NAMED` names it. `strip_data_attributes` removes the first two and
turns `(NAMED y)` into `AS y`, so the statement parses with its lineage intact.
"""

from __future__ import annotations

from typing import Any

from sqlglot import TokenType, exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.dialects.teradata import Teradata
from sqlglot.errors import SqlglotError

__all__ = ["LineageTeradata", "strip_data_attributes"]

_DISPLAY = frozenset({"TITLE", "FORMAT"})


def strip_data_attributes(sql: str, dialect: Dialect) -> str:
    upper = sql.upper()
    if "TITLE" not in upper and "FORMAT" not in upper and "NAMED" not in upper:
        return sql
    try:
        tokens = dialect.tokenize(sql)
    except SqlglotError:
        return sql
    edits: list[tuple[int, int, str]] = []
    for i in range(1, len(tokens) - 3):
        if tokens[i].token_type != TokenType.L_PAREN or tokens[i + 3].token_type != TokenType.R_PAREN:
            continue
        if tokens[i - 1].token_type in (TokenType.L_PAREN, TokenType.COMMA, TokenType.SELECT):
            continue  # a phrase follows an expression
        word = tokens[i + 1].text.upper()
        value = tokens[i + 2]
        if word in _DISPLAY and value.token_type == TokenType.STRING:
            edits.append((tokens[i].start, tokens[i + 3].end + 1, " "))
        elif word == "NAMED" and value.token_type in (TokenType.VAR, TokenType.IDENTIFIER):
            edits.append((tokens[i].start, tokens[i + 3].end + 1, f" AS {sql[value.start : value.end + 1]}"))
    for start, end, text in reversed(edits):
        sql = sql[:start] + text + sql[end:]
    return sql


class LineageTeradata(Teradata):
    """Teradata that retries a statement without its display data attributes."""

    def parse(self, sql: str, **opts: Any) -> list[exp.Expr | None]:
        try:
            return super().parse(sql, **opts)
        except SqlglotError:
            retry = strip_data_attributes(sql, self)
            if retry == sql:
                raise
            return super().parse(retry, **opts)

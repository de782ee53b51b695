"""T-SQL `OUTPUT ... INTO target [(columns)]` clauses sqlglot cannot read as written.

sqlglot reads the INTO target of an OUTPUT clause as one bare name (no `schema.table`, no
`@table_variable (columns)`), and a DELETE's WHERE only before its OUTPUT clause, while T-SQL
writes `DELETE FROM t OUTPUT deleted.a INTO dbo.audit (a) WHERE ...`. `rewrite_output_into`
puts such a statement in a form the parser reads without losing anything: the INTO target
(name and column list, as written) becomes one bracket-quoted identifier marked with
`OUTPUT_INTO_MARK` (read back by `read_output_target`), and a DELETE's WHERE clause moves in
front of its OUTPUT clause. Texts without an OUTPUT ... INTO are returned unchanged.
"""

from __future__ import annotations

import re
from typing import Any

from sqlglot import Token, TokenType, exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.dialects.tsql import TSQL
from sqlglot.errors import SqlglotError

__all__ = ["OUTPUT_INTO_MARK", "OutputTSQL", "read_output_target", "rewrite_output_into"]

OUTPUT_INTO_MARK = "~output_into "
_NAME_PARTS = frozenset({TokenType.VAR, TokenType.IDENTIFIER})
_NAME_PREFIXES = frozenset({TokenType.HASH, TokenType.PARAMETER})
_CLAUSE_END = frozenset(
    {
        TokenType.SELECT,
        TokenType.VALUES,
        TokenType.WHERE,
        TokenType.FROM,
        TokenType.SEMICOLON,
        TokenType.DEFAULT,
        TokenType.WITH,
    }
)
_OUTPUT_WORD = re.compile(r"\bOUTPUT\b", re.I)


def _depths(tokens: list[Token]) -> list[int]:
    out: list[int] = []
    depth = 0
    for t in tokens:
        if t.token_type == TokenType.R_PAREN:
            depth -= 1
        out.append(depth)
        if t.token_type == TokenType.L_PAREN:
            depth += 1
    return out


def _name_end(tokens: list[Token], k: int) -> int:
    """Index after a table name starting at k: [#|##|@]part(.part)*; k when there is none."""
    start = k
    while k < len(tokens) and tokens[k].token_type in _NAME_PREFIXES:
        k += 1
    if k >= len(tokens) or tokens[k].token_type not in _NAME_PARTS:
        return start
    k += 1
    while (
        k + 1 < len(tokens)
        and tokens[k].token_type == TokenType.DOT
        and tokens[k + 1].token_type in _NAME_PARTS
    ):
        k += 2
    return k


def _into_target(tokens: list[Token], depths: list[int], start: int) -> tuple[int, int] | None:
    """(first, last) token index of the INTO target after the OUTPUT token at `start`."""
    d0 = depths[start]
    for j in range(start + 1, len(tokens)):
        t = tokens[j]
        if depths[j] < d0:
            return None
        if depths[j] != d0:
            continue
        if t.token_type in _CLAUSE_END:
            return None
        if t.token_type != TokenType.INTO:
            continue
        k = _name_end(tokens, j + 1)
        if k == j + 1:
            return None
        last = k - 1
        if k < len(tokens) and tokens[k].token_type == TokenType.L_PAREN:
            for m in range(k + 1, len(tokens)):
                if tokens[m].token_type == TokenType.R_PAREN and depths[m] == d0:
                    last = m
                    break
        return j + 1, last
    return None


def rewrite_output_into(sql: str, dialect: Dialect) -> str:
    """The statement text with its OUTPUT ... INTO targets readable by sqlglot (see the module
    docstring); unchanged when there is none or the text does not tokenize."""
    if not _OUTPUT_WORD.search(sql):
        return sql
    try:
        tokens = dialect.tokenize(sql)
    except SqlglotError:
        return sql
    depths = _depths(tokens)
    edits: list[tuple[int, int, str]] = []  # (start char, end char exclusive, replacement)
    for i, t in enumerate(tokens):
        if t.token_type != TokenType.RETURNING:
            continue
        span = _into_target(tokens, depths, i)
        if span is None:
            continue
        first, last = tokens[span[0]], tokens[span[1]]
        target = sql[first.start : last.end + 1]
        marked = "[" + (OUTPUT_INTO_MARK + target).replace("]", "]]") + "]"
        out_start, out_end = t.start, last.end + 1
        clause = sql[out_start : first.start] + marked
        # DELETE ... OUTPUT ... WHERE ...: the WHERE clause moves in front of the OUTPUT clause
        k = span[1] + 1
        if (
            tokens
            and tokens[0].token_type == TokenType.DELETE
            and k < len(tokens)
            and tokens[k].token_type == TokenType.WHERE
            and depths[k] == depths[i]
        ):
            end = len(sql.rstrip().rstrip(";").rstrip())
            where = sql[tokens[k].start : end]
            edits.append((out_start, end, f"{where} {clause}"))
        else:
            edits.append((out_start, out_end, clause))
    if not edits:
        return sql
    out = sql
    for start, end, text in sorted(edits, reverse=True):
        out = out[:start] + text + out[end:]
    return out


_TABLE_HINTS = frozenset(
    [
        "NOLOCK",
        "TABLOCK",
        "TABLOCKX",
        "ROWLOCK",
        "PAGLOCK",
        "UPDLOCK",
        "XLOCK",
        "HOLDLOCK",
        "READPAST",
        "READCOMMITTED",
        "READCOMMITTEDLOCK",
        "READUNCOMMITTED",
        "REPEATABLEREAD",
        "SERIALIZABLE",
        "SNAPSHOT",
        "NOWAIT",
        "NOEXPAND",
        "FORCESEEK",
        "FORCESCAN",
        "KEEPIDENTITY",
        "KEEPDEFAULTS",
        "IGNORE_CONSTRAINTS",
        "IGNORE_TRIGGERS",
        "INDEX",
    ]
)


def strip_table_hints(sql: str, dialect: Dialect) -> str:
    """The text without T-SQL table hints `WITH (NOLOCK, INDEX(ix), ...)`: they lock, they do not
    move data, and sqlglot cannot read them everywhere T-SQL allows them (`INSERT INTO t WITH
    (TABLOCK) (cols)`, `MERGE t WITH (HOLDLOCK) AS x`)."""
    try:
        tokens = dialect.tokenize(sql)
    except SqlglotError:
        return sql
    cuts: list[tuple[int, int]] = []
    i = 0
    while i + 1 < len(tokens):
        if tokens[i].token_type == TokenType.WITH and tokens[i + 1].token_type == TokenType.L_PAREN:
            depth, j, words_ok = 0, i + 1, True
            while j < len(tokens):
                tt = tokens[j].token_type
                if tt == TokenType.L_PAREN:
                    depth += 1
                elif tt == TokenType.R_PAREN:
                    depth -= 1
                    if depth == 0:
                        break
                elif depth == 1 and tt not in (TokenType.COMMA,):
                    words_ok = words_ok and tokens[j].text.upper() in _TABLE_HINTS
                j += 1
            if j < len(tokens) and words_ok and j > i + 2:
                cuts.append((tokens[i].start, tokens[j].end + 1))
                i = j + 1
                continue
        i += 1
    for start, end in reversed(cuts):
        sql = sql[:start] + " " + sql[end:]
    return sql


_DML = frozenset({TokenType.DELETE, TokenType.UPDATE, TokenType.INSERT})
_DML_TOP = re.compile(r"\b(?:DELETE|UPDATE|INSERT)\s+TOP\b", re.I)


def strip_dml_top(sql: str, dialect: Dialect) -> str:
    """`DELETE TOP (n) [PERCENT] FROM t`, `UPDATE TOP (n) t`, `INSERT TOP (n) INTO t`: the row
    limit moves no data elsewhere; sqlglot reads `TOP` there as a table name (or not at all)."""
    if not _DML_TOP.search(sql):
        return sql
    try:
        tokens = dialect.tokenize(sql)
    except SqlglotError:
        return sql
    cuts: list[tuple[int, int]] = []
    for i in range(len(tokens) - 2):
        if (
            tokens[i].token_type in _DML
            and tokens[i + 1].text.upper() == "TOP"
            and tokens[i + 2].token_type == TokenType.L_PAREN
        ):
            depth = 0
            for j in range(i + 2, len(tokens)):
                tt = tokens[j].token_type
                depth += 1 if tt == TokenType.L_PAREN else -1 if tt == TokenType.R_PAREN else 0
                if depth == 0:
                    end = j
                    if j + 1 < len(tokens) and tokens[j + 1].text.upper() == "PERCENT":
                        end = j + 1
                    cuts.append((tokens[i + 1].start, tokens[end].end + 1))
                    break
    for start, end in reversed(cuts):
        sql = sql[:start] + " " + sql[end:]
    return sql


def delete_double_from(sql: str, dialect: Dialect) -> str:
    """T-SQL `DELETE FROM t FROM t AS x JOIN ...`: the first FROM is optional; sqlglot reads the
    statement without it (`DELETE t FROM t AS x JOIN ...`)."""
    try:
        tokens = dialect.tokenize(sql)
    except SqlglotError:
        return sql
    if len(tokens) < 3 or tokens[0].token_type != TokenType.DELETE or tokens[1].token_type != TokenType.FROM:
        return sql
    depth = 0
    for t in tokens[2:]:
        depth += 1 if t.token_type == TokenType.L_PAREN else -1 if t.token_type == TokenType.R_PAREN else 0
        if depth == 0 and t.token_type == TokenType.FROM:
            return sql[: tokens[1].start] + sql[tokens[1].end + 1 :]
        if depth == 0 and t.token_type in (TokenType.WHERE, TokenType.RETURNING):
            break
    return sql


class OutputTSQL(TSQL):
    """T-SQL whose parse first applies `rewrite_output_into` and `strip_dml_top`, and retries
    without table hints and with `delete_double_from` when the statement does not parse."""

    def parse(self, sql: str, **opts: Any) -> list[exp.Expr | None]:
        text = strip_dml_top(rewrite_output_into(sql, self), self)
        try:
            return super().parse(text, **opts)
        except SqlglotError:
            retry = delete_double_from(strip_table_hints(text, self), self)
            if retry == text:
                raise
            return super().parse(retry, **opts)


def read_output_target(node: exp.Expr | None, dialect: str) -> tuple[exp.Table, list[str] | None] | None:
    """The table and column list of an OUTPUT ... INTO target marked by `rewrite_output_into`
    (or a plain one-part target sqlglot read itself); None for anything else."""
    if isinstance(node, exp.Table):
        return node, None
    if isinstance(node, exp.Schema) and isinstance(node.this, exp.Table):
        return node.this, [c.name for c in node.expressions]
    if not isinstance(node, (exp.Identifier, exp.Column)):
        return None
    text = node.name
    if not text.lower().startswith(OUTPUT_INTO_MARK.strip()):
        return exp.to_table(text, dialect=dialect or None), None
    text = text[len(OUTPUT_INTO_MARK) :].strip()
    cols: list[str] | None = None
    if text.endswith(")") and "(" in text:
        name, _, rest = text.partition("(")
        cols = [c.strip().strip('[]"`') for c in rest[:-1].split(",") if c.strip()]
        text = name.strip()
    try:
        return exp.to_table(text, dialect=dialect or None), cols
    except (SqlglotError, ValueError):
        return None

"""The splitter's lexer: dialect profiles, one compiled token pattern per dialect, keyword tables.

Tokens carry their character offsets in the text they were read from, so every position maps back
to a line (and column) of the original input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from sqlglot.dialects.dialect import Dialect, NormalizationStrategy

from finlineage.lineage.model import ObjectKind

_TSQL_D = frozenset({"tsql", "fabric"})
_PG_D = frozenset({"postgres", "redshift", "materialize", "risingwave"})
_MYSQL_D = frozenset({"mysql", "doris", "starrocks", "singlestore"})
_BACKSLASH_D = frozenset(
    {
        "mysql",
        "doris",
        "starrocks",
        "singlestore",
        "bigquery",
        "spark",
        "spark2",
        "databricks",
        "hive",
        "snowflake",
        "clickhouse",
        "drill",
    }
)
_DQ_STRING_D = frozenset(
    {"mysql", "doris", "starrocks", "singlestore", "bigquery", "spark", "spark2", "databricks", "hive"}
)
_HASH_COMMENT_D = frozenset({"mysql", "doris", "starrocks", "singlestore", "bigquery"})


@dataclass(frozen=True, slots=True)
class _Profile:
    name: str
    tsql: bool
    oracle: bool
    pg: bool
    mysql: bool
    snowflake: bool
    bigquery: bool
    generic: bool
    strategy: NormalizationStrategy


@lru_cache(maxsize=64)
def _profile(dialect: str) -> _Profile:
    name = (dialect or "").split(",")[0].strip().lower()
    try:
        strategy = Dialect.get_or_raise(name or None).normalization_strategy
    except Exception:
        strategy = NormalizationStrategy.LOWERCASE
    return _Profile(
        name=name,
        tsql=name in _TSQL_D,
        oracle=name == "oracle",
        pg=name in _PG_D,
        mysql=name in _MYSQL_D,
        snowflake=name == "snowflake",
        bigquery=name == "bigquery",
        generic=name == "",
        strategy=strategy,
    )


_KIND: dict[str, str] = {}


@lru_cache(maxsize=64)
def _lexer(name: str, delim: str) -> re.Pattern[str]:
    skip = [r"\s++", r"--[^\n]*+", r"/\*[\s\S]*?(?:\*/|\Z)"]
    if name in _HASH_COMMENT_D:
        skip.append(r"\#[^\n]*")
    if name == "snowflake":
        skip.append(r"//[^\n]*")
    alts: list[str] = []
    if delim and delim != ";":
        alts.append(rf"(?P<h>{re.escape(delim)})")
    # words first (the most frequent token), unless a string prefix such as N' E' q' r""" follows
    alts.append(r"(?![NnEeRrBbXxQqUu]{1,2}&?['\"])(?P<w>(?:[^\W\d]|[@#])[\w$#@]*+)")
    if name not in _TSQL_D and name != "oracle" and name not in _MYSQL_D:
        alts.append(r"(?P<d>\$(?P<tag>(?:[A-Za-z_]\w*)?)\$[\s\S]*?(?:\$(?P=tag)\$|\Z))")
    if name == "bigquery":
        alts.append(r"(?P<s3>[rRbB]{0,2}(?:'''[\s\S]*?(?:'''|\Z)|\"\"\"[\s\S]*?(?:\"\"\"|\Z)))")
    if name == "oracle":
        alts.append(
            r"(?P<s4>[nN]?[qQ]'(?:\[[\s\S]*?\]'|\{[\s\S]*?\}'|\([\s\S]*?\)'|<[\s\S]*?>'|(?P<qd>\S)[\s\S]*?(?P=qd)'))"
        )
    if name in _PG_D:
        alts.append(r"(?P<s2>[eE]'[^'\\]*(?:(?:\\[\s\S]|'')[^'\\]*)*(?:'|\Z))")
    if name in _BACKSLASH_D:
        alts.append(r"(?P<s1>(?:[NnRrBbXx]|[Uu]&)?'[^'\\]*(?:(?:\\[\s\S]|'')[^'\\]*)*(?:'|\Z))")
        alts.append(r'(?P<dq>"[^"\\]*(?:(?:\\[\s\S]|"")[^"\\]*)*(?:"|\Z))')
    else:
        alts.append(r"(?P<s1>(?:[NnRrBbXx]|[Uu]&)?'[^']*(?:''[^']*)*(?:'|\Z))")
        alts.append(r'(?P<dq>"[^"]*(?:""[^"]*)*(?:"|\Z))')
    alts.append(r"(?P<q1>`[^`]*(?:``[^`]*)*(?:`|\Z))")
    if name in _TSQL_D:
        alts.append(r"(?P<q2>\[[^\]]*(?:\]\][^\]]*)*(?:\]|\Z))")
    alts.append(r"(?P<w2>(?:[^\W\d]|[@#])[\w$#@]*+)")
    alts.append(r"(?P<n>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)")
    alts.append(r"(?P<semi>;)")
    alts.append(r"(?P<p>:=|::|[\s\S])")
    alts.append(r"(?P<end>\Z)")
    return re.compile("(?:" + "|".join(skip) + ")*+(?:" + "|".join(alts) + ")")


_GROUP_KIND = {
    "w": "W",
    "w2": "W",
    "n": "N",
    "semi": ";",
    "p": "P",
    "q1": "Q",
    "q2": "Q",
    "s1": "S",
    "s2": "S",
    "s3": "S",
    "s4": "S",
    "d": "D",
    "h": "H",
}

Tok = tuple[str, str, int, int]
"""(kind, value, start, end): kind W word (value upper-cased), Q quoted identifier, S string,
D dollar-quoted string (value = tag), N number, P punctuation (value = text), ; and H (hard
separator: GO line, Oracle '/' line, custom DELIMITER)."""

_GO_TAIL = re.compile(r"[ \t]*(?:\d+)?[ \t]*(?:--[^\n]*)?\r?(?:\n|\Z)")
_SLASH_TAIL = re.compile(r"[ \t]*\r?(?:\n|\Z)")
_DELIMITER_LINE = re.compile(r"^[ \t]*delimiter[ \t]+(\S+)[ \t]*\r?$", re.I | re.M)


def _line_head_blank(text: str, pos: int) -> bool:
    ls = text.rfind("\n", 0, pos) + 1
    return not text[ls:pos].strip()


def _tokenize(text: str, prof: _Profile) -> list[Tok]:
    out: list[Tok] = []
    if "delimiter" in text or "DELIMITER" in text or _DELIMITER_LINE.search(text):
        pos = 0
        delim = ";"
        for m in _DELIMITER_LINE.finditer(text):
            _lex(text, prof, delim, pos, m.start(), out)
            out.append(("H", "", m.start(), m.end()))
            delim = m.group(1)
            pos = m.end()
        _lex(text, prof, delim, pos, len(text), out)
    else:
        _lex(text, prof, ";", 0, len(text), out)
    return out


def _lex(text: str, prof: _Profile, delim: str, pos: int, endpos: int, out: list[Tok]) -> None:
    rx = _lexer(prof.name, delim)
    tsql = prof.tsql
    oracle = prof.oracle
    dq_kind = "S" if prof.name in _DQ_STRING_D else "Q"
    skip_until = -1
    append = out.append
    for m in rx.finditer(text, pos, endpos):
        g = m.lastgroup
        if g is None or g == "end":
            break
        s = m.start(g)
        e = m.end()
        if s < skip_until:
            continue
        if g == "w" or g == "w2":
            v = text[s:e].upper()
            if tsql and v == "GO" and _line_head_blank(text, s):
                t = _GO_TAIL.match(text, e)
                if t is not None:
                    append(("H", "GO", s, e))
                    skip_until = t.end()
                    continue
            append(("W", v, s, e))
        elif g == "p":
            v = text[s:e]
            if oracle and v == "/" and _line_head_blank(text, s) and _SLASH_TAIL.match(text, e):
                append(("H", "/", s, e))
            else:
                append(("P", v, s, e))
        elif g == "d":
            append(("D", m.group("tag") or "", s, e))
        elif g == "dq":
            append((dq_kind, "", s, e))
        else:
            append((_GROUP_KIND[g], "", s, e))


# --------------------------------------------------------------------------- keyword tables


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_TSQL_STARTERS = _words(
    """SELECT INSERT UPDATE DELETE MERGE CREATE ALTER DROP TRUNCATE WITH DECLARE SET EXEC EXECUTE IF
    WHILE BEGIN RETURN PRINT RAISERROR THROW BREAK CONTINUE GOTO WAITFOR OPEN FETCH CLOSE DEALLOCATE
    COMMIT ROLLBACK SAVE USE GRANT REVOKE DENY BULK DBCC CHECKPOINT RECONFIGURE KILL BACKUP RESTORE
    REVERT SETUSER"""
)
_SELECT_CONT = frozenset({"UNION", "ALL", "EXCEPT", "INTERSECT", "DISTINCT", "AS", "FOR", "MINUS"})
_DML_CONT = frozenset({"THEN", "ON", "FOR", "OF", "INSTEAD", ",", "AFTER", "BEFORE", "OR"})
_GRANTS = frozenset({"GRANT", "REVOKE", "DENY"})
_OBJ_TYPES = _words(
    """TABLE VIEW PROCEDURE PROC FUNCTION INDEX SCHEMA TRIGGER DATABASE SEQUENCE TYPE SYNONYM USER
    ROLE STATISTICS"""
)
_SQL_VERBS = _words(
    """SELECT INSERT UPDATE DELETE MERGE WITH CREATE ALTER DROP TRUNCATE GRANT REVOKE DENY COPY UNLOAD
    VALUES TABLE COMMENT ANALYZE REFRESH REPLACE UPSERT LOAD PUT REMOVE LIST SHOW DESCRIBE DESC
    EXPLAIN USE VACUUM OPTIMIZE CACHE UNCACHE MSCK LOCK UNLOCK RENAME UNDROP SUMMARIZE FROM
    BULK INSERT"""
)
_DROP_WORDS = _words(
    """SET LET PRINT RAISERROR THROW RAISE SIGNAL RESIGNAL LEAVE ITERATE EXIT CONTINUE BREAK GOTO
    WAITFOR FETCH CLOSE DEALLOCATE NULL COMMIT ROLLBACK SAVEPOINT SAVE RELEASE START ASSERT MOVE
    REVERT SETUSER DBCC CHECKPOINT RECONFIGURE KILL ABORT PIPE GET"""
)
_SUBQUERY_DROP = frozenset({"SET", "LET", "ASSERT"})
_SQLPLUS = _words(
    """SET SPOOL PROMPT WHENEVER REM REMARK DEFINE UNDEFINE COLUMN COL TTITLE BTITLE BREAK COMPUTE
    CLEAR SHOW EXIT QUIT CONNECT CONN DISCONNECT VARIABLE VAR PRINT ACCEPT PAUSE HOST"""
)
_TXN_WORDS = frozenset(
    {
        "TRAN",
        "TRANSACTION",
        "WORK",
        "DISTRIBUTED",
        "ISOLATION",
        "READ",
        "DEFERRED",
        "IMMEDIATE",
        "EXCLUSIVE",
        "DIALOG",
        "CONVERSATION",
    }
)
_ROUTINE_WORDS: dict[str, ObjectKind] = {
    "PROCEDURE": "procedure",
    "PROC": "procedure",
    "FUNCTION": "function",
    "TRIGGER": "trigger",
    "PACKAGE": "procedure",
}
_ROUTINE_MODS = frozenset(
    {
        "TEMP",
        "TEMPORARY",
        "SECURE",
        "EDITIONABLE",
        "NONEDITIONABLE",
        "AGGREGATE",
        "CONSTRAINT",
        "GLOBAL",
        "LOCAL",
        "DEFINER",
    }
)
_MYSQL_BODY_START = frozenset(
    {
        "SELECT",
        "INSERT",
        "UPDATE",
        "DELETE",
        "REPLACE",
        "SET",
        "CALL",
        "IF",
        "WHILE",
        "LOOP",
        "REPEAT",
        "CASE",
        "DECLARE",
        "WITH",
    }
)
_INTO_END = _words(
    """FROM WHERE GROUP HAVING ORDER LIMIT UNION EXCEPT INTERSECT MINUS WINDOW QUALIFY FETCH FOR OFFSET
    CONNECT START"""
)
_IF_STOP = frozenset({"ELSIF", "ELSEIF", "ELSE", "END"})
_END_ONLY = frozenset({"END"})
_BLOCK_STOP = frozenset({"END", "EXCEPTION"})
_HANDLER_STOP = frozenset({"WHEN", "END"})
_CASE_STOP = frozenset({"WHEN", "ELSE", "END"})
_REPEAT_STOP = frozenset({"UNTIL", "END"})
_NO_STOP: frozenset[str] = frozenset()
_STRAY = frozenset({"END", "ELSE", "ELSIF", "ELSEIF", "EXCEPTION", "WHEN", "UNTIL", "THEN", "GO"})
_NESTING = frozenset(
    {"BEGIN", "IF", "WHILE", "LOOP", "REPEAT", "FOR", "FOREACH", "CASE", "DECLARE", "CREATE", "ALTER", "DO"}
)
_BUILTIN_CALLS = frozenset(
    {
        "raise_application_error",
        "setval",
        "nextval",
        "currval",
        "set_config",
        "dblink_connect",
        "dblink_disconnect",
    }
)
"""Routines the database itself provides: calling them is no call edge (no phantom routine)."""
_BUILTIN_PREFIXES = ("dbms_", "utl_", "pg_", "sys.dbms_", "sys.utl_", "pg_catalog.")


def is_builtin_routine(name: str) -> bool:
    low = name.lower()
    return low in _BUILTIN_CALLS or low.startswith(_BUILTIN_PREFIXES)


_QUERY_START = frozenset({"SELECT", "WITH"})

MAX_NEST = 100
MAX_DEPTH = 8

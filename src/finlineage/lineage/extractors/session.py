"""USE, SET and statements the parser keeps as raw commands."""

from __future__ import annotations

import contextlib
import re

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from finlineage.lineage.extractors.base import _PLAIN_NAME, Extractor, StatementResult, _add
from finlineage.lineage.model import ColumnEdge
from finlineage.lineage.names import canonicalize, normalize_name

NO_LINEAGE: tuple[type[exp.Expr], ...] = (
    exp.Set,
    exp.Transaction,
    exp.Commit,
    exp.Rollback,
    exp.Show,
    exp.Describe,
    exp.Grant,
    exp.Revoke,
    exp.Pragma,
    exp.Semicolon,
    exp.Analyze,
    exp.Comment,
)
"""Statements that move no data: recognised, no tables, no diagnostic."""
NO_LINEAGE_TYPES: dict[type[exp.Expr], str] = {exp.Transaction: "begin"}
_NO_LINEAGE_COMMANDS = frozenset(
    [
        "VACUUM",
        "ANALYZE",
        "REINDEX",
        "CLUSTER",
        "CHECKPOINT",
        "DISCARD",
        "RESET",
        "LOCK",
        "SET",
        "SHOW",
        "EXPLAIN",
        "LISTEN",
        "NOTIFY",
        "UNLISTEN",
        "DEALLOCATE",
        "DBCC",
        "GRANT",
        "REVOKE",
        "COMMENT",
        "OPTIMIZE",
    ]
)
"""Parser-fallback commands that move no data (first word; T-SQL UPDATE STATISTICS too)."""
_REFRESH = re.compile(
    r"^\s*(?:MATERIALIZED\s+VIEW|STREAMING\s+TABLE|DYNAMIC\s+TABLE)\s+(?:CONCURRENTLY\s+)?([^\s;(]+)", re.I
)
"""REFRESH of an object whose rows are recomputed (a write); other REFRESH forms move no data."""
_SET_SCHEMA = re.compile(
    r"^\s*(?:SESSION\s+SET\s+CURRENT_SCHEMA\s*=\s*([^\s;]+)|(?:search_path\s*(?:TO|=)|SCHEMA)\s*([^;]+))",
    re.I,
)
_SYNONYM = re.compile(
    r"^\s*(?:OR\s+REPLACE\s+)?(?:(?:NON)?EDITIONABLE\s+)?(?:PUBLIC\s+)?SYNONYM\s+([^\s;]+)\s+FOR\s+([^\s;]+?)\s*;?\s*$",
    re.I,
)
_STREAM = re.compile(
    r"^\s*(?:OR\s+REPLACE\s+)?STREAM\s+(?:IF\s+NOT\s+EXISTS\s+)?([^\s;]+)"
    r"(?:\s+COPY\s+GRANTS)?\s+ON\s+(?:TABLE|VIEW|EXTERNAL\s+TABLE|DYNAMIC\s+TABLE)\s+([^\s;]+)",
    re.I,
)
_DROP_SYNONYM = re.compile(r"^\s*(?:PUBLIC\s+)?SYNONYM\s+(?:IF\s+EXISTS\s+)?([^\s;]+)", re.I)
_TRUNCATE = re.compile(r"^\s*(?:TABLE\s+)?(?:IF\s+EXISTS\s+)?([^\s;(,]+)", re.I)
_USE_DB_DIALECTS = frozenset({"tsql", "fabric"})
"""USE sets the database (names are db.schema.name); elsewhere it sets the schema/database
that qualifies one-part names (MySQL/Spark/Hive/...: db.table), Snowflake says which."""


class SessionExtractor(Extractor):
    """USE / SET search_path / raw commands (REFRESH, UNLOAD, RENAME, EXCHANGE PARTITION, ...)."""

    _UNLOAD = re.compile(r"^\s*\(\s*'((?:[^']|'')*)'\s*\)\s*TO\s*'([^']*)'", re.I | re.S)
    _RENAME = re.compile(r"^\s*TABLE\s+(.+)$", re.I | re.S)
    _EXCHANGE = re.compile(
        r"^\s*TABLE\s+(\S+)\s+EXCHANGE\s+PARTITION\s*\(.*?\)\s*WITH\s+TABLE\s+(\S+)", re.I | re.S
    )

    def _set_schema(self, names: str) -> None:
        """PostgreSQL `SET search_path` / `SET SCHEMA`, Oracle `ALTER SESSION SET CURRENT_SCHEMA`:
        the first schema qualifies later one-part names. `$user` and `public` (PostgreSQL's
        defaults) leave names as they are, like a script without the statement."""
        for raw in names.split(","):
            raw = raw.strip()
            quoted = raw[:1] in ("'", '"')
            name = normalize_name(raw.strip("'\""), self.dialect, quoted=raw[:1] == '"')
            if not name or name in ("$user", "public") or (not quoted and not _PLAIN_NAME.match(name)):
                continue
            self.ctx.default_schema = name
            return

    def use(self, stmt: exp.Use) -> StatementResult:
        """USE db / USE [DATABASE|SCHEMA] x: qualifies one-part names of later statements."""
        res = StatementResult("use")
        kind = stmt.args.get("kind")
        kind_name = kind.name.upper() if isinstance(kind, exp.Expr) else ""
        target = stmt.this
        if not isinstance(target, exp.Table) or kind_name not in ("", "DATABASE", "SCHEMA", "CATALOG"):
            return res  # USE ROLE / WAREHOUSE / SECONDARY ROLES: no naming effect
        parts = [p.name for p in target.parts if p.name]
        if not parts:
            return res
        ctx = self.ctx
        if self.dialect in _USE_DB_DIALECTS:
            ctx.default_db = parts[-1]
            ctx.default_schema = ctx.default_schema or "dbo"
        elif self.dialect == "snowflake":
            if kind_name == "SCHEMA" or len(parts) == 2:
                if len(parts) == 2:
                    ctx.default_db = parts[0]
                ctx.default_schema = parts[-1]
            else:
                ctx.default_db = parts[-1]
                ctx.default_schema = "public"
        elif kind_name == "CATALOG":
            ctx.default_db = parts[-1]
        else:  # MySQL/Spark/Hive/Databricks/DuckDB/...: the database that qualifies table names
            if len(parts) == 2:
                ctx.default_db = parts[0]
            ctx.default_schema = parts[-1]
        return res

    def command(self, stmt: exp.Command) -> StatementResult:
        word = str(stmt.this or "").upper()
        body = (
            stmt.expression.name if isinstance(stmt.expression, exp.Literal) else str(stmt.expression or "")
        )
        if word == "REFRESH":
            res = StatementResult("refresh")
            m = _REFRESH.match(body)
            if m:
                _add(res.target_tables, self.name(self._table(m.group(1))))
            return res
        if word == "SET" or (word == "ALTER" and body.lstrip().upper().startswith("SESSION")):
            m = _SET_SCHEMA.match(body)
            if m:
                self._set_schema(m.group(1) or m.group(2))
            return StatementResult("set")
        if word.split(" ", 1)[0] in _NO_LINEAGE_COMMANDS or word == "UPDATE STATISTICS":
            return StatementResult(word.lower().replace(" ", "_"))
        if word == "REPLACE":  # MySQL/SQLite REPLACE [INTO] t ...: an INSERT that replaces rows
            try:
                ins = sqlglot.parse_one(f"INSERT {body}", dialect=self.dialect or None)
            except (SqlglotError, RecursionError):
                ins = None
            if isinstance(ins, exp.Insert):
                from finlineage.lineage.extractors.insert import InsertExtractor

                canonicalize(ins, self.dialect)
                return InsertExtractor(self.ctx, self.index).insert(ins)
        if word == "UNLOAD":
            m = self._UNLOAD.match(body)
            res = StatementResult("unload")
            if m:
                _add(res.target_paths, m.group(2))
                inner = m.group(1).replace("''", "'")
                try:
                    q = sqlglot.parse_one(inner, dialect=self.dialect or None)
                except (SqlglotError, RecursionError):
                    q = None
                if isinstance(q, exp.Query):
                    self.query(canonicalize(q, self.dialect), res)
                return res
            self.diag(res, "unsupported_statement", "cannot read this UNLOAD statement")
            return res
        if word == "TRUNCATE":  # forms the parser keeps raw (Oracle REUSE/DROP STORAGE, ...)
            m = _TRUNCATE.match(body)
            res = StatementResult("truncate")
            if m:
                _add(res.target_tables, self.name(self._table(m.group(1))))
                return res
        if word == "CREATE" and (m := _SYNONYM.match(body)):
            # CREATE [OR REPLACE] [PUBLIC] SYNONYM s FOR t (Oracle, T-SQL, Db2): s names t from now on
            res = StatementResult("create_synonym")
            try:
                name, target = self.ctx.own_name(self._table(m.group(1))), self.name(self._table(m.group(2)))
            except (SqlglotError, ValueError):
                return res
            if name and target and name != target:
                self.ctx.synonyms[name] = target
            return res
        if word == "CREATE" and (m := _STREAM.match(body)):
            # Snowflake CREATE STREAM s ON TABLE|VIEW t: s reads t's changed rows, column for column
            res = StatementResult("create_stream")
            try:
                stream, table = self.name(self._table(m.group(1))), self.name(self._table(m.group(2)))
            except (SqlglotError, ValueError):
                return res
            _add(res.source_tables, table)
            _add(res.target_tables, stream)
            for c in self.ctx.schema.columns(table) or []:
                res.column_edges.append(
                    ColumnEdge(f"{stream}.{c}", (f"{table}.{c}",), "direct", c, subtype="IDENTITY")
                )
            if (known := self.ctx.schema.columns(table)) is not None:
                self.ctx.schema.add(stream, list(known))
            return res
        if word == "DROP" and (m := _DROP_SYNONYM.match(body)):
            with contextlib.suppress(SqlglotError, ValueError):
                self.ctx.synonyms.pop(self.ctx.own_name(self._table(m.group(1))), None)
            return StatementResult("drop_synonym")
        if word == "RENAME":
            res = StatementResult("rename")
            m = self._RENAME.match(body)
            if m:
                for pair in m.group(1).split(","):
                    bits = re.split(r"\s+TO\s+", pair.strip(), flags=re.I)
                    if len(bits) == 2:
                        a = self._table(bits[0])
                        b = self._table(bits[1])
                        res.renames.append((self.name(a), self.name(b)))
                return res
        if word == "ALTER":
            m = self._EXCHANGE.match(body)
            if m:
                res = StatementResult("exchange_partition")
                a = self._table(m.group(1))
                b = self._table(m.group(2))
                _add(res.source_tables, self.name(b))
                _add(res.target_tables, self.name(a))
                return res
        res = StatementResult(word.lower() or "command")
        self.diag(res, "unsupported_statement", f"statement not understood by the parser: {word}")
        return res

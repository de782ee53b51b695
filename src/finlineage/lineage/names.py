"""Dialect names, identifier normalisation, canonical table names and the schema index.

Canonical names
---------------
The lineage graph joins objects across files and dialects by name, so every identifier the
engine reports (tables, columns, processes, calls, object definitions, temporary tables) is in
one canonical form, whatever the dialect:

* **Unquoted identifiers are lower-case.** Unquoted names are case-insensitive in every dialect
  we support (PostgreSQL folds them to lower case, Snowflake/Oracle/Exasol to upper case,
  T-SQL/Spark/BigQuery/MySQL compare them without case), so ``Trades``, ``TRADES`` and
  ``trades`` are one object: ``trades``. This also holds for the dialects sqlglot calls
  case-sensitive (MySQL/Doris/StarRocks on case-sensitive file systems, ClickHouse, Fabric):
  two objects whose names differ only by case are merged there (a rare, accepted loss).
* **Quoted identifiers keep their case where the dialect treats quoted names as
  case-sensitive** (PostgreSQL-like, Snowflake, Oracle, Exasol, MySQL-like, ClickHouse):
  ``"Trades"`` stays ``Trades``. In dialects where even quoted names are case-insensitive
  (T-SQL, Spark/Databricks/Hive, BigQuery, DuckDB, Trino/Presto, Redshift, ...) they are
  lower-cased like unquoted ones.
* **Upper-case-folding dialects** (Snowflake, Oracle, Exasol): the quoted name ``"TRADES"`` *is*
  the unquoted ``trades`` there (both resolve to ``TRADES``), so a quoted name written entirely
  in upper case is lower-cased too. ``"Trades"`` (mixed case) is kept; a quoted all-lower-case
  ``"trades"`` (a different object from ``TRADES`` in those engines) also maps to ``trades``.

`canonicalize` applies the rule to a parsed statement (in place), `normalize_name` to one
identifier and `canonical_dotted` to a dotted name produced by the script splitter.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect, Dialects, NormalizationStrategy
from sqlglot.errors import SqlglotError

__all__ = [
    "DIALECT_ALIASES",
    "SchemaIndex",
    "bigquery_table_family",
    "canonical_dialect",
    "canonical_dotted",
    "canonicalize",
    "dialect_of",
    "normalize_name",
    "split_column_ref",
    "table_name",
]

DIALECT_ALIASES: dict[str, str] = {
    "ansi": "",
    "default": "",
    "generic": "",
    "sql": "",
    "sparksql": "spark",
    "spark3": "spark",
    "pyspark": "spark",
    "greenplum": "postgres",
    "postgresql": "postgres",
    "pg": "postgres",
    "plpgsql": "postgres",
    "mariadb": "mysql",
    "aurora": "mysql",
    "sqlserver": "tsql",
    "mssql": "tsql",
    "azuresql": "tsql",
    "synapse": "tsql",
    "t-sql": "tsql",
    "bq": "bigquery",
    "googlesql": "bigquery",
    "db2": "",
    "vertica": "postgres",
    "impala": "hive",
    "plsql": "oracle",
    "netezza": "postgres",
    "sparkthrift": "spark",
    "trinosql": "trino",
    "prestosql": "presto",
    "mother_duck": "duckdb",
    "motherduck": "duckdb",
    "azure_synapse": "tsql",
}


def canonical_dialect(name: str | None) -> str:
    """Map a dialect name (sqlglot's, or a common alias such as sqlfluff's) to a sqlglot dialect.

    Raises ValueError for a name neither sqlglot nor the alias table knows. "" is sqlglot's
    neutral (ANSI-like) dialect; "auto" is returned unchanged (the caller detects it).
    """
    return _canonical_dialect((name or "").strip().lower())


_BUILTIN_DIALECTS = frozenset(d.value for d in Dialects)


@lru_cache(maxsize=256)
def _canonical_dialect(key: str) -> str:
    # cached: `Dialect.classes` imports every dialect module on each access
    if key in ("", "auto"):
        return key
    key = DIALECT_ALIASES.get(key, key)
    if key == "" or key in _BUILTIN_DIALECTS or key in Dialect.classes:
        return key  # (`Dialect.classes` imports every dialect module: only for plugin names)
    raise ValueError(f"unknown SQL dialect: {key!r}")


@lru_cache(maxsize=64)
def dialect_of(dialect: str) -> Dialect:
    """The sqlglot Dialect instance (cached; pass it to parse/sql to skip per-call lookups).

    T-SQL is `tsql_output.OutputTSQL` (full OUTPUT ... INTO clauses, DML TOP, hints), Teradata
    `teradata.LineageTeradata` (TITLE/FORMAT/NAMED data attributes)."""
    if dialect == "tsql":
        from finlineage.lineage.tsql_output import OutputTSQL

        return OutputTSQL()
    if dialect == "teradata":
        from finlineage.lineage.teradata import LineageTeradata

        return LineageTeradata()
    return Dialect.get_or_raise(dialect or None)


@lru_cache(maxsize=64)
def _mutating_nodes(dialect: str) -> tuple[type[exp.Expr], ...]:
    """Node types the dialect's generator may rewrite in place while printing: those with a
    `preprocess` transform, queries (their transforms and CTE moves), and conditions where the
    generator adds explicit booleans (T-SQL)."""
    gen = dialect_of(dialect).generator_class
    kinds: list[type[exp.Expr]] = [exp.Query, exp.Subquery]
    for kind, fn in gen.TRANSFORMS.items():
        if getattr(fn, "__qualname__", "").startswith("preprocess."):
            kinds.append(kind)
    if dialect_of(dialect).generator().ENSURE_BOOLS:  # (an instance: the compiled class holds slots)
        kinds.extend((exp.Connector, exp.Not, exp.If, exp.Where, exp.Having))
    return tuple(kinds)


def sql_text(node: exp.Expr, dialect: str) -> str:
    """`node` printed as SQL of `dialect`. The tree is copied first only when printing could
    rewrite part of it (see `_mutating_nodes`); otherwise it is printed in place, which is the
    same text without the deep copy."""
    mutating = _mutating_nodes(dialect)
    copy = any(isinstance(n, mutating) for n in node.walk())
    return dialect_of(dialect).generate(node, copy=copy)


_CASE_INSENSITIVE = (NormalizationStrategy.CASE_INSENSITIVE, NormalizationStrategy.CASE_INSENSITIVE_UPPERCASE)
_UPPER_FOLDING = (NormalizationStrategy.UPPERCASE, NormalizationStrategy.CASE_INSENSITIVE_UPPERCASE)


@lru_cache(maxsize=64)
def _rule(dialect: str) -> tuple[bool, bool]:
    """(quoted names case-insensitive, unquoted names fold to upper case) for `dialect`."""
    strategy = dialect_of(dialect).normalization_strategy
    return strategy in _CASE_INSENSITIVE, strategy in _UPPER_FOLDING


def normalize_name(name: str, dialect: str, *, quoted: bool = False) -> str:
    """The canonical form of one identifier (see the module docstring)."""
    if not quoted:
        return name.lower()
    insensitive, upper = _rule(dialect)
    if insensitive or (upper and name == name.upper()):
        return name.lower()
    return name


def canonicalize(tree: exp.Expr, dialect: str) -> exp.Expr:
    """Put every identifier of a parsed statement in canonical form, in place (one pass)."""
    insensitive, upper = _rule(dialect)
    for node in tree.find_all(exp.Identifier):
        name = node.this
        if not isinstance(name, str) or name.islower():
            continue  # most identifiers are lower-case already
        if node.args.get("quoted") and not insensitive and not (upper and name == name.upper()):
            continue
        low = name.lower()
        if low != name:
            node.set("this", low)
    return tree


def canonical_dotted(name: str, dialect: str) -> str:
    """Canonical form of a dotted name that was normalised by the dialect's own rule (the script
    splitter reports process and call names so).

    Upper-case-folding dialects: a part in upper case was unquoted (or quoted upper case, the
    same object) and is lower-cased; a mixed-case part was quoted and is kept. Lower-case-folding
    dialects: a part with capitals was quoted and is kept. Dialects sqlglot calls case-sensitive
    keep unquoted names as written, so there every part is lower-cased (quoted mixed-case routine
    names lose their case: the splitter does not say which parts were quoted)."""
    if not name or name == name.lower():
        return name
    strategy = dialect_of(dialect).normalization_strategy
    if strategy is NormalizationStrategy.LOWERCASE:
        return name
    if strategy is NormalizationStrategy.UPPERCASE:
        return ".".join(p.lower() if p == p.upper() else p for p in name.split("."))
    return name.lower()


_BQ_SHARD = re.compile(r"^(.*?\D)_?((?:19|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01]))$")
_BQ_WILDCARD = re.compile(r"^(.*?)_?\d*\*$")
BQ_SHARD_SUFFIX = "_yyyymmdd"


def bigquery_table_family(name: str) -> str:
    """BigQuery's name of the table a reference reads or writes (last part of a table name).

    A partition decorator (`t$20230101`, `t$__UNPARTITIONED__`) or a snapshot decorator
    (`t@1700000000000`) names the table `t`. A date-sharded table (`events_20230101`: a name
    ending in a YYYYMMDD date) and a wildcard over shards (`events_2023*`, `events_*`) name the
    shard family `events_yyyymmdd`, so every shard joins one object (and one schema entry)."""
    base = name.split("$", 1)[0]
    if "@" in base[1:]:
        base = base[: base.index("@", 1)]
    wild = _BQ_WILDCARD.match(base)
    if wild and wild.group(1):
        return wild.group(1).rstrip("_") + BQ_SHARD_SUFFIX
    shard = _BQ_SHARD.match(base)
    if shard and shard.group(1).rstrip("_"):
        return shard.group(1).rstrip("_") + BQ_SHARD_SUFFIX
    return base or name


def split_column_ref(ref: str, tables: Iterable[str] = ()) -> tuple[str, str]:
    """(table, column) of a column reference `<table>.<column>[.<field>...]`.

    A struct field path (`ds.orders.customer.address.city`: column `customer`, field path
    `address.city`) keeps its dots in the column part: the table is the longest prefix that is
    one of `tables` (the statement's or script's tables); without a match, the last dot splits."""
    best = ""
    for t in tables:
        if len(t) > len(best) and ref.startswith(t + ".") and len(ref) > len(t) + 1:
            best = t
    if best:
        return best, ref[len(best) + 1 :]
    table, _, column = ref.rpartition(".")
    return table, column


def table_name(
    table: exp.Table,
    *,
    default_db: str | None = None,
    default_schema: str | None = None,
) -> str:
    """Canonical `[catalog.]db.name` of an (already normalised) table reference.

    Temporary objects (#t, @t) are never qualified with the defaults.
    """
    parts = [p.name for p in table.parts if p.name]
    if not parts:
        return ""
    this = table.this
    if isinstance(this, exp.Parameter):
        return "@" + this.name
    if isinstance(this, exp.Identifier) and this.args.get("global_"):
        return "##" + parts[-1]
    if isinstance(this, exp.Identifier) and this.args.get("temporary"):
        return "#" + parts[-1]
    if parts[-1].startswith(("#", "@")):
        return parts[-1]
    if len(parts) == 1 and (default_db or default_schema):
        parts = [p for p in (default_db, default_schema) if p] + parts
    elif len(parts) == 2 and default_db and parts[0] != default_db and default_schema is not None:
        parts = [default_db, *parts]
    return ".".join(parts)


class SchemaIndex:
    """Known columns per table: user-given, then learnt from CREATE statements in the script.

    Lookups accept any qualification of a name: an exact canonical match wins, otherwise a unique
    match on the trailing parts (`positions` found as `risk.positions` or the reverse).
    """

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect
        self._tables: dict[str, list[str]] = {}
        self._types: dict[str, dict[str, str | None]] = {}
        self._by_suffix: dict[str, set[str]] = {}

    def __len__(self) -> int:
        return len(self._tables)

    def _parse_table_key(self, key: str) -> str:
        try:
            node = exp.to_table(key, dialect=self.dialect or None)
        except (SqlglotError, ValueError, TypeError):
            return key.lower()
        parts = [
            normalize_name(p.name, self.dialect, quoted=bool(p.args.get("quoted")))
            for p in node.parts
            if isinstance(p, exp.Identifier)
        ]
        if parts and self.dialect == "bigquery":
            parts[-1] = bigquery_table_family(parts[-1])
        return ".".join(parts) if parts else key.lower()

    def add_user_schema(self, schema: Mapping[str, object]) -> None:
        for key, cols in schema.items():
            if not isinstance(cols, Mapping):
                continue
            name = self._parse_table_key(str(key))
            cols_norm: dict[str, str | None] = {}
            for col, typ in cols.items():
                cols_norm[normalize_name(str(col), self.dialect)] = None if typ is None else str(typ)
            self.add(name, list(cols_norm), cols_norm)

    def add(self, name: str, columns: Iterable[str], types: Mapping[str, str | None] | None = None) -> None:
        cols = list(dict.fromkeys(columns))
        if not name or not cols:
            return
        self._tables[name] = cols
        self._types[name] = dict(types or {})
        parts = name.split(".")
        for i in range(len(parts)):
            self._by_suffix.setdefault(".".join(parts[i:]), set()).add(name)

    def remove(self, name: str) -> None:
        if name in self._tables:
            del self._tables[name]
            self._types.pop(name, None)
            for names in self._by_suffix.values():
                names.discard(name)

    def resolve(self, name: str) -> str | None:
        """The schema's key for a table name, or None. A name that matches no key exactly (nor by
        its trailing parts) matches the one key equal to it ignoring case: a quoted `"Orders"`
        finds a catalog's `orders` (the catalog's spelling wins)."""
        hit = self._resolve(name)
        if hit is None and name != name.lower():
            hit = self._resolve(name.lower())
        return hit

    def _resolve(self, name: str) -> str | None:
        if name in self._tables:
            return name
        hits = self._by_suffix.get(name)
        if hits and len(hits) == 1:
            return next(iter(hits))
        parts = name.split(".")
        for i in range(1, len(parts)):
            hits = self._by_suffix.get(".".join(parts[i:]))
            if hits and len(hits) == 1:
                key = next(iter(hits))
                # the parts both spell must agree: `db.stage.t` is not the schema's `db.risk.t`
                aligned = zip(reversed(key.split(".")), reversed(parts), strict=False)
                return key if all(a == b for a, b in aligned) else None
        return None

    def columns(self, name: str) -> list[str] | None:
        key = self.resolve(name)
        return None if key is None else self._tables[key]

    def copy(self) -> SchemaIndex:
        other = SchemaIndex(self.dialect)
        other._tables = dict(self._tables)
        other._types = dict(self._types)
        other._by_suffix = {k: set(v) for k, v in self._by_suffix.items()}
        return other


def parse_one_or_none(sql: str, dialect: str) -> exp.Expr | None:
    try:
        return sqlglot.parse_one(sql, dialect=dialect or None)
    except (SqlglotError, RecursionError, ValueError):
        return None

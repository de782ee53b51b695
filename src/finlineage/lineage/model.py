"""Result types of the lineage engine: frozen, typed, JSON-friendly.

Names of tables are canonical strings `[db.]schema.name` (or a bare `name` when nothing
qualifies it): unquoted identifiers lower-case in every dialect, quoted ones keeping their case
where the dialect treats quoted names as case-sensitive (the rule is in `names`' docstring). The
same form is used for columns, processes, calls, object definitions and temporary tables, so
objects join across files and dialects by name. Column references are `<table>.<column>`; a plain
SELECT's outputs are bare column names.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

EdgeKind = Literal["direct", "indirect"]
EdgeSubtype = Literal[
    "",
    "IDENTITY",
    "TRANSFORMATION",
    "AGGREGATION",
    "JOIN",
    "FILTER",
    "GROUP_BY",
    "SORT",
    "WINDOW",
    "CONDITIONAL",
]
DIRECT_SUBTYPES: tuple[str, ...] = ("IDENTITY", "TRANSFORMATION", "AGGREGATION")
INDIRECT_SUBTYPES: tuple[str, ...] = ("JOIN", "FILTER", "GROUP_BY", "SORT", "WINDOW", "CONDITIONAL")
Severity = Literal["info", "warning", "error"]
ObjectKind = Literal[
    "table",
    "view",
    "materialized_view",
    "procedure",
    "function",
    "trigger",
    "synonym",
    "external",
]


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """Something the engine could not analyse fully. Never dropped silently."""

    code: str
    """Stable machine code, e.g. parse_error, unsupported_statement, unresolved_column,
    ambiguous_column, dynamic_sql, star_without_schema, timeout, too_large."""
    message: str
    severity: Severity = "warning"
    line: int | None = None
    statement_index: int | None = None
    column: int | None = None
    """1-based column in `line` of the ORIGINAL file (parse errors), when known."""


@dataclass(frozen=True, slots=True)
class ColumnDef:
    name: str
    ordinal: int
    data_type: str | None = None


@dataclass(frozen=True, slots=True)
class ObjectDefinition:
    """An object the script defines (CREATE TABLE/VIEW/PROCEDURE/FUNCTION/TRIGGER/...)."""

    name: str
    kind: ObjectKind
    columns: tuple[ColumnDef, ...] = ()
    line_start: int = 1
    line_end: int = 1
    definition: str = ""
    is_temporary: bool = False


@dataclass(frozen=True, slots=True)
class ColumnEdge:
    """Lineage into one target column from zero or more source columns.

    `kind` and `subtype` are OpenLineage's transformation `type` (= kind.upper()) and `subtype`:
    a direct edge (the sources' values make the target's value) is IDENTITY (a plain copy of one
    column), TRANSFORMATION (any other expression) or AGGREGATION (an aggregate function is
    involved); an indirect edge (the sources decide which rows or how, not the value) is JOIN
    (join conditions), FILTER (WHERE/HAVING/QUALIFY and the subqueries in them), GROUP_BY, SORT
    (ORDER BY), WINDOW (PARTITION BY/ORDER BY of a window specification) or CONDITIONAL (the
    conditions of CASE WHEN / IF). Columns of a CASE/IF condition are also direct sources (the
    value is computed from them); window PARTITION BY/ORDER BY columns are never direct. A statement yields at most one edge per (target, kind,
    subtype): its sources are the union of the columns playing that role. Through derived
    tables/CTEs the strongest direct subtype wins (AGGREGATION > TRANSFORMATION > IDENTITY).
    """

    target: str
    sources: tuple[str, ...]
    kind: EdgeKind = "direct"
    expression: str = ""
    confidence: float = 1.0
    subtype: str = ""
    """One of `DIRECT_SUBTYPES` / `INDIRECT_SUBTYPES` ("" only for edges built outside the
    statement analysis that have not classified themselves)."""
    formula: str = ""
    """Direct edges: one SQL expression for the target in terms of its sources' qualified names.
    In a statement, the statement's own sources (CTEs and derived tables substituted); in the
    rollup, persistent columns (temporary tables and earlier writes of a routine substituted)."""
    steps: tuple[int, ...] = ()
    """Rollup edges: indexes of the statements that contributed, in data-flow order."""


@dataclass(frozen=True, slots=True)
class StatementLineage:
    index: int
    type: str
    """Lower-case statement kind: select, insert, create_table, create_view, merge, update, ..."""
    source_tables: tuple[str, ...] = ()
    target_tables: tuple[str, ...] = ()
    column_edges: tuple[ColumnEdge, ...] = ()
    line_start: int = 1
    line_end: int = 1
    sql: str = ""
    process: str | None = None
    """The routine (procedure/function/trigger/block) this statement runs inside, if any."""
    calls: tuple[str, ...] = ()
    """Routines this statement invokes (EXEC/CALL): call edges."""
    source_paths: tuple[str, ...] = ()
    target_paths: tuple[str, ...] = ()
    temporary_tables: tuple[str, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()
    renames: tuple[tuple[str, str], ...] = ()
    """(old, new) table names of ALTER TABLE ... RENAME / RENAME TABLE: no data flows."""
    unknown_functions: tuple[str, ...] = ()
    """User table-valued functions read whose result columns are unknown (defined in no earlier
    statement and absent from the schema): what is read through them has no upstream yet."""


@dataclass(frozen=True, slots=True)
class ScriptLineage:
    """The whole script rolled up, temporary/intermediate tables collapsed."""

    source_tables: tuple[str, ...] = ()
    target_tables: tuple[str, ...] = ()
    column_edges: tuple[ColumnEdge, ...] = ()


@dataclass(frozen=True, slots=True)
class LineageResult:
    dialect: str
    statements: tuple[StatementLineage, ...] = ()
    objects: tuple[ObjectDefinition, ...] = ()
    rollup: ScriptLineage = field(default_factory=ScriptLineage)
    diagnostics: tuple[Diagnostic, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

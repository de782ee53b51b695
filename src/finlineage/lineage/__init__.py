"""The lineage engine: pure functions from SQL text to table and column lineage."""

from __future__ import annotations

from finlineage.lineage.engine import extract
from finlineage.lineage.model import (
    ColumnDef,
    ColumnEdge,
    Diagnostic,
    LineageResult,
    ObjectDefinition,
    ScriptLineage,
    StatementLineage,
)

__all__ = [
    "ColumnDef",
    "ColumnEdge",
    "Diagnostic",
    "LineageResult",
    "ObjectDefinition",
    "ScriptLineage",
    "StatementLineage",
    "extract",
]

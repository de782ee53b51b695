"""Heuristic SQL dialect detection (first version: always the neutral default)."""

from __future__ import annotations

__all__ = ["detect_dialect"]


def detect_dialect(sql: str) -> str:
    """Return a sqlglot dialect name for `sql` ("" = sqlglot's neutral default)."""
    return ""

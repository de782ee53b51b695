"""Clauses the parser cannot read and that carry no lineage, as each dialect's splitter finds
them in a statement's text (patterns used by `Splitter._clean` and its dialect overrides): the
statement is rewritten with them blanked (line breaks kept) or spelt in a form the parser reads."""

from __future__ import annotations

import re

__all__ = [
    "_CTAS_TABLE",
    "_INSERT_TABLE",
    "_INTO_END_RE",
    "_MERGE_EVOLUTION",
    "_ORA_LOG_ERRORS",
    "_ORA_MERGE",
    "_ORA_MERGE_DELETE",
    "_ORA_MVIEW",
    "_ORA_OBJECT_VIEW",
    "_ORA_TRANSLATE_USING",
    "_ORA_VIEW_MODIFIERS",
    "_PG_ON_COMMIT_DROP",
    "_REMOVE_DUPLICATES",
    "_SF_TASK",
    "_TSQL_VIEW_ATTRIBUTES",
    "_UPSERT_ALL",
    "_blank",
    "_translate_using",
]


def _blank(text: str) -> str:
    return re.sub(r"[^\n]", " ", text)


_ORA_MVIEW = re.compile(
    r"\s*CREATE\s+(?:OR\s+REPLACE\s+)?MATERIALIZED\s+VIEW\s+(?:\"[^\"]+\"|[\w$#]+)"
    r"(?:\s*\.\s*(?:\"[^\"]+\"|[\w$#]+))*(?:\s*\([^()]*\))?(?P<clauses>[\s\S]*?)\bAS\s+(?=SELECT|WITH|\()",
    re.I,
)
_ORA_OBJECT_VIEW = re.compile(
    r"\s*CREATE\s+(?:OR\s+REPLACE\s+)?(?:(?:NO\s+)?FORCE\s+)?(?:EDITIONABLE\s+|NONEDITIONABLE\s+)?VIEW\s+"
    r"(?:\"[^\"]+\"|[\w$#]+)(?:\s*\.\s*(?:\"[^\"]+\"|[\w$#]+))*"
    r"(?P<of>\s+OF\s+[\s\S]*?)\bAS\s+(?=SELECT|WITH|\()",
    re.I,
)
_TABLE_NAME = r"(?:`[^`]+`|\"[^\"]+\"|[\w$]+)(?:\s*\.\s*(?:`[^`]+`|\"[^\"]+\"|[\w$]+))*"
_INSERT_TABLE = re.compile(
    rf"(\s*INSERT\s+(?:INTO|OVERWRITE)\b[\s\S]*\s)(?P<kw>TABLE)\s+{_TABLE_NAME}\s*;?\s*$", re.I
)
_CTAS_TABLE = re.compile(rf"(\s*CREATE\b[\s\S]*\bAS\s+)(?P<kw>TABLE)\s+{_TABLE_NAME}\s*;?\s*$", re.I)
_MERGE_EVOLUTION = re.compile(r"\s*MERGE\s+(?P<opt>WITH\s+SCHEMA\s+EVOLUTION)\s+INTO\b", re.I)
_INTO_END_RE = re.compile(r"\b(?:INTO|OVERWRITE)\s+$", re.I)
"""`INSERT INTO TABLE t` with nothing after: TABLE is the target's keyword, not a query."""
_TSQL_NAME = r"(?:\[[^\]]+\]|\"[^\"]+\"|[\w@#$]+)(?:\s*\.\s*(?:\[[^\]]+\]|\"[^\"]+\"|[\w@#$]+))*"
_TSQL_VIEW_ATTRIBUTES = re.compile(
    rf"\s*(?:CREATE(?:\s+OR\s+ALTER)?|ALTER)\s+VIEW\s+{_TSQL_NAME}(?:\s*\([^()]*\))?\s+"
    r"(?P<attrs>WITH\s+(?:ENCRYPTION|SCHEMABINDING|VIEW_METADATA)(?:\s*,\s*(?:ENCRYPTION|SCHEMABINDING|VIEW_METADATA))*)"
    r"\s+AS\b",
    re.I,
)
_REMOVE_DUPLICATES = re.compile(r"\s*MERGE\s[\s\S]*\s(?P<rd>REMOVE\s+DUPLICATES)\s*;?\s*$", re.I)
_UPSERT_ALL = "WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *"
_SF_TASK = re.compile(
    r"\s*CREATE\s+(?:OR\s+(?:REPLACE|ALTER)\s+)?TASK\s[\s\S]*?\bAS\s+"
    r"(?=(?:INSERT|MERGE|UPDATE|DELETE|COPY|CREATE|TRUNCATE|SELECT|WITH)\b)",
    re.I,
)
_PG_ON_COMMIT_DROP = re.compile(
    r"\s*CREATE\s+(?:(?:GLOBAL|LOCAL)\s+)?(?:TEMP|TEMPORARY)\s+TABLE\s[^;]*?(?P<drop>\bON\s+COMMIT\s+DROP\b)",
    re.I,
)
_ORA_VIEW_MODIFIERS = re.compile(
    r"\s*CREATE\s+(?:OR\s+REPLACE\s+)?(?P<mods>(?:(?:NO)?FORCE\s+|(?:NON)?EDITIONABLE\s+|EDITIONING\s+)+)VIEW\b",
    re.I,
)
_ORA_MERGE = re.compile(r"\s*MERGE\b", re.I)
_ORA_MERGE_DELETE = re.compile(r"\bDELETE\s+WHERE\b[\s\S]*?(?=\bWHEN\s+NOT\s+MATCHED\b|\Z)", re.I)
_ORA_LOG_ERRORS = re.compile(
    r"\bLOG\s+ERRORS\b(?:\s+INTO\s+[\w$#.\"]+)?(?:\s*\([^()]*\))?(?:\s+REJECT\s+LIMIT\s+\w+)?\s*$", re.I
)
_ORA_TRANSLATE_USING = re.compile(
    r"\bTRANSLATE(\s*\((?:[^()]|\([^()]*\))*?)\s+USING\s+(NCHAR_CS|CHAR_CS)(\s*\))", re.I
)


def _translate_using(m: re.Match[str]) -> str:
    """TRANSLATE(x USING NCHAR_CS) -> TO_NCHAR(x) padded to the same length (columns kept)."""
    fn = "TO_NCHAR" if m.group(2).upper() == "NCHAR_CS" else "TO_CHAR"
    body = f"{fn}{m.group(1)}{m.group(3)}"
    return body + " " * (len(m.group(0)) - len(body))

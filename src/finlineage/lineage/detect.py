"""Guess the SQL dialect of a script from its content.

Approach: weighted evidence scoring. Each dialect has a table of regular expressions for
features that are (nearly) unique to it — e.g. ``GO`` lines, ``[brackets]``, ``#temp`` and
``@variables`` for T-SQL; ``$$`` + ``plpgsql``, ``::`` casts, SERIAL, ILIKE for PostgreSQL;
VARIANT, FLATTEN, TRANSIENT, ``@stage`` for Snowflake; ``project.dataset`` backticks, INT64 for
BigQuery; INSERT OVERWRITE, ``USING DELTA``, LATERAL VIEW for Spark; VARCHAR2, NVL, DUAL,
``%ROWTYPE``, ``/`` lines for Oracle; AUTO_INCREMENT, ``ENGINE=`` for MySQL. A feature adds its
weight once per occurrence, at most three times. Comments are removed first (string literals
are kept: ``N'...'`` and ``$$`` are evidence). The highest score wins (ties: the order of
``DIALECTS``).

Falls back to ``""`` — sqlglot's neutral, ANSI-like default dialect, which every sqlglot API
accepts — when no dialect scores at least ``MIN_SCORE`` (plain ANSI SELECTs carry no evidence).

Limits: a heuristic. Dialects that share syntax (Snowflake/PostgreSQL ``::``, Spark/Databricks/
Hive, MySQL/MariaDB) are told apart only by their distinctive features; short snippets without
any return the default. Only the first 200,000 characters are examined.
"""

from __future__ import annotations

import re

__all__ = ["DIALECTS", "MIN_SCORE", "detect_dialect", "dialect_scores"]

DIALECTS: tuple[str, ...] = ("tsql", "postgres", "snowflake", "bigquery", "spark", "oracle", "mysql")
"""Dialects detect_dialect can return (besides the "" default), in tie-break order."""

MIN_SCORE = 3.0
MAX_CHARS = 200_000
_MAX_HITS = 3

_I = re.I
_IM = re.I | re.M

_RULES: dict[str, list[tuple[str, float, int]]] = {
    "tsql": [
        (r"^[ \t]*GO[ \t]*(?:\d+[ \t]*)?$", 5, _IM),
        (r"\[[A-Za-z_][\w $#@-]*\]\s*[.,(=)\s]", 2, 0),
        (r"\b(?:FROM|INTO|TABLE|JOIN|UPDATE)\s+##?[A-Za-z_]", 4, _I),
        (r"\bDECLARE\s+@\w+", 4, _I),
        (r"@@(?:ROWCOUNT|ERROR|FETCH_STATUS|IDENTITY|TRANCOUNT|SPID)\b", 4, _I),
        (r"\bSET\s+@\w+\s*=", 3, _I),
        (r"\bN?VARCHAR\s*\(\s*MAX\s*\)|\bNVARCHAR\b|\bNCHAR\b", 2, _I),
        (r"\bN'", 1, 0),
        (r"\bSELECT\s+(?:DISTINCT\s+)?TOP\s*\(?\s*\d", 3, _I),
        (r"\bGETDATE\s*\(\s*\)|\bSYSDATETIME\s*\(|\bDATEDIFF\s*\(\s*(?:day|dd|month|year)\b", 2, _I),
        (r"\bSET\s+(?:NOCOUNT|XACT_ABORT|ANSI_NULLS|QUOTED_IDENTIFIER)\s+(?:ON|OFF)\b", 5, _I),
        (r"\bBEGIN\s+(?:TRY|CATCH|TRAN|TRANSACTION)\b", 5, _I),
        (r"\bRAISERROR\b|\bsp_executesql\b|\bsp_\w+\b", 4, _I),
        (r"\bWITH\s*\(\s*NOLOCK\s*\)", 5, _I),
        (r"\bCREATE\s+(?:OR\s+ALTER\s+)?PROC(?:EDURE)?\s+[\w.\[\]]+\s+@", 5, _I),
        (r"\bCREATE\s+OR\s+ALTER\b", 4, _I),
        (r"\bdbo\.", 2, _I),
        (r"\bIDENTITY\s*\(\s*\d", 3, _I),
        (r"\bOUTPUT\s+(?:inserted|deleted)\.", 4, _I),
        (r"\b(?:CROSS|OUTER)\s+APPLY\b", 2, _I),
        (r"\bEXEC(?:UTE)?\s+(?:\[?dbo\]?\.|@\w+\s*=)", 3, _I),
        (r"\bISNULL\s*\(\s*[^,()]+,", 1, _I),
        (r"\bUNIQUEIDENTIFIER\b|\bDATETIME2\b|\bSMALLDATETIME\b|\bBIT\b", 2, _I),
        (r"\bPRINT\s+['@]", 2, _I),
    ],
    "postgres": [
        (r"\bLANGUAGE\s+'?plpgsql\b", 7, _I),
        (r"\$(?:[A-Za-z_]\w*)?\$", 1, 0),
        (
            r"::\s*(?:text|integer|int|bigint|numeric|date|timestamptz|timestamp|jsonb|json|regclass|uuid|boolean)\b",
            1.5,
            _I,
        ),
        (r"\b(?:BIG|SMALL)?SERIAL\b", 4, _I),
        (r"\bILIKE\b", 1.5, _I),
        (r"\bON\s+CONFLICT\b", 5, _I),
        (r"\bDISTINCT\s+ON\s*\(", 4, _I),
        (r"\bJSONB\b", 4, _I),
        (r"\bTIMESTAMPTZ\b|\bTIMESTAMP\s+WITH\s+TIME\s+ZONE\b", 2, _I),
        (r"\bRAISE\s+(?:NOTICE|EXCEPTION|WARNING|INFO|LOG)\b", 4, _I),
        (r"\bPERFORM\s+\w", 2, _I),
        (r"\bCREATE\s+(?:EXTENSION|SCHEMA\s+IF\s+NOT\s+EXISTS|MATERIALIZED\s+VIEW)\b", 2, _I),
        (r"\bgenerate_series\s*\(|\bstring_agg\s*\(|\barray_agg\s*\(", 2, _I),
        (r"\bBYTEA\b|\bTEXT\[\]|\bINT\[\]", 4, _I),
        (r"\bnextval\s*\(\s*'", 3, _I),
        (r"\bRETURNS\s+(?:SETOF|TRIGGER|TABLE)\b", 3, _I),
        (r"\bDO\s+\$", 4, _I),
        (r"\bRETURNING\b", 1.5, _I),
        (r"\bNOW\s*\(\s*\)\s*-\s*INTERVAL\s+'", 2, _I),
        (r"\bCREATE\s+(?:UNLOGGED|TEMP(?:ORARY)?)\s+TABLE\b.*\bON\s+COMMIT\b", 2, _I),
        (r"\bEXECUTE\s+FUNCTION\b|\bFOR\s+EACH\s+ROW\s+EXECUTE\b", 3, _I),
        (r"\b(?:numeric|varchar|char)\s*\(\s*\d+(?:\s*,\s*\d+)?\s*\)\s+NOT\s+NULL\b", 0.5, 0),
        (r"::\s*[a-z_]+", 1, 0),
        (r"\bSPLIT_PART\s*\(|\bdate_trunc\s*\(\s*'", 1, _I),
    ],
    "snowflake": [
        (r"\bVARIANT\b", 4, _I),
        (r"\bFLATTEN\s*\(", 4, _I),
        (r"\bCREATE\s+(?:OR\s+REPLACE\s+)?TRANSIENT\b", 6, _I),
        (r"\bQUALIFY\b", 3, _I),
        (r"\bCOPY\s+INTO\b", 2, _I),
        (r"(?:\bFROM|\bINTO|\bSTAGE|\bPUT\s+\S+)\s+@[~%]?[A-Za-z_]", 4, _I),
        (r"\b\w+:\w+(?:\.\w+)*::", 3, 0),
        (r"\bIFF\s*\(", 3, _I),
        (r"\bOBJECT_CONSTRUCT\s*\(|\bARRAY_CONSTRUCT\s*\(|\bTRY_TO_\w+\s*\(", 4, _I),
        (r"\bWAREHOUSE\b|\bFILE_FORMAT\b|\bCREATE\s+(?:OR\s+REPLACE\s+)?(?:STAGE|PIPE|STREAM|TASK)\b", 4, _I),
        (r"\bTIMESTAMP_(?:NTZ|LTZ|TZ)\b", 3, _I),
        (r"\bEXECUTE\s+IMMEDIATE\s+\$\$", 4, _I),
        (r"\bRESULTSET\b|\bLET\s+\w+\s+(?:RESULTSET|CURSOR|NUMBER|VARCHAR)\b", 4, _I),
        (r"\bLANGUAGE\s+(?:SQL|JAVASCRIPT)\b[\s\S]{0,200}?\bAS\s+(?:\$\$|')", 3, _I),
        (r"\bIDENTIFIER\s*\(|\bCLONE\b|\bUNDROP\b", 2, _I),
        (r"::\s*(?:NUMBER|VARCHAR|STRING|VARIANT|FLOAT|DATE|TIMESTAMP_NTZ)\b", 1, _I),
        (r"\bNUMBER\s*\(\s*\d+\s*,\s*\d+\s*\)", 1, _I),
        (r"\bILIKE\b|\bZEROIFNULL\s*\(|\bDIV0\s*\(", 1, _I),
        (r"\bEXCLUDE\s*\(|\bSELECT\s+\*\s+EXCLUDE\b", 2, _I),
        (r"\bCREATE\s+(?:OR\s+REPLACE\s+)?SECURE\s+(?:MATERIALIZED\s+)?(?:VIEW|FUNCTION)\b", 5, _I),
        (r"\bCREATE\s+OR\s+REPLACE\s+(?:TEMP(?:ORARY)?\s+)?TABLE\b", 1.5, _I),
        (r"\bSPLIT_PART\s*\(|\bDATEADD\s*\(\s*'?(?:day|month|year|week)'?\s*,", 1, _I),
        (r"\bARRAY_SIZE\s*\(|\bLISTAGG\s*\(|\bCOUNT_IF\s*\(|\bEQUAL_NULL\s*\(", 1.5, _I),
    ],
    "bigquery": [
        (r"`[\w-]+\.[\w-]+(?:\.[\w-]+)?`", 5, 0),
        (r"\bINT64\b|\bFLOAT64\b|\bBIGNUMERIC\b", 4, _I),
        (r"\bSTRUCT\s*<(?!\s*\w+\s*:)|\bARRAY\s*<\s*STRUCT\b", 2, _I),
        (r"\bSAFE_CAST\s*\(|\bSAFE_DIVIDE\s*\(|\bSAFE\.\w+\s*\(", 4, _I),
        (r"\bSELECT\s+\*\s+EXCEPT\s*\(", 3, _I),
        (r"\b_PARTITIONTIME\b|\b_PARTITIONDATE\b|\b_TABLE_SUFFIX\b", 5, _I),
        (r"\bCREATE\s+TEMP(?:ORARY)?\s+FUNCTION\b|\bCREATE\s+(?:OR\s+REPLACE\s+)?TABLE\s+FUNCTION\b", 4, _I),
        (
            r"\bFORMAT_DATE\s*\(|\bPARSE_DATE\s*\(|\bDATE_SUB\s*\([^)]*INTERVAL\s+\d+\s+DAY\s*\)|\bGENERATE_DATE_ARRAY\s*\(",
            2,
            _I,
        ),
        (r"\bOPTIONS\s*\(\s*\w+\s*=", 3, _I),
        (r"\bDECLARE\s+\w+\s+(?:INT64|STRING|DATE|FLOAT64|BOOL|ARRAY)\b", 4, _I),
        (r"\bUNNEST\s*\(", 1, _I),
        (r"\bQUALIFY\b", 1, _I),
        (r"\bPARTITION\s+BY\s+(?:DATE|TIMESTAMP_TRUNC|DATE_TRUNC)\s*\(", 3, _I),
        (r'\br"""|\b(?:STRING|BYTES)\b\s*[,)]', 2, _I),
        (r"\bEXECUTE\s+IMMEDIATE\s+\"", 2, _I),
    ],
    "spark": [
        (r"\bINSERT\s+OVERWRITE\b", 5, _I),
        (r"\bUSING\s+(?:DELTA|PARQUET|ORC|CSV|JSON|AVRO|ICEBERG|HIVE)\b", 5, _I),
        (r"\bLATERAL\s+VIEW\b", 5, _I),
        (r"\b(?:posexplode|explode|explode_outer|inline)\s*\(", 3, _I),
        (r"\bPARTITIONED\s+BY\b", 2, _I),
        (r"\bSTORED\s+AS\s+\w+|\bROW\s+FORMAT\b", 3, _I),
        (r"\bTBLPROPERTIES\b|\bLOCATION\s+'(?:s3a?|abfss|dbfs|gs|hdfs|wasbs)://", 4, _I),
        (r"\b(?:CACHE|UNCACHE|REFRESH)\s+TABLE\b|\bMSCK\s+REPAIR\b", 4, _I),
        (r"\b(?:DISTRIBUTE|SORT)\s+BY\b", 3, _I),
        (r"\bOPTIMIZE\s+\S+\s+ZORDER\b|\bZORDER\s+BY\b|\bVACUUM\s+\S+\s+RETAIN\b", 4, _I),
        (r"\bdelta\.`|\bparquet\.`", 5, _I),
        (r"\bcollect_(?:list|set)\s*\(", 4, _I),
        (r"\bSTRUCT\s*<\s*\w+\s*:|\bMAP\s*<", 3, _I),
        (r"\bCREATE\s+(?:OR\s+REPLACE\s+)?(?:GLOBAL\s+)?TEMP(?:ORARY)?\s+VIEW\b", 2, _I),
        (r"\bRLIKE\b|\bdate_format\s*\(\s*\w+\s*,\s*'[yMd]", 1, _I),
        (r"\bTIMESTAMP\s+'[^']*'\s*-\s*INTERVAL\b|\bcurrent_timestamp\s*\(\s*\)", 0.5, _I),
        (r"\bMERGE\s+INTO\b[\s\S]{0,400}?\bUPDATE\s+SET\s+\*|\bINSERT\s+\*", 4, _I),
        (r"\bnvl\s*\(|\bdatediff\s*\(\s*\w+\s*,\s*\w+\s*\)", 0.5, _I),
        (r"\bCREATE\s+OR\s+REPLACE\s+TABLE\b", 1, _I),
    ],
    "oracle": [
        (r"\bN?VARCHAR2\b", 6, _I),
        (r"\bNUMBER\s*\(", 2, _I),
        (r"\bNVL2?\s*\(", 2, _I),
        (r"\bFROM\s+DUAL\b", 3, _I),
        # declarations between IS/AS and BEGIN: atomic and possessive, at most 50, so a file of
        # many one-line `... AS ...;` statements cannot backtrack exponentially
        (r"\b(?:IS|AS)\s*+(?>\w+\s+[\w.%()]+[^;\n]*;\s*){0,50}+BEGIN\b", 2, _I),
        (r"\)\s*(?:RETURN\s+\w+\s+)?IS\s*$", 4, _IM),
        (r"^[ \t]*/[ \t]*$", 4, re.M),
        (r"\bSYSDATE\b|\bSYSTIMESTAMP\b", 3, _I),
        (r"\bROWNUM\b|\bROWID\b", 4, _I),
        (r"\bDBMS_\w+\.|\bUTL_\w+\.", 5, _I),
        (r"%(?:ROW)?TYPE\b", 5, _I),
        (r"\bBULK\s+COLLECT\b|\bFORALL\b", 5, _I),
        (r"\bRAISE_APPLICATION_ERROR\b|\bPRAGMA\b", 5, _I),
        (r"\bCONNECT\s+BY\b|\bSTART\s+WITH\b", 3, _I),
        (r"\bTO_DATE\s*\(\s*'[^']*'\s*,\s*'", 1.5, _I),
        (r"\bELSIF\b", 1, _I),
        (r"\bMINUS\b", 2, _I),
        (r"\.NEXTVAL\b|\.CURRVAL\b", 4, _I),
        (r"\bCREATE\s+(?:OR\s+REPLACE\s+)?(?:EDITIONABLE\s+)?PACKAGE\b", 6, _I),
        (r"\bDECODE\s*\(", 2, _I),
        (r"\b(?:CLOB|BLOB|NCLOB)\b", 1, _I),
        (r"\bEND\s+\w+\s*;\s*$", 1, _IM),
        (r"\bFETCH\s+FIRST\s+\d+\s+ROWS\s+ONLY\b", 1, _I),
    ],
    "mysql": [
        (r"`\w+`(?:\.`\w+`)?", 1.5, 0),
        (r"\bAUTO_INCREMENT\b", 6, _I),
        (r"\bENGINE\s*=\s*\w+", 6, _I),
        (r"^[ \t]*DELIMITER\s+\S+", 6, _IM),
        (r"\b(?:DEFAULT\s+)?CHARSET\s*=|\bCOLLATE\s*=?\s*utf8", 5, _I),
        (r"\bUNSIGNED\b|\bZEROFILL\b", 3, _I),
        (r"\bLIMIT\s+\d+\s*,\s*\d+", 3, _I),
        (r"\bON\s+DUPLICATE\s+KEY\s+UPDATE\b", 6, _I),
        (r"\bIFNULL\s*\(", 1, _I),
        (r"\b(?:MEDIUMINT|MEDIUMTEXT|LONGTEXT|TINYTEXT|LONGBLOB)\b", 4, _I),
        (r"\bTINYINT\s*\(\s*1\s*\)", 2, _I),
        (r"\bSTR_TO_DATE\s*\(|\bGROUP_CONCAT\s*\(|\bDATE_FORMAT\s*\(\s*\w+\s*,\s*'%", 4, _I),
        (r"\bREPLACE\s+INTO\b|\bINSERT\s+IGNORE\b", 4, _I),
        (r"\bCREATE\s+DEFINER\b|\bSQL\s+SECURITY\s+(?:DEFINER|INVOKER)\b", 5, _I),
        (r"\bLOCK\s+TABLES\b|\bUNLOCK\s+TABLES\b", 3, _I),
        (r"^[ \t]*#", 1, re.M),
        (r"\bDECLARE\s+(?:CONTINUE|EXIT)\s+HANDLER\b", 5, _I),
        (r"\bCURDATE\s*\(\s*\)|\bDATE_ADD\s*\(\s*\w+\s*,\s*INTERVAL\b", 2, _I),
    ],
}

_COMPILED: dict[str, list[tuple[re.Pattern[str], float]]] = {
    d: [(re.compile(p, f), w) for p, w, f in rules] for d, rules in _RULES.items()
}
_COMMENTS = re.compile(r"/\*[\s\S]*?(?:\*/|\Z)|--[^\n]*")


def dialect_scores(sql: str) -> dict[str, float]:
    """Evidence score per dialect of DIALECTS (for diagnostics and tests)."""
    text = _COMMENTS.sub(" ", sql[:MAX_CHARS])
    scores: dict[str, float] = {}
    for d in DIALECTS:
        total = 0.0
        for rx, w in _COMPILED[d]:
            hits = 0
            for _ in rx.finditer(text):
                hits += 1
                if hits >= _MAX_HITS:
                    break
            total += w * hits
        scores[d] = total
    return scores


def detect_dialect(sql: str) -> str:
    """Return the sqlglot dialect name `sql` is most likely written in ("" = neutral default)."""
    if not isinstance(sql, str) or not sql.strip():
        return ""
    try:
        scores = dialect_scores(sql)
    except Exception:  # a heuristic must never break the caller
        return ""
    best = max(DIALECTS, key=lambda d: (scores[d], -DIALECTS.index(d)))
    return best if scores[best] >= MIN_SCORE else ""

"""split_script: plain scripts, T-SQL batches and blocks, PL/pgSQL, Snowflake scripting, PL/SQL,
MySQL DELIMITER, BigQuery scripting, calls, dynamic SQL, robustness and speed."""

from __future__ import annotations

import pytest
import sqlglot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from finlineage.lineage.procedural import ANONYMOUS_BLOCK, Segment, SplitResult, split_script

ALL_DIALECTS = [
    "",
    "tsql",
    "postgres",
    "snowflake",
    "bigquery",
    "spark",
    "oracle",
    "mysql",
    "databricks",
    "duckdb",
]


def sqls(res: SplitResult) -> list[str]:
    return [s.sql for s in res.segments if s.sql]


def spans(res: SplitResult) -> list[tuple[int, int]]:
    return [(s.line_start, s.line_end) for s in res.segments]


def assert_parseable(res: SplitResult, dialect: str) -> None:
    for s in res.segments:
        if s.sql:
            sqlglot.parse_one(s.sql, read=dialect or None)


def only(res: SplitResult, process: str | None) -> list[Segment]:
    return [s for s in res.segments if s.process == process]


def codes(seg: Segment) -> list[tuple[str, str]]:
    return [(d.code, d.severity) for d in seg.diagnostics]


# --------------------------------------------------------------------------- plain scripts

PLAIN = """-- daily positions; not a statement
SELECT 'a;b' AS "x;y", trade_id
FROM trades; /* block ; comment */
INSERT INTO positions (book, qty)
SELECT book, SUM(qty)
FROM trades
GROUP BY book;

UPDATE fx_rates SET rate = 1.1 WHERE ccy = 'EUR'
"""


@pytest.mark.parametrize("dialect", ALL_DIALECTS)
def test_plain_script_every_dialect(dialect: str) -> None:
    res = split_script(PLAIN, dialect)
    assert sqls(res) == [
        "SELECT 'a;b' AS \"x;y\", trade_id\nFROM trades",
        "INSERT INTO positions (book, qty)\nSELECT book, SUM(qty)\nFROM trades\nGROUP BY book",
        "UPDATE fx_rates SET rate = 1.1 WHERE ccy = 'EUR'",
    ]
    assert spans(res) == [(2, 3), (4, 7), (9, 9)]
    assert all(s.process is None and s.calls == () for s in res.segments)
    assert res.routines == () and res.diagnostics == ()


def test_single_statement_without_semicolon() -> None:
    res = split_script("\n\n  SELECT * FROM trades  \n\n", "postgres")
    assert sqls(res) == ["SELECT * FROM trades"]
    assert spans(res) == [(3, 3)]


def test_empty_and_comment_only() -> None:
    assert split_script("", "tsql").segments == ()
    assert split_script("-- nothing\n/* here */ ;;\n", "postgres").segments == ()


@pytest.mark.parametrize(
    ("dialect", "sql", "expected"),
    [
        ("postgres", "SELECT $$a;b$$, $tag$ ; $$ ; $tag$ FROM t; SELECT 2", 2),
        ("postgres", "SELECT E'it\\'s;' FROM t; SELECT 2", 2),
        ("mysql", "SELECT 'it\\'s;', \"x;y\" FROM `a;b`; SELECT 2", 2),
        ("mysql", "SELECT 1; # comment; here\nSELECT 2", 2),
        ("bigquery", "SELECT '''a;b''', \"\"\"c;d\"\"\" FROM `p.d.t`; SELECT 2", 2),
        ("bigquery", "SELECT 1 # hash; comment\n; SELECT 2", 2),
        ("snowflake", "SELECT 'a\\';b' FROM t // slash; comment\n; SELECT 2", 2),
        ("oracle", "SELECT q'[it's; fine]' FROM dual; SELECT 2 FROM dual", 2),
        ("tsql", "SELECT [a;b], 'c;d', N'e;f' FROM t; SELECT 2", 2),
        ("spark", "SELECT `a;b`, 'c\\';d' FROM t; SELECT 2", 2),
        ("", "SELECT 'it''s;' FROM t /* ; */ -- ;\n; SELECT 2", 2),
    ],
)
def test_quotes_and_comments_do_not_split(dialect: str, sql: str, expected: int) -> None:
    res = split_script(sql, dialect)
    assert len(sqls(res)) == expected, sqls(res)
    assert_parseable(res, dialect)


def test_crlf_line_numbers() -> None:
    res = split_script("SELECT 1;\r\n\r\nSELECT 2\r\nFROM t;\r\n", "postgres")
    assert spans(res) == [(1, 1), (3, 4)]


# --------------------------------------------------------------------------- T-SQL


def test_tsql_go_batches_and_counts() -> None:
    sql = "CREATE TABLE #t (id INT)\nGO\nINSERT INTO #t VALUES (1)\ngo 5\nSELECT * FROM #t\n  GO  -- end\n"
    res = split_script(sql, "tsql")
    assert sqls(res) == ["CREATE TABLE #t (id INT)", "INSERT INTO #t VALUES (1)", "SELECT * FROM #t"]
    assert spans(res) == [(1, 1), (3, 3), (5, 5)]


def test_tsql_go_not_separator_inside_text() -> None:
    res = split_script("SELECT 'x\nGO\ny' AS go_col, go FROM t", "tsql")
    assert len(res.segments) == 1


def test_tsql_statements_without_semicolons() -> None:
    sql = """SELECT TOP 5 * FROM dbo.trades
INSERT INTO risk.positions (book, qty)
SELECT book, SUM(qty) FROM dbo.trades GROUP BY book
UNION ALL
SELECT 'TOTAL', SUM(qty) FROM dbo.trades
WITH last_fx AS (SELECT ccy, MAX(rate_date) d FROM ref.fx_rates GROUP BY ccy),
     fx AS (SELECT r.* FROM ref.fx_rates r JOIN last_fx l ON l.ccy = r.ccy AND l.d = r.rate_date)
SELECT * FROM fx
UPDATE p SET p.qty = 0 FROM risk.positions p WHERE p.book IN (SELECT book FROM ref.closed_books)
DELETE FROM stage.trades WHERE loaded = 1
SELECT 1
"""
    res = split_script(sql, "tsql")
    assert [s.split()[0] for s in sqls(res)] == ["SELECT", "INSERT", "WITH", "UPDATE", "DELETE", "SELECT"]
    assert spans(res) == [(1, 1), (2, 5), (6, 8), (9, 9), (10, 10), (11, 11)]
    assert_parseable(res, "tsql")


def test_tsql_insert_values_then_select() -> None:
    sql = """INSERT INTO ref.books (book) VALUES ('FX1'), ('FX2')
SELECT * FROM ref.books
INSERT INTO #pos EXEC risk.usp_positions
SELECT * FROM #pos
INSERT INTO ref.books DEFAULT VALUES
SELECT 1
"""
    res = split_script(sql, "tsql")
    assert spans(res) == [(i, i) for i in range(1, 7)]


def test_tsql_merge_view_and_cursor_continuations() -> None:
    sql = """MERGE risk.positions AS tgt
USING (SELECT book, SUM(qty) q FROM dbo.trades GROUP BY book) AS src ON tgt.book = src.book
WHEN MATCHED THEN UPDATE SET tgt.qty = src.q
WHEN NOT MATCHED BY TARGET THEN INSERT (book, qty) VALUES (src.book, src.q)
WHEN NOT MATCHED BY SOURCE THEN DELETE;
CREATE VIEW risk.v_pos AS
WITH x AS (SELECT * FROM risk.positions)
SELECT * FROM x
GO
SELECT * FROM dbo.trades ORDER BY trade_id OFFSET 10 ROWS FETCH NEXT 5 ROWS ONLY
DROP TABLE IF EXISTS #tmp
ALTER TABLE dbo.trades DROP COLUMN legacy_flag
GRANT SELECT, INSERT, UPDATE ON dbo.trades TO etl_role
"""
    res = split_script(sql, "tsql")
    firsts = [s.split()[0] for s in sqls(res)]
    assert firsts == ["MERGE", "CREATE", "SELECT", "DROP", "ALTER", "GRANT"]
    assert spans(res)[0] == (1, 5)
    assert spans(res)[1] == (6, 8)
    assert_parseable(res, "tsql")


def test_tsql_procedure_full() -> None:
    sql = """SET NOCOUNT ON
GO
CREATE OR ALTER PROCEDURE [risk].[usp_load_positions]
    @as_of DATE,
    @book AS VARCHAR(20) = NULL
AS
BEGIN
    DECLARE @cnt INT = 0
    DECLARE @fx TABLE (ccy CHAR(3), rate DECIMAL(18, 8))
    SET @cnt = (SELECT COUNT(*) FROM dbo.trades WHERE trade_date = @as_of)
    INSERT INTO @fx (ccy, rate)
    SELECT ccy, rate FROM ref.fx_rates WHERE rate_date = @as_of
    BEGIN TRY
        BEGIN TRAN
        INSERT INTO risk.positions (book, qty)
        SELECT book, SUM(qty) FROM dbo.trades GROUP BY book
        IF EXISTS (SELECT 1 FROM risk.positions WHERE qty < 0)
            PRINT 'negative'
        ELSE
            EXEC risk.usp_notify @as_of
        COMMIT TRAN
    END TRY
    BEGIN CATCH
        IF @@TRANCOUNT > 0 ROLLBACK
        EXEC (@sql)
        EXEC sp_executesql N'DELETE FROM risk.positions WHERE book = ''X'''
        ;THROW
    END CATCH
END
GO
SELECT * FROM risk.positions
"""
    res = split_script(sql, "tsql")
    proc = "risk.usp_load_positions"
    assert [(r.name, r.kind, r.line_start, r.line_end) for r in res.routines] == [(proc, "procedure", 3, 29)]
    assert res.routines[0].definition.startswith("CREATE OR ALTER PROCEDURE [risk].[usp_load_positions]")
    assert res.routines[0].definition.rstrip().endswith("END")
    inside = only(res, proc)
    assert [s.sql for s in inside if s.sql and not s.bookkeeping] == [
        "CREATE TABLE @fx (ccy CHAR(3), rate DECIMAL(18, 8))",
        "SELECT COUNT(*) FROM dbo.trades WHERE trade_date = @as_of",
        "INSERT INTO @fx (ccy, rate)\n    SELECT ccy, rate FROM ref.fx_rates WHERE rate_date = @as_of",
        "INSERT INTO risk.positions (book, qty)\n        SELECT book, SUM(qty) FROM dbo.trades GROUP BY book",
        "SELECT 1 FROM risk.positions WHERE qty < 0",
        "DELETE FROM risk.positions WHERE book = 'X'",
    ]
    call = next(s for s in inside if s.calls)
    assert (call.sql, call.calls, call.line_start) == ("", ("risk.usp_notify",), 20)
    # the EXEC's argument, bound to the callee's first parameter when the callee is in the script
    args = [(s.sql, s.assigns, s.source) for s in inside if s.bookkeeping]
    assert args == [("SELECT @as_of", ("#arg0",), "risk.usp_notify")]
    dyn = [s for s in inside if s.diagnostics]
    assert codes(dyn[0]) == [("dynamic_sql", "warning")] and dyn[0].sql == "" and dyn[0].line_start == 25
    assert codes(dyn[1]) == [("dynamic_sql", "info")] and dyn[1].line_start == 26
    assert [s.sql for s in only(res, None)] == ["SELECT * FROM risk.positions"]
    assert_parseable(res, "tsql")


def test_tsql_procedure_without_begin_and_without_go() -> None:
    sql = """CREATE PROC dbo.p1 AS
INSERT INTO dbo.a SELECT * FROM dbo.trades
UPDATE dbo.a SET x = 1
CREATE PROCEDURE dbo.p2 AS SELECT * FROM dbo.fx_rates
"""
    res = split_script(sql, "tsql")
    assert [(r.name, r.line_start, r.line_end) for r in res.routines] == [("dbo.p1", 1, 3), ("dbo.p2", 4, 4)]
    assert [(s.process, s.sql.split()[0]) for s in res.segments] == [
        ("dbo.p1", "INSERT"),
        ("dbo.p1", "UPDATE"),
        ("dbo.p2", "SELECT"),
    ]


def test_tsql_control_flow_nesting() -> None:
    sql = """IF @mode = 1
BEGIN
    WHILE @i < 10
    BEGIN
        INSERT INTO risk.ladder (bucket) VALUES (@i)
        SET @i = @i + 1
        IF @i = 5 BREAK
    END
END
ELSE IF @mode = 2
    UPDATE risk.ladder SET bucket = 0
ELSE
BEGIN
    DELETE FROM risk.ladder
END
SELECT * FROM risk.ladder
"""
    res = split_script(sql, "tsql")
    # SET @i = @i + 1 keeps what @i holds (a variable-to-variable assignment)
    assert [s.sql.split()[0] for s in res.segments] == ["INSERT", "SELECT", "UPDATE", "DELETE", "SELECT"]
    assert res.segments[1].assigns == ("@i",)
    assert spans(res) == [(5, 5), (6, 6), (11, 11), (14, 14), (16, 16)]


def test_tsql_if_condition_with_query_and_update_function() -> None:
    sql = """CREATE TRIGGER risk.trg_trades ON dbo.trades AFTER INSERT, UPDATE
AS
IF UPDATE(notional) AND EXISTS (SELECT 1 FROM inserted WHERE notional < 0)
    RAISERROR('negative', 16, 1)
INSERT INTO audit.trade_changes (trade_id) SELECT trade_id FROM inserted
"""
    res = split_script(sql, "tsql")
    assert [(r.name, r.kind) for r in res.routines] == [("risk.trg_trades", "trigger")]
    assert sqls(res) == [
        "SELECT 1 FROM inserted WHERE notional < 0",
        "INSERT INTO audit.trade_changes (trade_id) SELECT trade_id FROM inserted",
    ]
    assert {s.process for s in res.segments} == {"risk.trg_trades"}


def test_tsql_functions() -> None:
    sql = """CREATE FUNCTION risk.fn_positions (@as_of DATE)
RETURNS TABLE
AS
RETURN (SELECT book, SUM(qty) AS qty FROM dbo.trades WHERE trade_date <= @as_of GROUP BY book)
GO
CREATE FUNCTION risk.fn_pos2 (@as_of DATE) RETURNS TABLE AS RETURN
SELECT book FROM dbo.trades
GO
CREATE FUNCTION risk.fn_rate (@ccy CHAR(3)) RETURNS DECIMAL(18, 8)
WITH SCHEMABINDING
AS
BEGIN
    DECLARE @r DECIMAL(18, 8)
    SELECT @r = rate FROM ref.fx_rates WHERE ccy = @ccy
    RETURN @r
END
"""
    res = split_script(sql, "tsql")
    assert [(r.name, r.kind) for r in res.routines] == [
        ("risk.fn_positions", "function"),
        ("risk.fn_pos2", "function"),
        ("risk.fn_rate", "function"),
    ]
    assert [(s.process, s.sql) for s in res.segments] == [
        (
            "risk.fn_positions",
            "SELECT book, SUM(qty) AS qty FROM dbo.trades WHERE trade_date <= @as_of GROUP BY book",
        ),
        ("risk.fn_pos2", "SELECT book FROM dbo.trades"),
        ("risk.fn_rate", "SELECT      rate FROM ref.fx_rates WHERE ccy = @ccy"),
    ]
    assert res.segments[-1].assigns == ("@r",)  # SELECT @r = ...: the variable gets the output


def test_tsql_exec_forms() -> None:
    sql = """EXEC dbo.usp_a
EXECUTE @rc = [risk].[usp_b] @d = '2024-01-31'
EXEC risk_db..usp_c
EXEC @proc_name
EXEC('TRUNCATE TABLE stage.fx')
EXECUTE sp_executesql @stmt, N'@d date', @d = @as_of
INSERT INTO #pos EXEC risk.usp_positions @as_of
"""
    res = split_script(sql, "tsql")
    calls = [s.calls for s in res.segments]
    assert calls == [("dbo.usp_a",), ("risk.usp_b",), ("risk_db.usp_c",), (), (), (), ("risk.usp_positions",)]
    assert [s.sql for s in res.segments] == ["", "", "", "", "TRUNCATE TABLE stage.fx", "", ""]
    assert codes(res.segments[3]) == [("dynamic_sql", "warning")]
    assert codes(res.segments[4]) == [("dynamic_sql", "info")]
    assert codes(res.segments[5]) == [("dynamic_sql", "warning")]
    assert codes(res.segments[6]) == [("unsupported_statement", "info")]
    assert spans(res) == [(i, i) for i in range(1, 8)]


def test_tsql_cursor_and_scalar_declarations() -> None:
    sql = """DECLARE @a INT, @b VARCHAR(10)
DECLARE c CURSOR LOCAL FAST_FORWARD FOR SELECT trade_id FROM dbo.trades WHERE booked = 0 FOR READ ONLY
OPEN c
FETCH NEXT FROM c INTO @a
WHILE @@FETCH_STATUS = 0
BEGIN
    UPDATE dbo.trades SET booked = 1 WHERE trade_id = @a
    FETCH NEXT FROM c INTO @a
END
CLOSE c
DEALLOCATE c
"""
    res = split_script(sql, "tsql")
    assert sqls(res) == [
        "SELECT trade_id FROM dbo.trades WHERE booked = 0",
        "UPDATE dbo.trades SET booked = 1 WHERE trade_id = @a",
    ]
    assert spans(res) == [(2, 2), (4, 4), (7, 7), (8, 8)]
    cursor, fetch, _update, again = res.segments
    assert cursor.assigns == ("c.*",)  # the cursor's row
    assert (fetch.sql, fetch.source, fetch.assigns) == ("", "c", ("@a",))
    assert (again.source, again.assigns) == ("c", ("@a",))


def test_tsql_temp_tables_pass_through() -> None:
    sql = "SELECT book, qty INTO #pos FROM dbo.positions\nSELECT * INTO ##g FROM #pos\nDROP TABLE #pos"
    res = split_script(sql, "tsql")
    assert sqls(res) == [
        "SELECT book, qty INTO #pos FROM dbo.positions",
        "SELECT * INTO ##g FROM #pos",
        "DROP TABLE #pos",
    ]
    assert_parseable(res, "tsql")


# --------------------------------------------------------------------------- PostgreSQL

PG_FUNC = """CREATE OR REPLACE FUNCTION risk.refresh_positions(p_as_of date)
RETURNS integer
LANGUAGE plpgsql
AS $fn$
DECLARE
    v_cnt integer := 0;
    c_tr CURSOR FOR SELECT id FROM trades WHERE trade_date = p_as_of;
BEGIN
    SELECT count(*) INTO STRICT v_cnt FROM trades WHERE trade_date = p_as_of;
    IF v_cnt = 0 THEN
        RAISE EXCEPTION 'no trades for %', p_as_of;
    ELSIF v_cnt > 10 THEN
        INSERT INTO risk.positions (book, qty) SELECT book, sum(qty) FROM trades GROUP BY book;
    ELSE
        PERFORM risk.log_event('empty');
    END IF;
    <<books>>
    FOR r IN SELECT book FROM risk.books LOOP
        UPDATE risk.positions SET flag = true WHERE book = r.book;
    END LOOP books;
    EXECUTE format('TRUNCATE %I', 'stage_' || p_as_of);
    EXECUTE 'DELETE FROM risk.stage WHERE x = ''a''';
    RETURN QUERY SELECT * FROM risk.positions;
    v_cnt := v_cnt + 1;
    PERFORM 1 FROM fx_rates WHERE ccy = 'EUR';
EXCEPTION WHEN others THEN
    INSERT INTO risk.errors VALUES (SQLERRM);
    RETURN 0;
END;
$fn$;
SELECT 1;
"""


def test_pg_plpgsql_function() -> None:
    res = split_script(PG_FUNC, "postgres")
    fn = "risk.refresh_positions"
    assert [(r.name, r.kind, r.line_start, r.line_end) for r in res.routines] == [(fn, "function", 1, 30)]
    rows = [(s.line_start, s.sql, s.calls) for s in res.segments if s.process == fn]
    assert rows == [
        (7, "SELECT id FROM trades WHERE trade_date = p_as_of", ()),
        (9, "SELECT count(*)                   FROM trades WHERE trade_date = p_as_of", ()),
        (13, "INSERT INTO risk.positions (book, qty) SELECT book, sum(qty) FROM trades GROUP BY book", ()),
        (15, "", ("risk.log_event",)),
        (18, "SELECT book FROM risk.books", ()),
        (19, "UPDATE risk.positions SET flag = true WHERE book = r.book", ()),
        (21, "", ()),
        (22, "DELETE FROM risk.stage WHERE x = 'a'", ()),
        (23, "SELECT * FROM risk.positions", ()),
        (24, "SELECT v_cnt + 1", ()),  # v_cnt := v_cnt + 1
        (25, "SELECT 1 FROM fx_rates WHERE ccy = 'EUR'", ()),
        (27, "INSERT INTO risk.errors VALUES (SQLERRM)", ()),
    ]
    dyn = next(s for s in res.segments if s.line_start == 21)
    assert codes(dyn) == [("dynamic_sql", "warning")]
    assert [s.sql for s in only(res, None)] == ["SELECT 1"]
    assert_parseable(res, "postgres")


def test_pg_select_into_table_kept_outside_functions() -> None:
    res = split_script("SELECT * INTO archive.trades_2023 FROM trades WHERE y = 2023;", "postgres")
    assert sqls(res) == ["SELECT * INTO archive.trades_2023 FROM trades WHERE y = 2023"]


def test_pg_do_call_and_sql_function() -> None:
    sql = """DO $$
BEGIN
  INSERT INTO audit_log SELECT now(), 'x';
END $$;
CALL risk.nightly(1);
CREATE FUNCTION risk.pos_of(b text) RETURNS SETOF risk.positions AS '
  SELECT * FROM risk.positions WHERE book = b;
' LANGUAGE sql STABLE;
CREATE TRIGGER trg_audit AFTER INSERT ON trades FOR EACH ROW EXECUTE FUNCTION audit.fn_trades();
CREATE PROCEDURE risk.p() LANGUAGE sql BEGIN ATOMIC
  DELETE FROM risk.stage;
END;
"""
    res = split_script(sql, "postgres")
    rows = [(s.process, s.sql, s.calls, s.line_start) for s in res.segments]
    assert rows == [
        (ANONYMOUS_BLOCK, "INSERT INTO audit_log SELECT now(), 'x'", (), 3),
        (None, "", ("risk.nightly",), 5),
        ("risk.pos_of", "SELECT * FROM risk.positions WHERE book = b", (), 7),
        ("trg_audit", "", ("audit.fn_trades",), 9),
        ("risk.p", "DELETE FROM risk.stage", (), 11),
    ]
    assert [(r.name, r.kind) for r in res.routines] == [
        ("risk.pos_of", "function"),
        ("trg_audit", "trigger"),
        ("risk.p", "procedure"),
    ]


def test_pg_non_sql_language_not_split() -> None:
    sql = "CREATE FUNCTION f() RETURNS int AS $$ return 1; $$ LANGUAGE plpython3u;\nSELECT f();"
    res = split_script(sql, "postgres")
    assert sqls(res) == ["SELECT f()"]
    assert [r.name for r in res.routines] == ["f"]


def test_pg_quoted_names_keep_case() -> None:
    res = split_script(
        'CREATE FUNCTION "Risk"."Load"() RETURNS void AS $$ BEGIN DELETE FROM t; END $$ LANGUAGE plpgsql;',
        "postgres",
    )
    assert res.routines[0].name == "Risk.Load"
    assert res.segments[0].process == "Risk.Load"


# --------------------------------------------------------------------------- Snowflake

SF = """CREATE OR REPLACE PROCEDURE risk.load_fx(as_of DATE)
RETURNS VARCHAR
LANGUAGE SQL
EXECUTE AS CALLER
AS
$$
DECLARE
  n NUMBER DEFAULT 0;
  c1 CURSOR FOR SELECT ccy FROM fx_rates;
  res RESULTSET DEFAULT (SELECT * FROM positions);
BEGIN
  LET x NUMBER := (SELECT COUNT(*) FROM trades);
  INSERT INTO fx_hist SELECT * FROM fx_rates WHERE rate_date = :as_of;
  SELECT COUNT(*) INTO :n FROM fx_hist;
  FOR rec IN c1 DO
    MERGE INTO positions p USING fx_rates f ON p.ccy = f.ccy
      WHEN MATCHED THEN UPDATE SET p.rate = f.rate;
  END FOR;
  IF (n > 0) THEN
    CALL risk.notify('done');
  END IF;
  EXECUTE IMMEDIATE 'DELETE FROM stage';
  RETURN 'ok';
EXCEPTION
  WHEN OTHER THEN
    RETURN 'err';
END;
$$;
CREATE PROCEDURE p2() RETURNS STRING LANGUAGE JAVASCRIPT AS $$ var x = "a;b"; return x; $$;
EXECUTE IMMEDIATE $$
BEGIN
  CREATE OR REPLACE TRANSIENT TABLE tmp_pos AS SELECT * FROM positions;
END;
$$;
BEGIN
  INSERT INTO t1 SELECT 1;
END;
CREATE OR REPLACE PROCEDURE p3() RETURNS STRING LANGUAGE SQL AS
'BEGIN
   INSERT INTO t2 SELECT ''x'';
   RETURN ''done'';
 END';
BEGIN TRANSACTION;
SELECT 1;
COMMIT;
"""


def test_snowflake_scripting() -> None:
    res = split_script(SF, "snowflake")
    rows = [(s.process, s.line_start, s.sql, s.calls) for s in res.segments]
    assert rows == [
        ("RISK.LOAD_FX", 9, "SELECT ccy FROM fx_rates", ()),
        ("RISK.LOAD_FX", 10, "SELECT * FROM positions", ()),
        ("RISK.LOAD_FX", 12, "SELECT COUNT(*) FROM trades", ()),
        ("RISK.LOAD_FX", 13, "INSERT INTO fx_hist SELECT * FROM fx_rates WHERE rate_date = :as_of", ()),
        ("RISK.LOAD_FX", 14, "SELECT COUNT(*)         FROM fx_hist", ()),
        ("RISK.LOAD_FX", 15, "", ()),  # FOR rec IN c1: the record takes the cursor's row
        (
            "RISK.LOAD_FX",
            16,
            "MERGE INTO positions p USING fx_rates f ON p.ccy = f.ccy\n      WHEN MATCHED THEN UPDATE SET p.rate = f.rate",
            (),
        ),
        ("RISK.LOAD_FX", 20, "", ("RISK.NOTIFY",)),
        ("RISK.LOAD_FX", 22, "DELETE FROM stage", ()),
        (ANONYMOUS_BLOCK, 32, "CREATE OR REPLACE TRANSIENT TABLE tmp_pos AS SELECT * FROM positions", ()),
        (ANONYMOUS_BLOCK, 36, "INSERT INTO t1 SELECT 1", ()),
        ("P3", 40, "INSERT INTO t2 SELECT 'x'", ()),
        (None, 44, "SELECT 1", ()),
    ]
    assert codes(res.segments[8]) == [("dynamic_sql", "info")]
    assert codes(res.segments[9]) == []  # EXECUTE IMMEDIATE $$ block: not reported as dynamic
    assert [(r.name, r.line_start, r.line_end) for r in res.routines] == [
        ("RISK.LOAD_FX", 1, 28),
        ("P2", 29, 29),
        ("P3", 38, 42),
    ]
    assert_parseable(res, "snowflake")


def test_snowflake_execute_immediate_variable() -> None:
    res = split_script("EXECUTE IMMEDIATE :stmt;", "snowflake")
    assert codes(res.segments[0]) == [("dynamic_sql", "warning")]


# --------------------------------------------------------------------------- Oracle

ORA = """SET SERVEROUTPUT ON
CREATE OR REPLACE PACKAGE risk_pkg AS
  PROCEDURE load_positions(p_as_of IN DATE);
END risk_pkg;
/
CREATE OR REPLACE PACKAGE BODY risk_pkg AS
  g_cnt NUMBER := 0;
  CURSOR c_pos IS SELECT book FROM positions;
  PROCEDURE load_positions(p_as_of IN DATE) IS
    v_cnt NUMBER;
    TYPE t_tab IS TABLE OF trades%ROWTYPE;
    l_tab t_tab;
  BEGIN
    SELECT COUNT(*) INTO v_cnt FROM trades WHERE trade_date = p_as_of;
    SELECT * BULK COLLECT INTO l_tab FROM trades;
    FORALL i IN 1 .. l_tab.COUNT
      INSERT INTO trades_hist VALUES l_tab(i);
    IF v_cnt > 0 THEN
      MERGE INTO positions p USING (SELECT book, SUM(qty) q FROM trades GROUP BY book) s
      ON (p.book = s.book) WHEN MATCHED THEN UPDATE SET p.qty = s.q;
    END IF;
    FOR r IN (SELECT ccy FROM fx_rates) LOOP
      UPDATE positions SET rate = NVL(rate, 1) WHERE ccy = r.ccy;
    END LOOP;
    log_util.write('done');
    v_cnt := v_cnt + 1;
    EXECUTE IMMEDIATE 'TRUNCATE TABLE stage_pos';
    EXECUTE IMMEDIATE v_sql USING p_as_of;
    DBMS_OUTPUT.PUT_LINE('x');
  EXCEPTION
    WHEN NO_DATA_FOUND THEN NULL;
    WHEN OTHERS THEN
      INSERT INTO err_log VALUES (SQLERRM);
      RAISE;
  END load_positions;

  FUNCTION get_rate(p_ccy VARCHAR2) RETURN NUMBER IS
    v NUMBER;
  BEGIN
    SELECT rate INTO v FROM fx_rates WHERE ccy = p_ccy;
    RETURN v;
  END get_rate;
END risk_pkg;
/
CREATE OR REPLACE TRIGGER trg_trades BEFORE INSERT ON trades
REFERENCING NEW AS n FOR EACH ROW
DECLARE
  v NUMBER;
BEGIN
  INSERT INTO audit_log VALUES (:n.id, SYSDATE);
END;
/
SELECT NVL(x, 1) FROM dual
/
DECLARE
  v NUMBER;
BEGIN
  risk_pkg.load_positions(SYSDATE);
END;
/
EXEC risk_pkg.load_positions(SYSDATE)
SELECT 1 FROM dual;
"""


def test_oracle_plsql() -> None:
    res = split_script(ORA, "oracle")
    rows = [(s.process, s.line_start, s.sql or s.calls) for s in res.segments]
    lp = "RISK_PKG.LOAD_POSITIONS"
    assert rows == [
        ("RISK_PKG", 8, "SELECT book FROM positions"),
        (lp, 14, "SELECT COUNT(*)            FROM trades WHERE trade_date = p_as_of"),
        (lp, 15, "SELECT *                         FROM trades"),
        (lp, 17, "INSERT INTO trades_hist VALUES l_tab(i)"),
        (
            lp,
            19,
            "MERGE INTO positions p USING (SELECT book, SUM(qty) q FROM trades GROUP BY book) s\n"
            "      ON (p.book = s.book) WHEN MATCHED THEN UPDATE SET p.qty = s.q",
        ),
        (lp, 22, "SELECT ccy FROM fx_rates"),
        (lp, 23, "UPDATE positions SET rate = NVL(rate, 1) WHERE ccy = r.ccy"),
        (lp, 25, ("LOG_UTIL.WRITE",)),
        (lp, 26, "SELECT v_cnt + 1"),  # v_cnt := v_cnt + 1
        (lp, 27, "TRUNCATE TABLE stage_pos"),
        (lp, 28, ()),
        (lp, 33, "INSERT INTO err_log VALUES (SQLERRM)"),
        ("RISK_PKG.GET_RATE", 40, "SELECT rate        FROM fx_rates WHERE ccy = p_ccy"),
        ("TRG_TRADES", 50, "INSERT INTO audit_log VALUES (:n.id, SYSDATE)"),
        (None, 53, "SELECT NVL(x, 1) FROM dual"),
        (ANONYMOUS_BLOCK, 58, ("RISK_PKG.LOAD_POSITIONS",)),
        (None, 61, ("RISK_PKG.LOAD_POSITIONS",)),
        (None, 62, "SELECT 1 FROM dual"),
    ]
    assert codes(res.segments[10]) == [("dynamic_sql", "warning")]
    assert [(r.name, r.kind, r.line_start, r.line_end) for r in res.routines] == [
        (lp, "procedure", 9, 35),
        ("RISK_PKG.GET_RATE", "function", 37, 42),
        ("TRG_TRADES", "trigger", 45, 51),
    ]
    assert_parseable(res, "oracle")


def test_oracle_standalone_procedure() -> None:
    sql = """CREATE OR REPLACE PROCEDURE risk.purge(p_days IN NUMBER DEFAULT 30)
AUTHID CURRENT_USER
AS
BEGIN
  DELETE FROM risk.trades_hist WHERE booked < SYSDATE - p_days;
  COMMIT;
END purge;
/"""
    res = split_script(sql, "oracle")
    assert [(r.name, r.line_start, r.line_end) for r in res.routines] == [("RISK.PURGE", 1, 7)]
    assert [(s.process, s.sql) for s in res.segments] == [
        ("RISK.PURGE", "DELETE FROM risk.trades_hist WHERE booked < SYSDATE - p_days")
    ]


# --------------------------------------------------------------------------- MySQL

MY = """DROP PROCEDURE IF EXISTS load_positions;
DELIMITER //
CREATE DEFINER=`etl`@`%` PROCEDURE `risk`.`load_positions`(IN p_as_of DATE)
COMMENT 'load; positions'
BEGIN
  DECLARE done INT DEFAULT 0;
  DECLARE cur CURSOR FOR SELECT book FROM trades WHERE trade_date = p_as_of;
  DECLARE CONTINUE HANDLER FOR NOT FOUND SET done = 1;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN INSERT INTO err_log VALUES (NOW()); END;
  OPEN cur;
  read_loop: LOOP
    FETCH cur INTO v_book;
    IF done THEN LEAVE read_loop; END IF;
    INSERT INTO positions (book, qty) SELECT book, SUM(qty) FROM trades WHERE book = v_book GROUP BY book;
  END LOOP;
  CLOSE cur;
  SELECT COUNT(*) INTO @n FROM positions;
  SET @s = CONCAT('DELETE FROM stage_', p_as_of);
  PREPARE stmt FROM @s;
  EXECUTE stmt;
  CALL audit_log('done');
END //
CREATE TRIGGER trg_fx BEFORE INSERT ON fx_rates FOR EACH ROW
  INSERT INTO fx_audit VALUES (NEW.ccy, NOW()) //
DELIMITER ;
SELECT `a;b` FROM `risk`.`positions`;
"""


def test_mysql_delimiter_and_procedure() -> None:
    res = split_script(MY, "mysql")
    p = "risk.load_positions"
    rows = [(s.process, s.line_start, s.sql or s.calls) for s in res.segments]
    assert rows == [
        (None, 1, "DROP PROCEDURE IF EXISTS load_positions"),
        (p, 7, "SELECT book FROM trades WHERE trade_date = p_as_of"),
        (p, 8, ()),  # the handler's SET done = 1: a constant
        (p, 9, "INSERT INTO err_log VALUES (NOW())"),
        (p, 12, ()),  # FETCH cur INTO v_book: the variable takes the cursor's row
        (
            p,
            14,
            "INSERT INTO positions (book, qty) SELECT book, SUM(qty) FROM trades WHERE book = v_book GROUP BY book",
        ),
        (p, 17, "SELECT COUNT(*)         FROM positions"),
        (p, 18, "SELECT CONCAT('DELETE FROM stage_', p_as_of)"),  # SET @s = CONCAT(...)
        (p, 19, ()),
        (p, 21, ("audit_log",)),
        ("trg_fx", 24, "INSERT INTO fx_audit VALUES (NEW.ccy, NOW())"),
        (None, 26, "SELECT `a;b` FROM `risk`.`positions`"),
    ]
    assert codes(res.segments[8]) == [("dynamic_sql", "warning")]
    assert [(r.name, r.kind, r.line_start, r.line_end) for r in res.routines] == [
        (p, "procedure", 3, 22),
        ("trg_fx", "trigger", 23, 24),
    ]
    assert_parseable(res, "mysql")


# --------------------------------------------------------------------------- BigQuery

BQ = """DECLARE as_of DATE DEFAULT (SELECT MAX(trade_date) FROM `proj.risk.trades`);
SET as_of = DATE_SUB(as_of, INTERVAL 1 DAY);
CREATE OR REPLACE PROCEDURE `proj.risk.load_positions`(p DATE)
BEGIN
  DECLARE n INT64;
  BEGIN TRANSACTION;
  INSERT INTO `proj.risk.positions` SELECT book, SUM(qty) FROM `proj.risk.trades` WHERE trade_date = p GROUP BY book;
  IF (SELECT COUNT(*) FROM `proj.risk.positions`) = 0 THEN
    RAISE USING MESSAGE = 'empty';
  END IF;
  COMMIT TRANSACTION;
  FOR r IN (SELECT ccy FROM `proj.ref.fx_rates`) DO
    EXECUTE IMMEDIATE "DELETE FROM `proj.risk.stage` WHERE ccy = 'x'";
  END FOR;
  WHILE n > 0 DO
    SET n = n - 1;
  END WHILE;
EXCEPTION WHEN ERROR THEN
  SELECT @@error.message;
END;
CREATE TEMP FUNCTION f(x FLOAT64) RETURNS FLOAT64 LANGUAGE js AS r\"\"\"return x;\"\"\";
CREATE TABLE FUNCTION risk.pos_at(d DATE) AS SELECT * FROM risk.positions WHERE as_of = d;
CALL `proj.risk.load_positions`(CURRENT_DATE());
BEGIN
  CREATE TEMP TABLE t AS SELECT 1 AS x;
END;
"""


def test_bigquery_scripting() -> None:
    res = split_script(BQ, "bigquery")
    p = "proj.risk.load_positions"
    rows = [(s.process, s.line_start, s.sql or s.calls) for s in res.segments]
    assert rows == [
        (None, 1, "SELECT MAX(trade_date) FROM `proj.risk.trades`"),
        (None, 2, "SELECT DATE_SUB(as_of, INTERVAL 1 DAY)"),  # SET as_of = DATE_SUB(as_of, ...)
        (
            p,
            7,
            "INSERT INTO `proj.risk.positions` SELECT book, SUM(qty) FROM `proj.risk.trades` WHERE trade_date = p GROUP BY book",
        ),
        (p, 8, "SELECT COUNT(*) FROM `proj.risk.positions`"),
        (p, 12, "SELECT ccy FROM `proj.ref.fx_rates`"),
        (p, 13, "DELETE FROM `proj.risk.stage` WHERE ccy = 'x'"),
        (p, 16, "SELECT n - 1"),  # SET n = n - 1
        (p, 19, "SELECT @@error.message"),
        ("risk.pos_at", 22, "SELECT * FROM risk.positions WHERE as_of = d"),
        (None, 23, ("proj.risk.load_positions",)),
        (ANONYMOUS_BLOCK, 25, "CREATE TEMP TABLE t AS SELECT 1 AS x"),
    ]
    assert [(r.name, r.kind, r.is_temporary) for r in res.routines] == [
        (p, "procedure", False),
        ("f", "function", True),
        ("risk.pos_at", "function", False),
    ]
    assert_parseable(res, "bigquery")


# --------------------------------------------------------------------------- robustness

GARBAGE = [
    "\x00\x01\x02\xff\xfe binary \x00 ;;; \x7f",
    "BEGIN " * 5000,
    "IF x THEN " * 3000,
    "(" * 50000 + "SELECT 1",
    ")" * 1000 + ";" + "END " * 1000,
    "'unterminated ; string",
    "/* unterminated ; comment",
    "$$ unterminated ; dollar",
    "CREATE PROCEDURE",
    "CREATE PROCEDURE p AS",
    "CREATE FUNCTION f() RETURNS int AS $$",
    "DECLARE",
    "EXEC",
    "EXECUTE IMMEDIATE",
    "CALL",
    "DELIMITER\nDELIMITER $$\nSELECT 1 $$ DELIMITER ;",
    "GO\nGO\nGO 3",
    "END; END IF; ELSE; WHEN; EXCEPTION; END LOOP;",
    "CASE WHEN THEN END CASE;" * 10,
    "DO $$ " * 100,
    "EXECUTE IMMEDIATE $$ " * 50 + " $$" * 50,
    "\u00e9\u4e2d\u6587 SELECT '\u20ac' FROM \u8868; \U0001f4b0",
]


@pytest.mark.parametrize("dialect", ALL_DIALECTS)
@pytest.mark.parametrize("sql", GARBAGE, ids=range(len(GARBAGE)))
@pytest.mark.timeout(60)  # a hang fails the test; speed itself is measured in bench/
def test_garbage_never_raises(dialect: str, sql: str) -> None:
    res = split_script(sql, dialect)
    assert isinstance(res, SplitResult)
    for s in res.segments:
        assert 1 <= s.line_start <= s.line_end <= sql.count("\n") + 1


def test_deep_nesting_is_flattened_with_diagnostic() -> None:
    sql = "BEGIN\n" * 300 + "INSERT INTO t VALUES (1);\n" + "END;\n" * 300
    res = split_script(sql, "snowflake")
    assert any(d.code == "too_deep" for d in res.diagnostics)
    assert "INSERT INTO t VALUES (1)" in sqls(res)


def test_unknown_dialect_and_bytes_do_not_raise() -> None:
    assert sqls(split_script("SELECT 1; SELECT 2", "nonsense")) == ["SELECT 1", "SELECT 2"]
    assert sqls(split_script(b"SELECT 1", "tsql")) == ["SELECT 1"]  # type: ignore[arg-type]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.sampled_from(
            [
                "BEGIN",
                "END",
                "IF",
                "THEN",
                "ELSE",
                "LOOP",
                "DECLARE",
                "CREATE",
                "PROCEDURE",
                "AS",
                "IS",
                "$$",
                "'",
                '"',
                "`",
                "[",
                "]",
                "(",
                ")",
                ";",
                "\n",
                "GO",
                "/",
                "EXEC",
                "CALL",
                "SELECT",
                "INSERT",
                "INTO",
                "t",
                "@x",
                "#t",
                "--",
                "/*",
                "*/",
                "CASE",
                "WHEN",
                "DELIMITER //",
                "//",
                ":=",
                "FOR",
                "IN",
                "DO",
                "WHILE",
                "x",
                "1",
                ",",
                ".",
                "FUNCTION",
                "RETURN",
                "EXECUTE IMMEDIATE",
                "LANGUAGE",
            ]
        ),
        max_size=60,
    ),
    st.sampled_from(ALL_DIALECTS),
)
def test_fuzz_never_raises(parts: list[str], dialect: str) -> None:
    sql = " ".join(parts)
    res = split_script(sql, dialect)
    n_lines = sql.count("\n") + 1
    for s in res.segments:
        assert 1 <= s.line_start <= s.line_end <= n_lines
    assert all(d.code != "split_error" for d in res.diagnostics)


# --------------------------------------------------------------------------- speed

TPCDS_Q1 = """WITH customer_total_return AS (
  SELECT sr_customer_sk AS ctr_customer_sk, sr_store_sk AS ctr_store_sk, SUM(sr_return_amt) AS ctr_total_return
  FROM store_returns, date_dim
  WHERE sr_returned_date_sk = d_date_sk AND d_year = 2000
  GROUP BY sr_customer_sk, sr_store_sk)
SELECT c_customer_id
FROM customer_total_return ctr1, store, customer
WHERE ctr1.ctr_total_return > (
    SELECT AVG(ctr_total_return) * 1.2 FROM customer_total_return ctr2 WHERE ctr1.ctr_store_sk = ctr2.ctr_store_sk)
  AND s_store_sk = ctr1.ctr_store_sk AND s_state = 'TN' AND ctr1.ctr_customer_sk = c_customer_sk
ORDER BY c_customer_id
LIMIT 100;"""


@pytest.mark.parametrize("dialect", ["", "tsql", "postgres", "snowflake"])
def test_single_statement_is_one_segment(dialect: str) -> None:
    # Splitting speed is measured by bench/bench_engine.py, not asserted here.
    assert sqls(split_script(TPCDS_Q1, dialect)) == [TPCDS_Q1[:-1]]


@pytest.mark.timeout(120)  # guards against a quadratic blow-up hanging the suite
def test_large_script_splits_completely() -> None:
    sql = (PLAIN + ";\n") * 2000  # 6000 statements
    res = split_script(sql, "postgres")
    assert len(res.segments) == 6000

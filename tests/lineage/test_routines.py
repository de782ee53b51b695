"""Procedural lineage per dialect: calls, dynamic SQL, variables, trigger row fields."""

from __future__ import annotations

import pytest

from finlineage.lineage import LineageResult, extract

from .helpers import direct


def by_type(res: LineageResult, kind: str) -> list[int]:
    return [s.index for s in res.statements if s.type == kind]


def all_diags(res: LineageResult) -> list[tuple[str, str, int | None]]:
    out = [(d.code, d.severity, d.line) for d in res.diagnostics]
    out += [(d.code, d.severity, d.line) for s in res.statements for d in s.diagnostics]
    return out


# --------------------------------------------------------------------------- calls


@pytest.mark.parametrize(
    ("dialect", "sql", "callee"),
    [
        (
            "tsql",
            "CREATE PROCEDURE bank.eod AS\nBEGIN\n  EXEC bank.post_interest;\nEND",
            "bank.post_interest",
        ),
        (
            "tsql",
            "CREATE PROCEDURE bank.eod AS\nBEGIN\n  EXECUTE bank.post_fees @d = 1;\nEND",
            "bank.post_fees",
        ),
        (
            "postgres",
            "CREATE PROCEDURE bank.eod() LANGUAGE plpgsql AS $$\nBEGIN\n  CALL bank.post_interest(1);\nEND $$;",
            "bank.post_interest",
        ),
        (
            "postgres",
            "CREATE FUNCTION bank.eod() RETURNS void LANGUAGE plpgsql AS $$\nBEGIN\n  PERFORM bank.post_fees(2);\nEND $$;",
            "bank.post_fees",
        ),
        ("mysql", "CREATE PROCEDURE eod()\nBEGIN\n  CALL post_interest(1);\nEND", "post_interest"),
        (
            "oracle",
            "CREATE OR REPLACE PROCEDURE bank.eod IS\nBEGIN\n  bank.post_interest(1);\nEND;\n/",
            "bank.post_interest",
        ),
        (
            "bigquery",
            "CREATE PROCEDURE bank.eod()\nBEGIN\n  CALL bank.post_interest();\nEND;",
            "bank.post_interest",
        ),
    ],
)
def test_calls_are_call_statements(dialect: str, sql: str, callee: str) -> None:
    res = extract(sql, dialect)
    calls = [s for s in res.statements if s.calls]
    assert len(calls) == 1
    assert calls[0].calls == (callee,)
    assert calls[0].line_start == 3
    assert calls[0].process is not None


# --------------------------------------------------------------------------- dynamic SQL


def test_tsql_dynamic_sql_literal_concatenation_and_unknown() -> None:
    sql = """CREATE PROCEDURE ops.archive AS
BEGIN
    EXEC('INSERT INTO ops.audit_hist (audit_id) ' +
         'SELECT audit_id FROM ops.audit_log');
    EXEC sp_executesql N'DELETE FROM ops.audit_log';
    DECLARE @tbl SYSNAME = N'ops.audit_log';
    EXEC('TRUNCATE TABLE ' + @tbl);
END"""
    res = extract(sql, "tsql")
    ins = res.statements[by_type(res, "insert")[0]]
    assert (ins.target_tables, ins.source_tables, ins.line_start, ins.line_end) == (
        ("ops.audit_hist",),
        ("ops.audit_log",),
        3,
        4,
    )
    assert direct(ins) == {"ops.audit_hist.audit_id": {"ops.audit_log.audit_id"}}
    assert res.statements[by_type(res, "delete")[0]].line_start == 5
    assert ("dynamic_sql", "warning", 7) in all_diags(res)
    assert ("dynamic_sql", "info", 3) in all_diags(res)


def test_plpgsql_execute_format_with_literal_arguments() -> None:
    sql = """DO $$
BEGIN
  EXECUTE format('INSERT INTO %I.%I (acct) SELECT acct FROM ledger.accounts', 'ledger', 'acct_copy');
  EXECUTE format('TRUNCATE %I', v_table);
END $$;"""
    res = extract(sql, "postgres")
    ins = res.statements[by_type(res, "insert")[0]]
    assert ins.target_tables == ("ledger.acct_copy",)
    assert direct(ins) == {"ledger.acct_copy.acct": {"ledger.accounts.acct"}}
    assert ("dynamic_sql", "warning", 4) in all_diags(res)


def test_bigquery_execute_immediate_format_triple_quoted() -> None:
    sql = '''BEGIN
  EXECUTE IMMEDIATE format("""
    INSERT INTO dwh.daily_bal (acct, bal)
    SELECT acct, SUM(amt) FROM %s GROUP BY acct""", 'dwh.postings');
END;'''
    res = extract(sql, "bigquery")
    ins = res.statements[by_type(res, "insert")[0]]
    assert ins.source_tables == ("dwh.postings",)
    assert (ins.line_start, ins.line_end) == (3, 4)


def test_oracle_execute_immediate_literal() -> None:
    sql = """BEGIN
  EXECUTE IMMEDIATE 'DELETE FROM LEDGER.TMP_POSTINGS';
END;
/"""
    res = extract(sql, "oracle")
    assert [(s.type, s.target_tables, s.line_start) for s in res.statements] == [
        ("delete", ("ledger.tmp_postings",), 2)
    ]


# --------------------------------------------------------------------------- variables


def test_tsql_select_assign_then_update_carries_lineage() -> None:
    sql = """CREATE PROCEDURE rpt.set_totals AS
BEGIN
    DECLARE @total DECIMAL(18, 2), @cnt INT;
    SELECT @total = SUM(amount), @cnt = COUNT(*) FROM ledger.postings WHERE posted = 1;
    UPDATE rpt.totals SET total_amt = @total * 2, n_postings = @cnt;
    SET @total = (SELECT MAX(amount) FROM ledger.fees);
    INSERT INTO rpt.fee_log (max_fee) VALUES (@total);
END"""
    res = extract(sql, "tsql")
    upd = res.statements[by_type(res, "update")[0]]
    assert direct(upd)["rpt.totals.total_amt"] == {"ledger.postings.amount"}
    formula = {e.target: e.formula for e in upd.column_edges if e.kind == "direct"}
    assert formula["rpt.totals.total_amt"] == "SUM(ledger.postings.amount) * 2"
    ins = res.statements[by_type(res, "insert")[0]]
    assert direct(ins) == {"rpt.fee_log.max_fee": {"ledger.fees.amount"}}
    # the variable is never a column of the target
    assert not any("total" in s for e in upd.column_edges for s in e.sources if s.startswith("rpt."))


def test_plpgsql_select_into_and_assignment_then_update_and_insert() -> None:
    sql = """CREATE FUNCTION rpt.refresh(p_acct int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_bal numeric;
  v_fee numeric;
BEGIN
  SELECT SUM(amount) INTO STRICT v_bal FROM ledger.postings WHERE acct = p_acct;
  v_fee := (SELECT fee_rate FROM ledger.fee_plans WHERE acct = p_acct);
  UPDATE rpt.balances SET bal = v_bal WHERE acct = p_acct;
  INSERT INTO rpt.fee_due (acct, fee) VALUES (p_acct, v_bal * v_fee);
END $$;"""
    res = extract(sql, "postgres")
    upd = res.statements[by_type(res, "update")[0]]
    assert direct(upd) == {"rpt.balances.bal": {"ledger.postings.amount"}}
    ins = res.statements[by_type(res, "insert")[0]]
    assert direct(ins)["rpt.fee_due.fee"] == {"ledger.postings.amount", "ledger.fee_plans.fee_rate"}
    fee = next(e for e in ins.column_edges if e.kind == "direct" and e.target == "rpt.fee_due.fee")
    assert fee.formula == "SUM(ledger.postings.amount) * ledger.fee_plans.fee_rate"
    assert not any(
        s.endswith((".v_bal", ".v_fee")) for st in res.statements for e in st.column_edges for s in e.sources
    )


def test_oracle_select_into_then_insert_values() -> None:
    sql = """CREATE OR REPLACE PROCEDURE ledger.snap IS
  v_total NUMBER;
BEGIN
  SELECT SUM(amount) INTO v_total FROM ledger.postings;
  INSERT INTO ledger.snapshots (total_amt) VALUES (v_total);
END;
/"""
    res = extract(sql, "oracle")
    ins = res.statements[by_type(res, "insert")[0]]
    assert direct(ins) == {"ledger.snapshots.total_amt": {"ledger.postings.amount"}}


def test_bigquery_scripting_set_from_query() -> None:
    sql = """DECLARE max_amt NUMERIC;
SET max_amt = (SELECT MAX(amount) FROM dwh.postings);
UPDATE dwh.limits SET cap = max_amt WHERE TRUE;"""
    res = extract(sql, "bigquery")
    upd = res.statements[by_type(res, "update")[0]]
    assert direct(upd) == {"dwh.limits.cap": {"dwh.postings.amount"}}


# --------------------------------------------------------------------------- triggers


def test_oracle_trigger_new_field_assignment_writes_the_table() -> None:
    sql = """CREATE OR REPLACE TRIGGER loans.trg_loan_bi
BEFORE INSERT ON loans.loan_book FOR EACH ROW
BEGIN
  :NEW.interest_amt := :NEW.principal * :NEW.rate;
END;
/"""
    res = extract(sql, "oracle")
    st = res.statements[0]
    assert (st.type, st.target_tables, st.line_start) == ("assign", ("loans.loan_book",), 4)
    assert direct(st) == {
        "loans.loan_book.interest_amt": {"loans.loan_book.principal", "loans.loan_book.rate"}
    }


def test_mysql_trigger_set_new_field() -> None:
    sql = "CREATE TRIGGER trg_fee BEFORE INSERT ON fees FOR EACH ROW SET NEW.fee_eur = NEW.fee * NEW.fx;"
    res = extract(sql, "mysql")
    assert direct(res.statements[0]) == {"fees.fee_eur": {"fees.fee", "fees.fx"}}


# --------------------------------------------------------------------------- Oracle DDL and blocks


def test_oracle_materialized_view_with_refresh_and_rewrite_clauses_is_kept() -> None:
    sql = """CREATE MATERIALIZED VIEW rpt.mv_branch_bal
BUILD IMMEDIATE
REFRESH FAST ON COMMIT
ENABLE QUERY REWRITE
AS SELECT branch_id, SUM(bal) AS total_bal FROM core.accounts GROUP BY branch_id;"""
    res = extract(sql, "oracle")
    assert [(o.name, o.kind, o.line_start, o.line_end) for o in res.objects] == [
        ("rpt.mv_branch_bal", "materialized_view", 1, 5)
    ]
    assert direct(res.statements[0]) == {
        "rpt.mv_branch_bal.total_bal": {"core.accounts.bal"},
        "rpt.mv_branch_bal.branch_id": {"core.accounts.branch_id"},
    }
    assert ("stripped_clauses", "info", 1) in all_diags(res)


def test_oracle_object_view_and_translate_using() -> None:
    sql = """CREATE OR REPLACE VIEW crm.v_customer OF crm.customer_t WITH OBJECT IDENTIFIER (cust_id)
AS SELECT c.cust_id, TRANSLATE(c.full_name USING NCHAR_CS) AS full_name_n FROM crm.customers c;"""
    res = extract(sql, "oracle")
    assert [(o.name, o.kind) for o in res.objects] == [("crm.v_customer", "view")]
    assert direct(res.statements[0]) == {
        "crm.v_customer.cust_id": {"crm.customers.cust_id"},
        "crm.v_customer.full_name_n": {"crm.customers.full_name"},
    }
    assert not [d for d in all_diags(res) if d[1] == "error"]


def test_oracle_compound_trigger_and_conditional_compilation() -> None:
    sql = """CREATE OR REPLACE TRIGGER ledger.trg_gl
FOR INSERT ON ledger.gl_lines
COMPOUND TRIGGER
  BEFORE EACH ROW IS
  BEGIN
    :NEW.amt_eur := :NEW.amt * :NEW.fx;
  END BEFORE EACH ROW;
  AFTER STATEMENT IS
  BEGIN
    $IF DBMS_DB_VERSION.VERSION >= 19 $THEN
      INSERT INTO ledger.gl_audit (n) SELECT COUNT(*) FROM ledger.gl_lines;
    $ELSE
      INSERT INTO ledger.gl_audit_old (n) SELECT COUNT(*) FROM ledger.gl_lines;
    $END
  END AFTER STATEMENT;
END trg_gl;
/"""
    res = extract(sql, "oracle")
    rows = [(s.type, s.target_tables, s.line_start, s.process) for s in res.statements]
    assert rows == [
        ("assign", ("ledger.gl_lines",), 6, "ledger.trg_gl"),
        ("insert", ("ledger.gl_audit",), 11, "ledger.trg_gl"),
        ("insert", ("ledger.gl_audit_old",), 13, "ledger.trg_gl"),
    ]
    assert [(o.name, o.line_start, o.line_end) for o in res.objects] == [("ledger.trg_gl", 1, 16)]
    assert not [d for d in all_diags(res) if d[1] == "error"]


def test_oracle_package_body_members() -> None:
    sql = """CREATE OR REPLACE PACKAGE ledger.posting_pkg AS
  PROCEDURE post_day(p_day DATE);
END posting_pkg;
/
CREATE OR REPLACE PACKAGE BODY ledger.posting_pkg AS
  PROCEDURE post_day(p_day DATE) IS
  BEGIN
    INSERT INTO ledger.gl_lines (acct, amt)
    SELECT acct, amt FROM ledger.journal WHERE day = p_day;
  END post_day;
END posting_pkg;
/"""
    res = extract(sql, "oracle")
    assert [(s.type, s.process, s.line_start) for s in res.statements] == [
        ("insert", "ledger.posting_pkg.post_day", 8)
    ]
    assert direct(res.statements[0])["ledger.gl_lines.amt"] == {"ledger.journal.amt"}


# --------------------------------------------------------------------------- Snowflake, PostgreSQL, session


@pytest.mark.parametrize("lang", ["JAVASCRIPT", "PYTHON"])
def test_snowflake_non_sql_bodies_are_reported(lang: str) -> None:
    sql = f"""CREATE OR REPLACE PROCEDURE ops.nightly()
RETURNS STRING LANGUAGE {lang} HANDLER = 'run' AS
$$
  body text that is not SQL
$$;"""
    res = extract(sql, "snowflake")
    assert res.statements == ()
    assert [o.name for o in res.objects] == ["ops.nightly"]
    assert ("unanalysed_body", "warning", 3) in all_diags(res)


def test_snowflake_scripting_block_is_analysed() -> None:
    sql = """CREATE OR REPLACE PROCEDURE ops.load_gl()
RETURNS NUMBER LANGUAGE SQL AS
$$
DECLARE
  n NUMBER;
BEGIN
  INSERT INTO ops.gl (acct) SELECT acct FROM ops.stage;
  RETURN 1;
END;
$$;"""
    res = extract(sql, "snowflake")
    assert [(s.type, s.target_tables, s.line_start) for s in res.statements] == [("insert", ("ops.gl",), 7)]


def test_postgres_returns_table_return_query_and_do_block() -> None:
    sql = """CREATE FUNCTION rpt.top_accounts(p_n int) RETURNS TABLE (acct int, bal numeric)
LANGUAGE plpgsql AS $$
BEGIN
  RETURN QUERY SELECT p.acct, SUM(p.amt) FROM ledger.postings p GROUP BY p.acct LIMIT p_n;
END $$;
DO $$ BEGIN INSERT INTO ledger.gl (acct) SELECT acct FROM ledger.stage; END $$;"""
    res = extract(sql, "postgres")
    assert [(s.type, s.source_tables, s.process, s.line_start) for s in res.statements] == [
        ("return_query", ("ledger.postings",), "rpt.top_accounts", 4),
        ("insert", ("ledger.stage",), "anonymous block", 6),
    ]
    assert res.statements[0].target_tables == ("rpt.top_accounts",)
    assert direct(res.statements[0]) == {
        "rpt.top_accounts.acct": {"ledger.postings.acct"},
        "rpt.top_accounts.bal": {"ledger.postings.amt"},
    }


@pytest.mark.parametrize(
    ("dialect", "head", "expected"),
    [
        ("tsql", "USE bankdw;\nGO\n", ("bankdw.dbo.stage", "bankdw.dbo.gl")),
        ("postgres", "SET search_path TO ledger, public;\n", ("ledger.stage", "ledger.gl")),
        ("oracle", "ALTER SESSION SET CURRENT_SCHEMA = ledger;\n", ("ledger.stage", "ledger.gl")),
    ],
)
def test_session_context_names_what_follows(dialect: str, head: str, expected: tuple[str, str]) -> None:
    res = extract(head + "INSERT INTO gl (acct) SELECT acct FROM stage;", dialect)
    ins = res.statements[-1]
    assert (ins.source_tables[0], ins.target_tables[0]) == expected


def test_postgres_trigger_function_new_fields_write_the_triggering_table() -> None:
    sql = """CREATE FUNCTION pay.fill_eur() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.amount_eur := NEW.amount * NEW.fx_rate;
  RETURN NEW;
END $$;
CREATE TRIGGER trg_fill_eur BEFORE INSERT ON pay.payments
FOR EACH ROW EXECUTE FUNCTION pay.fill_eur();"""
    res = extract(sql, "postgres")
    st = res.statements[0]
    assert (st.type, st.target_tables, st.process, st.line_start) == (
        "assign",
        ("pay.payments",),
        "pay.fill_eur",
        3,
    )
    edge = next(e for e in st.column_edges if e.kind == "direct")
    assert edge.formula == "pay.payments.amount * pay.payments.fx_rate"
    assert res.statements[1].calls == ("pay.fill_eur",)


def test_variable_filters_become_indirect_sources_of_the_target() -> None:
    sql = """CREATE PROCEDURE rpt.cap_floor AS
BEGIN
    DECLARE @floor DECIMAL(18, 2);
    SELECT @floor = MIN(floor_amt) FROM ref.capital_floor WHERE region = 'EU';
    UPDATE rpt.capital SET cet1_eur = @floor WHERE cet1_eur < @floor;
END"""
    res = extract(sql, "tsql")
    upd = res.statements[by_type(res, "update")[0]]
    filters = {e.subtype: set(e.sources) for e in upd.column_edges if e.kind == "indirect"}
    assert "ref.capital_floor.region" in filters["FILTER"]
    assert direct(upd) == {"rpt.capital.cet1_eur": {"ref.capital_floor.floor_amt"}}


def test_tsql_compound_set_of_a_variable_composes_its_values() -> None:
    sql = """CREATE PROCEDURE rpt.charges AS
BEGIN
    DECLARE @total DECIMAL(18, 2) = 0;
    SET @total = (SELECT SUM(amount) FROM ledger.fees);
    SET @total += (SELECT SUM(amount) FROM ledger.taxes);
    UPDATE rpt.totals SET charges = @total;
END"""
    res = extract(sql, "tsql")
    upd = res.statements[by_type(res, "update")[0]]
    assert direct(upd) == {"rpt.totals.charges": {"ledger.fees.amount", "ledger.taxes.amount"}}
    edge = next(e for e in upd.column_edges if e.kind == "direct")
    assert edge.formula.startswith("SUM(ledger.fees.amount) + (SELECT SUM(ledger.taxes.amount)")
    assert [s.line_start for s in res.statements] == [4, 5, 6]


@pytest.mark.parametrize(
    ("dialect", "sql", "target", "source"),
    [
        (
            "snowflake",
            "CREATE OR REPLACE PROCEDURE ops.p() RETURNS NUMBER LANGUAGE SQL AS\n$$\nDECLARE\n  tot NUMBER;\n"
            "BEGIN\n  SELECT SUM(amount) INTO :tot FROM ops.fees;\n  UPDATE ops.totals SET fees = :tot;\n"
            "  RETURN 1;\nEND;\n$$;",
            "ops.totals.fees",
            "ops.fees.amount",
        ),
        (
            "mysql",
            "CREATE PROCEDURE p()\nBEGIN\n  SELECT SUM(amount) INTO @tot FROM fees;\n"
            "  UPDATE totals SET fees = @tot;\nEND",
            "totals.fees",
            "fees.amount",
        ),
    ],
)
def test_select_into_variable_other_dialects(dialect: str, sql: str, target: str, source: str) -> None:
    res = extract(sql, dialect)
    upd = res.statements[by_type(res, "update")[0]]
    assert direct(upd) == {target: {source}}
    assert next(e.formula for e in upd.column_edges if e.kind == "direct") == f"SUM({source})"


@pytest.mark.parametrize(
    ("dialect", "sql", "target"),
    [
        (
            "tsql",
            "CREATE PROCEDURE rpt.p AS\nBEGIN\n  DECLARE @cap MONEY = (SELECT MAX(limit_amt) FROM risk.limits), @n INT = 0;\n"
            "  UPDATE rpt.caps SET cap_amt = @cap;\nEND",
            "rpt.caps.cap_amt",
        ),
        (
            "postgres",
            "CREATE FUNCTION rpt.p() RETURNS void LANGUAGE plpgsql AS $$\nDECLARE\n"
            "  v_cap numeric := (SELECT MAX(limit_amt) FROM risk.limits);\nBEGIN\n"
            "  UPDATE rpt.caps SET cap_amt = v_cap;\nEND $$;",
            "rpt.caps.cap_amt",
        ),
        (
            "bigquery",
            "DECLARE cap NUMERIC DEFAULT (SELECT MAX(limit_amt) FROM risk.limits);\n"
            "UPDATE rpt.caps SET cap_amt = cap WHERE TRUE;",
            "rpt.caps.cap_amt",
        ),
    ],
)
def test_declared_initialiser_from_a_query_carries_lineage(dialect: str, sql: str, target: str) -> None:
    res = extract(sql, dialect)
    upd = res.statements[by_type(res, "update")[0]]
    assert direct(upd) == {target: {"risk.limits.limit_amt"}}


def test_returning_into_variables_is_not_a_target_and_oracle_log_errors_is_stripped() -> None:
    pg = """CREATE FUNCTION ops.enqueue() RETURNS int LANGUAGE plpgsql AS $$
DECLARE v_id int; n int;
BEGIN
  INSERT INTO ops.jobs (name) VALUES ('eod') RETURNING id INTO v_id;
  UPDATE ops.jobs SET state = 'run' WHERE id = v_id RETURNING state INTO STRICT n;
  RETURN v_id;
END $$;"""
    res = extract(pg, "postgres")
    assert [(s.type, s.target_tables, s.line_start) for s in res.statements] == [
        ("insert", ("ops.jobs",), 4),
        ("update", ("ops.jobs",), 5),
    ]
    assert not [d for d in all_diags(res) if d[1] == "error"]
    ora = """CREATE OR REPLACE PROCEDURE ops.load_jobs IS
BEGIN
  MERGE INTO ops.jobs j USING ops.stage s ON (j.id = s.id)
    WHEN MATCHED THEN UPDATE SET j.name = s.name
    LOG ERRORS INTO ops.jobs_err REJECT LIMIT UNLIMITED;
END;
/"""
    res = extract(ora, "oracle")
    assert [(s.type, s.source_tables, s.target_tables) for s in res.statements] == [
        ("merge", ("ops.stage",), ("ops.jobs",))
    ]
    assert ("stripped_clauses", "info", 3) in all_diags(res)


def test_calls_of_database_supplied_routines_are_not_call_edges() -> None:
    pg = """DO $$ BEGIN
  PERFORM pg_sleep(1);
  PERFORM setval('ops.job_seq', 1);
  PERFORM ops.rebuild_queue(1);
END $$;"""
    res = extract(pg, "postgres")
    assert [s.calls for s in res.statements if s.calls] == [("ops.rebuild_queue",)]
    ora = """BEGIN
  DBMS_STATS.GATHER_TABLE_STATS('OPS', 'JOBS');
  DBMS_OUTPUT.PUT_LINE('done');
  ops.jobs_pkg.close_day;
END;
/"""
    res = extract(ora, "oracle")
    assert [s.calls for s in res.statements if s.calls] == [("ops.jobs_pkg.close_day",)]


def test_dynamic_sql_held_by_a_variable_set_to_a_constant() -> None:
    tsql = """CREATE PROCEDURE ops.purge_queue @d DATE AS
BEGIN
    DECLARE @sql NVARCHAR(MAX) = N'DELETE FROM ops.queue WHERE run_date < @d';
    EXEC sp_executesql @sql, N'@d DATE', @d = @d;
    SET @sql = N'TRUNCATE TABLE ops.stage';
    EXEC (@sql);
    SET @sql = @sql + dbo.suffix();
    EXEC (@sql);
END"""
    res = extract(tsql, "tsql")
    assert [(s.type, s.target_tables, s.line_start) for s in res.statements] == [
        ("delete", ("ops.queue",), 3),
        ("truncate", ("ops.stage",), 5),
    ]
    assert ("dynamic_sql", "info", 4) in all_diags(res)
    assert ("dynamic_sql", "warning", 8) in all_diags(res)


def test_update_from_cte_and_merge_with_output_get_formulas() -> None:
    sql = """WITH latest AS (SELECT acct_id, MAX(posted_at) AS last_post FROM ledger.postings GROUP BY acct_id)
UPDATE a SET a.last_post = l.last_post
FROM ledger.accounts a JOIN latest l ON l.acct_id = a.acct_id;
MERGE ledger.balances AS t USING ledger.daily_moves AS s ON t.acct_id = s.acct_id
WHEN MATCHED THEN UPDATE SET t.bal += s.amt
OUTPUT inserted.acct_id INTO ops.touched (acct_id);"""
    res = extract(sql, "tsql")
    f0 = [e.formula for e in res.statements[0].column_edges if e.kind == "direct"]
    assert f0 == ["MAX(ledger.postings.posted_at)"]
    f1 = {e.target: e.formula for e in res.statements[1].column_edges if e.kind == "direct"}
    assert f1["ledger.balances.bal"] == "ledger.balances.bal + ledger.daily_moves.amt"


@pytest.mark.parametrize(
    ("dialect", "sql", "expected"),
    [
        (
            "snowflake",
            "EXECUTE IMMEDIATE $$\nDECLARE\n  q STRING;\nBEGIN\n  LET q := 'DELETE FROM ops.queue';\n"
            "  EXECUTE IMMEDIATE :q;\nEND;\n$$;",
            [("delete", ("ops.queue",), 5)],
        ),
        (
            "bigquery",
            'DECLARE q STRING DEFAULT "DELETE FROM ops.queue WHERE TRUE";\nEXECUTE IMMEDIATE q;\n'
            'SET q = "TRUNCATE TABLE ops.stage";\nEXECUTE IMMEDIATE q;',
            [("delete", ("ops.queue",), 1), ("truncate", ("ops.stage",), 3)],
        ),
    ],
)
def test_execute_immediate_of_a_constant_variable(
    dialect: str, sql: str, expected: list[tuple[str, tuple[str, ...], int]]
) -> None:
    res = extract(sql, dialect)
    assert [(s.type, s.target_tables, s.line_start) for s in res.statements] == expected
    assert all(d[1] == "info" for d in all_diags(res) if d[0] == "dynamic_sql")


_RETURNS_TABLE = """\
CREATE OR REPLACE FUNCTION risk.desk_exposure(p_day date)
RETURNS TABLE (desk_id int, exposure numeric, "TradeCount" bigint)
LANGUAGE plpgsql AS $$
DECLARE
  v_cutoff date;
BEGIN
  SELECT max(d.close_day) INTO v_cutoff FROM ref.calendar d WHERE d.close_day <= p_day;
  IF EXISTS (SELECT 1 FROM ops.halts h WHERE h.day = p_day) THEN
    RETURN;
  END IF;
  RETURN QUERY
  SELECT t.desk_id, SUM(t.qty * t.px), COUNT(*)
  FROM core.trades t JOIN ref.desks k ON k.id = t.desk_id
  WHERE t.trade_day = v_cutoff
  GROUP BY t.desk_id;
END;
$$;
"""


def test_return_query_fills_the_columns_of_returns_table() -> None:
    res = extract(_RETURNS_TABLE, "postgres")
    (fn,) = [o for o in res.objects if o.name == "risk.desk_exposure"]
    assert fn.kind == "function"
    assert [c.name for c in fn.columns] == ["desk_id", "exposure", "TradeCount"]
    (rq,) = [s for s in res.statements if s.type == "return_query"]
    assert rq.process == "risk.desk_exposure" and rq.line_start == 12 and rq.line_end == 15
    assert rq.target_tables == ("risk.desk_exposure",)
    # v_cutoff (read from ref.calendar) filters the rows: the calendar shapes the result too
    assert set(rq.source_tables) == {"core.trades", "ref.desks", "ref.calendar"}
    filters = {s for e in rq.column_edges if e.subtype == "FILTER" for s in e.sources}
    assert filters == {"core.trades.trade_day", "ref.calendar.close_day"}
    got = {(e.target, e.sources, e.subtype) for e in rq.column_edges if e.kind == "direct"}
    assert got == {
        ("risk.desk_exposure.desk_id", ("core.trades.desk_id",), "IDENTITY"),
        ("risk.desk_exposure.exposure", ("core.trades.px", "core.trades.qty"), "AGGREGATION"),
        ("risk.desk_exposure.TradeCount", ("core.trades.*", "ref.desks.*"), "AGGREGATION"),
    }
    joins = {s for e in rq.column_edges if e.subtype == "JOIN" for s in e.sources}
    assert joins == {"ref.desks.id", "core.trades.desk_id"}
    formulas = {e.target: e.formula for e in res.rollup.column_edges if e.kind == "direct"}
    assert formulas["risk.desk_exposure.exposure"] == "SUM(core.trades.qty * core.trades.px)"
    assert "risk.desk_exposure" in res.rollup.target_tables
    # the other queries of the body are not the function's result
    others = [s for s in res.statements if s is not rq]
    assert all("risk.desk_exposure" not in s.target_tables for s in others)


def test_return_query_without_returns_table_is_a_plain_query() -> None:
    sql = _RETURNS_TABLE.replace(
        'RETURNS TABLE (desk_id int, exposure numeric, "TradeCount" bigint)', "RETURNS SETOF record"
    )
    res = extract(sql, "postgres")
    (fn,) = [o for o in res.objects if o.name == "risk.desk_exposure"]
    assert fn.columns == ()
    assert not any(s.type == "return_query" for s in res.statements)
    assert "risk.desk_exposure" not in res.rollup.target_tables


def test_tsql_table_valued_functions_inline_and_multi_statement() -> None:
    res = extract(
        """CREATE FUNCTION dbo.fn_open_accounts(@d DATE)
RETURNS TABLE
AS
RETURN (SELECT a.AccountId, a.Balance * 2 AS Doubled FROM dbo.Accounts a WHERE a.OpenedOn <= @d);
GO
CREATE FUNCTION dbo.fn_positions(@d DATE)
RETURNS @result TABLE (BookId INT, Qty DECIMAL(18,2))
AS
BEGIN
  INSERT INTO @result (BookId, Qty) SELECT t.BookId, SUM(t.Qty) FROM dbo.Trades t WHERE t.TradeDate = @d GROUP BY t.BookId;
  RETURN;
END
GO
CREATE FUNCTION dbo.fn_total(@id INT) RETURNS MONEY AS
BEGIN
  RETURN (SELECT SUM(b.Amount) FROM dbo.Balances b WHERE b.Id = @id);
END
GO""",
        "tsql",
    )
    objects = {o.name: [c.name for c in o.columns] for o in res.objects}
    assert objects == {
        "dbo.fn_open_accounts": ["accountid", "doubled"],
        "dbo.fn_positions": ["bookid", "qty"],
        "dbo.fn_total": [],
    }
    inline, multi, scalar = res.statements
    assert (inline.type, inline.target_tables, inline.line_start) == (
        "return_query",
        ("dbo.fn_open_accounts",),
        4,
    )
    assert {e.target: set(e.sources) for e in inline.column_edges if e.kind == "direct"} == {
        "dbo.fn_open_accounts.accountid": {"dbo.accounts.accountid"},
        "dbo.fn_open_accounts.doubled": {"dbo.accounts.balance"},
    }
    # the rows of the RETURNS @result TABLE variable are the function's result
    assert multi.target_tables == ("dbo.fn_positions",) and multi.temporary_tables == ()
    assert "dbo.fn_positions.qty" in {e.target for e in res.rollup.column_edges}
    # a scalar function's RETURN (SELECT ...) reads its table; it is no result set
    assert scalar.source_tables == ("dbo.balances",) and scalar.target_tables == ()
    assert not any(e.kind == "direct" for e in scalar.column_edges)


def test_trigger_calling_a_procedure_links_new_and_old_values_through_its_parameters() -> None:
    res = extract(
        """CREATE OR REPLACE PROCEDURE risk.log_change(p_id NUMBER, p_amt NUMBER) IS
BEGIN
  INSERT INTO audit.limit_changes (cpty_id, amount) VALUES (p_id, p_amt);
END;
/
CREATE OR REPLACE TRIGGER risk.trg_lim BEFORE UPDATE ON risk.limits FOR EACH ROW
BEGIN
  risk.log_change(:OLD.cpty_id, :NEW.amount);
END;
/""",
        "oracle",
    )
    ins, call = res.statements
    assert call.calls == ("risk.log_change",) and call.process == "risk.trg_lim"
    assert ins.source_tables == ("risk.limits",)
    assert {e.target: set(e.sources) for e in ins.column_edges} == {
        "audit.limit_changes.cpty_id": {"risk.limits.cpty_id"},
        "audit.limit_changes.amount": {"risk.limits.amount"},
    }


def test_call_arguments_bind_parameters_in_plpgsql_and_packages() -> None:
    pg = extract(
        """CREATE FUNCTION audit.log_move(p_acc bigint, p_amt numeric) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO audit.moves (account_id, amount) VALUES (p_acc, p_amt);
END $$;
CREATE FUNCTION ops.post(p_id bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE v_amt numeric;
BEGIN
  SELECT m.amount INTO v_amt FROM ops.moves m WHERE m.id = p_id;
  PERFORM audit.log_move(p_id, v_amt);
END $$;""",
        "postgres",
    )
    # p_id of ops.post has no caller here: it passes nothing; v_amt passes ops.moves.amount
    assert {e.target: set(e.sources) for e in pg.statements[0].column_edges if e.kind == "direct"} == {
        "audit.moves.account_id": set(),
        "audit.moves.amount": {"ops.moves.amount"},
    }
    ora = extract(
        """CREATE OR REPLACE PACKAGE BODY ops.fees AS
  PROCEDURE book(p_acc NUMBER, p_fee NUMBER) IS
  BEGIN
    INSERT INTO ops.fee_ledger (account_id, fee) VALUES (p_acc, p_fee);
  END book;
  PROCEDURE run IS
  BEGIN
    FOR r IN (SELECT a.id, a.monthly_fee FROM ops.accounts a) LOOP
      book(r.id, r.monthly_fee);
    END LOOP;
  END run;
END fees;
/""",
        "oracle",
    )
    ledger = next(s for s in ora.statements if s.target_tables == ("ops.fee_ledger",))
    assert {e.target: set(e.sources) for e in ledger.column_edges if e.kind == "direct"} == {
        "ops.fee_ledger.account_id": {"ops.accounts.id"},
        "ops.fee_ledger.fee": {"ops.accounts.monthly_fee"},
    }
    names = {
        x for s in (*pg.statements, *ora.statements) for e in s.column_edges for x in (e.target, *e.sources)
    }
    assert not any("\x00" in n for n in names)  # no placeholder is ever left

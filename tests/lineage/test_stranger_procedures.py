"""Bank routines in the dialects our other suites cover least, with hand-derived column
lineage through variables, records, cursors and dynamic SQL: PL/pgSQL SELECT INTO forms, Oracle
FORALL over BULK COLLECT collections and package cursors, Snowflake RESULTSET cursors, BigQuery
procedure parameters, EXECUTE ... USING / INTO bindings, upserts of variables."""

from __future__ import annotations

import pytest

from finlineage.lineage import extract

from .helpers import codes, direct, indirect, rollup_direct


def test_plpgsql_select_into_first_and_one_field_records() -> None:
    sql = """CREATE OR REPLACE PROCEDURE risk.sp_limits(p_day DATE)
AS $$
DECLARE
  rec RECORD;
  v_low NUMERIC;
BEGIN
  SELECT MAX(limit_usd) AS top_limit INTO rec FROM ref.cpty_limits;
  INSERT INTO risk.limit_summary (as_of, top_limit) VALUES (p_day, rec.top_limit);
  SELECT INTO STRICT v_low MIN(l.limit_usd) FROM ref.cpty_limits AS l WHERE l.active;
  INSERT INTO risk.limit_floor (low_limit) VALUES (v_low);
END;
$$ LANGUAGE plpgsql;
"""
    res = extract(sql, "redshift")
    by_target = {s.target_tables[0]: s for s in res.statements if s.target_tables}
    summary = by_target["risk.limit_summary"]
    assert direct(summary)["risk.limit_summary.top_limit"] == {"ref.cpty_limits.limit_usd"}
    assert "ref.cpty_limits" in summary.source_tables
    # `SELECT INTO v expr FROM`: the INTO list ends at the first name not followed by a comma
    low = next(s for s in res.statements if s.line_start == 9)
    assert direct(low) == {"_col_0": {"ref.cpty_limits.limit_usd"}}
    assert direct(by_target["risk.limit_floor"])["risk.limit_floor.low_limit"] == {
        "ref.cpty_limits.limit_usd"
    }
    assert indirect(by_target["risk.limit_floor"])["risk.limit_floor.low_limit"] == {"ref.cpty_limits.active"}


ORACLE_REVAL = """CREATE OR REPLACE PROCEDURE risk.p_fx_reval (p_cob IN DATE) AS
  TYPE t_ids IS TABLE OF NUMBER;
  l_ids  t_ids;
  l_amts t_ids;
  v_rate NUMBER;
BEGIN
  SELECT mid_rate INTO v_rate FROM mkt.fx_rates WHERE ccy_pair = 'EURUSD' AND rate_date = p_cob;
  SELECT trade_id, notional_eur BULK COLLECT INTO l_ids, l_amts FROM risk.eur_trades WHERE cob = p_cob;
  FORALL i IN 1 .. l_ids.COUNT
    UPDATE risk.trade_values SET usd_value = l_amts(i) * v_rate WHERE trade_id = l_ids(i);
  MERGE INTO risk.book_totals bt
  USING (SELECT book_id, SUM(usd_value) AS total FROM risk.trade_values GROUP BY book_id) s
  ON (bt.book_id = s.book_id)
  WHEN MATCHED THEN UPDATE SET bt.total_usd = s.total DELETE WHERE bt.total_usd = 0
  WHEN NOT MATCHED THEN INSERT (book_id, total_usd) VALUES (s.book_id, s.total);
  EXECUTE IMMEDIATE 'INSERT INTO risk.reval_log (cob, rate) VALUES (:1, :2)' USING p_cob, v_rate;
  EXECUTE IMMEDIATE 'INSERT INTO risk.reval_log2 (rate, note) VALUES (:r, '':x'')' USING IN v_rate;
END p_fx_reval;
/
"""


def test_oracle_forall_over_bulk_collected_collections() -> None:
    res = extract(ORACLE_REVAL, "oracle")
    upd = next(s for s in res.statements if s.type == "update")
    assert direct(upd) == {
        "risk.trade_values.usd_value": {"risk.eur_trades.notional_eur", "mkt.fx_rates.mid_rate"}
    }
    # the FORALL index is a variable, not a column; the collection read in WHERE picks the rows
    assert "risk.trade_values.i" not in {s for e in upd.column_edges for s in e.sources}
    assert {"risk.eur_trades.trade_id", "risk.trade_values.trade_id"} <= indirect(upd)[
        "risk.trade_values.usd_value"
    ]
    assert "risk.eur_trades" in upd.source_tables


def test_oracle_merge_update_delete_where_parses() -> None:
    res = extract(ORACLE_REVAL, "oracle")
    merge = next(s for s in res.statements if s.type == "merge")
    assert not {d.code for d in merge.diagnostics} & {"parse_error", "partial_parse"}
    assert "stripped_clauses" in codes(res)
    assert direct(merge) == {
        "risk.book_totals.total_usd": {"risk.trade_values.usd_value"},
        "risk.book_totals.book_id": {"risk.trade_values.book_id"},
    }


def test_dynamic_sql_using_binds_placeholders_oracle() -> None:
    res = extract(ORACLE_REVAL, "oracle")
    log = next(s for s in res.statements if s.target_tables == ("risk.reval_log",))
    assert direct(log) == {"risk.reval_log.cob": set(), "risk.reval_log.rate": {"mkt.fx_rates.mid_rate"}}
    assert "parse_error" not in {d.code for d in log.diagnostics}
    log2 = next(s for s in res.statements if s.target_tables == ("risk.reval_log2",))
    # a placeholder-like text inside a string literal binds nothing
    assert direct(log2) == {"risk.reval_log2.rate": {"mkt.fx_rates.mid_rate"}, "risk.reval_log2.note": set()}


@pytest.mark.parametrize(
    ("dialect", "sql"),
    [
        (
            "postgres",
            "CREATE OR REPLACE FUNCTION risk.f_dyn(p_book INT) RETURNS void LANGUAGE plpgsql AS $$\n"
            "DECLARE v_lim NUMERIC;\nBEGIN\n"
            "  SELECT max_limit INTO v_lim FROM ref.book_limits WHERE book_id = p_book;\n"
            "  EXECUTE 'INSERT INTO risk.limit_snap (book_id, lim) VALUES ($1, $2)' USING p_book, v_lim;\n"
            "END $$;\n",
        ),
        (
            "snowflake",
            "CREATE OR REPLACE PROCEDURE risk.sp_dyn(book NUMBER)\nRETURNS VARCHAR LANGUAGE SQL AS\n$$\n"
            "DECLARE\n  v_lim NUMBER;\nBEGIN\n"
            "  SELECT max_limit INTO :v_lim FROM ref.book_limits WHERE book_id = :book;\n"
            "  EXECUTE IMMEDIATE 'INSERT INTO risk.limit_snap (book_id, lim) VALUES (?, ?)' USING (book, v_lim);\n"
            "  RETURN 'ok';\nEND;\n$$;\n",
        ),
        (
            "bigquery",
            "DECLARE v_lim NUMERIC;\n"
            "SET v_lim = (SELECT MAX(max_limit) FROM ref.book_limits);\n"
            'EXECUTE IMMEDIATE "INSERT INTO risk.limit_snap (book_id, lim) VALUES (1, @l)" USING v_lim AS l;\n',
        ),
    ],
)
def test_dynamic_sql_using_binds_placeholders(dialect: str, sql: str) -> None:
    res = extract(sql, dialect)
    snap = next(s for s in res.statements if s.target_tables == ("risk.limit_snap",))
    assert direct(snap)["risk.limit_snap.lim"] == {"ref.book_limits.max_limit"}
    assert direct(snap)["risk.limit_snap.book_id"] == set()
    assert "ref.book_limits" in snap.source_tables


def test_oracle_package_level_cursor_and_ref_cursor_rows() -> None:
    sql = """CREATE OR REPLACE PACKAGE BODY risk.limits_pkg AS
  CURSOR c_exp (p_desk VARCHAR2) IS
    SELECT e.cpty_id, e.exposure_amt, l.limit_amt
      FROM risk.exposures e JOIN ref.limits l ON l.cpty_id = e.cpty_id
     WHERE e.desk = p_desk;

  PROCEDURE check_desk (p_desk IN VARCHAR2) IS
    rc SYS_REFCURSOR;
    TYPE t_tab IS TABLE OF risk.exposures%ROWTYPE;
    l_tab t_tab;
  BEGIN
    FOR r IN c_exp(p_desk) LOOP
      INSERT INTO risk.breaches (cpty_id, excess_amt) VALUES (r.cpty_id, r.exposure_amt - r.limit_amt);
    END LOOP;
    OPEN rc FOR SELECT cpty_id, exposure_amt FROM risk.exposures_eod WHERE desk = p_desk;
    FETCH rc BULK COLLECT INTO l_tab;
    CLOSE rc;
    FORALL i IN 1 .. l_tab.COUNT
      INSERT INTO risk.exposures_snap (cpty_id, exposure_amt) VALUES (l_tab(i).cpty_id, l_tab(i).exposure_amt);
  END check_desk;
END limits_pkg;
/
"""
    res = extract(sql, "oracle")
    by_target = {s.target_tables[0]: s for s in res.statements if s.target_tables}
    # a cursor declared in the package body is read by its procedures
    assert direct(by_target["risk.breaches"]) == {
        "risk.breaches.cpty_id": {"risk.exposures.cpty_id"},
        "risk.breaches.excess_amt": {"risk.exposures.exposure_amt", "ref.limits.limit_amt"},
    }
    # OPEN rc FOR <query>: the ref cursor holds the query's rows
    assert direct(by_target["risk.exposures_snap"]) == {
        "risk.exposures_snap.cpty_id": {"risk.exposures_eod.cpty_id"},
        "risk.exposures_snap.exposure_amt": {"risk.exposures_eod.exposure_amt"},
    }
    assert "risk.exposures_eod" in by_target["risk.exposures_snap"].source_tables


@pytest.mark.parametrize(
    "declare",
    [
        "  rs RESULTSET DEFAULT (SELECT cpty_id, gross_amt FROM risk.cpty_gross WHERE gross_amt > 0);\n"
        "  cur CURSOR FOR rs;\nBEGIN\n",
        "  rs RESULTSET;\nBEGIN\n"
        "  rs := (SELECT cpty_id, gross_amt FROM risk.cpty_gross WHERE gross_amt > 0);\n"
        "  LET cur CURSOR FOR rs;\n",
    ],
)
def test_snowflake_cursor_over_a_resultset(declare: str) -> None:
    sql = (
        "CREATE OR REPLACE PROCEDURE risk.sp_rs()\nRETURNS VARCHAR LANGUAGE SQL AS\n$$\nDECLARE\n"
        + declare
        + "  FOR r IN cur DO\n"
        "    INSERT INTO risk.gross_log (cpty_id, gross_amt) VALUES (r.cpty_id, r.gross_amt);\n"
        "  END FOR;\n  RETURN 'done';\nEND;\n$$;\n"
    )
    res = extract(sql, "snowflake")
    log = next(s for s in res.statements if s.target_tables == ("risk.gross_log",))
    assert direct(log) == {
        "risk.gross_log.cpty_id": {"risk.cpty_gross.cpty_id"},
        "risk.gross_log.gross_amt": {"risk.cpty_gross.gross_amt"},
    }
    assert "risk.cpty_gross" in log.source_tables


def test_bigquery_procedure_parameters_and_declared_defaults() -> None:
    sql = """CREATE OR REPLACE PROCEDURE `bank.risk.refresh_var`(cob DATE)
BEGIN
  DECLARE total_var NUMERIC DEFAULT (SELECT SUM(var_99) FROM `bank.risk.book_var` WHERE as_of = cob);
  BEGIN
    CREATE TEMP TABLE desk_var AS
    SELECT b.desk, SUM(v.var_99) AS desk_var
    FROM `bank.risk.book_var` v JOIN `bank.ref.books` b USING (book_id) WHERE v.as_of = cob GROUP BY b.desk;
    INSERT INTO `bank.risk.var_summary` (as_of, total) VALUES (cob, total_var);
    INSERT INTO `bank.risk.desk_var_hist` SELECT cob AS as_of, desk, desk_var FROM desk_var;
  EXCEPTION WHEN ERROR THEN
    INSERT INTO `bank.ops.errors` (msg) VALUES (@@error.message);
  END;
END;
"""
    res = extract(sql, "bigquery")
    assert "unresolved_column" not in codes(res)  # `cob` is the procedure's parameter
    rolled = rollup_direct(res)
    assert rolled["bank.risk.var_summary.total"] == {"bank.risk.book_var.var_99"}
    assert rolled["bank.risk.var_summary.as_of"] == set()
    assert rolled["bank.risk.desk_var_hist.desk"] == {"bank.ref.books.desk"}
    assert rolled["bank.risk.desk_var_hist.desk_var"] == {"bank.risk.book_var.var_99"}


@pytest.mark.parametrize(
    ("dialect", "sql"),
    [
        (
            "postgres",
            "CREATE OR REPLACE FUNCTION risk.upsert_rate(p_ccy TEXT) RETURNS void LANGUAGE plpgsql AS $$\n"
            "DECLARE v_rate NUMERIC;\nBEGIN\n"
            "  SELECT mid INTO v_rate FROM mkt.fx_quotes WHERE ccy = p_ccy ORDER BY ts DESC LIMIT 1;\n"
            "  INSERT INTO risk.fx_latest (ccy, rate) VALUES (p_ccy, v_rate)\n"
            "  ON CONFLICT (ccy) DO UPDATE SET rate = EXCLUDED.rate;\nEND $$;\n",
        ),
        (
            "mysql",
            "DELIMITER $$\nCREATE PROCEDURE risk.sp_fx(IN p_ccy CHAR(3))\nBEGIN\n"
            "  DECLARE v_rate DECIMAL(18,8);\n"
            "  SELECT mid INTO v_rate FROM mkt.fx_quotes WHERE ccy = p_ccy ORDER BY ts DESC LIMIT 1;\n"
            "  INSERT INTO risk.fx_latest (ccy, rate) VALUES (p_ccy, v_rate) AS n (c, r)\n"
            "  ON DUPLICATE KEY UPDATE rate = n.r;\nEND $$\nDELIMITER ;\n",
        ),
    ],
)
def test_upsert_of_variables_keeps_their_sources_on_conflict(dialect: str, sql: str) -> None:
    res = extract(sql, dialect)
    upsert = next(s for s in res.statements if s.target_tables == ("risk.fx_latest",))
    rate_edges = [
        set(e.sources)
        for e in upsert.column_edges
        if e.kind == "direct" and e.target == "risk.fx_latest.rate"
    ]
    assert len(rate_edges) == 2  # the insert and the conflict update
    assert all(s == {"mkt.fx_quotes.mid"} for s in rate_edges)


def test_plpgsql_for_in_execute_and_return_query_execute() -> None:
    sql = """CREATE OR REPLACE FUNCTION risk.book_totals(p_desk TEXT)
RETURNS TABLE (book_id INT, total NUMERIC) LANGUAGE plpgsql AS $$
DECLARE rec RECORD;
BEGIN
  FOR rec IN EXECUTE 'SELECT book_id, amount FROM risk.positions WHERE desk = $1' USING p_desk LOOP
    INSERT INTO risk.scan_log (book_id, amount) VALUES (rec.book_id, rec.amount);
  END LOOP;
  RETURN QUERY EXECUTE 'SELECT book_id, SUM(amount) FROM risk.positions WHERE desk = $1 GROUP BY book_id' USING p_desk;
END $$;
INSERT INTO risk.desk_book_totals (book_id, total) SELECT b.book_id, b.total FROM risk.book_totals('FX') AS b;
"""
    res = extract(sql, "postgres")
    by_target = {s.target_tables[0]: s for s in res.statements if s.target_tables}
    assert direct(by_target["risk.scan_log"]) == {
        "risk.scan_log.book_id": {"risk.positions.book_id"},
        "risk.scan_log.amount": {"risk.positions.amount"},
    }
    assert by_target["risk.book_totals"].type == "return_query"
    # the function's rows come from its dynamic query: the reader reaches risk.positions
    assert direct(by_target["risk.desk_book_totals"]) == {
        "risk.desk_book_totals.book_id": {"risk.positions.book_id"},
        "risk.desk_book_totals.total": {"risk.positions.amount"},
    }
    assert "table_function_unknown" not in codes(res)


@pytest.mark.parametrize(
    ("dialect", "sql"),
    [
        (
            "oracle",
            "CREATE OR REPLACE PROCEDURE risk.p_dyn_into (p_book IN NUMBER) AS\n  v_total NUMBER;\n  v_cnt NUMBER;\n"
            "BEGIN\n  EXECUTE IMMEDIATE 'SELECT SUM(amount), COUNT(*) FROM risk.positions WHERE book_id = :b'\n"
            "    INTO v_total, v_cnt USING p_book;\n"
            "  INSERT INTO risk.book_totals (book_id, total) VALUES (p_book, v_total);\nEND;\n/\n",
        ),
        (
            "postgres",
            "CREATE OR REPLACE FUNCTION risk.f_dyn_into(p_book INT) RETURNS void LANGUAGE plpgsql AS $$\n"
            "DECLARE v_total NUMERIC; v_cnt INT;\nBEGIN\n"
            "  EXECUTE 'SELECT SUM(amount), COUNT(*) FROM risk.positions WHERE book_id = $1'\n"
            "    INTO v_total, v_cnt USING p_book;\n"
            "  INSERT INTO risk.book_totals (book_id, total) VALUES (p_book, v_total);\nEND $$;\n",
        ),
    ],
)
def test_dynamic_query_into_variables(dialect: str, sql: str) -> None:
    res = extract(sql, dialect)
    totals = next(s for s in res.statements if s.target_tables == ("risk.book_totals",))
    assert direct(totals) == {
        "risk.book_totals.book_id": set(),
        "risk.book_totals.total": {"risk.positions.amount"},
    }
    assert indirect(totals)["risk.book_totals.total"] == {"risk.positions.book_id"}

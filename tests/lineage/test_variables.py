"""Routine parameters and declared variables are not columns."""

from __future__ import annotations

from finlineage.lineage import extract
from finlineage.lineage.variables import declared_names

from .helpers import codes, direct, indirect


def test_declared_names_plpgsql() -> None:
    names = declared_names(
        """CREATE OR REPLACE FUNCTION gl.post_fee(p_as_of date, IN p_amount numeric(18,2), character varying)
        RETURNS void AS $$
        DECLARE
          v_total numeric;  -- running total
          v_rate  numeric := coalesce(0.01, 0);
          c_open CURSOR FOR SELECT acct AS a FROM gl.accounts;
        BEGIN
          FOR rec IN SELECT acct AS x FROM gl.accounts LOOP NULL; END LOOP;
        END $$ LANGUAGE plpgsql"""
    )
    assert names == {"p_as_of", "p_amount", "v_total", "v_rate", "c_open", "rec"}


def test_declared_names_oracle_tsql_mysql_snowflake() -> None:
    assert declared_names(
        """CREATE PROCEDURE CRD.LOAD(P_AS_OF IN DATE, "MixedCase" OUT NUMBER) AS
          V_HAIRCUT CONSTANT NUMBER := 0.1;
          CURSOR C_EXP IS SELECT A AS B FROM T;
          TYPE T_TAB IS TABLE OF NUMBER;
        BEGIN NULL; END;"""
    ) == {"p_as_of", "MixedCase", "v_haircut", "c_exp"}
    # T-SQL @names are never parsed as columns: nothing to collect; AS in the body is no header
    assert declared_names("CREATE PROC dbo.p @as_of DATE AS SELECT x AS y FROM t") == frozenset()
    assert declared_names(
        "CREATE PROCEDURE p() BEGIN DECLARE a, b INT DEFAULT 0; "
        "DECLARE CONTINUE HANDLER FOR NOT FOUND SET done = 1; SELECT c AS d FROM t; END"
    ) == {"a", "b"}
    assert declared_names("DECLARE v_cnt INT DEFAULT 0; BEGIN LET v_x := 1; END", routine=False) == {
        "v_cnt",
        "v_x",
    }


def test_plpgsql_parameters_are_not_column_sources() -> None:
    res = extract(
        """CREATE OR REPLACE FUNCTION gl.book_fee(p_as_of date, p_amount numeric) RETURNS void AS $$
DECLARE
  v_total numeric;
  v_rate numeric := 0.01;
BEGIN
  SELECT sum(amount) INTO v_total FROM gl.entries WHERE posting_date = p_as_of;
  INSERT INTO gl.fees (posting_date, fee, base) SELECT p_as_of, p_amount * v_rate, a.balance
  FROM gl.accounts a WHERE a.as_of = p_as_of;
  UPDATE gl.accounts SET balance = balance - p_amount WHERE as_of = p_as_of;
END;
$$ LANGUAGE plpgsql;""",
        "postgres",
    )
    ins = next(s for s in res.statements if s.type == "insert")
    assert direct(ins) == {
        "gl.fees.posting_date": set(),
        "gl.fees.fee": set(),
        "gl.fees.base": {"gl.accounts.balance"},
    }
    assert indirect(ins)["gl.fees.base"] == {"gl.accounts.as_of"}
    upd = next(s for s in res.statements if s.type == "update")
    assert direct(upd) == {"gl.accounts.balance": {"gl.accounts.balance"}}
    sel = res.statements[0]
    assert indirect(sel)["SUM(amount)"] == {"gl.entries.posting_date"}
    assert "unresolved_column" not in codes(res)
    every = {x for s in res.statements for e in s.column_edges for x in e.sources}
    assert not any(x.endswith((".p_as_of", ".p_amount", ".v_total", ".v_rate")) for x in every)


def test_variable_with_same_name_as_known_column_is_the_column() -> None:
    # PL/SQL resolves a name to the column first when the table has it
    res = extract(
        """CREATE PROCEDURE crd.load(as_of DATE, p_limit NUMBER) AS
BEGIN
  INSERT INTO crd.limits_used (as_of, used) SELECT as_of, exposure / p_limit FROM crd.exposure;
END;
/""",
        "oracle",
        schema={"crd.exposure": {"as_of": "date", "exposure": "number"}},
    )
    assert direct(res.statements[0]) == {
        "crd.limits_used.as_of": {"crd.exposure.as_of"},
        "crd.limits_used.used": {"crd.exposure.exposure"},
    }


def test_record_loop_variable_fields_are_not_unresolved() -> None:
    res = extract(
        """CREATE PROCEDURE ops.settle AS
BEGIN
  FOR r IN (SELECT trade_id, amount FROM ops.pending) LOOP
    INSERT INTO ops.settled (trade_id, amount) SELECT r.trade_id, r.amount FROM dual;
  END LOOP;
END;
/""",
        "oracle",
    )
    assert "unresolved_column" not in codes(res)


def test_anonymous_block_variables() -> None:
    res = extract(
        """DO $$
DECLARE v_cutoff date := current_date - 30;
BEGIN
  DELETE FROM ops.stale_quotes WHERE quote_date < v_cutoff;
  INSERT INTO ops.purge_log (cutoff, n) SELECT v_cutoff, count(*) FROM ops.stale_quotes;
END $$;""",
        "postgres",
    )
    ins = next(s for s in res.statements if s.type == "insert")
    assert direct(ins)["ops.purge_log.cutoff"] == set()
    assert "unresolved_column" not in codes(res)

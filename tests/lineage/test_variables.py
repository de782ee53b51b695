"""Routine parameters and declared variables are not columns."""

from __future__ import annotations

from finlineage.lineage import extract
from finlineage.lineage.variables import declared_names

from .helpers import codes, direct, indirect, rollup_direct


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
    assert list(indirect(sel).values()) == [{"gl.entries.posting_date"}]  # whatever its output name
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


def test_mysql_trigger_new_row_reads_the_trigger_table() -> None:
    res = extract(
        """CREATE TRIGGER trg_fill AFTER INSERT ON ops.fills FOR EACH ROW
BEGIN
  UPDATE ops.positions SET qty = qty + NEW.qty WHERE acct = NEW.acct;
END""",
        "mysql",
    )
    st = res.statements[0]
    assert set(st.source_tables) == {"ops.positions", "ops.fills"}
    assert direct(st) == {"ops.positions.qty": {"ops.positions.qty", "ops.fills.qty"}}
    assert "ops.fills.acct" in indirect(st)["ops.positions.qty"]


def test_oracle_trigger_bind_rows_and_referencing_alias() -> None:
    res = extract(
        """CREATE OR REPLACE TRIGGER OPS.TRG_CASH AFTER INSERT ON OPS.CASH
REFERENCING NEW AS N FOR EACH ROW
BEGIN
  INSERT INTO OPS.CASH_AUDIT (ACCT, AMT_CENTS, LOGGED_AT) VALUES (:N.ACCT, :N.AMT * 100, SYSDATE);
  UPDATE OPS.BALANCES SET BAL = BAL + :NEW.AMT WHERE ACCT = :NEW.ACCT;
END;
/""",
        "oracle",
    )
    ins, upd = res.statements
    assert ins.source_tables == ("ops.cash",)
    assert direct(ins) == {
        "ops.cash_audit.acct": {"ops.cash.acct"},
        "ops.cash_audit.amt_cents": {"ops.cash.amt"},
        "ops.cash_audit.logged_at": set(),
    }
    assert direct(upd) == {"ops.balances.bal": {"ops.balances.bal", "ops.cash.amt"}}


def test_plpgsql_trigger_function_rows_are_not_columns() -> None:
    res = extract(
        """CREATE OR REPLACE FUNCTION audit.trg_trades() RETURNS trigger AS $$
BEGIN
  INSERT INTO audit.trades_log (trade_id, old_qty, new_qty) SELECT NEW.trade_id, OLD.qty, NEW.qty;
  RETURN NEW;
END $$ LANGUAGE plpgsql;""",
        "postgres",
    )
    assert "unresolved_column" not in codes(res)
    assert res.statements[0].target_tables == ("audit.trades_log",)


def test_single_row_values_of_variables_and_literal_rows() -> None:
    res = extract(
        """CREATE PROCEDURE gl.log_run(p_batch INT) AS
BEGIN
  INSERT INTO gl.run_log (batch_id, note) VALUES (p_batch, 'done');
END;
/
INSERT INTO gl.ccy (code, name) VALUES ('EUR', 'Euro'), ('USD', 'US dollar');""",
        "oracle",
    )
    log, ccy = res.statements
    assert direct(log) == {"gl.run_log.batch_id": set(), "gl.run_log.note": set()}
    assert [e.expression for e in log.column_edges if e.kind == "direct"] == ["p_batch", "'done'"]
    assert [e.expression for e in ccy.column_edges] == ["VALUES", "VALUES"]
    assert "unresolved_column" not in codes(res)


# --- values assigned in different branches merge (union), loops keep earlier values ---------


def test_plpgsql_if_else_branches_merge_variable_sources() -> None:
    res = extract(
        """CREATE FUNCTION risk.set_limit(p_cust bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE v_limit numeric; v_score int;
BEGIN
  SELECT c.score INTO v_score FROM risk.credit_scores c WHERE c.customer_id = p_cust;
  IF v_score > 700 THEN
    v_limit := (SELECT p.max_limit FROM risk.products p WHERE p.tier = 'gold');
  ELSE
    SELECT p.base_limit INTO v_limit FROM risk.products p WHERE p.tier = 'std';
  END IF;
  UPDATE risk.customer_limits SET credit_limit = v_limit WHERE customer_id = p_cust;
END $$;""",
        "postgres",
    )
    upd = res.statements[-1]
    assert direct(upd) == {
        "risk.customer_limits.credit_limit": {"risk.products.max_limit", "risk.products.base_limit"}
    }
    assert all("v_limit" not in s for e in upd.column_edges for s in e.sources)


def test_tsql_if_else_and_while_loop_keep_every_possible_value() -> None:
    res = extract(
        """CREATE PROCEDURE dbo.usp_set_fee @acct INT AS
BEGIN
  DECLARE @fee MONEY, @n INT;
  SELECT @n = COUNT(*) FROM dbo.Transactions t WHERE t.AccountId = @acct;
  IF @n > 10
    SET @fee = (SELECT f.HighFee FROM dbo.FeeSchedule f)
  ELSE
    SELECT @fee = f.LowFee FROM dbo.FeeSchedule f;
  WHILE @n > 0
  BEGIN
    SET @fee = (SELECT r.Surcharge FROM dbo.Surcharges r);
    SET @n = @n - 1;
  END
  UPDATE dbo.Accounts SET MonthlyFee = @fee WHERE AccountId = @acct;
END
GO""",
        "tsql",
    )
    assert rollup_direct(res)["dbo.accounts.monthlyfee"] == {
        "dbo.feeschedule.highfee",
        "dbo.feeschedule.lowfee",
        "dbo.surcharges.surcharge",
    }


def test_plsql_case_branches_merge_and_a_later_plain_assignment_replaces_them() -> None:
    res = extract(
        """CREATE OR REPLACE PROCEDURE risk.set_rate(p_acc NUMBER) IS
  v_rate NUMBER;
BEGIN
  CASE
    WHEN p_acc > 100 THEN SELECT r.premium_rate INTO v_rate FROM risk.rates r;
    ELSE v_rate := (SELECT r.base_rate FROM risk.rates r);
  END CASE;
  UPDATE risk.accounts SET interest_rate = v_rate WHERE account_id = p_acc;
  SELECT o.override_rate INTO v_rate FROM risk.overrides o;
  UPDATE risk.accounts SET floor_rate = v_rate WHERE account_id = p_acc;
END;
/""",
        "oracle",
    )
    first, second = (s for s in res.statements if s.type == "update")
    assert direct(first) == {
        "risk.accounts.interest_rate": {"risk.rates.base_rate", "risk.rates.premium_rate"}
    }
    assert direct(second) == {"risk.accounts.floor_rate": {"risk.overrides.override_rate"}}


def test_bigquery_scripting_if_keeps_the_declared_default() -> None:
    res = extract(
        """DECLARE v_cutoff DATE;
DECLARE v_total NUMERIC DEFAULT (SELECT SUM(p.amount) FROM `bank.ledger.postings` p);
SET v_cutoff = (SELECT MAX(c.business_date) FROM `bank.ref.calendar` c);
IF v_total > 0 THEN
  SET v_total = (SELECT SUM(a.adj) FROM `bank.ledger.adjustments` a);
END IF;
INSERT INTO `bank.rpt.daily` (as_of, total) VALUES (v_cutoff, v_total);""",
        "bigquery",
    )
    assert rollup_direct(res) == {
        "bank.rpt.daily.as_of": {"bank.ref.calendar.business_date"},
        "bank.rpt.daily.total": {"bank.ledger.postings.amount", "bank.ledger.adjustments.adj"},
    }


def test_mysql_if_and_loop_assignments_are_conditional() -> None:
    res = extract(
        """CREATE PROCEDURE bank.calc_bonus(p_grade INT)
BEGIN
  DECLARE v_bonus DECIMAL(10,2) DEFAULT 0;
  SELECT b.bonus INTO v_bonus FROM bank.bonus_table b LIMIT 1;
  IF p_grade > 3 THEN
    SELECT g.grade_bonus INTO v_bonus FROM bank.grades g LIMIT 1;
  END IF;
  bonus_loop: LOOP
    SELECT s.extra INTO v_bonus FROM bank.specials s LIMIT 1;
    LEAVE bonus_loop;
  END LOOP;
  UPDATE bank.staff SET bonus = v_bonus;
END""",
        "mysql",
    )
    upd = res.statements[-1]
    assert direct(upd) == {
        "bank.staff.bonus": {"bank.grades.grade_bonus", "bank.bonus_table.bonus", "bank.specials.extra"}
    }


# --- records and cursors: FOR r IN query|cursor, SELECT * INTO rec, FETCH c INTO ... ----------


def test_plpgsql_loop_record_and_select_star_into_record() -> None:
    res = extract(
        """CREATE FUNCTION ops.copy_loans() RETURNS void LANGUAGE plpgsql AS $$
DECLARE r record; v_row ops.loans%ROWTYPE;
BEGIN
  FOR r IN SELECT l.id, l.principal FROM ops.loans l WHERE l.active LOOP
    INSERT INTO ops.loan_copy (loan_id, amount) VALUES (r.id, r.principal);
  END LOOP;
  SELECT * INTO v_row FROM ops.loans WHERE id = 1;
  UPDATE ops.loan_summary SET last_principal = v_row.principal;
END $$;""",
        "postgres",
    )
    ins, upd = (s for s in res.statements if s.target_tables)
    assert direct(ins) == {
        "ops.loan_copy.loan_id": {"ops.loans.id"},
        "ops.loan_copy.amount": {"ops.loans.principal"},
    }
    assert ins.source_tables == ("ops.loans",)  # table lineage through the record too
    assert indirect(ins)["ops.loan_copy.amount"] == {"ops.loans.active"}
    # a field of a row read with * (no schema) is the table's column of that name
    assert direct(upd) == {"ops.loan_summary.last_principal": {"ops.loans.principal"}}


def test_plsql_cursor_for_loop_and_query_for_loop() -> None:
    res = extract(
        """CREATE OR REPLACE PROCEDURE ops.copy_loans IS
  CURSOR c_loans IS SELECT l.id, l.principal FROM ops.loans l;
BEGIN
  FOR r IN c_loans LOOP
    INSERT INTO ops.loan_copy (loan_id, amount) VALUES (r.id, r.principal);
  END LOOP;
  FOR q IN (SELECT x.id, x.rate FROM ops.rates x) LOOP
    UPDATE ops.loan_copy SET rate = q.rate WHERE loan_id = q.id;
  END LOOP;
END;
/""",
        "oracle",
    )
    ins, upd = (s for s in res.statements if s.target_tables)
    assert direct(ins) == {
        "ops.loan_copy.loan_id": {"ops.loans.id"},
        "ops.loan_copy.amount": {"ops.loans.principal"},
    }
    assert direct(upd) == {"ops.loan_copy.rate": {"ops.rates.rate"}}
    # the loop records are no tables: nothing is read from a table `q` or `r`
    assert not any(s.split(".")[0] in ("q", "r") for e in upd.column_edges for s in e.sources)
    assert upd.source_tables == ("ops.rates",)


def test_tsql_cursor_fetch_into_variables_by_position() -> None:
    res = extract(
        """CREATE PROCEDURE dbo.usp_book AS
BEGIN
  DECLARE @id INT, @amt MONEY;
  DECLARE c CURSOR LOCAL FAST_FORWARD FOR SELECT t.TradeId, t.Notional FROM dbo.Trades t WHERE t.Booked = 0;
  OPEN c;
  FETCH NEXT FROM c INTO @id, @amt;
  WHILE @@FETCH_STATUS = 0
  BEGIN
    INSERT INTO dbo.Bookings (TradeId, Amount) VALUES (@id, @amt);
    FETCH NEXT FROM c INTO @id, @amt;
  END
  CLOSE c; DEALLOCATE c;
END
GO""",
        "tsql",
    )
    (ins,) = (s for s in res.statements if s.target_tables)
    assert direct(ins) == {
        "dbo.bookings.tradeid": {"dbo.trades.tradeid"},
        "dbo.bookings.amount": {"dbo.trades.notional"},
    }


def test_mysql_fetch_into_variable() -> None:
    res = extract(
        """CREATE PROCEDURE bank.load_positions()
BEGIN
  DECLARE done INT DEFAULT 0;
  DECLARE v_book VARCHAR(20);
  DECLARE cur CURSOR FOR SELECT t.book FROM bank.trades t;
  OPEN cur;
  read_loop: LOOP
    FETCH cur INTO v_book;
    IF done THEN LEAVE read_loop; END IF;
    INSERT INTO bank.books (name) VALUES (v_book);
  END LOOP;
END""",
        "mysql",
    )
    (ins,) = (s for s in res.statements if s.target_tables)
    assert direct(ins) == {"bank.books.name": {"bank.trades.book"}}


def test_plsql_fetch_into_record_bulk_collect() -> None:
    res = extract(
        """CREATE OR REPLACE PROCEDURE ops.sweep IS
  CURSOR c_acc IS SELECT a.acc_id, a.balance FROM ops.accounts a;
  rec c_acc%ROWTYPE;
BEGIN
  OPEN c_acc;
  FETCH c_acc INTO rec;
  UPDATE ops.sweeps SET amount = rec.balance WHERE acc_id = rec.acc_id;
  CLOSE c_acc;
END;
/""",
        "oracle",
    )
    (upd,) = (s for s in res.statements if s.target_tables)
    assert direct(upd) == {"ops.sweeps.amount": {"ops.accounts.balance"}}
    assert all("rec" not in s.split(".") for e in upd.column_edges for s in e.sources)


def test_variables_in_row_conditions_are_indirect_sources() -> None:
    res = extract(
        """CREATE OR REPLACE PROCEDURE ops.sweep IS
  CURSOR c_acc IS SELECT a.acc_id, a.balance FROM ops.accounts a;
  rec c_acc%ROWTYPE;
  v_min NUMBER;
BEGIN
  SELECT MIN(l.floor_amt) INTO v_min FROM ops.limits l;
  OPEN c_acc;
  FETCH c_acc INTO rec;
  UPDATE ops.sweeps SET amount = rec.balance WHERE acc_id = rec.acc_id;
  INSERT INTO ops.big (acc_id)
  SELECT b.acc_id FROM ops.balances b JOIN ops.flags f ON f.acc_id = b.acc_id AND f.level > v_min
  WHERE b.amount > v_min;
  CLOSE c_acc;
END;
/""",
        "oracle",
    )
    upd, ins = (s for s in res.statements if s.target_tables)
    filt = {(e.target, e.subtype): set(e.sources) for e in upd.column_edges if e.kind == "indirect"}
    assert filt == {("ops.sweeps.amount", "FILTER"): {"ops.sweeps.acc_id", "ops.accounts.acc_id"}}
    shaped = {(e.target, e.subtype): set(e.sources) for e in ins.column_edges if e.kind == "indirect"}
    assert "ops.limits.floor_amt" in shaped[("ops.big.acc_id", "JOIN")]
    assert "ops.limits.floor_amt" in shaped[("ops.big.acc_id", "FILTER")]
    assert direct(ins) == {"ops.big.acc_id": {"ops.balances.acc_id"}}  # never a direct source
    assert "ops.limits" in ins.source_tables


# --- assignments between variables, constants, RETURN NEXT ----------------------------------


def test_assignment_from_other_variables_carries_their_sources_per_dialect() -> None:
    cases = {
        "postgres": """CREATE FUNCTION ops.p() RETURNS void LANGUAGE plpgsql AS $$
DECLARE v_a numeric; v_b numeric;
BEGIN
  SELECT x.amount INTO v_a FROM ops.src x;
  v_b := v_a * 2;
  INSERT INTO ops.dst (v) VALUES (v_b);
END $$;""",
        "oracle": """CREATE OR REPLACE PROCEDURE ops.p IS
  v_a NUMBER; v_b NUMBER;
BEGIN
  SELECT x.amount INTO v_a FROM ops.src x;
  v_b := v_a * 2;
  INSERT INTO ops.dst (v) VALUES (v_b);
END;
/""",
        "tsql": """CREATE PROCEDURE ops.p AS
BEGIN
  DECLARE @a MONEY, @b MONEY;
  SELECT @a = x.amount FROM ops.src x;
  SET @b = @a * 2;
  INSERT INTO ops.dst (v) VALUES (@b);
END""",
        "bigquery": """DECLARE v_a NUMERIC;
DECLARE v_b NUMERIC;
SET v_a = (SELECT x.amount FROM ops.src x);
SET v_b = v_a * 2;
INSERT INTO ops.dst (v) VALUES (v_b);""",
    }
    for dialect, sql in cases.items():
        res = extract(sql, dialect)
        assert rollup_direct(res) == {"ops.dst.v": {"ops.src.amount"}}, dialect
        (ins,) = (s for s in res.statements if s.target_tables)
        assert ins.source_tables == ("ops.src",), dialect
        # the bookkeeping assignment is no statement of its own (it reads no table)
        assert [s.type for s in res.statements].count("select") == 1, dialect


def test_a_constant_assignment_replaces_what_the_variable_held() -> None:
    res = extract(
        """CREATE FUNCTION risk.totals() RETURNS void LANGUAGE plpgsql AS $$
DECLARE v_total numeric := 0;
BEGIN
  FOR r IN SELECT a.balance FROM core.accounts a LOOP
    v_total := v_total + r.balance;
  END LOOP;
  INSERT INTO risk.totals (total) VALUES (v_total);
  v_total := 0;
  INSERT INTO risk.resets (total) VALUES (v_total);
END $$;""",
        "postgres",
    )
    first, second = (s for s in res.statements if s.target_tables)
    assert direct(first) == {"risk.totals.total": {"core.accounts.balance"}}
    assert direct(second) == {"risk.resets.total": set()}
    assert second.source_tables == ()


def test_return_next_fills_returns_table_from_out_columns_and_records() -> None:
    res = extract(
        """CREATE FUNCTION risk.balances() RETURNS TABLE (acc bigint, bal numeric) LANGUAGE plpgsql AS $$
DECLARE r record; v_fx numeric;
BEGIN
  SELECT f.rate INTO v_fx FROM ref.fx f WHERE f.ccy = 'EUR';
  FOR r IN SELECT a.id, a.balance FROM core.accounts a LOOP
    acc := r.id;
    bal := r.balance * v_fx;
    RETURN NEXT;
  END LOOP;
END $$;
CREATE FUNCTION risk.closed() RETURNS TABLE (acc bigint, bal numeric) LANGUAGE plpgsql AS $$
DECLARE c record;
BEGIN
  FOR c IN SELECT z.id, z.final_balance FROM core.closed_accounts z LOOP
    RETURN NEXT c;
  END LOOP;
END $$;""",
        "postgres",
    )
    rows = [s for s in res.statements if s.type == "return_next"]
    assert [(s.process, s.line_start, s.target_tables) for s in rows] == [
        ("risk.balances", 8, ("risk.balances",)),
        ("risk.closed", 15, ("risk.closed",)),
    ]
    assert direct(rows[0]) == {
        "risk.balances.acc": {"core.accounts.id"},
        "risk.balances.bal": {"core.accounts.balance", "ref.fx.rate"},
    }
    assert set(rows[0].source_tables) == {"core.accounts", "ref.fx"}
    assert direct(rows[1]) == {
        "risk.closed.acc": {"core.closed_accounts.id"},
        "risk.closed.bal": {"core.closed_accounts.final_balance"},
    }


def test_snowflake_scripting_cursor_loop_and_fetch() -> None:
    res = extract(
        """CREATE OR REPLACE PROCEDURE ops.copy_rates() RETURNS STRING LANGUAGE SQL AS
$$
DECLARE
  c1 CURSOR FOR SELECT ccy, rate FROM ref.fx_rates;
  v_max NUMBER;
BEGIN
  FOR rec IN c1 DO
    INSERT INTO ops.rates_copy (ccy, rate) VALUES (rec.ccy, rec.rate);
  END FOR;
  LET c2 CURSOR FOR SELECT amount FROM ops.payments;
  OPEN c2;
  FETCH c2 INTO v_max;
  UPDATE ops.stats SET max_payment = :v_max;
  RETURN 'ok';
END;
$$;""",
        "snowflake",
    )
    assert rollup_direct(res) == {
        "ops.rates_copy.ccy": {"ref.fx_rates.ccy"},
        "ops.rates_copy.rate": {"ref.fx_rates.rate"},
        "ops.stats.max_payment": {"ops.payments.amount"},
    }


def test_plpgsql_exception_handler_assignment_is_an_alternative() -> None:
    res = extract(
        """CREATE FUNCTION ops.load_rate() RETURNS void LANGUAGE plpgsql AS $$
DECLARE v_rate numeric;
BEGIN
  BEGIN
    SELECT q.rate INTO STRICT v_rate FROM ref.quotes q WHERE q.live;
  EXCEPTION WHEN no_data_found THEN
    SELECT d.rate INTO v_rate FROM ref.default_rates d;
  END;
  UPDATE ops.settings SET rate = v_rate;
END $$;""",
        "postgres",
    )
    assert rollup_direct(res) == {"ops.settings.rate": {"ref.quotes.rate", "ref.default_rates.rate"}}


def test_mysql_user_variables_and_bigquery_tuple_set() -> None:
    my = extract(
        """CREATE PROCEDURE bank.p()
BEGIN
  SELECT MAX(t.amount), MIN(t.fee) INTO @hi, @lo FROM bank.tx t;
  INSERT INTO bank.range (hi, lo) VALUES (@hi, @lo);
END""",
        "mysql",
    )
    bq = extract(
        """DECLARE hi, lo NUMERIC;
SET (hi, lo) = (SELECT AS STRUCT MAX(t.amount), MIN(t.fee) FROM bank.tx t);
INSERT INTO bank.range (hi, lo) VALUES (hi, lo);""",
        "bigquery",
    )
    for res in (my, bq):
        assert rollup_direct(res) == {"bank.range.hi": {"bank.tx.amount"}, "bank.range.lo": {"bank.tx.fee"}}


def test_returning_into_variables_per_dialect() -> None:
    pg = extract(
        """CREATE FUNCTION ops.open_loan(p_cust bigint, p_amt numeric) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE v_id bigint; v_fee numeric;
BEGIN
  INSERT INTO ops.loans (customer_id, principal) VALUES (p_cust, p_amt) RETURNING id INTO v_id;
  UPDATE ops.fees SET used = used + 1 WHERE customer_id = p_cust RETURNING fee_amount INTO v_fee;
  INSERT INTO ops.loan_events (loan_id, fee) VALUES (v_id, v_fee);
  RETURN v_id;
END $$;""",
        "postgres",
    )
    ora = extract(
        """CREATE OR REPLACE PROCEDURE ops.open_loan(p_cust NUMBER, p_amt NUMBER) IS
  v_id NUMBER; v_fee NUMBER;
BEGIN
  INSERT INTO ops.loans (customer_id, principal) VALUES (p_cust, p_amt) RETURNING id INTO v_id;
  UPDATE ops.fees SET used = used + 1 WHERE customer_id = p_cust RETURNING fee_amount INTO v_fee;
  INSERT INTO ops.loan_events (loan_id, fee) VALUES (v_id, v_fee);
END;
/""",
        "oracle",
    )
    for res in (pg, ora):
        # the returned values are bookkeeping: no statement of their own
        assert [s.type for s in res.statements] == ["insert", "update", "insert"]
        events = res.statements[-1]
        assert direct(events) == {
            "ops.loan_events.loan_id": {"ops.loans.id"},
            "ops.loan_events.fee": {"ops.fees.fee_amount"},
        }
        assert set(events.source_tables) == {"ops.loans", "ops.fees"}

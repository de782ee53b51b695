"""Oracle: packages (spec + body, package-level variables), compound triggers, $IF, INSERT ALL/FIRST, MERGE."""

from __future__ import annotations

from finlineage.lineage import extract

from .helpers import codes, direct, rollup_direct

_PACKAGE = """CREATE OR REPLACE PACKAGE treasury.fx_pkg AS
  g_rate NUMBER;
  PROCEDURE load_rate;
  PROCEDURE apply_rate;
END fx_pkg;
/
CREATE OR REPLACE PACKAGE BODY treasury.fx_pkg AS
  g_src VARCHAR2(10) := 'ECB';
  PROCEDURE load_rate IS
  BEGIN
    SELECT r.mid_rate INTO g_rate FROM treasury.fx_quotes r WHERE r.source = g_src;
  END load_rate;
  PROCEDURE apply_rate IS
    v_fee NUMBER;
  BEGIN
    SELECT f.fee INTO v_fee FROM treasury.fees f;
    UPDATE treasury.positions SET eur_value = amount * g_rate - v_fee;
  END apply_rate;
END fx_pkg;
/
"""


def test_package_body_routines_are_package_members() -> None:
    res = extract(_PACKAGE, "oracle")
    kinds = {o.name: o.kind for o in res.objects}
    assert kinds == {"treasury.fx_pkg.load_rate": "procedure", "treasury.fx_pkg.apply_rate": "procedure"}
    spans = {o.name: (o.line_start, o.line_end) for o in res.objects}
    assert spans["treasury.fx_pkg.load_rate"] == (9, 12)
    assert {s.process for s in res.statements} == {"treasury.fx_pkg.load_rate", "treasury.fx_pkg.apply_rate"}


def test_package_level_variables_carry_lineage_between_routines_and_are_no_columns() -> None:
    res = extract(_PACKAGE, "oracle")
    load, _fee, upd = res.statements
    # g_src (declared in the body) is a variable, not a column of the quotes table
    assert all("g_src" not in s for e in load.column_edges for s in e.sources)
    # g_rate (declared in the spec) is set by load_rate and read by apply_rate
    assert direct(upd) == {
        "treasury.positions.eur_value": {
            "treasury.positions.amount",
            "treasury.fx_quotes.mid_rate",
            "treasury.fees.fee",
        }
    }
    names = {s for e in upd.column_edges for s in e.sources}
    assert "treasury.positions.g_rate" not in names and "treasury.positions.v_fee" not in names


def test_compound_trigger_row_fields_and_timing_sections() -> None:
    res = extract(
        """CREATE OR REPLACE TRIGGER core.trg_acct_audit
FOR UPDATE OF balance ON core.accounts
COMPOUND TRIGGER
  v_count NUMBER := 0;
  BEFORE EACH ROW IS
  BEGIN
    :NEW.prior_balance := :OLD.balance;
  END BEFORE EACH ROW;
  AFTER EACH ROW IS
  BEGIN
    INSERT INTO audit.balance_log (account_id, new_balance) VALUES (:NEW.account_id, :NEW.balance);
  END AFTER EACH ROW;
END trg_acct_audit;
/""",
        "oracle",
    )
    assert [o.kind for o in res.objects] == ["trigger"]
    assign, insert = res.statements
    assert (assign.type, assign.line_start) == ("assign", 7)
    assert direct(assign) == {"core.accounts.prior_balance": {"core.accounts.balance"}}
    assert direct(insert) == {
        "audit.balance_log.account_id": {"core.accounts.account_id"},
        "audit.balance_log.new_balance": {"core.accounts.balance"},
    }


def test_conditional_compilation_analyses_every_branch_with_a_diagnostic() -> None:
    res = extract(
        """CREATE OR REPLACE PROCEDURE core.pick_rate IS
  v_rate NUMBER;
BEGIN
  $IF DBMS_DB_VERSION.VER_LE_12 $THEN
    SELECT r.legacy_rate INTO v_rate FROM core.rates r;
  $ELSE
    SELECT r.rate INTO v_rate FROM core.rates r;
  $END
  UPDATE core.loans SET rate = v_rate;
END;
/""",
        "oracle",
    )
    assert "conditional_compilation" in codes(res)
    diag = next(d for d in res.diagnostics if d.code == "conditional_compilation")
    assert diag.line == 4 and diag.severity == "info"
    # the branches are alternatives: the variable may hold either value
    assert rollup_direct(res) == {"core.loans.rate": {"core.rates.legacy_rate", "core.rates.rate"}}


def test_insert_all_and_insert_first_inside_a_procedure() -> None:
    res = extract(
        """CREATE OR REPLACE PROCEDURE core.route_tx IS
BEGIN
  INSERT ALL
    INTO core.tx_archive (tx_id, amount) VALUES (tx_id, amount)
    INTO core.tx_audit (tx_id) VALUES (tx_id)
  SELECT t.tx_id, t.amount FROM core.transactions t;
  INSERT FIRST
    WHEN amount > 1000 THEN INTO core.big_tx (tx_id, amount) VALUES (tx_id, amount)
    ELSE INTO core.small_tx (tx_id, amount) VALUES (tx_id, amount)
  SELECT t.tx_id, t.amount FROM core.transactions t;
END;
/""",
        "oracle",
    )
    assert "parse_error" not in codes(res)
    all_, first = res.statements
    assert set(all_.target_tables) == {"core.tx_archive", "core.tx_audit"}
    assert (first.line_start, first.line_end) == (7, 10)
    assert set(first.target_tables) == {"core.big_tx", "core.small_tx"}
    assert direct(first)["core.small_tx.amount"] == {"core.transactions.amount"}


def test_merge_in_a_procedure_at_column_level() -> None:
    res = extract(
        """CREATE OR REPLACE PROCEDURE core.apply_moves IS
BEGIN
  MERGE INTO core.balances b USING core.daily_moves m ON (b.account_id = m.account_id)
  WHEN MATCHED THEN UPDATE SET b.balance = b.balance + m.amount
  WHEN NOT MATCHED THEN INSERT (account_id, balance) VALUES (m.account_id, m.amount);
END;
/""",
        "oracle",
    )
    (merge,) = res.statements
    assert merge.type == "merge" and merge.target_tables == ("core.balances",)
    got = direct(merge)
    assert got["core.balances.balance"] == {"core.balances.balance", "core.daily_moves.amount"}
    assert got["core.balances.account_id"] == {"core.daily_moves.account_id"}


def test_bulk_collect_forall_and_record_inserts() -> None:
    res = extract(
        """CREATE OR REPLACE PROCEDURE ops.archive IS
  TYPE t_tab IS TABLE OF ops.trades%ROWTYPE;
  l_tab t_tab;
  r_one ops.trades%ROWTYPE;
BEGIN
  SELECT * BULK COLLECT INTO l_tab FROM ops.trades WHERE trade_date < SYSDATE - 30;
  FORALL i IN 1 .. l_tab.COUNT
    INSERT INTO ops.trades_hist VALUES l_tab(i);
  SELECT t.id, t.amount INTO r_one FROM ops.trades t WHERE t.id = 1;
  INSERT INTO ops.one_copy (copy_id, copy_amount) VALUES r_one;
  FOR i IN 1 .. l_tab.COUNT LOOP
    UPDATE ops.positions SET qty = l_tab(i).qty WHERE id = l_tab(i).id;
  END LOOP;
END;
/""",
        "oracle",
    )
    hist, one, upd = (s for s in res.statements if s.target_tables)
    assert (hist.line_start, hist.source_tables) == (8, ("ops.trades",))
    assert direct(hist) == {"ops.trades_hist.*": {"ops.trades.*"}}
    assert direct(one) == {
        "ops.one_copy.copy_id": {"ops.trades.id"},
        "ops.one_copy.copy_amount": {"ops.trades.amount"},
    }
    # a field of a collection element read from a table without schema is the table's column
    assert direct(upd) == {"ops.positions.qty": {"ops.trades.qty"}}
    filters = {s for e in upd.column_edges if e.subtype == "FILTER" for s in e.sources}
    assert "ops.trades.id" in filters


def test_compound_trigger_declarations_are_variables_of_every_timing_point() -> None:
    res = extract(
        """CREATE OR REPLACE TRIGGER core.trg_fx
FOR UPDATE OF rate ON core.fx_rates
COMPOUND TRIGGER
  v_changes NUMBER := 0;
  v_last NUMBER;
  AFTER EACH ROW IS
  BEGIN
    SELECT r.rate INTO v_last FROM core.fx_rates_hist r WHERE r.ccy = :NEW.ccy;
  END AFTER EACH ROW;
  AFTER STATEMENT IS
  BEGIN
    UPDATE core.fx_stats SET changes = v_changes, last_rate = v_last;
  END AFTER STATEMENT;
END trg_fx;
/""",
        "oracle",
    )
    (upd,) = (s for s in res.statements if s.target_tables)
    assert direct(upd) == {
        "core.fx_stats.changes": set(),
        "core.fx_stats.last_rate": {"core.fx_rates_hist.rate"},
    }

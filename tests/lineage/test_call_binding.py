"""Arguments of a call bind to the parameters of a routine defined in the same script: by
position and by name (T-SQL `EXEC p @param = value`, PL/SQL and PostgreSQL `p(param => value)`,
PostgreSQL `p(param := value)`), so lineage flows from what the caller passes through the
callee's statements that read the parameter."""

from __future__ import annotations

import pytest

from finlineage.lineage import LineageResult, extract
from finlineage.lineage.variables import parameters

from .helpers import direct, indirect

_TSQL_CALLEE = """CREATE PROCEDURE cash.usp_book_charge
    @account_no INT,
    @charge     MONEY = 0,
    @memo       NVARCHAR(40) = NULL OUTPUT
AS
BEGIN
  INSERT INTO cash.ChargeJournal (AccountNo, ChargeAmount) VALUES (@account_no, @charge);
END
GO
"""


def _caller(call: str) -> str:
    return (
        _TSQL_CALLEE
        + """CREATE PROCEDURE cash.usp_close_month AS
BEGIN
  DECLARE @acc INT, @amt MONEY;
  SELECT @acc = m.AccountNo, @amt = m.ServiceCharge FROM cash.Memberships m WHERE m.Active = 1;
  """
        + call
        + """
END
GO
"""
    )


def journal(res: LineageResult) -> dict[str, set[str]]:
    stmt = next(s for s in res.statements if s.target_tables == ("cash.chargejournal",))
    return direct(stmt)


def no_placeholders(res: LineageResult) -> None:
    names = {x for s in res.statements for e in s.column_edges for x in (e.target, *e.sources)}
    assert not any("\x00" in n for n in names)


def test_tsql_parameters_are_read_from_a_header_without_parentheses() -> None:
    assert parameters(_TSQL_CALLEE) == ("@account_no", "@charge", "@memo")
    assert parameters(
        "CREATE FUNCTION cash.fn_rate(@tier INT, @day DATE) RETURNS MONEY AS BEGIN RETURN 1 END"
    ) == (
        "@tier",
        "@day",
    )
    assert parameters("CREATE PROC cash.usp_nothing AS SELECT 1") == ()


@pytest.mark.parametrize(
    "call",
    [
        "EXEC cash.usp_book_charge @charge = @amt, @account_no = @acc;",
        "EXECUTE cash.usp_book_charge @account_no = @acc, @charge = @amt",
        "EXEC cash.usp_book_charge @acc, @amt;",
        "EXEC cash.usp_book_charge @acc, @charge = @amt, @memo = @amt OUTPUT;",
        "EXEC usp_book_charge @acc, @amt;",  # the caller's schema
    ],
)
def test_tsql_exec_arguments_bind_by_name_and_by_position(call: str) -> None:
    res = extract(_caller(call), "tsql")
    assert journal(res) == {
        "cash.chargejournal.accountno": {"cash.memberships.accountno"},
        "cash.chargejournal.chargeamount": {"cash.memberships.servicecharge"},
    }
    no_placeholders(res)


def test_tsql_exec_with_a_return_status_and_a_constant_argument() -> None:
    res = extract(_caller("DECLARE @rc INT;\n  EXEC @rc = cash.usp_book_charge @acc, 5;"), "tsql")
    # the constant 5 carries no column; the status variable is no argument
    assert journal(res) == {
        "cash.chargejournal.accountno": {"cash.memberships.accountno"},
        "cash.chargejournal.chargeamount": set(),
    }
    call = next(s for s in res.statements if s.type == "call")
    assert call.calls == ("cash.usp_book_charge",)
    no_placeholders(res)


def test_tsql_named_argument_of_no_parameter_binds_nothing() -> None:
    res = extract(_caller("EXEC cash.usp_book_charge @acc, @no_such_param = @amt;"), "tsql")
    assert journal(res) == {
        "cash.chargejournal.accountno": {"cash.memberships.accountno"},
        "cash.chargejournal.chargeamount": set(),
    }
    no_placeholders(res)


def test_tsql_parameter_in_a_callee_filter_is_an_indirect_source_from_the_caller() -> None:
    res = extract(
        """CREATE PROCEDURE cash.usp_freeze @acct INT AS
  UPDATE cash.Accounts SET Frozen = 1 WHERE AccountNo = @acct;
GO
CREATE PROCEDURE cash.usp_sweep AS
  DECLARE @victim INT;
  SELECT @victim = f.AccountNo FROM cash.FraudAlerts f;
  EXEC cash.usp_freeze @acct = @victim;
GO
""",
        "tsql",
    )
    upd = next(s for s in res.statements if s.type == "update")
    assert indirect(upd)["cash.accounts.frozen"] >= {"cash.fraudalerts.accountno"}
    assert "cash.fraudalerts" in upd.source_tables
    no_placeholders(res)


def test_postgres_call_and_perform_with_named_notation() -> None:
    res = extract(
        """CREATE PROCEDURE ledger.book_fee(p_acct bigint, p_amount numeric) LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO ledger.fee_entries (acct_id, amount) VALUES (p_acct, p_amount);
END $$;
CREATE FUNCTION ledger.note_fee(n_acct bigint, n_amount numeric) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO ledger.fee_notes (acct_id, amount) VALUES (n_acct, n_amount);
END $$;
CREATE PROCEDURE ledger.charge_all() LANGUAGE plpgsql AS $$
DECLARE r record;
BEGIN
  FOR r IN SELECT t.acct_id, t.tariff FROM ledger.tariffs t LOOP
    CALL ledger.book_fee(p_amount => r.tariff, p_acct => r.acct_id);
    PERFORM ledger.note_fee(r.acct_id, n_amount := r.tariff);
  END LOOP;
END $$;""",
        "postgres",
    )
    fees = next(s for s in res.statements if s.target_tables == ("ledger.fee_entries",))
    notes = next(s for s in res.statements if s.target_tables == ("ledger.fee_notes",))
    expected = {"acct_id": {"ledger.tariffs.acct_id"}, "amount": {"ledger.tariffs.tariff"}}
    assert direct(fees) == {f"ledger.fee_entries.{k}": v for k, v in expected.items()}
    assert direct(notes) == {f"ledger.fee_notes.{k}": v for k, v in expected.items()}
    no_placeholders(res)


def test_oracle_package_member_called_with_named_and_mixed_notation() -> None:
    res = extract(
        """CREATE OR REPLACE PACKAGE BODY loans.accrual AS
  PROCEDURE post(p_loan NUMBER, p_interest NUMBER, p_note VARCHAR2 DEFAULT NULL) IS
  BEGIN
    INSERT INTO loans.accrual_entries (loan_id, interest) VALUES (p_loan, p_interest);
  END post;
  PROCEDURE run_daily IS
    v_int NUMBER;
  BEGIN
    FOR l IN (SELECT x.loan_id, x.principal FROM loans.book x) LOOP
      SELECT r.daily_rate * l.principal INTO v_int FROM loans.rates r;
      post(l.loan_id, p_note => 'daily', p_interest => v_int);
    END LOOP;
  END run_daily;
END accrual;
/""",
        "oracle",
    )
    ins = next(s for s in res.statements if s.target_tables == ("loans.accrual_entries",))
    assert direct(ins) == {
        "loans.accrual_entries.loan_id": {"loans.book.loan_id"},
        "loans.accrual_entries.interest": {"loans.rates.daily_rate", "loans.book.principal"},
    }
    no_placeholders(res)

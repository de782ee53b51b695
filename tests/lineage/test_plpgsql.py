"""PostgreSQL routines: LANGUAGE sql bodies, RETURNS TABLE, RETURN QUERY / NEXT, ON CONFLICT, DO."""

from __future__ import annotations

from finlineage.lineage import extract

from .helpers import direct, rollup_direct

_SQL_FUNCTIONS = """CREATE OR REPLACE FUNCTION finance.account_totals(p_day date)
RETURNS TABLE (account_id bigint, total_amount numeric)
LANGUAGE sql
AS $$
  SELECT l.account_id, SUM(l.amount) FROM ledger.postings l WHERE l.posted_on = p_day GROUP BY l.account_id
$$;
CREATE FUNCTION finance.branch_totals(p_day date)
RETURNS TABLE (branch_id int, total numeric)
LANGUAGE sql
BEGIN ATOMIC
  SELECT b.branch_id, SUM(b.amount) FROM ledger.branch_postings b WHERE b.posted_on = p_day GROUP BY b.branch_id;
END;
CREATE FUNCTION finance.balance_of(p_acc bigint) RETURNS numeric
LANGUAGE sql
BEGIN ATOMIC
  SELECT b.balance FROM ledger.balances b WHERE b.account_id = p_acc;
END;
"""


def test_language_sql_returns_table_dollar_quoted_and_begin_atomic() -> None:
    res = extract(_SQL_FUNCTIONS, "postgres")
    objects = {o.name: o for o in res.objects}
    assert [c.name for c in objects["finance.account_totals"].columns] == ["account_id", "total_amount"]
    assert [c.name for c in objects["finance.branch_totals"].columns] == ["branch_id", "total"]
    first, second, third = res.statements
    assert (first.type, first.process, first.line_start) == ("return_query", "finance.account_totals", 5)
    assert direct(first) == {
        "finance.account_totals.account_id": {"ledger.postings.account_id"},
        "finance.account_totals.total_amount": {"ledger.postings.amount"},
    }
    assert second.type == "return_query" and second.line_start == 11
    assert direct(second)["finance.branch_totals.total"] == {"ledger.branch_postings.amount"}
    # a scalar function returns no table: its query is a plain read, the parameter no column
    assert third.type == "select" and third.target_tables == ()
    assert third.source_tables == ("ledger.balances",)
    assert all("p_acc" not in s for e in third.column_edges for s in e.sources)


def test_return_query_and_return_next_in_plpgsql() -> None:
    res = extract(
        """CREATE FUNCTION lending.open_loans(p_branch int)
RETURNS TABLE (loan_id bigint, outstanding numeric)
LANGUAGE plpgsql AS $$
DECLARE r record;
BEGIN
  RETURN QUERY SELECT l.id, l.principal - l.repaid FROM lending.loans l WHERE l.branch_id = p_branch;
  FOR r IN SELECT w.id, w.amount FROM lending.writeoffs w LOOP
    RETURN NEXT;
  END LOOP;
END $$;""",
        "postgres",
    )
    assert rollup_direct(res) == {
        "lending.open_loans.loan_id": {"lending.loans.id"},
        "lending.open_loans.outstanding": {"lending.loans.principal", "lending.loans.repaid"},
    }
    loop_query = res.statements[1]
    assert loop_query.source_tables == ("lending.writeoffs",) and loop_query.line_start == 7


def test_on_conflict_do_update_excluded_is_the_inserted_source_column() -> None:
    res = extract(
        """CREATE FUNCTION ledger.upsert_balance(p_acc bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO ledger.balances (account_id, balance, updated_at)
  SELECT s.account_id, s.amount, s.loaded_at FROM staging.balance_feed s WHERE s.account_id = p_acc
  ON CONFLICT (account_id) DO UPDATE
    SET balance = ledger.balances.balance + EXCLUDED.balance, updated_at = EXCLUDED.updated_at;
END $$;""",
        "postgres",
    )
    (ins,) = res.statements
    assert ins.target_tables == ("ledger.balances",)
    got = direct(ins)
    assert got["ledger.balances.balance"] == {"staging.balance_feed.amount", "ledger.balances.balance"}
    assert got["ledger.balances.updated_at"] == {"staging.balance_feed.loaded_at"}
    names = {s for e in ins.column_edges for s in (e.target, *e.sources)}
    assert not any("excluded" in n for n in names)


def test_do_block_variables_carry_lineage() -> None:
    res = extract(
        """DO $$
DECLARE v_total numeric;
BEGIN
  SELECT SUM(p.amount) INTO v_total FROM ledger.postings p;
  UPDATE finance.daily_summary SET total = v_total;
END $$;""",
        "postgres",
    )
    upd = res.statements[-1]
    assert upd.process == "anonymous block"
    assert direct(upd) == {"finance.daily_summary.total": {"ledger.postings.amount"}}


def test_search_path_single_schema_qualifies_later_names() -> None:
    for spelling in (
        "SET search_path TO core;",
        "SET search_path = core;",
        "SET search_path TO core, public;",
    ):
        res = extract(spelling + "\nINSERT INTO summary (n) SELECT t.amount FROM txn t;", "postgres")
        assert res.statements[-1].target_tables == ("core.summary",), spelling
        assert res.statements[-1].source_tables == ("core.txn",), spelling


def test_setof_a_table_type_returns_rows_setof_record_does_not() -> None:
    res = extract(
        """CREATE FUNCTION ledger.big_moves() RETURNS SETOF ledger.moves LANGUAGE plpgsql AS $$
BEGIN
  RETURN QUERY SELECT m.id, m.amount FROM ledger.moves m WHERE m.amount > 1000;
END $$;
CREATE FUNCTION ledger.pairs() RETURNS SETOF record LANGUAGE plpgsql AS $$
BEGIN
  RETURN QUERY SELECT p.a, p.b FROM ledger.pairs_src p;
END $$;""",
        "postgres",
    )
    objects = {o.name: o for o in res.objects}
    assert [c.name for c in objects["ledger.big_moves"].columns] == ["id", "amount"]
    assert objects["ledger.pairs"].columns == ()  # the caller names a record's columns
    first, second = res.statements
    assert first.type == "return_query" and first.target_tables == ("ledger.big_moves",)
    assert direct(first) == {
        "ledger.big_moves.id": {"ledger.moves.id"},
        "ledger.big_moves.amount": {"ledger.moves.amount"},
    }
    assert second.type == "select" and second.target_tables == ()


def test_perform_of_a_builtin_keeps_the_tables_its_arguments_read() -> None:
    res = extract(
        """CREATE FUNCTION ops.reset_seq() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM setval('ops.job_seq', (SELECT MAX(j.job_id) FROM ops.jobs j));
  PERFORM ops.notify((SELECT MAX(q.id) FROM ops.queue q));
END $$;""",
        "postgres",
    )
    rows = [(s.type, s.line_start, s.source_tables, s.target_tables, s.calls) for s in res.statements]
    assert rows == [
        ("select", 3, ("ops.jobs",), (), ()),  # setval is the database's: no call, no target
        ("call", 4, (), (), ("ops.notify",)),
        ("select", 4, ("ops.queue",), (), ()),
    ]
    assert not any(e.kind == "direct" for s in res.statements for e in s.column_edges)

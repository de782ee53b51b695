"""What a variable may hold after conditional code: when every way through an IF/ELSE, a CASE
statement or a block with exception handlers assigns it, what it held before is gone; a way
that does not assign it keeps the old value; a loop body may not run, so it never removes it."""

from __future__ import annotations

import pytest

from finlineage.lineage import LineageResult, extract

from .helpers import direct


def last_update(res: LineageResult) -> dict[str, set[str]]:
    return direct([s for s in res.statements if s.type == "update"][-1])


def pg(body: str) -> LineageResult:
    return extract(
        """CREATE FUNCTION fees.reprice(p_id bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE v_rate numeric;
BEGIN
  SELECT d.default_rate INTO v_rate FROM fees.defaults d;
"""
        + body
        + """
  UPDATE fees.contracts SET rate = v_rate WHERE id = p_id;
END $$;""",
        "postgres",
    )


RATE = "fees.contracts.rate"


def test_if_else_assigning_in_every_branch_replaces_the_earlier_value() -> None:
    res = pg(
        """  IF p_id > 10 THEN
    SELECT g.gold_rate INTO v_rate FROM fees.grid g;
  ELSIF p_id > 5 THEN
    v_rate := (SELECT g.silver_rate FROM fees.grid g);
  ELSE
    SELECT g.plain_rate INTO v_rate FROM fees.grid g;
  END IF;"""
    )
    assert last_update(res) == {
        RATE: {"fees.grid.gold_rate", "fees.grid.silver_rate", "fees.grid.plain_rate"}
    }


@pytest.mark.parametrize(
    "body",
    [
        # no ELSE: when no condition holds the old value stays
        """  IF p_id > 10 THEN
    SELECT g.gold_rate INTO v_rate FROM fees.grid g;
  ELSIF p_id > 5 THEN
    SELECT g.plain_rate INTO v_rate FROM fees.grid g;
  END IF;""",
        # one branch does not assign
        """  IF p_id > 10 THEN
    SELECT g.gold_rate INTO v_rate FROM fees.grid g;
  ELSIF p_id > 5 THEN
    RAISE NOTICE 'kept';
  ELSE
    SELECT g.plain_rate INTO v_rate FROM fees.grid g;
  END IF;""",
        # a branch assigns only in a nested IF without ELSE
        """  IF p_id > 10 THEN
    SELECT g.gold_rate INTO v_rate FROM fees.grid g;
  ELSE
    IF p_id > 5 THEN
      SELECT g.plain_rate INTO v_rate FROM fees.grid g;
    END IF;
  END IF;""",
    ],
)
def test_a_way_through_that_does_not_assign_keeps_the_earlier_value(body: str) -> None:
    assert last_update(pg(body)) == {
        RATE: {"fees.defaults.default_rate", "fees.grid.gold_rate", "fees.grid.plain_rate"}
    }


def test_nested_if_else_that_assigns_everywhere_counts_as_an_assignment_of_its_branch() -> None:
    res = pg(
        """  IF p_id > 10 THEN
    SELECT g.gold_rate INTO v_rate FROM fees.grid g;
  ELSE
    IF p_id > 5 THEN
      SELECT g.silver_rate INTO v_rate FROM fees.grid g;
    ELSE
      SELECT g.plain_rate INTO v_rate FROM fees.grid g;
    END IF;
  END IF;"""
    )
    assert last_update(res) == {
        RATE: {"fees.grid.gold_rate", "fees.grid.silver_rate", "fees.grid.plain_rate"}
    }


def test_loops_never_remove_the_earlier_value() -> None:
    res = pg(
        """  WHILE p_id > 0 LOOP
    IF p_id > 5 THEN
      SELECT g.gold_rate INTO v_rate FROM fees.grid g;
    ELSE
      SELECT g.plain_rate INTO v_rate FROM fees.grid g;
    END IF;
  END LOOP;"""
    )
    assert last_update(res) == {
        RATE: {"fees.defaults.default_rate", "fees.grid.gold_rate", "fees.grid.plain_rate"}
    }


def test_a_statement_after_the_assignment_in_its_branch_reads_only_the_new_value() -> None:
    res = pg(
        """  IF p_id > 10 THEN
    SELECT g.gold_rate INTO v_rate FROM fees.grid g;
    UPDATE fees.contracts SET premium_rate = v_rate WHERE id = p_id;
  END IF;"""
    )
    premium = next(s for s in res.statements if s.type == "update")
    assert direct(premium) == {"fees.contracts.premium_rate": {"fees.grid.gold_rate"}}
    assert last_update(res) == {RATE: {"fees.defaults.default_rate", "fees.grid.gold_rate"}}


def test_tsql_if_else_single_statements_and_blocks() -> None:
    res = extract(
        """CREATE PROCEDURE fx.usp_mark @book INT AS
BEGIN
  DECLARE @px DECIMAL(18, 6);
  SELECT @px = q.LastPx FROM fx.Quotes q;
  IF @book > 0
    SELECT @px = q.BidPx FROM fx.Quotes q
  ELSE
  BEGIN
    SET @px = (SELECT q.AskPx FROM fx.Quotes q);
  END
  UPDATE fx.Books SET MarkPx = @px WHERE BookId = @book;
END
GO""",
        "tsql",
    )
    assert last_update(res) == {"fx.books.markpx": {"fx.quotes.bidpx", "fx.quotes.askpx"}}


def test_tsql_try_and_catch_both_assigning_replace_the_earlier_value() -> None:
    sql = """CREATE PROCEDURE fx.usp_mark2 @book INT AS
BEGIN
  DECLARE @px DECIMAL(18, 6);
  SELECT @px = q.LastPx FROM fx.Quotes q;
  BEGIN TRY
    SELECT @px = q.BidPx FROM fx.Quotes q;
  END TRY
  BEGIN CATCH
    {catch}
  END CATCH
  UPDATE fx.Books SET MarkPx = @px WHERE BookId = @book;
END
GO"""
    both = extract(sql.replace("{catch}", "SET @px = (SELECT f.FallbackPx FROM fx.Fallbacks f);"), "tsql")
    assert last_update(both) == {"fx.books.markpx": {"fx.quotes.bidpx", "fx.fallbacks.fallbackpx"}}
    # the TRY may fail before its assignment and the CATCH does not assign: the old value stays
    only_try = extract(sql.replace("{catch}", "PRINT 'failed';"), "tsql")
    assert last_update(only_try) == {"fx.books.markpx": {"fx.quotes.bidpx", "fx.quotes.lastpx"}}


def test_oracle_block_body_and_every_handler_assigning_replace_the_earlier_value() -> None:
    sql = """CREATE OR REPLACE PROCEDURE fx.mark(p_book NUMBER) IS
  v_px NUMBER;
BEGIN
  SELECT q.last_px INTO v_px FROM fx.quotes q;
  BEGIN
    SELECT q.bid_px INTO v_px FROM fx.quotes q WHERE q.book = p_book;
  EXCEPTION
    WHEN NO_DATA_FOUND THEN
      SELECT f.fallback_px INTO v_px FROM fx.fallbacks f;
    WHEN OTHERS THEN
      {other}
  END;
  UPDATE fx.books SET mark_px = v_px WHERE book_id = p_book;
END;
/"""
    every = extract(sql.replace("{other}", "v_px := (SELECT m.manual_px FROM fx.manual m);"), "oracle")
    assert last_update(every) == {
        "fx.books.mark_px": {"fx.quotes.bid_px", "fx.fallbacks.fallback_px", "fx.manual.manual_px"}
    }
    one_keeps = extract(sql.replace("{other}", "NULL;"), "oracle")
    assert last_update(one_keeps) == {
        "fx.books.mark_px": {"fx.quotes.bid_px", "fx.fallbacks.fallback_px", "fx.quotes.last_px"}
    }


def test_oracle_case_statement_with_and_without_else() -> None:
    sql = """CREATE OR REPLACE PROCEDURE fx.pick(p_kind VARCHAR2) IS
  v_px NUMBER;
BEGIN
  SELECT q.last_px INTO v_px FROM fx.quotes q;
  CASE p_kind
    WHEN 'B' THEN SELECT q.bid_px INTO v_px FROM fx.quotes q;
    WHEN 'A' THEN SELECT q.ask_px INTO v_px FROM fx.quotes q;
    {else}
  END CASE;
  UPDATE fx.books SET mark_px = v_px;
END;
/"""
    with_else = extract(
        sql.replace("{else}", "ELSE v_px := (SELECT m.manual_px FROM fx.manual m);"), "oracle"
    )
    assert last_update(with_else) == {
        "fx.books.mark_px": {"fx.quotes.bid_px", "fx.quotes.ask_px", "fx.manual.manual_px"}
    }
    # PL/SQL raises CASE_NOT_FOUND when no WHEN matches and there is no ELSE: one branch ran
    without = extract(sql.replace("{else}", ""), "oracle")
    assert last_update(without) == {"fx.books.mark_px": {"fx.quotes.bid_px", "fx.quotes.ask_px"}}


def test_bigquery_case_statement_without_else_keeps_the_earlier_value() -> None:
    res = extract(
        """DECLARE v_px NUMERIC DEFAULT (SELECT MAX(q.last_px) FROM `fx.quotes` q);
DECLARE v_kind STRING DEFAULT 'B';
CASE v_kind
  WHEN 'B' THEN SET v_px = (SELECT MAX(q.bid_px) FROM `fx.quotes` q);
  WHEN 'A' THEN SET v_px = (SELECT MAX(q.ask_px) FROM `fx.quotes` q);
END CASE;
UPDATE `fx.books` SET mark_px = v_px WHERE TRUE;""",
        "bigquery",
    )
    assert last_update(res) == {
        "fx.books.mark_px": {"fx.quotes.bid_px", "fx.quotes.ask_px", "fx.quotes.last_px"}
    }


def test_an_arm_that_raises_or_returns_needs_not_assign() -> None:
    sql = """CREATE OR REPLACE PROCEDURE fx.mark3(p_book NUMBER) IS
  v_px NUMBER;
BEGIN
  SELECT q.last_px INTO v_px FROM fx.quotes q;
  BEGIN
    SELECT q.bid_px INTO v_px FROM fx.quotes q WHERE q.book = p_book;
  EXCEPTION
    WHEN NO_DATA_FOUND THEN
      {handler}
  END;
  UPDATE fx.books SET mark_px = v_px WHERE book_id = p_book;
END;
/"""
    reraised = extract(sql.replace("{handler}", "ROLLBACK;\n      RAISE;"), "oracle")
    assert last_update(reraised) == {"fx.books.mark_px": {"fx.quotes.bid_px"}}
    app_error = extract(sql.replace("{handler}", "raise_application_error(-20001, 'no bid');"), "oracle")
    assert last_update(app_error) == {"fx.books.mark_px": {"fx.quotes.bid_px"}}
    logged = extract(sql.replace("{handler}", "DBMS_OUTPUT.PUT_LINE('no bid');"), "oracle")
    assert last_update(logged) == {"fx.books.mark_px": {"fx.quotes.bid_px", "fx.quotes.last_px"}}
    tsql = extract(
        """CREATE PROCEDURE fx.usp_mark4 @book INT AS
BEGIN
  DECLARE @px DECIMAL(18, 6);
  SELECT @px = q.LastPx FROM fx.Quotes q;
  IF @book IS NULL
    RETURN
  ELSE
    SELECT @px = q.BidPx FROM fx.Quotes q;
  BEGIN TRY
    SELECT @px = q.AskPx FROM fx.Quotes q WHERE q.Book = @book;
  END TRY
  BEGIN CATCH
    THROW;
  END CATCH
  UPDATE fx.Books SET MarkPx = @px WHERE BookId = @book;
END
GO""",
        "tsql",
    )
    assert last_update(tsql) == {"fx.books.markpx": {"fx.quotes.askpx"}}
    # RAISE NOTICE reports and goes on: the arm falls through without assigning
    notice = pg(
        """  IF p_id > 10 THEN
    SELECT g.gold_rate INTO v_rate FROM fees.grid g;
  ELSE
    RAISE NOTICE 'no tier';
  END IF;"""
    )
    assert last_update(notice) == {RATE: {"fees.defaults.default_rate", "fees.grid.gold_rate"}}
    raised = pg(
        """  IF p_id > 10 THEN
    SELECT g.gold_rate INTO v_rate FROM fees.grid g;
  ELSE
    RAISE EXCEPTION 'no tier for %', p_id;
  END IF;"""
    )
    assert last_update(raised) == {RATE: {"fees.grid.gold_rate"}}

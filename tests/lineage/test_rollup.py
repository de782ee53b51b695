"""Script-level rollup: temporary and intermediate tables collapsed, renames followed."""

from __future__ import annotations

from finlineage.lineage import extract
from finlineage.lineage.rollup import table_flows

from .helpers import rollup_direct


def test_tsql_temp_table_collapsed() -> None:
    res = extract(
        """SELECT t.trade_id, t.qty * p.px AS mv INTO #mv FROM trades t JOIN prices p ON p.sym = t.sym;
        INSERT INTO risk.mv_by_trade (trade_id, mv) SELECT trade_id, mv FROM #mv;""",
        "tsql",
    )
    assert res.statements[0].temporary_tables == ("#mv",)
    assert set(res.rollup.source_tables) == {"trades", "prices"}
    assert res.rollup.target_tables == ("risk.mv_by_trade",)
    assert rollup_direct(res) == {
        "risk.mv_by_trade.trade_id": {"trades.trade_id"},
        "risk.mv_by_trade.mv": {"trades.qty", "prices.px"},
    }


def test_create_temp_table_collapsed() -> None:
    res = extract(
        """CREATE TEMP TABLE fx AS SELECT ccy, rate FROM fx_rates WHERE dt = current_date;
        INSERT INTO pnl_usd SELECT p.desk, p.pnl * fx.rate AS pnl_usd FROM pnl p JOIN fx ON fx.ccy = p.ccy;""",
        "postgres",
    )
    assert "fx" not in res.rollup.source_tables + res.rollup.target_tables
    assert rollup_direct(res)["pnl_usd.pnl_usd"] == {"pnl.pnl", "fx_rates.rate"}


def test_table_variable_collapsed() -> None:
    res = extract(
        """DECLARE @b TABLE (acct INT, bal MONEY);
        INSERT INTO @b SELECT account_id, balance FROM accounts;
        INSERT INTO snapshots (acct, bal) SELECT acct, bal FROM @b;""",
        "tsql",
    )
    assert rollup_direct(res) == {
        "snapshots.acct": {"accounts.account_id"},
        "snapshots.bal": {"accounts.balance"},
    }
    assert res.objects[0].name == "@b" and res.objects[0].is_temporary


def test_permanent_table_written_then_read_is_kept() -> None:
    # stage.fills is a real object other files read: only temporary tables are collapsed
    res = extract(
        """INSERT INTO stage.fills SELECT id, qty FROM raw.fills;
        INSERT INTO mart.fills SELECT id, qty * 2 AS qty2 FROM stage.fills;""",
        "",
    )
    assert res.rollup.source_tables == ("raw.fills", "stage.fills")
    assert res.rollup.target_tables == ("stage.fills", "mart.fills")
    assert rollup_direct(res) == {
        "stage.fills.id": {"raw.fills.id"},
        "stage.fills.qty": {"raw.fills.qty"},
        "mart.fills.id": {"stage.fills.id"},
        "mart.fills.qty2": {"stage.fills.qty"},
    }


def test_star_through_temp_table() -> None:
    res = extract(
        "SELECT * INTO #x FROM positions; INSERT INTO archive (acct) SELECT acct FROM #x;",
        "tsql",
    )
    assert rollup_direct(res) == {"archive.acct": {"positions.acct"}}


def test_rename_after_load_targets_final_name() -> None:
    res = extract(
        "INSERT INTO trades_new SELECT * FROM trades_stage; ALTER TABLE trades_new RENAME TO trades;",
        "",
    )
    assert res.rollup.target_tables == ("trades",)
    assert res.rollup.source_tables == ("trades_stage",)


def test_routine_body_is_one_process_unit() -> None:
    res = extract(
        "CREATE PROCEDURE load_risk() AS BEGIN "
        "INSERT INTO stage_pos (acct) SELECT acct FROM positions; "
        "INSERT INTO risk_out (acct) SELECT acct FROM stage_pos; END",
        "tsql",
    )
    assert all(s.process == "load_risk" for s in res.statements if s.target_tables)
    # the procedure reads and writes stage_pos itself: it is an input and an output of the process
    assert set(res.rollup.source_tables) == {"positions", "stage_pos"}
    assert set(res.rollup.target_tables) == {"stage_pos", "risk_out"}


def test_vertica_partition_meta_function_moves_data() -> None:
    res = extract(
        "SELECT SWAP_PARTITIONS_BETWEEN_TABLES('stage.fills', '2024-01', '2024-02', 'mart.fills')", ""
    )
    st = res.statements[0]
    assert st.type == "partition_move"
    assert st.source_tables == ("stage.fills",)
    assert st.target_tables == ("mart.fills",)


def _rollup_by_kind(
    sql: str, dialect: str
) -> tuple[dict[str, set[str]], dict[str, set[str]], dict[str, str]]:
    res = extract(sql, dialect)
    direct_: dict[str, set[str]] = {}
    indirect_: dict[str, set[str]] = {}
    exprs: dict[str, str] = {}
    for e in res.rollup.column_edges:
        (direct_ if e.kind == "direct" else indirect_).setdefault(e.target, set()).update(e.sources)
        if e.kind == "direct":  # alternatives are separate edges
            exprs[e.target] = " | ".join(x for x in (exprs.get(e.target), e.expression) if x)
    return direct_, indirect_, exprs


_UNIFIED_PROC = """CREATE PROCEDURE stg.load_fills @as_of DATE AS
BEGIN
  CREATE TABLE #all_fills (fill_id INT, side_sign INT, quantity DECIMAL(18,4), price DECIMAL(18,6), fx_rate FLOAT);
  INSERT INTO #all_fills (fill_id, side_sign, quantity, price, fx_rate)
  SELECT e.fill_id, e.side_sign, e.qty, e.px, e.fx FROM raw.equity_fills e WHERE e.trade_date = @as_of
  UNION ALL
  SELECT f.fill_id, f.direction, f.contracts * f.multiplier, f.settle_px, f.fx FROM raw.future_fills f
  WHERE f.trade_date = @as_of;
  MERGE INTO stg.fills AS t USING #all_fills AS s ON t.fill_id = s.fill_id
  WHEN MATCHED THEN UPDATE SET notional_local = s.side_sign * s.quantity * s.price,
                               notional_base = s.side_sign * s.quantity * s.price * s.fx_rate
  WHEN NOT MATCHED THEN INSERT (fill_id, notional_local)
       VALUES (s.fill_id, s.side_sign * s.quantity * s.price);
  DROP TABLE #all_fills;
END"""


def test_tsql_procedure_temp_union_then_merge_keeps_sources() -> None:
    direct_, indirect_, exprs = _rollup_by_kind(_UNIFIED_PROC, "tsql")
    res = extract(_UNIFIED_PROC, "tsql")
    assert set(res.rollup.source_tables) == {"raw.equity_fills", "raw.future_fills"}
    assert res.rollup.target_tables == ("stg.fills",)
    assert direct_["stg.fills.notional_local"] == {
        "raw.equity_fills.side_sign",
        "raw.equity_fills.qty",
        "raw.equity_fills.px",
        "raw.future_fills.direction",
        "raw.future_fills.contracts",
        "raw.future_fills.multiplier",
        "raw.future_fills.settle_px",
    }
    assert direct_["stg.fills.notional_base"] >= {"raw.equity_fills.fx", "raw.future_fills.fx"}
    assert direct_["stg.fills.fill_id"] == {"raw.equity_fills.fill_id", "raw.future_fills.fill_id"}
    # the filters that shaped #all_fills, and the MERGE join, are indirect sources
    assert {"raw.equity_fills.trade_date", "raw.future_fills.trade_date"} <= indirect_[
        "stg.fills.notional_local"
    ]
    assert "stg.fills.fill_id" in indirect_["stg.fills.notional_local"]
    # no temporary column leaks into the script lineage
    assert not any(s.startswith("#") for srcs in (*direct_.values(), *indirect_.values()) for s in srcs)
    # combined expression: both branches, each with the temp hop spelled out
    expr = exprs["stg.fills.notional_local"]
    assert "WHEN MATCHED UPDATE" in expr and "WHEN NOT MATCHED INSERT" in expr
    assert "#all_fills.quantity = " in expr


def test_select_into_temp_then_update_target_from_it() -> None:
    direct_, indirect_, _ = _rollup_by_kind(
        """SELECT acct_id, SUM(amount) AS accrued INTO #accr FROM gl.accruals WHERE status = 'OPEN' GROUP BY acct_id;
        UPDATE b SET b.accrued_interest = a.accrued FROM gl.balances b JOIN #accr a ON a.acct_id = b.acct_id;""",
        "tsql",
    )
    assert direct_["gl.balances.accrued_interest"] == {"gl.accruals.amount"}
    assert {"gl.accruals.status", "gl.accruals.acct_id"} <= indirect_["gl.balances.accrued_interest"]


def test_table_variable_through_insert_and_merge() -> None:
    direct_, _, _ = _rollup_by_kind(
        """DECLARE @px TABLE (isin CHAR(12), close_px DECIMAL(18,6));
        INSERT INTO @px (isin, close_px) SELECT isin, px_last FROM mkt.eod_prices;
        MERGE INTO ref.last_price AS t USING @px AS s ON t.isin = s.isin
        WHEN MATCHED THEN UPDATE SET t.price = s.close_px
        WHEN NOT MATCHED THEN INSERT (isin, price) VALUES (s.isin, s.close_px);""",
        "tsql",
    )
    assert direct_ == {
        "ref.last_price.price": {"mkt.eod_prices.px_last"},
        "ref.last_price.isin": {"mkt.eod_prices.isin"},
    }


def test_postgres_create_temp_table_then_insert_chain() -> None:
    direct_, _, exprs = _rollup_by_kind(
        """CREATE TEMP TABLE fx_today (ccy text, rate numeric);
        INSERT INTO fx_today SELECT ccy, mid_rate FROM md.fx_rates WHERE as_of = current_date;
        INSERT INTO rpt.pnl_usd (desk, pnl_usd)
        SELECT p.desk, p.pnl_local * f.rate FROM rpt.pnl p JOIN fx_today f ON f.ccy = p.ccy;""",
        "postgres",
    )
    assert direct_["rpt.pnl_usd.pnl_usd"] == {"rpt.pnl.pnl_local", "md.fx_rates.mid_rate"}
    assert "fx_today.rate = mid_rate" in exprs["rpt.pnl_usd.pnl_usd"]


def test_two_temp_hops_chain() -> None:
    direct_, _, _ = _rollup_by_kind(
        """SELECT loan_id, principal * rate AS interest INTO #i FROM lending.loans;
        SELECT loan_id, interest * 0.3 AS tax INTO #t FROM #i;
        INSERT INTO lending.tax_accrual (loan_id, tax) SELECT loan_id, tax FROM #t;""",
        "tsql",
    )
    assert direct_ == {
        "lending.tax_accrual.loan_id": {"lending.loans.loan_id"},
        "lending.tax_accrual.tax": {"lending.loans.principal", "lending.loans.rate"},
    }


def test_recreated_temp_table_starts_afresh() -> None:
    direct_, _, _ = _rollup_by_kind(
        """CREATE TABLE #x (amt MONEY);
        INSERT INTO #x SELECT fee FROM fees.card;
        INSERT INTO rpt.card_fees (amt) SELECT amt FROM #x;
        DROP TABLE #x;
        CREATE TABLE #x (amt MONEY);
        INSERT INTO #x SELECT fee FROM fees.wire;
        INSERT INTO rpt.wire_fees (amt) SELECT amt FROM #x;""",
        "tsql",
    )
    assert direct_ == {"rpt.card_fees.amt": {"fees.card.fee"}, "rpt.wire_fees.amt": {"fees.wire.fee"}}


def test_permanent_table_in_a_procedure_is_kept_but_temp_collapsed() -> None:
    res = extract(
        """CREATE PROCEDURE risk.refresh_var AS
        BEGIN
          SELECT book, pnl INTO #p FROM risk.pnl_vectors;
          INSERT INTO risk.var_input (book, pnl) SELECT book, pnl FROM #p;
          INSERT INTO risk.var_result (book, var99) SELECT book, pnl * 2.33 FROM risk.var_input;
        END""",
        "tsql",
    )
    assert set(res.rollup.source_tables) == {"risk.pnl_vectors", "risk.var_input"}
    assert set(res.rollup.target_tables) == {"risk.var_input", "risk.var_result"}
    d = rollup_direct(res)
    assert d["risk.var_input.pnl"] == {"risk.pnl_vectors.pnl"}
    assert d["risk.var_result.var99"] == {"risk.var_input.pnl"}


def test_table_flows_collapse_temporary_tables_with_the_moving_statement() -> None:
    res = extract(
        """SELECT a.id, a.balance INTO #acc FROM core.accounts a;
INSERT INTO #acc (id, balance) SELECT l.id, l.amount FROM core.loans l;
INSERT INTO rpt.exposure (id, total) SELECT x.id, x.balance FROM #acc x JOIN ref.limits m ON m.id = x.id;
DROP TABLE #acc;
SELECT c.id, c.balance INTO #acc FROM core.cards c;
INSERT INTO rpt.cards (id, total) SELECT id, balance FROM #acc;""",
        "tsql",
    )
    flows = table_flows(res.statements)
    assert sorted(flows) == [
        ("core.accounts", "rpt.exposure", 2),
        ("core.cards", "rpt.cards", 5),
        ("core.loans", "rpt.exposure", 2),
        ("ref.limits", "rpt.exposure", 2),
    ]


def test_a_routines_temporary_table_is_its_own() -> None:
    """Two procedures of one file fill a temporary table of the same name: neither's rows flow
    into the other's target, at table and at column level."""
    res = extract(
        """CREATE PROCEDURE treasury.load_cash AS
BEGIN
  SELECT acct, amount INTO #stage FROM core.cash_moves;
  INSERT INTO treasury.cash_pos (acct, amount) SELECT acct, amount FROM #stage;
END
GO
CREATE PROCEDURE treasury.load_repo AS
BEGIN
  CREATE TABLE #stage (acct INT, amount DECIMAL(18,2));
  INSERT INTO #stage (acct, amount) SELECT acct, notional FROM core.repo_trades;
  INSERT INTO treasury.repo_pos (acct, amount) SELECT acct, amount FROM #stage;
END
GO
CREATE PROCEDURE treasury.load_fees AS
BEGIN
  INSERT INTO #stage (acct, amount) SELECT acct, fee FROM core.fees;
  INSERT INTO treasury.fee_pos (acct, amount) SELECT acct, amount FROM #stage;
END
GO""",
        "tsql",
    )
    assert {(s, t) for s, t, _ in table_flows(res.statements)} == {
        ("core.cash_moves", "treasury.cash_pos"),
        ("core.repo_trades", "treasury.repo_pos"),
        ("core.fees", "treasury.fee_pos"),
    }
    d = rollup_direct(res)
    assert d["treasury.repo_pos.amount"] == {"core.repo_trades.notional"}
    assert d["treasury.fee_pos.amount"] == {"core.fees.fee"}

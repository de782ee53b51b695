"""Script-level rollup: temporary and intermediate tables collapsed, renames followed."""

from __future__ import annotations

from finlineage.lineage import extract

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

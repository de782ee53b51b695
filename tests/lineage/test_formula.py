"""C3: rollup formulas over persistent columns, composed in order, alternatives kept apart."""

from __future__ import annotations

from finlineage.lineage import ColumnEdge, LineageResult, extract


def formulas(result: LineageResult, target: str) -> list[tuple[str, tuple[int, ...]]]:
    return [
        (e.formula, e.steps) for e in result.rollup.column_edges if e.kind == "direct" and e.target == target
    ]


def direct(result: LineageResult, target: str) -> list[ColumnEdge]:
    return [e for e in result.rollup.column_edges if e.kind == "direct" and e.target == target]


EXPOSURE_PROC = """CREATE PROCEDURE rpt.load_exposure @as_of DATE
AS
BEGIN
    SELECT p.acct_id, p.qty * px.close_price AS value_base
    INTO #pos
    FROM core.positions p
    JOIN core.prices px ON px.sec_id = p.sec_id AND px.price_date = @as_of;

    UPDATE #pos SET value_base += 10 WHERE acct_id IN (SELECT acct_id FROM core.vip_accounts);

    INSERT INTO rpt.exposure (acct_id, exposure_amt)
    SELECT acct_id, SUM(value_base) FROM #pos GROUP BY acct_id;

    UPDATE rpt.exposure SET exposure_amt *= 1.1;
END
"""


def test_temp_table_substituted_and_sequential_writes_composed() -> None:
    res = extract(EXPOSURE_PROC, "tsql")
    assert formulas(res, "rpt.exposure.exposure_amt") == [
        ("SUM((core.positions.qty * core.prices.close_price) + 10) * 1.1", (0, 1, 2, 3))
    ]
    assert formulas(res, "rpt.exposure.acct_id") == [("core.positions.acct_id", (0, 2))]
    edge = direct(res, "rpt.exposure.exposure_amt")[0]
    assert set(edge.sources) == {"core.positions.qty", "core.prices.close_price"}
    assert edge.subtype == "AGGREGATION"
    assert not any("#pos" in e.formula for e in res.rollup.column_edges)
    # the statement edges keep their own formulas (temp columns named)
    upd = res.statements[1]
    assert [e.formula for e in upd.column_edges if e.kind == "direct"] == ["#pos.value_base + 10"]


def test_statement_formula_expands_cte_and_derived_table() -> None:
    sql = """WITH daily AS (
        SELECT acct_id, SUM(amount) AS total_amt FROM ledger.postings GROUP BY acct_id
    )
    INSERT INTO mart.acct_summary (acct_id, avg_amt)
    SELECT d.acct_id, d.total_amt / c.cnt
    FROM daily d
    JOIN (SELECT acct_id, COUNT(*) AS cnt FROM ledger.postings GROUP BY acct_id) c
      ON c.acct_id = d.acct_id;"""
    res = extract(sql, "postgres")
    stmt_formulas = {e.target: e.formula for e in res.statements[0].column_edges if e.kind == "direct"}
    assert stmt_formulas["mart.acct_summary.avg_amt"] == "SUM(ledger.postings.amount) / COUNT(*)"
    assert stmt_formulas["mart.acct_summary.acct_id"] == "ledger.postings.acct_id"
    assert formulas(res, "mart.acct_summary.avg_amt") == [("SUM(ledger.postings.amount) / COUNT(*)", (0,))]


def test_merge_branches_are_alternatives_and_using_subquery_is_expanded() -> None:
    sql = """MERGE INTO rpt.balances AS t
    USING (SELECT acct_id, amount * fx_rate AS amt_eur FROM stage.moves) AS s
    ON t.acct_id = s.acct_id
    WHEN MATCHED THEN UPDATE SET t.bal_eur = t.bal_eur + s.amt_eur
    WHEN NOT MATCHED THEN INSERT (acct_id, bal_eur) VALUES (s.acct_id, s.amt_eur);"""
    res = extract(sql, "tsql")
    assert formulas(res, "rpt.balances.bal_eur") == [
        ("rpt.balances.bal_eur + (stage.moves.amount * stage.moves.fx_rate)", (0,)),
        ("stage.moves.amount * stage.moves.fx_rate", (0,)),
    ]


def test_union_into_temp_keeps_rows_apart() -> None:
    sql = """CREATE TABLE #fills (fill_id INT, notional DECIMAL(18, 2));
    INSERT INTO #fills (fill_id, notional)
    SELECT e.fill_id, e.qty * e.px FROM trade.equity_fills e
    UNION ALL
    SELECT b.fill_id, b.face * b.clean_px / 100 FROM trade.bond_fills b;
    INSERT INTO rpt.fill_notional (fill_id, notional_eur)
    SELECT f.fill_id, f.notional * r.eur_rate FROM #fills f CROSS JOIN ref.eur_rate r;"""
    res = extract(sql, "tsql")
    got = sorted(f for f, _ in formulas(res, "rpt.fill_notional.notional_eur"))
    assert got == [
        "(trade.bond_fills.face * trade.bond_fills.clean_px / 100) * ref.eur_rate.eur_rate",
        "(trade.equity_fills.qty * trade.equity_fills.px) * ref.eur_rate.eur_rate",
    ]
    for e in direct(res, "rpt.fill_notional.notional_eur"):
        fam = "equity" if "equity" in e.formula else "bond"
        assert all(fam in s or s.startswith("ref.") for s in e.sources)
        assert e.steps == (1, 2)


def test_two_procedures_writing_one_column_stay_alternatives() -> None:
    sql = """CREATE PROCEDURE rpt.fill_a AS
    BEGIN
        UPDATE rpt.limits SET used_amt = (SELECT SUM(notional) FROM risk.open_trades);
    END
    GO
    CREATE PROCEDURE rpt.fill_b AS
    BEGIN
        UPDATE rpt.limits SET used_amt = used_amt + 1;
    END
    GO"""
    res = extract(sql, "tsql")
    got = formulas(res, "rpt.limits.used_amt")
    assert len(got) == 2
    assert got[1] == ("rpt.limits.used_amt + 1", (1,))


def test_postgres_temp_table_and_table_variable_and_global_temp() -> None:
    pg = """CREATE TEMP TABLE fx AS SELECT ccy, rate * 1.0 AS rate_eur FROM ref.fx_rates;
    INSERT INTO mart.pnl_eur (desk, pnl_eur)
    SELECT p.desk, p.pnl * fx.rate_eur FROM mart.pnl p JOIN fx ON fx.ccy = p.ccy;"""
    res = extract(pg, "postgres")
    assert formulas(res, "mart.pnl_eur.pnl_eur") == [("mart.pnl.pnl * (ref.fx_rates.rate * 1.0)", (0, 1))]

    ts = """DECLARE @b TABLE (acct INT, bal MONEY);
    INSERT INTO @b (acct, bal) SELECT account_id, balance - hold_amt FROM core.accounts;
    SELECT acct, bal * 2 AS bal2 INTO ##snap FROM @b;
    INSERT INTO rpt.snapshots (acct, bal) SELECT acct, bal2 FROM ##snap;"""
    res = extract(ts, "tsql")
    assert formulas(res, "rpt.snapshots.bal") == [
        ("(core.accounts.balance - core.accounts.hold_amt) * 2", (1, 2, 3))
    ]
    assert formulas(res, "rpt.snapshots.acct") == [("core.accounts.account_id", (1, 2, 3))]


def test_recreated_temp_table_starts_afresh_in_formulas() -> None:
    sql = """SELECT acct_id, fee_amt AS amt INTO #x FROM core.fees;
    DROP TABLE #x;
    SELECT acct_id, tax_amt AS amt INTO #x FROM core.taxes;
    INSERT INTO rpt.charges (acct_id, amt) SELECT acct_id, amt FROM #x;"""
    res = extract(sql, "tsql")
    assert formulas(res, "rpt.charges.amt") == [("core.taxes.tax_amt", (2, 3))]


CAPITAL_PROC = """CREATE OR ALTER PROCEDURE rpt.load_capital_ratio
    @as_of DATE
AS
BEGIN
    SET NOCOUNT ON;

    -- exposures in EUR
    SELECT e.entity_id,
           SUM(e.exposure_amt * fx.rate_to_eur) AS exposure_eur
    INTO #exp
    FROM risk.exposures AS e WITH (NOLOCK)
    JOIN ref.fx_rates AS fx ON fx.ccy = e.ccy AND fx.as_of = @as_of
    GROUP BY e.entity_id;

    DECLARE @floor DECIMAL(18, 2);
    SELECT @floor = MIN(floor_amt) FROM ref.capital_floor WHERE valid_on = @as_of;

    MERGE rpt.capital_ratio AS tgt
    USING (
        SELECT c.entity_id, c.cet1_amt * fx.rate_to_eur AS cet1_eur, x.exposure_eur
        FROM fin.capital AS c
        JOIN ref.fx_rates AS fx ON fx.ccy = c.ccy AND fx.as_of = @as_of
        JOIN #exp AS x ON x.entity_id = c.entity_id
    ) AS src
    ON tgt.entity_id = src.entity_id
    WHEN MATCHED THEN
        UPDATE SET tgt.cet1_eur = src.cet1_eur,
                   tgt.ratio = src.cet1_eur / NULLIF(src.exposure_eur, 0)
    WHEN NOT MATCHED THEN
        INSERT (entity_id, cet1_eur, ratio)
        VALUES (src.entity_id, src.cet1_eur, src.cet1_eur / NULLIF(src.exposure_eur, 0));

    UPDATE rpt.capital_ratio SET cet1_eur += @floor WHERE cet1_eur < @floor;
END
GO"""


def test_temp_table_merge_variable_and_compound_update_compose() -> None:
    res = extract(CAPITAL_PROC, "tsql")
    assert [(s.type, s.line_start, s.line_end) for s in res.statements] == [
        ("insert", 8, 13),
        ("select", 16, 16),
        ("merge", 18, 31),
        ("update", 33, 33),
    ]
    cet1 = "(fin.capital.cet1_amt * ref.fx_rates.rate_to_eur)"
    # both MERGE branches give the same value; the later += wraps it, with the variable's query
    assert formulas(res, "rpt.capital_ratio.cet1_eur") == [
        (f"{cet1} + MIN(ref.capital_floor.floor_amt)", (2, 3))
    ]
    assert formulas(res, "rpt.capital_ratio.ratio") == [
        (
            f"{cet1} / NULLIF(SUM(risk.exposures.exposure_amt * ref.fx_rates.rate_to_eur), 0)",
            (0, 2),
        )
    ]
    merge = res.statements[2]
    matched = next(e for e in merge.column_edges if e.kind == "direct" and e.target.endswith(".cet1_eur"))
    assert matched.formula == "fin.capital.cet1_amt * ref.fx_rates.rate_to_eur"

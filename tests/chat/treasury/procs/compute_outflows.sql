CREATE PROCEDURE calc.compute_outflows
AS
BEGIN
    DELETE FROM calc.outflows WHERE run_dt = CAST(GETDATE() AS DATE);

    SELECT b.acct_no, b.bal_amt_usd, r.runoff_pct, c.segment_cd
    INTO #stage
    FROM core.acct_balances b
    JOIN core.customers c ON c.cust_id = b.cust_id
    JOIN inbound.runoff_factors r ON r.product_cd = b.product_cd AND r.segment_cd = c.segment_cd;

    INSERT INTO calc.outflows (acct_no, segment_cd, outflow_amt, run_dt)
    SELECT s.acct_no, s.segment_cd, s.bal_amt_usd * s.runoff_pct, CAST(GETDATE() AS DATE)
    FROM #stage s;
END
GO
CREATE PROCEDURE calc.run_liquidity
AS
BEGIN
    EXEC core.load_customers;
    EXEC core.load_balances;
    EXEC calc.compute_outflows;
END
GO

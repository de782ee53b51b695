CREATE PROCEDURE core.load_balances
AS
BEGIN
    TRUNCATE TABLE core.acct_balances;

    INSERT INTO core.acct_balances (acct_no, cust_id, product_cd, bal_amt_usd, maturity_dt)
    SELECT d.acct_no, d.cust_id, d.product_cd, d.bal_amt * fx.spot_rt, d.maturity_dt
    FROM inbound.deposit_accts d
    JOIN inbound.fx_spot fx ON fx.from_ccy = d.bal_ccy AND fx.to_ccy = 'USD';
END
GO
CREATE PROCEDURE core.load_customers
AS
BEGIN
    DELETE FROM core.customers;
    INSERT INTO core.customers (cust_id, cust_nm, segment_cd)
    SELECT c.cust_id, c.cust_nm, c.segment_cd FROM inbound.customers c;
END
GO

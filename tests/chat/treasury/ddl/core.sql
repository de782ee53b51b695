CREATE TABLE core.customers (cust_id INT, cust_nm VARCHAR(100), segment_cd VARCHAR(10));
CREATE TABLE core.acct_balances (
    acct_no VARCHAR(20),
    cust_id INT,
    product_cd VARCHAR(10),
    bal_amt_usd DECIMAL(18,2),
    maturity_dt DATE
);
CREATE TABLE core.gl_entries (posting_id INT, acct_no VARCHAR(20), entity_cd VARCHAR(10), amt_usd DECIMAL(18,2), value_dt DATE);
CREATE TABLE calc.outflows (acct_no VARCHAR(20), segment_cd VARCHAR(10), outflow_amt DECIMAL(18,2), run_dt DATE);

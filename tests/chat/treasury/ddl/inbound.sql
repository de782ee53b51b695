-- landing tables loaded by the nightly file drop
CREATE TABLE inbound.gl_postings (
    posting_id INT,
    acct_no VARCHAR(20),
    post_amt DECIMAL(18,2),
    post_ccy CHAR(3),
    value_dt DATE,
    entity_cd VARCHAR(10)
);
CREATE TABLE inbound.fx_spot (from_ccy CHAR(3), to_ccy CHAR(3), spot_rt DECIMAL(18,8), as_of_dt DATE);
CREATE TABLE inbound.deposit_accts (
    acct_no VARCHAR(20),
    cust_id INT,
    product_cd VARCHAR(10),
    bal_amt DECIMAL(18,2),
    bal_ccy CHAR(3),
    maturity_dt DATE
);
CREATE TABLE inbound.customers (cust_id INT, cust_nm VARCHAR(100), segment_cd VARCHAR(10), country_cd CHAR(2));
CREATE TABLE inbound.runoff_factors (product_cd VARCHAR(10), segment_cd VARCHAR(10), runoff_pct DECIMAL(9,6));

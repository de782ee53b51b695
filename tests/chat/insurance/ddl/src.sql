CREATE TABLE src.policy (policy_no varchar(20), holder_id int, product_code varchar(10), premium_amt numeric(18,2), premium_ccy char(3), start_date date);
CREATE TABLE src.claim (claim_no varchar(20), policy_no varchar(20), claim_amt numeric(18,2), claim_ccy char(3), loss_date date, status_code varchar(5));
CREATE TABLE src.fx (ccy char(3), usd_rate numeric(18,8), rate_date date);
CREATE TABLE src.holder (holder_id int, holder_name varchar(100), region_code varchar(5));
CREATE TABLE ods.policy_usd (policy_no varchar(20), holder_id int, product_code varchar(10), premium_usd numeric(18,2));
CREATE TABLE ods.claim_usd (claim_no varchar(20), policy_no varchar(20), claim_usd numeric(18,2), loss_date date);

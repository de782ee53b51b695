CREATE OR REPLACE FUNCTION ods.load_policy_usd() RETURNS void AS $$
BEGIN
  TRUNCATE ods.policy_usd;
  INSERT INTO ods.policy_usd (policy_no, holder_id, product_code, premium_usd)
  SELECT p.policy_no, p.holder_id, p.product_code, p.premium_amt * f.usd_rate
  FROM src.policy p JOIN src.fx f ON f.ccy = p.premium_ccy;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION ods.load_claim_usd() RETURNS void AS $$
BEGIN
  DELETE FROM ods.claim_usd WHERE loss_date >= current_date - 30;
  INSERT INTO ods.claim_usd (claim_no, policy_no, claim_usd, loss_date)
  SELECT c.claim_no, c.policy_no, c.claim_amt * f.usd_rate, c.loss_date
  FROM src.claim c JOIN src.fx f ON f.ccy = c.claim_ccy
  WHERE c.status_code <> 'VOID';
END;
$$ LANGUAGE plpgsql;

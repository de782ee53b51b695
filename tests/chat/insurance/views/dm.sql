CREATE VIEW dm.loss_ratio AS
SELECT p.product_code, SUM(c.claim_usd) / NULLIF(SUM(p.premium_usd), 0) AS loss_ratio_pct
FROM ods.policy_usd p LEFT JOIN ods.claim_usd c ON c.policy_no = p.policy_no
GROUP BY p.product_code;
CREATE VIEW dm.region_claims AS
SELECT h.region_code, SUM(c.claim_usd) AS total_claims_usd
FROM ods.claim_usd c JOIN ods.policy_usd p ON p.policy_no = c.policy_no JOIN src.holder h ON h.holder_id = p.holder_id
GROUP BY h.region_code;
CREATE VIEW dm.rpt_board_kpis AS
SELECT l.product_code, l.loss_ratio_pct FROM dm.loss_ratio l;

-- Consumption views for the credit-risk team.

CREATE OR REPLACE VIEW crd.v_exposure_by_country AS
SELECT
    e.as_of_date,
    e.country_code,
    cm.country_region,
    SUM(e.ead_usd) AS ead_usd,
    COUNT(*) AS cpty_count
FROM crd.counterparty_exposure AS e
JOIN ref.counterparty_master AS cm
  ON cm.cpty_lei = e.cpty_lei
GROUP BY e.as_of_date, e.country_code, cm.country_region;

CREATE OR REPLACE VIEW crd.v_exposure_by_sector AS
SELECT
    v.as_of_date,
    v.sector_code,
    SUM(v.ead_usd) AS ead_usd,
    SUM(v.collateral_usd) AS collateral_usd
FROM crd.v_counterparty_exposure AS v
GROUP BY v.as_of_date, v.sector_code;

CREATE OR REPLACE VIEW crd.v_collateral_coverage AS
SELECT
    n.as_of_date,
    n.cpty_lei,
    n.netting_set_id,
    n.ead_pre_collateral_usd,
    n.collateral_value_usd,
    DIV0(n.collateral_value_usd, n.ead_pre_collateral_usd) AS coverage_ratio
FROM crd.exposure_net_of_collateral AS n;

CREATE OR REPLACE VIEW crd.v_exposure_trend AS
SELECT
    e.as_of_date,
    e.cpty_lei,
    e.ead_usd,
    e.ead_usd - LAG(e.ead_usd) OVER (PARTITION BY e.cpty_lei ORDER BY e.as_of_date) AS ead_change_usd
FROM crd.counterparty_exposure AS e;

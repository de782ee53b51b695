-- Collateral converted to USD with the daily FX fixing, and exposure net of collateral.

CREATE OR REPLACE TABLE crd.collateral_usd AS
SELECT
    c.valuation_date AS as_of_date,
    c.agreement_id,
    c.cpty_lei,
    SUM(c.market_value * fx.usd_rate) AS collateral_mv_usd,
    SUM(c.adjusted_value * fx.usd_rate) AS collateral_value_usd
FROM stg.collateral AS c
JOIN ref.fx_daily AS fx
  ON fx.ccy = c.collateral_ccy
 AND fx.as_of_date = c.valuation_date
GROUP BY c.valuation_date, c.agreement_id, c.cpty_lei;

CREATE OR REPLACE TABLE crd.exposure_net_of_collateral AS
SELECT
    n.as_of_date,
    n.cpty_lei,
    n.netting_set_id,
    n.net_mtm_usd,
    n.gross_mtm_usd,
    n.ead_pre_collateral_usd,
    COALESCE(col.collateral_value_usd, 0) AS collateral_value_usd,
    GREATEST(n.ead_pre_collateral_usd - COALESCE(col.collateral_value_usd, 0), 0) AS net_exposure_usd
FROM crd.netting_set_exposure AS n
LEFT JOIN crd.collateral_usd AS col
  ON col.agreement_id = n.netting_set_id
 AND col.as_of_date = n.as_of_date;

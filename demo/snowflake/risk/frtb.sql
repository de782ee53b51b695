-- FRTB standardised-approach inputs: risk class bucketing and liquidity horizons.

CREATE OR REPLACE TABLE risk.liquidity_horizons AS
SELECT
    im.isin,
    im.asset_class,
    CASE im.asset_class
        WHEN 'GOVT_BOND' THEN 10
        WHEN 'EQUITY' THEN 10
        WHEN 'FX_FWD' THEN 10
        WHEN 'FUTURE' THEN 20
        WHEN 'CORP_BOND' THEN 40
        ELSE 60
    END AS liquidity_horizon_days
FROM ref.instrument_master AS im;

CREATE OR REPLACE TABLE risk.frtb_sensitivities AS
SELECT
    s.as_of_date,
    s.desk_name,
    CASE
        WHEN s.risk_factor_id LIKE 'IR.%' THEN 'GIRR'
        WHEN s.risk_factor_id LIKE 'FX.%' THEN 'FX'
        ELSE 'EQUITY'
    END AS risk_class,
    s.risk_factor_id,
    lh.liquidity_horizon_days,
    SUM(s.delta_usd) AS delta_usd,
    SUM(s.dv01_usd) AS dv01_usd
FROM risk.trade_sensitivities AS s
JOIN risk.liquidity_horizons AS lh
  ON lh.isin = s.isin
GROUP BY s.as_of_date, s.desk_name, s.risk_factor_id, lh.liquidity_horizon_days;

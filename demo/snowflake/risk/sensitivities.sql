-- Market-risk sensitivities (Snowflake). Positions in USD come from pos.positions_usd.
-- Each bond is mapped to the nearest curve tenor (QUALIFY picks one tenor per position).

CREATE OR REPLACE TABLE risk.trade_sensitivities AS
SELECT
    p.as_of_date,
    p.book_code,
    p.desk_name,
    p.isin,
    p.cpty_lei,
    p.asset_class,
    p.position_ccy,
    CASE
        WHEN p.asset_class IN ('GOVT_BOND', 'CORP_BOND') THEN 'IR.' || im.risk_curve_id
        WHEN p.asset_class = 'FX_FWD' THEN 'FX.' || p.position_ccy
        ELSE 'EQ.' || p.isin
    END AS risk_factor_id,
    CASE WHEN p.asset_class IN ('GOVT_BOND', 'CORP_BOND') THEN 0 ELSE p.market_value_usd END AS delta_usd,
    CASE
        WHEN p.asset_class IN ('GOVT_BOND', 'CORP_BOND')
            THEN -p.market_value_usd * (im.years_to_maturity / (1 + yc.zero_rate)) * 0.0001
        ELSE 0
    END AS dv01_usd,
    yc.tenor_days AS curve_tenor_days,
    yc.discount_factor
FROM pos.positions_usd AS p
JOIN ref.instrument_master AS im
  ON im.isin = p.isin
LEFT JOIN stg.yield_curves AS yc
  ON yc.curve_id = im.risk_curve_id
 AND yc.curve_date = p.as_of_date
QUALIFY ROW_NUMBER() OVER (
    PARTITION BY p.as_of_date, p.book_code, p.isin, p.cpty_lei
    ORDER BY ABS(yc.tenor_days - im.years_to_maturity * 365) ASC NULLS LAST
) = 1;

CREATE OR REPLACE TABLE risk.delta_by_risk_factor AS
SELECT
    s.as_of_date,
    s.book_code,
    s.desk_name,
    s.risk_factor_id,
    SUM(s.delta_usd) AS net_delta_usd,
    SUM(s.dv01_usd) AS net_dv01_usd,
    COUNT(DISTINCT s.isin) AS instrument_count
FROM risk.trade_sensitivities AS s
GROUP BY s.as_of_date, s.book_code, s.desk_name, s.risk_factor_id;

-- Wrong-way risk (counterparty = issuer of what we hold against them) and issuer concentration.

CREATE OR REPLACE TABLE crd.wrong_way_risk_flags AS
SELECT
    te.as_of_date,
    te.cpty_lei,
    te.isin,
    im.issuer_lei,
    cm.ultimate_parent_lei,
    te.mtm_usd,
    CASE
        WHEN im.issuer_lei = te.cpty_lei OR im.issuer_lei = cm.ultimate_parent_lei THEN 'SPECIFIC'
        WHEN cm.is_high_risk_country THEN 'GENERAL'
        ELSE 'NONE'
    END AS wwr_type
FROM crd.trade_exposure AS te
JOIN ref.instrument_master AS im
  ON im.isin = te.isin
JOIN ref.counterparty_master AS cm
  ON cm.cpty_lei = te.cpty_lei
WHERE im.issuer_lei IS NOT NULL;

CREATE OR REPLACE TABLE crd.issuer_exposure AS
SELECT
    p.as_of_date,
    im.issuer_lei,
    ir.best_rating AS issuer_rating,
    SUM(p.market_value_usd) AS issuer_mv_usd,
    SUM(ABS(p.market_value_usd)) AS issuer_gross_usd
FROM pos.positions_usd AS p
JOIN ref.instrument_master AS im
  ON im.isin = p.isin
LEFT JOIN stg.issuer_ratings AS ir
  ON ir.issuer_lei = im.issuer_lei
WHERE im.issuer_lei IS NOT NULL
GROUP BY p.as_of_date, im.issuer_lei, ir.best_rating;

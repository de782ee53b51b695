-- Net open FX positions per legal entity as a share of that entity's Tier 1 capital.

INSERT OVERWRITE TABLE rpt.fx_open_positions
SELECT
    f.as_of_date AS report_date,
    f.legal_entity,
    f.position_ccy AS ccy,
    f.net_open_position_usd,
    ABS(f.net_open_position_usd) / cap.tier1_capital_usd * 100 AS pct_of_tier1
FROM pos.v_fx_exposure_by_ccy AS f
JOIN (
    SELECT cb.as_of_date, cb.legal_entity, cb.tier1_capital * fx.usd_rate AS tier1_capital_usd
    FROM raw.capital_base AS cb
    JOIN ref.fx_daily AS fx
      ON fx.ccy = cb.capital_ccy
     AND fx.as_of_date = cb.as_of_date
) AS cap
  ON cap.as_of_date = f.as_of_date
 AND cap.legal_entity = f.legal_entity;

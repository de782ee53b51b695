-- Credit limit utilisation against pre-settlement limits (limits converted to USD).

CREATE OR REPLACE TABLE crd.limit_utilisation AS
SELECT
    e.as_of_date,
    e.cpty_lei,
    e.cpty_name,
    l.limit_type,
    e.ead_usd,
    l.limit_amount * fx.usd_rate AS limit_usd,
    DIV0(e.ead_usd, l.limit_amount * fx.usd_rate) * 100 AS utilisation_pct
FROM crd.counterparty_exposure AS e
JOIN stg.credit_limits AS l
  ON l.cpty_lei = e.cpty_lei
 AND l.limit_type = 'PRE_SETTLEMENT'
JOIN ref.fx_daily AS fx
  ON fx.ccy = l.limit_ccy
 AND fx.as_of_date = e.as_of_date;

CREATE OR REPLACE VIEW crd.v_limit_breaches AS
SELECT *
FROM crd.limit_utilisation
WHERE utilisation_pct > 100;

CREATE OR REPLACE VIEW crd.v_top_exposures AS
SELECT
    x.as_of_date,
    x.cpty_lei,
    x.cpty_name,
    x.ead_usd,
    RANK() OVER (PARTITION BY x.as_of_date ORDER BY x.ead_usd DESC) AS exposure_rank
FROM crd.v_counterparty_exposure AS x
QUALIFY exposure_rank <= 20;

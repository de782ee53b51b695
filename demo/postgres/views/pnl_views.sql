-- P&L views for desk heads and Finance.

CREATE OR REPLACE VIEW pnl.v_desk_pnl AS
SELECT
    d.pnl_date,
    d.desk_name,
    SUM(d.daily_pnl_usd) AS desk_pnl_usd,
    SUM(SUM(d.daily_pnl_usd)) OVER (
        PARTITION BY d.desk_name, date_trunc('month', d.pnl_date)
        ORDER BY d.pnl_date
    ) AS mtd_pnl_usd
FROM pnl.daily_pnl AS d
GROUP BY d.pnl_date, d.desk_name;

CREATE MATERIALIZED VIEW pnl.mv_monthly_pnl AS
SELECT
    CAST(date_trunc('month', d.pnl_date) AS date) AS pnl_month,
    d.desk_name,
    SUM(d.daily_pnl_usd) AS monthly_pnl_usd
FROM pnl.daily_pnl AS d
GROUP BY CAST(date_trunc('month', d.pnl_date) AS date), d.desk_name;

CREATE OR REPLACE VIEW pnl.v_pnl_vs_budget AS
SELECT
    m.pnl_month,
    m.desk_name,
    m.monthly_pnl_usd,
    b.budget_pnl_usd,
    m.monthly_pnl_usd - b.budget_pnl_usd AS variance_usd,
    CASE WHEN b.budget_pnl_usd = 0 THEN NULL ELSE m.monthly_pnl_usd / b.budget_pnl_usd END AS budget_attainment
FROM pnl.mv_monthly_pnl AS m
LEFT JOIN pnl.desk_budget AS b
  ON b.desk_name = m.desk_name
 AND b.budget_month = m.pnl_month;

CREATE OR REPLACE VIEW pnl.v_pnl_by_instrument AS
SELECT
    a.pnl_date,
    a.isin,
    im.instrument_name,
    im.asset_class,
    SUM(a.total_pnl_usd) AS total_pnl_usd,
    SUM(a.fx_pnl_usd) AS fx_pnl_usd,
    SUM(a.market_pnl_usd) AS market_pnl_usd
FROM pnl.pnl_attribution AS a
JOIN ref.instrument_master AS im
  ON im.isin = a.isin
GROUP BY a.pnl_date, a.isin, im.instrument_name, im.asset_class;

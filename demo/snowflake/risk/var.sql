-- Historical-simulation VaR inputs: sensitivity vectors x 1y of risk-factor returns.

CREATE OR REPLACE TABLE risk.var_position_vectors AS
SELECT
    d.as_of_date,
    d.book_code,
    d.risk_factor_id,
    CASE WHEN d.risk_factor_id LIKE 'IR.%' THEN d.net_dv01_usd * 10000 ELSE d.net_delta_usd END AS sensitivity_usd
FROM risk.delta_by_risk_factor AS d;

CREATE OR REPLACE TABLE risk.var_inputs AS
SELECT
    v.as_of_date,
    v.book_code,
    r.obs_date AS scenario_date,
    SUM(v.sensitivity_usd * (EXP(r.log_return) - 1)) AS scenario_pnl_usd
FROM risk.var_position_vectors AS v
JOIN stg.risk_factor_returns AS r
  ON r.risk_factor_id = v.risk_factor_id
 AND r.obs_date > DATEADD(day, -365, v.as_of_date)
 AND r.obs_date <= v.as_of_date
GROUP BY v.as_of_date, v.book_code, r.obs_date;

CREATE OR REPLACE TABLE risk.var_results AS
SELECT
    i.as_of_date,
    i.book_code,
    bh.desk_name,
    bh.legal_entity,
    COUNT(*) AS scenario_count,
    -PERCENTILE_CONT(0.01) WITHIN GROUP (ORDER BY i.scenario_pnl_usd) AS var_99_1d_usd,
    -MIN(i.scenario_pnl_usd) AS worst_loss_usd
FROM risk.var_inputs AS i
JOIN ref.book_hierarchy AS bh
  ON bh.book_code = i.book_code
GROUP BY i.as_of_date, i.book_code, bh.desk_name, bh.legal_entity;

CREATE OR REPLACE VIEW risk.v_var_inputs_latest AS
SELECT *
FROM risk.var_inputs
QUALIFY DENSE_RANK() OVER (PARTITION BY book_code ORDER BY as_of_date DESC) = 1;

CREATE OR REPLACE TABLE risk.var_backtesting AS
SELECT
    r.as_of_date,
    r.book_code,
    r.var_99_1d_usd,
    p.book_pnl_usd,
    CASE WHEN -p.book_pnl_usd > r.var_99_1d_usd THEN 1 ELSE 0 END AS is_exception,
    SUM(CASE WHEN -p.book_pnl_usd > r.var_99_1d_usd THEN 1 ELSE 0 END) OVER (
        PARTITION BY r.book_code ORDER BY r.as_of_date ROWS BETWEEN 249 PRECEDING AND CURRENT ROW
    ) AS exceptions_250d
FROM risk.var_results AS r
JOIN (
    SELECT d.pnl_date, d.book_code, SUM(d.daily_pnl_usd) AS book_pnl_usd
    FROM pnl.daily_pnl AS d
    GROUP BY d.pnl_date, d.book_code
) AS p
  ON p.book_code = r.book_code
 AND p.pnl_date = r.as_of_date;

-- Consumption views for the market-risk team.

CREATE OR REPLACE SECURE VIEW risk.v_sensitivities_usd AS
SELECT *
FROM risk.trade_sensitivities
WHERE as_of_date = (SELECT MAX(as_of_date) FROM risk.trade_sensitivities);

CREATE OR REPLACE VIEW risk.v_dv01_by_curve AS
SELECT
    d.as_of_date,
    SPLIT_PART(d.risk_factor_id, '.', 2) AS curve_id,
    d.desk_name,
    SUM(d.net_dv01_usd) AS dv01_usd
FROM risk.delta_by_risk_factor AS d
WHERE d.risk_factor_id LIKE 'IR.%'
GROUP BY d.as_of_date, SPLIT_PART(d.risk_factor_id, '.', 2), d.desk_name;

CREATE OR REPLACE VIEW risk.v_var_by_desk AS
SELECT
    r.as_of_date,
    r.desk_name,
    r.legal_entity,
    SUM(r.var_99_1d_usd) AS undiversified_var_usd,
    MAX(r.worst_loss_usd) AS worst_book_loss_usd
FROM risk.var_results AS r
GROUP BY r.as_of_date, r.desk_name, r.legal_entity;

CREATE OR REPLACE VIEW risk.v_liquidity_adjusted_var AS
SELECT
    v.as_of_date,
    v.desk_name,
    v.undiversified_var_usd * SQRT(10) AS var_99_10d_usd
FROM risk.v_var_by_desk AS v;

CREATE OR REPLACE VIEW risk.v_frtb_bucket_summary AS
SELECT
    f.as_of_date,
    f.desk_name,
    f.risk_class,
    SUM(ABS(f.delta_usd)) AS gross_delta_usd,
    SUM(ABS(f.dv01_usd)) AS gross_dv01_usd,
    MAX(f.liquidity_horizon_days) AS max_liquidity_horizon_days
FROM risk.frtb_sensitivities AS f
GROUP BY f.as_of_date, f.desk_name, f.risk_class;

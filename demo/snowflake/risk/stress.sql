-- Stress testing: regulatory and internal scenarios applied to risk-factor sensitivities.

CREATE OR REPLACE TABLE risk.stress_scenarios AS
SELECT
    s.scenario_id,
    s.scenario_name,
    s.risk_factor_id,
    UPPER(s.shock_type) AS shock_type,
    s.shock_size
FROM raw.scenario_shocks AS s;

CREATE OR REPLACE TABLE risk.stress_results AS
SELECT
    d.as_of_date,
    d.book_code,
    d.desk_name,
    sc.scenario_id,
    sc.scenario_name,
    SUM(
        CASE sc.shock_type
            WHEN 'REL' THEN d.net_delta_usd * sc.shock_size
            WHEN 'ABS' THEN d.net_dv01_usd * sc.shock_size * 10000
            ELSE 0
        END
    ) AS stressed_pnl_usd
FROM risk.delta_by_risk_factor AS d
JOIN risk.stress_scenarios AS sc
  ON sc.risk_factor_id = d.risk_factor_id
GROUP BY d.as_of_date, d.book_code, d.desk_name, sc.scenario_id, sc.scenario_name;

CREATE OR REPLACE VIEW risk.v_stress_summary AS
SELECT
    r.as_of_date,
    r.scenario_id,
    r.scenario_name,
    SUM(r.stressed_pnl_usd) AS firm_stressed_pnl_usd,
    MIN(r.stressed_pnl_usd) AS worst_book_pnl_usd
FROM risk.stress_results AS r
GROUP BY r.as_of_date, r.scenario_id, r.scenario_name;

-- Market-risk capital: 10-day VaR scaled by the back-testing multiplier plus the stressed loss.

INSERT OVERWRITE TABLE rpt.market_risk_capital
SELECT
    v.as_of_date AS report_date,
    v.desk_name,
    v.legal_entity,
    v.undiversified_var_usd * SQRT(10) AS var_99_10d_usd,
    GREATEST(-COALESCE(s.worst_stress_pnl_usd, 0), 0) AS stressed_loss_usd,
    CASE
        WHEN bt.exceptions_250d >= 10 THEN 4.0
        WHEN bt.exceptions_250d >= 5 THEN 3.4
        ELSE 3.0
    END AS capital_multiplier,
    CASE
        WHEN bt.exceptions_250d >= 10 THEN 4.0
        WHEN bt.exceptions_250d >= 5 THEN 3.4
        ELSE 3.0
    END * v.undiversified_var_usd * SQRT(10) + GREATEST(-COALESCE(s.worst_stress_pnl_usd, 0), 0) AS capital_charge_usd
FROM risk.v_var_by_desk AS v
LEFT JOIN (
    SELECT sr.as_of_date, sr.desk_name, MIN(sr.stressed_pnl_usd) AS worst_stress_pnl_usd
    FROM risk.stress_results AS sr
    GROUP BY sr.as_of_date, sr.desk_name
) AS s
  ON s.as_of_date = v.as_of_date
 AND s.desk_name = v.desk_name
LEFT JOIN (
    SELECT b.as_of_date, h.desk_name, MAX(b.exceptions_250d) AS exceptions_250d
    FROM risk.var_backtesting AS b
    JOIN ref.book_hierarchy AS h
      ON h.book_code = b.book_code
    GROUP BY b.as_of_date, h.desk_name
) AS bt
  ON bt.as_of_date = v.as_of_date
 AND bt.desk_name = v.desk_name;

-- Reporting views consumed by the regulatory submission tool and the board dashboard.

CREATE OR REPLACE VIEW rpt.v_regulatory_exposure_summary AS
SELECT
    r.report_date,
    r.exposure_class,
    COUNT(*) AS cpty_count,
    SUM(r.gross_exposure_usd) AS gross_exposure_usd,
    SUM(r.collateral_value_usd) AS collateral_value_usd,
    SUM(r.exposure_usd) AS total_exposure_usd,
    SUM(r.rwa_usd) AS total_rwa_usd
FROM rpt.regulatory_exposure AS r
GROUP BY r.report_date, r.exposure_class;

CREATE OR REPLACE VIEW rpt.v_exposure_by_legal_entity AS
SELECT
    te.as_of_date AS report_date,
    te.legal_entity,
    SUM(te.mtm_usd) AS net_mtm_usd,
    SUM(te.notional_usd) AS gross_notional_usd
FROM crd.trade_exposure AS te
GROUP BY te.as_of_date, te.legal_entity;

CREATE OR REPLACE VIEW rpt.v_large_exposure_breaches AS
SELECT *
FROM rpt.large_exposures
WHERE is_limit_breach;

CREATE OR REPLACE VIEW rpt.v_pnl_summary_latest AS
SELECT *
FROM rpt.pnl_summary
WHERE report_date = (SELECT MAX(report_date) FROM rpt.pnl_summary);

CREATE OR REPLACE VIEW rpt.v_var_backtest_exceptions AS
SELECT
    b.as_of_date,
    b.book_code,
    h.desk_name,
    b.var_99_1d_usd,
    b.book_pnl_usd,
    b.exceptions_250d
FROM risk.var_backtesting AS b
JOIN ref.book_hierarchy AS h
  ON h.book_code = b.book_code
WHERE b.is_exception = 1;

CREATE OR REPLACE VIEW rpt.v_exposure_reconciliation AS
SELECT
    r.report_date,
    SUM(r.exposure_usd) AS reported_exposure_usd,
    c.crd_ead_usd,
    SUM(r.exposure_usd) - c.crd_ead_usd AS difference_usd
FROM rpt.regulatory_exposure AS r
JOIN (
    SELECT ce.as_of_date, SUM(ce.ead_usd) AS crd_ead_usd
    FROM crd.counterparty_exposure AS ce
    GROUP BY ce.as_of_date
) AS c
  ON c.as_of_date = r.report_date
GROUP BY r.report_date, c.crd_ead_usd;

CREATE OR REPLACE VIEW rpt.v_board_risk_dashboard AS
SELECT
    s.report_date,
    s.total_exposure_usd,
    s.total_rwa_usd,
    m.market_risk_capital_usd,
    p.firm_daily_pnl_usd,
    l.large_exposure_count
FROM (
    SELECT report_date, SUM(total_exposure_usd) AS total_exposure_usd, SUM(total_rwa_usd) AS total_rwa_usd
    FROM rpt.v_regulatory_exposure_summary
    GROUP BY report_date
) AS s
LEFT JOIN (
    SELECT report_date, SUM(capital_charge_usd) AS market_risk_capital_usd
    FROM rpt.market_risk_capital
    GROUP BY report_date
) AS m
  ON m.report_date = s.report_date
LEFT JOIN (
    SELECT report_date, SUM(daily_pnl_usd) AS firm_daily_pnl_usd
    FROM rpt.pnl_summary
    GROUP BY report_date
) AS p
  ON p.report_date = s.report_date
LEFT JOIN (
    SELECT report_date, COUNT(*) AS large_exposure_count
    FROM rpt.large_exposures
    WHERE is_large_exposure
    GROUP BY report_date
) AS l
  ON l.report_date = s.report_date;

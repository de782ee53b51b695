-- Desk P&L summary for the daily management pack.

INSERT OVERWRITE TABLE rpt.pnl_summary
SELECT
    d.pnl_date AS report_date,
    d.desk_name,
    d.desk_pnl_usd AS daily_pnl_usd,
    d.mtd_pnl_usd,
    b.budget_pnl_usd AS monthly_budget_usd,
    d.mtd_pnl_usd - b.budget_pnl_usd AS mtd_vs_budget_usd
FROM pnl.v_desk_pnl AS d
LEFT JOIN pnl.desk_budget AS b
  ON b.desk_name = d.desk_name
 AND b.budget_month = trunc(d.pnl_date, 'MM');

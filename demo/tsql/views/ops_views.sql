-- Operational monitoring views.

CREATE OR ALTER VIEW ops.v_load_status
AS
SELECT
    l.proc_name,
    l.step_name,
    l.status,
    l.row_count,
    l.logged_at
FROM (
    SELECT
        ll.proc_name,
        ll.step_name,
        ll.status,
        ll.row_count,
        ll.logged_at,
        ROW_NUMBER() OVER (PARTITION BY ll.proc_name ORDER BY ll.logged_at DESC) AS rn
    FROM ops.load_log AS ll
) AS l
WHERE l.rn = 1;
GO

CREATE OR ALTER VIEW ops.v_rejected_trade_summary
AS
SELECT
    CAST(r.rejected_at AS DATE) AS reject_date,
    r.source_venue,
    r.reject_reason,
    COUNT(*) AS reject_count
FROM ops.rejected_trades AS r
GROUP BY CAST(r.rejected_at AS DATE), r.source_venue, r.reject_reason;
GO

CREATE OR ALTER VIEW ops.v_fx_missing_summary
AS
SELECT m.ccy, MIN(m.rate_date) AS first_missing, MAX(m.rate_date) AS last_missing, COUNT(*) AS missing_days
FROM ops.fx_missing_rates AS m
GROUP BY m.ccy;
GO

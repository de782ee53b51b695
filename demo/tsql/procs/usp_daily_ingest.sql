-- Orchestration: the nightly ingest job calls every staging procedure in dependency order.

CREATE OR ALTER PROCEDURE ops.usp_log_load
    @proc_name VARCHAR(128),
    @step_name VARCHAR(64),
    @status VARCHAR(10),
    @row_count INT = NULL
AS
BEGIN
    SET NOCOUNT ON;
    INSERT INTO ops.load_log (proc_name, step_name, row_count, status, error_message, logged_at)
    VALUES (@proc_name, @step_name, @row_count, @status, ERROR_MESSAGE(), SYSUTCDATETIME());
END
GO

CREATE OR ALTER PROCEDURE ops.usp_reconcile_venues
    @business_date DATE
AS
BEGIN
    SET NOCOUNT ON;

    DELETE FROM ops.venue_recon WHERE recon_date = @business_date;

    INSERT INTO ops.venue_recon (recon_date, source_venue, raw_count, staged_count, break_count)
    SELECT
        @business_date,
        'VENUE_A',
        (SELECT COUNT(*) FROM raw.venue_a_trades WHERE trade_date = @business_date),
        (SELECT COUNT(*) FROM stg.trades WHERE trade_date = @business_date AND source_venue = 'VENUE_A'),
        (SELECT COUNT(*) FROM raw.venue_a_trades WHERE trade_date = @business_date)
          - (SELECT COUNT(*) FROM stg.trades WHERE trade_date = @business_date AND source_venue = 'VENUE_A');

    INSERT INTO ops.venue_recon (recon_date, source_venue, raw_count, staged_count, break_count)
    SELECT
        @business_date,
        'VENUE_B',
        COUNT(f.fill_id),
        COUNT(t.trade_key),
        COUNT(f.fill_id) - COUNT(t.trade_key)
    FROM raw.venue_b_fills AS f
    LEFT JOIN stg.trades AS t
        ON t.trade_key = 'B-' + CAST(f.fill_id AS VARCHAR(20))
    WHERE CAST(f.exec_time AS DATE) = @business_date
      AND f.is_cancelled = 0;
END
GO

CREATE OR ALTER PROCEDURE ops.usp_daily_ingest
    @business_date DATE
AS
BEGIN
    SET NOCOUNT ON

    DECLARE @rows INT

    BEGIN TRY
        EXEC stg.usp_stage_instruments
        EXEC stg.usp_stage_counterparties
        EXEC stg.usp_stage_books
        EXEC stg.usp_stage_ratings
        EXEC stg.usp_stage_fx_rates @business_date = @business_date
        EXEC stg.usp_stage_market_prices @business_date = @business_date

        EXEC stg.usp_stage_venue_a @business_date = @business_date
        EXEC stg.usp_stage_venue_b @business_date = @business_date
        EXEC stg.usp_build_trades @business_date = @business_date

        IF DATEPART(WEEKDAY, @business_date) = 6
        BEGIN
            EXEC stg.usp_stage_credit_limits
        END
        ELSE
        BEGIN
            PRINT 'credit limits refreshed on Fridays only'
        END

        EXEC stg.usp_stage_collateral @business_date = @business_date
        EXEC stg.usp_stage_netting_sets @business_date = @business_date
        EXEC stg.usp_stage_yield_curves @business_date = @business_date
        EXEC stg.usp_stage_risk_factor_returns @from_date = @business_date, @to_date = @business_date
        EXEC ops.usp_reconcile_venues @business_date = @business_date

        SELECT @rows = COUNT(*) FROM stg.trades WHERE trade_date = @business_date
        EXEC ops.usp_log_load @proc_name = 'ops.usp_daily_ingest', @step_name = 'all', @status = 'OK', @row_count = @rows
    END TRY
    BEGIN CATCH
        EXEC ops.usp_log_load @proc_name = 'ops.usp_daily_ingest', @step_name = 'all', @status = 'FAILED'
        THROW;
    END CATCH
END
GO

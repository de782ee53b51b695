-- Stage venue A trades: drop cancelled trades, normalise side to a sign, upsert into stg.venue_a_trades.

CREATE OR ALTER PROCEDURE stg.usp_stage_venue_a
    @business_date DATE
AS
BEGIN
    SET NOCOUNT ON

    IF OBJECT_ID('tempdb..#venue_a') IS NOT NULL
        DROP TABLE #venue_a

    BEGIN TRY
        SELECT
            t.trade_id,
            t.trade_date,
            t.trade_ts,
            t.isin,
            CASE t.side WHEN 'B' THEN 1 WHEN 'S' THEN -1 ELSE 0 END AS side_sign,
            t.qty AS quantity,
            t.px AS price,
            UPPER(t.ccy) AS trade_ccy,
            t.cpty_code,
            t.book AS book_code,
            ISNULL(t.venue_fee, 0) AS fee_amount
        INTO #venue_a
        FROM raw.venue_a_trades AS t
        LEFT JOIN raw.venue_a_cancellations AS c
            ON c.trade_id = t.trade_id
        WHERE t.trade_date = @business_date
          AND c.trade_id IS NULL

        INSERT INTO ops.rejected_trades (source_venue, source_id, reject_reason, isin, rejected_at)
        SELECT 'VENUE_A', v.trade_id, 'UNKNOWN_SIDE', v.isin, SYSUTCDATETIME()
        FROM #venue_a AS v
        WHERE v.side_sign = 0;

        DELETE FROM #venue_a WHERE side_sign = 0

        MERGE INTO stg.venue_a_trades AS tgt
        USING #venue_a AS src
            ON tgt.trade_id = src.trade_id
        WHEN MATCHED THEN
            UPDATE SET
                tgt.trade_date = src.trade_date,
                tgt.trade_ts = src.trade_ts,
                tgt.isin = src.isin,
                tgt.side_sign = src.side_sign,
                tgt.quantity = src.quantity,
                tgt.price = src.price,
                tgt.trade_ccy = src.trade_ccy,
                tgt.cpty_code = src.cpty_code,
                tgt.book_code = src.book_code,
                tgt.fee_amount = src.fee_amount,
                tgt.loaded_at = SYSUTCDATETIME()
        WHEN NOT MATCHED THEN
            INSERT (trade_id, trade_date, trade_ts, isin, side_sign, quantity, price, trade_ccy, cpty_code, book_code, fee_amount, loaded_at)
            VALUES (src.trade_id, src.trade_date, src.trade_ts, src.isin, src.side_sign, src.quantity, src.price, src.trade_ccy, src.cpty_code, src.book_code, src.fee_amount, SYSUTCDATETIME());

        EXEC ops.usp_log_load @proc_name = 'stg.usp_stage_venue_a', @step_name = 'merge', @status = 'OK'
    END TRY
    BEGIN CATCH
        EXEC ops.usp_log_load @proc_name = 'stg.usp_stage_venue_a', @step_name = 'merge', @status = 'FAILED'
        THROW
    END CATCH
END
GO

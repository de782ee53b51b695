-- Stage venue B fills: map proprietary instrument codes to ISIN, drop cancelled fills,
-- replace the business date's rows in stg.venue_b_fills.

CREATE OR ALTER PROCEDURE stg.usp_stage_venue_b
    @business_date DATE
AS
BEGIN
    SET NOCOUNT ON;

    CREATE TABLE #fills (
        fill_id          BIGINT,
        trade_date       DATE,
        exec_time        DATETIME2(3),
        isin             CHAR(12),
        side_sign        SMALLINT,
        quantity         DECIMAL(18, 4),
        price            DECIMAL(18, 6),
        trade_ccy        CHAR(3),
        counterparty_lei CHAR(20),
        book_code        VARCHAR(16),
        fee_amount       DECIMAL(18, 6)
    );

    INSERT INTO #fills (fill_id, trade_date, exec_time, isin, side_sign, quantity, price, trade_ccy, counterparty_lei, book_code, fee_amount)
    SELECT
        f.fill_id,
        CAST(f.exec_time AS DATE) AS trade_date,
        f.exec_time,
        m.isin,
        CASE WHEN f.buy_sell = 'BUY' THEN 1 ELSE -1 END AS side_sign,
        f.fill_quantity,
        f.fill_price,
        f.price_currency,
        f.counterparty_lei,
        f.desk_book,
        COALESCE(f.commission_amt, 0)
    FROM raw.venue_b_fills AS f
    INNER JOIN raw.venue_b_instrument_map AS m
        ON m.instrument_code = f.instrument_code
       AND CAST(f.exec_time AS DATE) >= m.valid_from
       AND (m.valid_to IS NULL OR CAST(f.exec_time AS DATE) < m.valid_to)
    WHERE CAST(f.exec_time AS DATE) = @business_date
      AND f.is_cancelled = 0;

    INSERT INTO ops.rejected_trades (source_venue, source_id, reject_reason, isin, rejected_at)
    SELECT 'VENUE_B', CAST(f.fill_id AS VARCHAR(40)), 'UNMAPPED_INSTRUMENT', NULL, SYSUTCDATETIME()
    FROM raw.venue_b_fills AS f
    LEFT JOIN raw.venue_b_instrument_map AS m
        ON m.instrument_code = f.instrument_code
    WHERE CAST(f.exec_time AS DATE) = @business_date
      AND m.instrument_code IS NULL;

    BEGIN TRANSACTION;

    DELETE FROM stg.venue_b_fills WHERE trade_date = @business_date;

    INSERT INTO stg.venue_b_fills (fill_id, trade_date, exec_time, isin, side_sign, quantity, price, trade_ccy, counterparty_lei, book_code, fee_amount, loaded_at)
    SELECT fill_id, trade_date, exec_time, isin, side_sign, quantity, price, trade_ccy, counterparty_lei, book_code, fee_amount, SYSUTCDATETIME()
    FROM #fills;

    COMMIT TRANSACTION;

    EXEC ops.usp_log_load @proc_name = 'stg.usp_stage_venue_b', @step_name = 'replace', @status = 'OK';
END
GO

-- Harmonise both venues into stg.trades: one row per execution, LEI counterparty,
-- signed quantity and local-currency notional (quantity x price x contract multiplier).

CREATE OR ALTER PROCEDURE stg.usp_build_trades
    @business_date DATE
AS
BEGIN
    SET NOCOUNT ON

    IF OBJECT_ID('tempdb..#unified') IS NOT NULL DROP TABLE #unified

    SELECT
        'A-' + a.trade_id AS trade_key,
        'VENUE_A' AS source_venue,
        a.trade_date,
        a.isin,
        cp.cpty_lei,
        a.book_code,
        a.side_sign * a.quantity AS signed_qty,
        a.price,
        a.trade_ccy,
        a.side_sign * a.quantity * a.price * i.contract_multiplier AS notional_local,
        a.fee_amount AS fee_local
    INTO #unified
    FROM stg.venue_a_trades AS a
    INNER JOIN stg.counterparties AS cp
        ON cp.cpty_code = a.cpty_code
    INNER JOIN stg.instruments AS i
        ON i.isin = a.isin
    WHERE a.trade_date = @business_date

    INSERT INTO #unified (trade_key, source_venue, trade_date, isin, cpty_lei, book_code, signed_qty, price, trade_ccy, notional_local, fee_local)
    SELECT
        'B-' + CAST(b.fill_id AS VARCHAR(20)),
        'VENUE_B',
        b.trade_date,
        b.isin,
        b.counterparty_lei,
        b.book_code,
        b.side_sign * b.quantity,
        b.price,
        b.trade_ccy,
        b.side_sign * b.quantity * b.price * i.contract_multiplier,
        b.fee_amount
    FROM stg.venue_b_fills AS b
    INNER JOIN stg.instruments AS i
        ON i.isin = b.isin
    WHERE b.trade_date = @business_date

    BEGIN TRY
        MERGE stg.trades AS tgt
        USING #unified AS src
            ON tgt.trade_key = src.trade_key
        WHEN MATCHED AND (tgt.signed_qty <> src.signed_qty OR tgt.price <> src.price) THEN
            UPDATE SET
                tgt.signed_qty = src.signed_qty,
                tgt.price = src.price,
                tgt.notional_local = src.notional_local,
                tgt.fee_local = src.fee_local,
                tgt.loaded_at = SYSUTCDATETIME()
        WHEN NOT MATCHED BY TARGET THEN
            INSERT (trade_key, source_venue, trade_date, isin, cpty_lei, book_code, signed_qty, price, trade_ccy, notional_local, fee_local, loaded_at)
            VALUES (src.trade_key, src.source_venue, src.trade_date, src.isin, src.cpty_lei, src.book_code, src.signed_qty, src.price, src.trade_ccy, src.notional_local, src.fee_local, SYSUTCDATETIME());
    END TRY
    BEGIN CATCH
        EXEC ops.usp_log_load @proc_name = 'stg.usp_build_trades', @step_name = 'merge', @status = 'FAILED'
        RETURN
    END CATCH

    EXEC ops.usp_log_load @proc_name = 'stg.usp_build_trades', @step_name = 'merge', @status = 'OK'
END
GO

-- Book valuation for the solvency report
CREATE PROCEDURE solvency.usp_value_books
AS
BEGIN
    /* stage 1: value each holding in its quote currency */
    SELECT h.book_code,
           h.units * q.quote_px AS mv_local,
           q.quote_ccy
    INTO #valued
    FROM ledger.holdings h
    JOIN ledger.quotes q ON q.instrument_id = h.instrument_id;

    MERGE solvency.book_value AS tgt
    USING (SELECT v.book_code, SUM(v.mv_local * fx.eur_rate) AS mv_eur
           FROM #valued v JOIN ledger.fx_spot fx ON fx.ccy = v.quote_ccy
           GROUP BY v.book_code) AS src
    ON tgt.book_code = src.book_code
    WHEN MATCHED THEN UPDATE SET tgt.value_eur = src.mv_eur
    WHEN NOT MATCHED THEN INSERT (book_code, value_eur) VALUES (src.book_code, src.mv_eur);

    UPDATE solvency.book_value SET buffer_eur = value_eur * 0.08;
    UPDATE solvency.book_value SET buffer_eur += 250;
END
GO

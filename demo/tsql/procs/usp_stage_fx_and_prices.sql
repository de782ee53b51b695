-- FX rates: keep the last snap per day, express every currency as USD per 1 unit.
-- Market prices: pick the preferred price source per ISIN and day.

CREATE OR ALTER PROCEDURE stg.usp_stage_fx_rates
    @business_date DATE
AS
BEGIN
    SET NOCOUNT ON;

    SELECT
        f.rate_date,
        f.base_ccy,
        f.quote_ccy,
        f.mid_rate,
        f.rate_source,
        ROW_NUMBER() OVER (PARTITION BY f.rate_date, f.base_ccy, f.quote_ccy ORDER BY f.snapped_at DESC) AS snap_rank
    INTO #fx_snaps
    FROM raw.fx_rates AS f
    WHERE f.rate_date = @business_date
      AND (f.quote_ccy = 'USD' OR f.base_ccy = 'USD');

    DELETE FROM stg.fx_rates WHERE rate_date = @business_date;

    -- direct quotes: CCY/USD
    INSERT INTO stg.fx_rates (rate_date, ccy, usd_rate, rate_source)
    SELECT s.rate_date, s.base_ccy, s.mid_rate, s.rate_source
    FROM #fx_snaps AS s
    WHERE s.snap_rank = 1 AND s.quote_ccy = 'USD';

    -- indirect quotes: USD/CCY, inverted
    INSERT INTO stg.fx_rates (rate_date, ccy, usd_rate, rate_source)
    SELECT s.rate_date, s.quote_ccy, 1.0 / s.mid_rate, s.rate_source
    FROM #fx_snaps AS s
    WHERE s.snap_rank = 1 AND s.base_ccy = 'USD'
      AND NOT EXISTS (SELECT 1 FROM stg.fx_rates AS d WHERE d.rate_date = s.rate_date AND d.ccy = s.quote_ccy);

    IF NOT EXISTS (SELECT 1 FROM stg.fx_rates WHERE rate_date = @business_date AND ccy = 'USD')
        INSERT INTO stg.fx_rates (rate_date, ccy, usd_rate, rate_source)
        VALUES (@business_date, 'USD', 1.0, 'FIXED');

    INSERT INTO ops.fx_missing_rates (rate_date, ccy, detected_at)
    SELECT DISTINCT t.trade_date, t.trade_ccy, SYSUTCDATETIME()
    FROM stg.trades AS t
    LEFT JOIN stg.fx_rates AS r
        ON r.rate_date = t.trade_date AND r.ccy = t.trade_ccy
    WHERE t.trade_date = @business_date
      AND r.ccy IS NULL;
END
GO

CREATE OR ALTER PROCEDURE stg.usp_stage_market_prices
    @business_date DATE
AS
BEGIN
    SET NOCOUNT ON

    DELETE FROM stg.market_prices WHERE price_date = @business_date

    INSERT INTO stg.market_prices (price_date, isin, close_price, price_ccy)
    SELECT p.price_date, p.isin, p.close_price, p.price_ccy
    FROM (
        SELECT
            mp.price_date,
            mp.isin,
            mp.close_price,
            mp.price_ccy,
            ROW_NUMBER() OVER (
                PARTITION BY mp.price_date, mp.isin
                ORDER BY CASE mp.price_source WHEN 'EXCHANGE' THEN 1 WHEN 'BVAL' THEN 2 ELSE 3 END
            ) AS source_rank
        FROM raw.market_prices AS mp
        WHERE mp.price_date = @business_date
    ) AS p
    WHERE p.source_rank = 1
END
GO

-- Convenience views over the staging layer.

CREATE OR ALTER VIEW stg.v_trades_enriched
AS
SELECT
    t.trade_key,
    t.source_venue,
    t.trade_date,
    t.isin,
    i.instrument_name,
    i.asset_class,
    t.cpty_lei,
    cp.cpty_name,
    t.book_code,
    b.desk_name,
    b.legal_entity,
    t.signed_qty,
    t.price,
    t.trade_ccy,
    t.notional_local
FROM stg.trades AS t
JOIN stg.instruments AS i ON i.isin = t.isin
JOIN stg.books AS b ON b.book_code = t.book_code
LEFT JOIN stg.counterparties AS cp ON cp.cpty_lei = t.cpty_lei
GO

CREATE OR ALTER VIEW stg.v_active_counterparties
AS
SELECT *
FROM stg.counterparties
WHERE is_active = 1
GO

CREATE OR ALTER VIEW stg.v_latest_fx_rates
AS
SELECT r.ccy, r.usd_rate, r.rate_date
FROM (
    SELECT
        fx.ccy,
        fx.usd_rate,
        fx.rate_date,
        ROW_NUMBER() OVER (PARTITION BY fx.ccy ORDER BY fx.rate_date DESC) AS rn
    FROM stg.fx_rates AS fx
) AS r
WHERE r.rn = 1
GO

CREATE OR ALTER VIEW stg.v_trade_reconciliation
AS
SELECT
    x.trade_date,
    x.source_venue,
    COUNT(*) AS trade_count,
    SUM(ABS(x.quantity)) AS gross_quantity
FROM (
    SELECT a.trade_date, 'VENUE_A' AS source_venue, a.quantity FROM stg.venue_a_trades AS a
    UNION ALL
    SELECT b.trade_date, 'VENUE_B' AS source_venue, b.quantity FROM stg.venue_b_fills AS b
) AS x
GROUP BY x.trade_date, x.source_venue
GO

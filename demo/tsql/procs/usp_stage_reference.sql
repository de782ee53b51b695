-- Staging of static reference data (full refresh each night).

CREATE OR ALTER PROCEDURE stg.usp_stage_instruments
AS
BEGIN
    SET NOCOUNT ON;

    TRUNCATE TABLE stg.instruments;

    INSERT INTO stg.instruments (instrument_id, isin, ticker, instrument_name, asset_class, instrument_type, issuer_lei, instrument_ccy, maturity_date, coupon_rate, contract_multiplier, risk_curve_id)
    SELECT
        i.instrument_id,
        i.isin,
        i.ticker,
        LTRIM(RTRIM(i.instrument_name)),
        UPPER(i.asset_class),
        i.instrument_type,
        i.issuer_lei,
        i.issue_ccy,
        i.maturity_date,
        i.coupon_rate,
        ISNULL(i.contract_multiplier, 1),
        i.risk_curve_id
    FROM raw.instruments AS i;
END
GO

CREATE OR ALTER PROCEDURE stg.usp_stage_counterparties
AS
BEGIN
    SET NOCOUNT ON

    TRUNCATE TABLE stg.counterparties

    INSERT INTO stg.counterparties (cpty_code, cpty_lei, cpty_name, country_code, sector_code, internal_rating, parent_lei, ultimate_parent_lei, is_active)
    SELECT
        c.cpty_code,
        c.lei AS cpty_lei,
        c.legal_name AS cpty_name,
        c.country_code,
        c.sector_code,
        c.internal_rating,
        c.parent_lei,
        COALESCE(h.ultimate_parent_lei, c.parent_lei, c.lei) AS ultimate_parent_lei,
        c.is_active
    FROM raw.counterparties AS c
    LEFT JOIN raw.cpty_hierarchy AS h
        ON h.child_lei = c.lei
END
GO

CREATE OR ALTER PROCEDURE stg.usp_stage_books
AS
BEGIN
    SET NOCOUNT ON;
    DELETE FROM stg.books;
    INSERT INTO stg.books (book_code, book_name, desk_name, business_line, legal_entity, region, is_trading_book)
    SELECT b.book_code, b.book_name, b.desk_name, b.business_line, b.legal_entity, b.region, b.is_trading_book
    FROM raw.books AS b;
END
GO

CREATE OR ALTER PROCEDURE stg.usp_stage_ratings
AS
BEGIN
    SET NOCOUNT ON;

    TRUNCATE TABLE stg.issuer_ratings;

    WITH latest AS (
        SELECT
            r.issuer_lei,
            r.rating,
            r.rating_date,
            ROW_NUMBER() OVER (PARTITION BY r.issuer_lei ORDER BY r.rating_date DESC, r.agency) AS rn
        FROM raw.issuer_ratings AS r
    )
    INSERT INTO stg.issuer_ratings (issuer_lei, best_rating, rating_date)
    SELECT l.issuer_lei, l.rating, l.rating_date
    FROM latest AS l
    WHERE l.rn = 1;

    TRUNCATE TABLE stg.country_risk;

    INSERT INTO stg.country_risk (country_code, country_name, region, sovereign_rating, is_high_risk)
    SELECT cr.country_code, cr.country_name, cr.region, cr.sovereign_rating, cr.is_high_risk
    FROM raw.country_risk AS cr;
END
GO

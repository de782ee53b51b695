-- Staging tables for reference and market data.

CREATE TABLE stg.instruments (
    instrument_id        INT            NOT NULL,
    isin                 CHAR(12)       NOT NULL PRIMARY KEY,
    ticker               VARCHAR(20)    NULL,
    instrument_name      NVARCHAR(200)  NOT NULL,
    asset_class          VARCHAR(20)    NOT NULL,
    instrument_type      VARCHAR(20)    NOT NULL,
    issuer_lei           CHAR(20)       NULL,
    instrument_ccy       CHAR(3)        NOT NULL,
    maturity_date        DATE           NULL,
    coupon_rate          DECIMAL(9, 6)  NULL,
    contract_multiplier  DECIMAL(18, 6) NOT NULL,
    risk_curve_id        VARCHAR(20)    NULL
);

CREATE TABLE stg.counterparties (
    cpty_code            VARCHAR(16)    NOT NULL,
    cpty_lei             CHAR(20)       NOT NULL,
    cpty_name            NVARCHAR(200)  NOT NULL,
    country_code         CHAR(2)        NOT NULL,
    sector_code          VARCHAR(10)    NOT NULL,
    internal_rating      VARCHAR(5)     NOT NULL,
    parent_lei           CHAR(20)       NULL,
    ultimate_parent_lei  CHAR(20)       NOT NULL,
    is_active            BIT            NOT NULL
);

CREATE TABLE stg.books (
    book_code        VARCHAR(16)    NOT NULL PRIMARY KEY,
    book_name        VARCHAR(100)   NOT NULL,
    desk_name        VARCHAR(50)    NOT NULL,
    business_line    VARCHAR(50)    NOT NULL,
    legal_entity     VARCHAR(20)    NOT NULL,
    region           VARCHAR(10)    NOT NULL,
    is_trading_book  BIT            NOT NULL
);

CREATE TABLE stg.fx_rates (
    rate_date    DATE           NOT NULL,
    ccy          CHAR(3)        NOT NULL,
    usd_rate     DECIMAL(18, 8) NOT NULL,   -- USD per 1 unit of ccy
    rate_source  VARCHAR(16)    NOT NULL
);

CREATE TABLE stg.market_prices (
    price_date    DATE           NOT NULL,
    isin          CHAR(12)       NOT NULL,
    close_price   DECIMAL(18, 6) NOT NULL,
    price_ccy     CHAR(3)        NOT NULL
);

CREATE TABLE stg.issuer_ratings (
    issuer_lei   CHAR(20)     NOT NULL,
    best_rating  VARCHAR(5)   NOT NULL,
    rating_date  DATE         NOT NULL
);

CREATE TABLE stg.country_risk (
    country_code      CHAR(2)       NOT NULL,
    country_name      VARCHAR(100)  NOT NULL,
    region            VARCHAR(20)   NOT NULL,
    sovereign_rating  VARCHAR(5)    NOT NULL,
    is_high_risk      BIT           NOT NULL
);
GO

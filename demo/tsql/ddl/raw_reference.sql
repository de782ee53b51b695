-- Raw reference data: instruments, counterparties, books, FX, prices, calendar, capital.

CREATE TABLE raw.instruments (
    instrument_id        INT            NOT NULL,
    isin                 CHAR(12)       NOT NULL,
    ticker               VARCHAR(20)    NULL,
    instrument_name      NVARCHAR(200)  NOT NULL,
    asset_class          VARCHAR(20)    NOT NULL,   -- EQUITY, GOVT_BOND, CORP_BOND, FUTURE, FX_FWD
    instrument_type      VARCHAR(20)    NOT NULL,
    issuer_lei           CHAR(20)       NULL,
    issue_ccy            CHAR(3)        NOT NULL,
    maturity_date        DATE           NULL,
    coupon_rate          DECIMAL(9, 6)  NULL,
    contract_multiplier  DECIMAL(18, 6) NULL,
    risk_curve_id        VARCHAR(20)    NULL,
    updated_at           DATETIME2(3)   NOT NULL
);

CREATE TABLE raw.counterparties (
    cpty_code        VARCHAR(16)    NOT NULL,
    lei              CHAR(20)       NOT NULL,
    legal_name       NVARCHAR(200)  NOT NULL,
    country_code     CHAR(2)        NOT NULL,
    sector_code      VARCHAR(10)    NOT NULL,   -- BANK, BRKR, SOV, CORP, FUND
    internal_rating  VARCHAR(5)     NOT NULL,
    parent_lei       CHAR(20)       NULL,
    is_active        BIT            NOT NULL,
    updated_at       DATETIME2(3)   NOT NULL
);

CREATE TABLE raw.books (
    book_code        VARCHAR(16)    NOT NULL,
    book_name        VARCHAR(100)   NOT NULL,
    desk_name        VARCHAR(50)    NOT NULL,
    business_line    VARCHAR(50)    NOT NULL,
    legal_entity     VARCHAR(20)    NOT NULL,
    region           VARCHAR(10)    NOT NULL,
    is_trading_book  BIT            NOT NULL
);

CREATE TABLE raw.fx_rates (
    rate_date    DATE           NOT NULL,
    base_ccy     CHAR(3)        NOT NULL,
    quote_ccy    CHAR(3)        NOT NULL,
    mid_rate     DECIMAL(18, 8) NOT NULL,   -- units of quote_ccy per 1 base_ccy
    rate_source  VARCHAR(16)    NOT NULL,   -- WMR_4PM, ECB, BBG
    snapped_at   DATETIME2(3)   NOT NULL
);

CREATE TABLE raw.market_prices (
    price_date    DATE           NOT NULL,
    isin          CHAR(12)       NOT NULL,
    close_price   DECIMAL(18, 6) NOT NULL,
    price_ccy     CHAR(3)        NOT NULL,
    price_source  VARCHAR(16)    NOT NULL
);

CREATE TABLE raw.business_calendar (
    cal_date         DATE        NOT NULL,
    calendar_code    VARCHAR(8)  NOT NULL,
    is_business_day  BIT         NOT NULL
);

CREATE TABLE raw.capital_base (
    as_of_date      DATE           NOT NULL,
    legal_entity    VARCHAR(20)    NOT NULL,
    tier1_capital   DECIMAL(20, 2) NOT NULL,
    capital_ccy     CHAR(3)        NOT NULL
);
GO

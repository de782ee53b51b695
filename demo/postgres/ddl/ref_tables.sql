-- Reference data mastered in the positions database (PostgreSQL).

CREATE TABLE ref.instrument_master (
    instrument_id        integer        NOT NULL,
    isin                 char(12)       PRIMARY KEY,
    ticker               varchar(20),
    instrument_name      text           NOT NULL,
    asset_class          varchar(20)    NOT NULL,
    instrument_type      varchar(20)    NOT NULL,
    issuer_lei           char(20),
    instrument_ccy       char(3)        NOT NULL,
    maturity_date        date,
    contract_multiplier  numeric(18, 6) NOT NULL,
    risk_curve_id        varchar(20),
    years_to_maturity    numeric(9, 4)
);

CREATE TABLE ref.counterparty_master (
    cpty_lei               char(20)       PRIMARY KEY,
    cpty_name              text           NOT NULL,
    country_code           char(2)        NOT NULL,
    country_region         varchar(20),
    sector_code            varchar(10)    NOT NULL,
    internal_rating        varchar(5)     NOT NULL,
    rating_rank            integer        NOT NULL,
    pd_1y                  numeric(9, 6)  NOT NULL,
    lgd                    numeric(9, 6)  NOT NULL,
    is_investment_grade    boolean        NOT NULL,
    ultimate_parent_lei    char(20)       NOT NULL,
    is_high_risk_country   boolean        NOT NULL DEFAULT false
);

CREATE TABLE ref.book_hierarchy (
    book_code        varchar(16)  PRIMARY KEY,
    desk_name        varchar(50)  NOT NULL,
    business_line    varchar(50)  NOT NULL,
    legal_entity     varchar(20)  NOT NULL,
    region           varchar(10)  NOT NULL,
    is_trading_book  boolean      NOT NULL
);

CREATE TABLE ref.fx_daily (
    as_of_date   date            NOT NULL,
    ccy          char(3)         NOT NULL,
    usd_rate     numeric(18, 8)  NOT NULL,   -- USD per 1 unit of ccy
    rate_source  varchar(16)     NOT NULL,
    PRIMARY KEY (as_of_date, ccy)
);

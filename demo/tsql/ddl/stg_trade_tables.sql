-- Staging tables for the harmonised trade flow (venue A + venue B -> stg.trades).

CREATE TABLE stg.venue_a_trades (
    trade_id       VARCHAR(32)    NOT NULL PRIMARY KEY,
    trade_date     DATE           NOT NULL,
    trade_ts       DATETIME2(3)   NOT NULL,
    isin           CHAR(12)       NOT NULL,
    side_sign      SMALLINT       NOT NULL,   -- +1 buy, -1 sell
    quantity       DECIMAL(18, 4) NOT NULL,
    price          DECIMAL(18, 6) NOT NULL,
    trade_ccy      CHAR(3)        NOT NULL,
    cpty_code      VARCHAR(16)    NOT NULL,
    book_code      VARCHAR(16)    NOT NULL,
    fee_amount     DECIMAL(18, 6) NOT NULL,
    loaded_at      DATETIME2(3)   NOT NULL
);

CREATE TABLE stg.venue_b_fills (
    fill_id          BIGINT         NOT NULL PRIMARY KEY,
    trade_date       DATE           NOT NULL,
    exec_time        DATETIME2(3)   NOT NULL,
    isin             CHAR(12)       NOT NULL,
    side_sign        SMALLINT       NOT NULL,
    quantity         DECIMAL(18, 4) NOT NULL,
    price            DECIMAL(18, 6) NOT NULL,
    trade_ccy        CHAR(3)        NOT NULL,
    counterparty_lei CHAR(20)       NOT NULL,
    book_code        VARCHAR(16)    NOT NULL,
    fee_amount       DECIMAL(18, 6) NOT NULL,
    loaded_at        DATETIME2(3)   NOT NULL
);

CREATE TABLE stg.trades (
    trade_key       VARCHAR(50)    NOT NULL PRIMARY KEY,   -- 'A-<trade_id>' or 'B-<fill_id>'
    source_venue    VARCHAR(8)     NOT NULL,
    trade_date      DATE           NOT NULL,
    isin            CHAR(12)       NOT NULL,
    cpty_lei        CHAR(20)       NOT NULL,
    book_code       VARCHAR(16)    NOT NULL,
    signed_qty      DECIMAL(18, 4) NOT NULL,
    price           DECIMAL(18, 6) NOT NULL,
    trade_ccy       CHAR(3)        NOT NULL,
    notional_local  DECIMAL(20, 2) NOT NULL,
    fee_local       DECIMAL(18, 6) NOT NULL,
    loaded_at       DATETIME2(3)   NOT NULL
);
GO

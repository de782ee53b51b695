-- Raw landing tables for the two execution venues.
-- Venue A (lit exchange, FIX drop copy) and Venue B (MTF fills file) use different
-- column names and conventions; stg.usp_stage_venue_a / stg.usp_stage_venue_b harmonise them.

CREATE TABLE raw.venue_a_trades (
    trade_id      VARCHAR(32)    NOT NULL,
    trade_ts      DATETIME2(3)   NOT NULL,
    trade_date    DATE           NOT NULL,
    isin          CHAR(12)       NOT NULL,
    side          CHAR(1)        NOT NULL,   -- 'B' buy / 'S' sell
    qty           DECIMAL(18, 4) NOT NULL,
    px            DECIMAL(18, 6) NOT NULL,
    ccy           CHAR(3)        NOT NULL,
    cpty_code     VARCHAR(16)    NOT NULL,   -- venue-internal counterparty code
    book          VARCHAR(16)    NOT NULL,
    trader_id     VARCHAR(16)    NULL,
    venue_fee     DECIMAL(18, 6) NULL,
    load_ts       DATETIME2(3)   NOT NULL
)
GO

CREATE TABLE raw.venue_a_cancellations (
    trade_id      VARCHAR(32)    NOT NULL,
    cancel_ts     DATETIME2(3)   NOT NULL,
    reason_code   VARCHAR(8)     NULL
)
GO

CREATE TABLE raw.venue_b_fills (
    fill_id          BIGINT         NOT NULL,
    order_ref        VARCHAR(40)    NULL,
    exec_time        DATETIME2(3)   NOT NULL,
    instrument_code  VARCHAR(20)    NOT NULL,   -- venue B proprietary code, see raw.venue_b_instrument_map
    buy_sell         VARCHAR(4)     NOT NULL,   -- 'BUY' / 'SELL'
    fill_quantity    DECIMAL(18, 4) NOT NULL,
    fill_price       DECIMAL(18, 6) NOT NULL,
    price_currency   CHAR(3)        NOT NULL,
    counterparty_lei CHAR(20)       NOT NULL,
    desk_book        VARCHAR(16)    NOT NULL,
    commission_amt   DECIMAL(18, 6) NULL,
    is_cancelled     BIT            NOT NULL,
    received_at      DATETIME2(3)   NOT NULL
)
GO

CREATE TABLE raw.venue_b_instrument_map (
    instrument_code  VARCHAR(20)    NOT NULL,
    isin             CHAR(12)       NOT NULL,
    valid_from       DATE           NOT NULL,
    valid_to         DATE           NULL
)
GO

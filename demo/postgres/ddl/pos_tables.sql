-- Position keeping: positions in local currency, valuations, USD positions, history.

CREATE TABLE pos.positions (
    as_of_date      date            NOT NULL,
    book_code       varchar(16)     NOT NULL,
    isin            char(12)        NOT NULL,
    cpty_lei        char(20)        NOT NULL,
    position_ccy    char(3)         NOT NULL,
    net_quantity    numeric(18, 4)  NOT NULL,
    avg_cost_price  numeric(18, 6),
    notional_local  numeric(20, 2)  NOT NULL,
    fees_local      numeric(18, 6)  NOT NULL,
    trade_count     integer         NOT NULL
);

CREATE TABLE pos.eod_valuations (
    as_of_date            date            NOT NULL,
    book_code             varchar(16)     NOT NULL,
    isin                  char(12)        NOT NULL,
    cpty_lei              char(20)        NOT NULL,
    position_ccy          char(3)         NOT NULL,
    net_quantity          numeric(18, 4)  NOT NULL,
    close_price           numeric(18, 6)  NOT NULL,
    contract_multiplier   numeric(18, 6)  NOT NULL,
    notional_local        numeric(20, 2)  NOT NULL,
    market_value_local    numeric(20, 2)  NOT NULL,
    unrealised_pnl_local  numeric(20, 2)  NOT NULL
);

CREATE TABLE pos.positions_usd (
    as_of_date          date            NOT NULL,
    book_code           varchar(16)     NOT NULL,
    desk_name           varchar(50)     NOT NULL,
    legal_entity        varchar(20)     NOT NULL,
    isin                char(12)        NOT NULL,
    asset_class         varchar(20)     NOT NULL,
    cpty_lei            char(20)        NOT NULL,
    position_ccy        char(3)         NOT NULL,
    net_quantity        numeric(18, 4)  NOT NULL,
    fx_rate_usd         numeric(18, 8)  NOT NULL,
    market_value_local  numeric(20, 2)  NOT NULL,
    market_value_usd    numeric(20, 2)  NOT NULL,
    notional_usd        numeric(20, 2)  NOT NULL,
    unrealised_pnl_usd  numeric(20, 2)  NOT NULL
);

CREATE TABLE pos.position_history (
    snapshot_date     date            NOT NULL,
    book_code         varchar(16)     NOT NULL,
    isin              char(12)        NOT NULL,
    cpty_lei          char(20)        NOT NULL,
    net_quantity      numeric(18, 4)  NOT NULL,
    market_value_usd  numeric(20, 2)  NOT NULL
);

CREATE TABLE pos.mart_refresh_log (
    mart_name     text         NOT NULL,
    refreshed_at  timestamptz  NOT NULL
);

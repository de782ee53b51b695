-- Daily P&L and its attribution, plus desk budgets (loaded by Finance).

CREATE TABLE pnl.daily_pnl (
    pnl_date        date            NOT NULL,
    book_code       varchar(16)     NOT NULL,
    desk_name       varchar(50)     NOT NULL,
    isin            char(12)        NOT NULL,
    mv_usd_today    numeric(20, 2)  NOT NULL,
    mv_usd_prior    numeric(20, 2)  NOT NULL,
    cash_flow_usd   numeric(20, 2)  NOT NULL,
    daily_pnl_usd   numeric(20, 2)  NOT NULL
);

CREATE TABLE pnl.pnl_attribution (
    pnl_date        date            NOT NULL,
    book_code       varchar(16)     NOT NULL,
    isin            char(12)        NOT NULL,
    total_pnl_usd   numeric(20, 2)  NOT NULL,
    fx_pnl_usd      numeric(20, 2)  NOT NULL,
    market_pnl_usd  numeric(20, 2)  NOT NULL
);

CREATE TABLE pnl.desk_budget (
    desk_name       varchar(50)     NOT NULL,
    budget_month    date            NOT NULL,
    budget_pnl_usd  numeric(20, 2)  NOT NULL
);

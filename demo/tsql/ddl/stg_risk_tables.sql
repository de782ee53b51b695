-- Staging tables for credit and market-risk inputs.

CREATE TABLE stg.collateral (
    agreement_id     VARCHAR(20)    NOT NULL,
    cpty_lei         CHAR(20)       NOT NULL,
    collateral_type  VARCHAR(10)    NOT NULL,
    market_value     DECIMAL(18, 2) NOT NULL,
    collateral_ccy   CHAR(3)        NOT NULL,
    haircut_pct      DECIMAL(9, 6)  NOT NULL,
    adjusted_value   DECIMAL(18, 2) NOT NULL,   -- market_value after haircut, in collateral_ccy
    valuation_date   DATE           NOT NULL
);

CREATE TABLE stg.netting_sets (
    netting_set_id  VARCHAR(20)    NOT NULL PRIMARY KEY,
    cpty_lei        CHAR(20)       NOT NULL,
    agreement_type  VARCHAR(10)    NOT NULL,
    has_csa         BIT            NOT NULL,
    threshold_amt   DECIMAL(18, 2) NOT NULL,
    threshold_ccy   CHAR(3)        NOT NULL
);

CREATE TABLE stg.credit_limits (
    cpty_lei      CHAR(20)       NOT NULL,
    limit_type    VARCHAR(20)    NOT NULL,
    limit_amount  DECIMAL(20, 2) NOT NULL,
    limit_ccy     CHAR(3)        NOT NULL
);

CREATE TABLE stg.yield_curves (
    curve_date       DATE            NOT NULL,
    curve_id         VARCHAR(20)     NOT NULL,
    tenor_days       INT             NOT NULL,
    zero_rate        DECIMAL(12, 8)  NOT NULL,
    discount_factor  DECIMAL(18, 12) NOT NULL
);

CREATE TABLE stg.risk_factor_returns (
    obs_date        DATE            NOT NULL,
    risk_factor_id  VARCHAR(40)     NOT NULL,
    factor_value    DECIMAL(18, 8)  NOT NULL,
    log_return      DECIMAL(18, 12) NULL
);
GO

-- Raw market data used by the market-risk engine.

CREATE TABLE raw.yield_curves (
    curve_date   DATE            NOT NULL,
    curve_id     VARCHAR(20)     NOT NULL,   -- USD_SOFR, EUR_ESTR, GBP_SONIA
    tenor_days   INT             NOT NULL,
    zero_rate    DECIMAL(12, 8)  NOT NULL
);

CREATE TABLE raw.vol_surfaces (
    surface_date     DATE            NOT NULL,
    underlying_isin  CHAR(12)        NOT NULL,
    expiry_days      INT             NOT NULL,
    strike_pct       DECIMAL(9, 4)   NOT NULL,
    implied_vol      DECIMAL(12, 8)  NOT NULL
);

CREATE TABLE raw.risk_factor_history (
    obs_date        DATE            NOT NULL,
    risk_factor_id  VARCHAR(40)     NOT NULL,   -- IR.<curve>, EQ.<isin>, FX.<ccy>
    factor_value    DECIMAL(18, 8)  NOT NULL
);

CREATE TABLE raw.scenario_shocks (
    scenario_id     VARCHAR(20)     NOT NULL,
    scenario_name   VARCHAR(100)    NOT NULL,
    risk_factor_id  VARCHAR(40)     NOT NULL,
    shock_type      VARCHAR(8)      NOT NULL,   -- REL (relative) / ABS (absolute, in rate units)
    shock_size      DECIMAL(18, 8)  NOT NULL
);
GO

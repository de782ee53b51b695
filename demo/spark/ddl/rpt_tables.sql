-- Regulatory and management reporting tables (Spark / Delta Lake).

CREATE TABLE IF NOT EXISTS rpt.regulatory_exposure (
    report_date           DATE,
    cpty_lei              STRING,
    ultimate_parent_lei   STRING,
    cpty_name             STRING,
    country_code          STRING,
    exposure_class        STRING,
    internal_rating       STRING,
    gross_exposure_usd    DECIMAL(38, 2),
    collateral_value_usd  DECIMAL(38, 2),
    exposure_usd          DECIMAL(38, 2),
    rwa_usd               DECIMAL(38, 2),
    expected_loss_usd     DECIMAL(38, 2)
)
USING DELTA
PARTITIONED BY (report_date);

CREATE TABLE IF NOT EXISTS rpt.regulatory_exposure_history (
    report_date           DATE,
    cpty_lei              STRING,
    ultimate_parent_lei   STRING,
    cpty_name             STRING,
    country_code          STRING,
    exposure_class        STRING,
    internal_rating       STRING,
    gross_exposure_usd    DECIMAL(38, 2),
    collateral_value_usd  DECIMAL(38, 2),
    exposure_usd          DECIMAL(38, 2),
    rwa_usd               DECIMAL(38, 2),
    expected_loss_usd     DECIMAL(38, 2),
    loaded_at             TIMESTAMP
)
USING DELTA;

CREATE TABLE IF NOT EXISTS rpt.large_exposures (
    report_date         DATE,
    group_lei           STRING,
    group_name          STRING,
    cpty_count          BIGINT,
    group_exposure_usd  DECIMAL(38, 2),
    tier1_capital_usd   DECIMAL(38, 2),
    pct_of_tier1        DECIMAL(18, 6),
    is_large_exposure   BOOLEAN,
    is_limit_breach     BOOLEAN
)
USING DELTA;

CREATE TABLE IF NOT EXISTS rpt.market_risk_capital (
    report_date          DATE,
    desk_name            STRING,
    legal_entity         STRING,
    var_99_10d_usd       DECIMAL(38, 2),
    stressed_loss_usd    DECIMAL(38, 2),
    capital_multiplier   DECIMAL(9, 4),
    capital_charge_usd   DECIMAL(38, 2)
)
USING DELTA;

CREATE TABLE IF NOT EXISTS rpt.pnl_summary (
    report_date          DATE,
    desk_name            STRING,
    daily_pnl_usd        DECIMAL(38, 2),
    mtd_pnl_usd          DECIMAL(38, 2),
    monthly_budget_usd   DECIMAL(38, 2),
    mtd_vs_budget_usd    DECIMAL(38, 2)
)
USING DELTA;

CREATE TABLE IF NOT EXISTS rpt.credit_concentration (
    report_date         DATE,
    exposure_class      STRING,
    country_code        STRING,
    class_exposure_usd  DECIMAL(38, 2),
    share_of_total      DECIMAL(18, 8),
    cpty_count          BIGINT
)
USING DELTA;

CREATE TABLE IF NOT EXISTS rpt.country_exposure (
    report_date          DATE,
    country_code         STRING,
    country_region       STRING,
    counterparty_ead_usd DECIMAL(38, 2),
    issuer_mv_usd        DECIMAL(38, 2)
)
USING DELTA;

CREATE TABLE IF NOT EXISTS rpt.fx_open_positions (
    report_date            DATE,
    legal_entity           STRING,
    ccy                    STRING,
    net_open_position_usd  DECIMAL(38, 2),
    pct_of_tier1           DECIMAL(18, 6)
)
USING DELTA;

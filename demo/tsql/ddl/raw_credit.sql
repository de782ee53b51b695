-- Raw credit-risk feeds from the collateral management and legal systems.

CREATE TABLE raw.collateral_balances (
    agreement_id     VARCHAR(20)    NOT NULL,
    cpty_lei         CHAR(20)       NOT NULL,
    collateral_type  VARCHAR(10)    NOT NULL,   -- CASH, GOVT, CORP, EQ
    market_value     DECIMAL(18, 2) NOT NULL,
    collateral_ccy   CHAR(3)        NOT NULL,
    haircut_pct      DECIMAL(9, 6)  NOT NULL,
    valuation_date   DATE           NOT NULL
)
GO

CREATE TABLE raw.netting_agreements (
    agreement_id      VARCHAR(20)    NOT NULL,
    cpty_lei          CHAR(20)       NOT NULL,
    agreement_type    VARCHAR(10)    NOT NULL,   -- ISDA, GMRA, GMSLA
    csa_flag          BIT            NOT NULL,
    threshold_amt     DECIMAL(18, 2) NULL,
    threshold_ccy     CHAR(3)        NULL,
    effective_date    DATE           NOT NULL,
    termination_date  DATE           NULL
)
GO

CREATE TABLE raw.credit_limits (
    cpty_lei       CHAR(20)       NOT NULL,
    limit_type     VARCHAR(20)    NOT NULL,   -- PRE_SETTLEMENT, ISSUER, SETTLEMENT
    limit_amount   DECIMAL(20, 2) NOT NULL,
    limit_ccy      CHAR(3)        NOT NULL,
    approved_date  DATE           NOT NULL
)
GO

CREATE TABLE raw.rating_scale (
    internal_rating      VARCHAR(5)    NOT NULL,
    rating_rank          INT           NOT NULL,
    pd_1y                DECIMAL(9, 6) NOT NULL,
    lgd                  DECIMAL(9, 6) NOT NULL,
    is_investment_grade  BIT           NOT NULL
)
GO

CREATE TABLE raw.cpty_hierarchy (
    child_lei            CHAR(20)     NOT NULL,
    parent_lei           CHAR(20)     NOT NULL,
    ultimate_parent_lei  CHAR(20)     NOT NULL,
    relationship_type    VARCHAR(20)  NOT NULL
)
GO

CREATE TABLE raw.issuer_ratings (
    issuer_lei   CHAR(20)     NOT NULL,
    agency       VARCHAR(10)  NOT NULL,   -- SP, MOODYS, FITCH
    rating       VARCHAR(5)   NOT NULL,
    rating_date  DATE         NOT NULL
)
GO

CREATE TABLE raw.country_risk (
    country_code      CHAR(2)       NOT NULL,
    country_name      VARCHAR(100)  NOT NULL,
    region            VARCHAR(20)   NOT NULL,
    sovereign_rating  VARCHAR(5)    NOT NULL,
    is_high_risk      BIT           NOT NULL
)
GO

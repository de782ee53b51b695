-- Counterparty credit exposure (SA-CCR style, simplified), Snowflake.
-- pos.positions_usd (already FX-converted) -> trade -> netting set -> counterparty.

CREATE OR REPLACE TABLE crd.trade_exposure AS
SELECT
    p.as_of_date,
    p.cpty_lei,
    ns.netting_set_id,
    p.book_code,
    p.legal_entity,
    p.isin,
    p.asset_class,
    p.market_value_usd AS mtm_usd,
    ABS(p.notional_usd) AS notional_usd,
    CASE p.asset_class
        WHEN 'FX_FWD' THEN 0.04
        WHEN 'GOVT_BOND' THEN 0.005
        WHEN 'CORP_BOND' THEN 0.01
        WHEN 'FUTURE' THEN 0.18
        WHEN 'EQUITY' THEN 0.32
        ELSE 0.15
    END AS addon_factor
FROM pos.positions_usd AS p
LEFT JOIN stg.netting_sets AS ns
  ON ns.cpty_lei = p.cpty_lei
 AND ns.agreement_type = 'ISDA'
QUALIFY ROW_NUMBER() OVER (
    PARTITION BY p.as_of_date, p.cpty_lei, p.book_code, p.isin
    ORDER BY ns.has_csa DESC, ns.netting_set_id
) = 1;

CREATE OR REPLACE TABLE crd.netting_set_exposure AS
WITH agg AS (
    SELECT
        te.as_of_date,
        te.cpty_lei,
        COALESCE(te.netting_set_id, 'UNNETTED-' || te.cpty_lei) AS netting_set_id,
        SUM(te.mtm_usd) AS net_mtm_usd,
        SUM(ABS(te.mtm_usd)) AS gross_mtm_usd,
        SUM(te.notional_usd * te.addon_factor) AS gross_addon_usd
    FROM crd.trade_exposure AS te
    GROUP BY te.as_of_date, te.cpty_lei, COALESCE(te.netting_set_id, 'UNNETTED-' || te.cpty_lei)
),
rc AS (
    SELECT
        a.as_of_date,
        a.cpty_lei,
        a.netting_set_id,
        a.net_mtm_usd,
        a.gross_mtm_usd,
        GREATEST(a.net_mtm_usd, 0) AS replacement_cost_usd,
        a.gross_addon_usd * (0.4 + 0.6 * DIV0(GREATEST(a.net_mtm_usd, 0), a.gross_mtm_usd)) AS pfe_usd
    FROM agg AS a
)
SELECT
    rc.as_of_date,
    rc.cpty_lei,
    rc.netting_set_id,
    rc.net_mtm_usd,
    rc.gross_mtm_usd,
    rc.replacement_cost_usd,
    rc.pfe_usd,
    1.4 * (rc.replacement_cost_usd + rc.pfe_usd) AS ead_pre_collateral_usd
FROM rc;

CREATE OR REPLACE TABLE crd.counterparty_exposure AS
SELECT
    e.as_of_date,
    e.cpty_lei,
    cm.ultimate_parent_lei,
    cm.cpty_name,
    cm.country_code,
    cm.sector_code,
    cm.internal_rating,
    COUNT(DISTINCT e.netting_set_id) AS netting_set_count,
    SUM(e.gross_mtm_usd) AS gross_mtm_usd,
    SUM(e.collateral_value_usd) AS collateral_usd,
    SUM(e.net_exposure_usd) AS ead_usd
FROM crd.exposure_net_of_collateral AS e
JOIN ref.counterparty_master AS cm
  ON cm.cpty_lei = e.cpty_lei
GROUP BY e.as_of_date, e.cpty_lei, cm.ultimate_parent_lei, cm.cpty_name, cm.country_code, cm.sector_code,
         cm.internal_rating;

CREATE OR REPLACE VIEW crd.v_counterparty_exposure AS
SELECT *
FROM crd.counterparty_exposure;

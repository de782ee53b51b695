-- Regulatory counterparty exposure report (one row per counterparty per reporting date).
-- exposure_usd is the exposure at default after netting and collateral, in USD.

INSERT OVERWRITE TABLE rpt.regulatory_exposure
SELECT
    e.as_of_date AS report_date,
    e.cpty_lei,
    e.ultimate_parent_lei,
    e.cpty_name,
    e.country_code,
    CASE
        WHEN e.sector_code IN ('BANK', 'BRKR') THEN 'INSTITUTION'
        WHEN e.sector_code = 'SOV' THEN 'SOVEREIGN'
        ELSE 'CORPORATE'
    END AS exposure_class,
    e.internal_rating,
    e.gross_mtm_usd AS gross_exposure_usd,
    e.collateral_usd AS collateral_value_usd,
    e.ead_usd AS exposure_usd,
    r.rwa_usd,
    el.expected_loss_usd
FROM crd.counterparty_exposure AS e
LEFT JOIN crd.rwa_inputs AS r
  ON r.cpty_lei = e.cpty_lei
 AND r.as_of_date = e.as_of_date
LEFT JOIN crd.expected_loss AS el
  ON el.cpty_lei = e.cpty_lei
 AND el.as_of_date = e.as_of_date
WHERE e.as_of_date = (SELECT MAX(as_of_date) FROM crd.counterparty_exposure);

-- keep every submitted version for audit
INSERT INTO rpt.regulatory_exposure_history
SELECT r.*, current_timestamp() AS loaded_at
FROM rpt.regulatory_exposure AS r;

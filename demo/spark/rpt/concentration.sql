-- Concentration reporting: by exposure class / country, and country exposure incl. issuer risk.

INSERT OVERWRITE TABLE rpt.credit_concentration
SELECT
    r.report_date,
    r.exposure_class,
    r.country_code,
    SUM(r.exposure_usd) AS class_exposure_usd,
    SUM(r.exposure_usd) / SUM(SUM(r.exposure_usd)) OVER (PARTITION BY r.report_date) AS share_of_total,
    COUNT(*) AS cpty_count
FROM rpt.regulatory_exposure AS r
GROUP BY r.report_date, r.exposure_class, r.country_code;

INSERT INTO rpt.country_exposure
SELECT
    c.as_of_date AS report_date,
    c.country_code,
    c.country_region,
    c.ead_usd AS counterparty_ead_usd,
    COALESCE(i.issuer_mv_usd, 0) AS issuer_mv_usd
FROM crd.v_exposure_by_country AS c
LEFT JOIN (
    SELECT ie.as_of_date, cm.country_code, SUM(ie.issuer_mv_usd) AS issuer_mv_usd
    FROM crd.issuer_exposure AS ie
    JOIN ref.counterparty_master AS cm
      ON cm.cpty_lei = ie.issuer_lei
    GROUP BY ie.as_of_date, cm.country_code
) AS i
  ON i.as_of_date = c.as_of_date
 AND i.country_code = c.country_code;

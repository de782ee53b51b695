-- Large exposures: group-level exposure (by ultimate parent) against consolidated Tier 1 capital.

INSERT OVERWRITE TABLE rpt.large_exposures
WITH capital AS (
    SELECT
        cb.as_of_date,
        SUM(cb.tier1_capital * fx.usd_rate) AS tier1_capital_usd
    FROM raw.capital_base AS cb
    JOIN ref.fx_daily AS fx
      ON fx.ccy = cb.capital_ccy
     AND fx.as_of_date = cb.as_of_date
    GROUP BY cb.as_of_date
),
groups AS (
    SELECT
        re.report_date,
        re.ultimate_parent_lei AS group_lei,
        MAX(re.cpty_name) AS group_name,
        COUNT(*) AS cpty_count,
        SUM(re.exposure_usd) AS group_exposure_usd
    FROM rpt.regulatory_exposure AS re
    GROUP BY re.report_date, re.ultimate_parent_lei
)
SELECT
    g.report_date,
    g.group_lei,
    g.group_name,
    g.cpty_count,
    g.group_exposure_usd,
    c.tier1_capital_usd,
    g.group_exposure_usd / c.tier1_capital_usd * 100 AS pct_of_tier1,
    g.group_exposure_usd >= 0.10 * c.tier1_capital_usd AS is_large_exposure,
    g.group_exposure_usd > 0.25 * c.tier1_capital_usd AS is_limit_breach
FROM groups AS g
JOIN capital AS c
  ON c.as_of_date = g.report_date;

-- PD/LGD mapping, expected loss and RWA inputs.

CREATE OR REPLACE TABLE crd.rating_pd_map AS
SELECT
    rs.internal_rating,
    rs.rating_rank,
    rs.pd_1y,
    rs.lgd,
    CASE
        WHEN rs.rating_rank <= 3 THEN 0.2
        WHEN rs.rating_rank <= 6 THEN 0.5
        WHEN rs.rating_rank <= 9 THEN 1.0
        ELSE 1.5
    END AS risk_weight
FROM raw.rating_scale AS rs;

CREATE OR REPLACE TABLE crd.expected_loss AS
SELECT
    e.as_of_date,
    e.cpty_lei,
    e.internal_rating,
    e.ead_usd,
    m.pd_1y,
    m.lgd,
    e.ead_usd * m.pd_1y * m.lgd AS expected_loss_usd
FROM crd.counterparty_exposure AS e
JOIN crd.rating_pd_map AS m
  ON m.internal_rating = e.internal_rating;

CREATE OR REPLACE TABLE crd.rwa_inputs AS
SELECT
    e.as_of_date,
    e.cpty_lei,
    e.sector_code,
    e.ead_usd,
    m.risk_weight * CASE WHEN e.sector_code = 'SOV' THEN 0.5 ELSE 1 END AS risk_weight,
    e.ead_usd * m.risk_weight * CASE WHEN e.sector_code = 'SOV' THEN 0.5 ELSE 1 END AS rwa_usd
FROM crd.counterparty_exposure AS e
JOIN crd.rating_pd_map AS m
  ON m.internal_rating = e.internal_rating;

-- Position views and the desk-level materialized view.

CREATE OR REPLACE VIEW pos.v_positions_usd_current AS
SELECT *
FROM pos.positions_usd
WHERE as_of_date = (SELECT MAX(as_of_date) FROM pos.positions_usd);

CREATE OR REPLACE VIEW pos.v_large_positions AS
SELECT
    c.*,
    RANK() OVER (ORDER BY ABS(c.market_value_usd) DESC) AS size_rank
FROM pos.v_positions_usd_current AS c
WHERE ABS(c.market_value_usd) >= 50000000;

CREATE OR REPLACE VIEW pos.v_positions_by_book AS
SELECT
    u.as_of_date,
    u.book_code,
    u.desk_name,
    u.legal_entity,
    COUNT(*) AS position_count,
    SUM(u.market_value_usd) AS market_value_usd,
    SUM(ABS(u.notional_usd)) AS gross_notional_usd,
    SUM(u.unrealised_pnl_usd) AS unrealised_pnl_usd
FROM pos.positions_usd AS u
GROUP BY u.as_of_date, u.book_code, u.desk_name, u.legal_entity;

CREATE MATERIALIZED VIEW pos.mv_desk_positions AS
SELECT
    u.as_of_date,
    u.desk_name,
    u.asset_class,
    SUM(u.market_value_usd) AS net_mv_usd,
    SUM(ABS(u.market_value_usd)) AS gross_mv_usd
FROM pos.positions_usd AS u
GROUP BY u.as_of_date, u.desk_name, u.asset_class;

CREATE OR REPLACE VIEW pos.v_position_changes AS
SELECT
    h.snapshot_date,
    h.book_code,
    h.isin,
    h.net_quantity,
    h.net_quantity - LAG(h.net_quantity) OVER (PARTITION BY h.book_code, h.isin ORDER BY h.snapshot_date) AS qty_change,
    h.market_value_usd - LAG(h.market_value_usd) OVER (PARTITION BY h.book_code, h.isin ORDER BY h.snapshot_date) AS mv_change_usd
FROM (
    SELECT snapshot_date, book_code, isin, SUM(net_quantity) AS net_quantity, SUM(market_value_usd) AS market_value_usd
    FROM pos.position_history
    GROUP BY snapshot_date, book_code, isin
) AS h;

CREATE OR REPLACE VIEW pos.v_fx_exposure_by_ccy AS
SELECT
    u.as_of_date,
    u.legal_entity,
    u.position_ccy,
    SUM(u.market_value_usd) AS net_open_position_usd,
    SUM(u.market_value_local) AS net_open_position_local
FROM pos.positions_usd AS u
WHERE u.position_ccy <> 'USD'
GROUP BY u.as_of_date, u.legal_entity, u.position_ccy;

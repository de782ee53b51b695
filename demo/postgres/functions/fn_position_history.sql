-- End-of-day snapshot of USD positions and refresh of the reporting marts.

CREATE OR REPLACE FUNCTION pos.fn_snapshot_positions(p_as_of date)
RETURNS void AS $$
BEGIN
    DELETE FROM pos.position_history WHERE snapshot_date = p_as_of;

    INSERT INTO pos.position_history (snapshot_date, book_code, isin, cpty_lei, net_quantity, market_value_usd)
    SELECT u.as_of_date, u.book_code, u.isin, u.cpty_lei, u.net_quantity, u.market_value_usd
    FROM pos.positions_usd AS u
    WHERE u.as_of_date = p_as_of;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION pos.fn_refresh_marts()
RETURNS void AS $$
BEGIN
    REFRESH MATERIALIZED VIEW pos.mv_desk_positions;
    REFRESH MATERIALIZED VIEW pnl.mv_monthly_pnl;

    INSERT INTO pos.mart_refresh_log (mart_name, refreshed_at)
    VALUES ('pos.mv_desk_positions', now()), ('pnl.mv_monthly_pnl', now());
END;
$$ LANGUAGE plpgsql;

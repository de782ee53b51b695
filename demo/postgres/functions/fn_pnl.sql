-- Daily P&L (change in USD market value net of new trade cash flows) and its FX / market split.

CREATE OR REPLACE FUNCTION pnl.fn_compute_daily_pnl(p_as_of date, p_prior date)
RETURNS void AS $$
BEGIN
    DELETE FROM pnl.daily_pnl WHERE pnl_date = p_as_of;

    INSERT INTO pnl.daily_pnl (pnl_date, book_code, desk_name, isin, mv_usd_today, mv_usd_prior, cash_flow_usd, daily_pnl_usd)
    WITH today AS (
        SELECT h.book_code, h.isin, SUM(h.market_value_usd) AS mv_usd
        FROM pos.position_history AS h
        WHERE h.snapshot_date = p_as_of
        GROUP BY h.book_code, h.isin
    ),
    prior AS (
        SELECT h.book_code, h.isin, SUM(h.market_value_usd) AS mv_usd
        FROM pos.position_history AS h
        WHERE h.snapshot_date = p_prior
        GROUP BY h.book_code, h.isin
    ),
    flows AS (
        SELECT t.book_code, t.isin, SUM(t.notional_local * fx.usd_rate) AS cash_flow_usd
        FROM stg.trades AS t
        JOIN ref.fx_daily AS fx
          ON fx.ccy = t.trade_ccy
         AND fx.as_of_date = t.trade_date
        WHERE t.trade_date = p_as_of
        GROUP BY t.book_code, t.isin
    )
    SELECT
        p_as_of,
        COALESCE(td.book_code, pr.book_code) AS book_code,
        bh.desk_name,
        COALESCE(td.isin, pr.isin) AS isin,
        COALESCE(td.mv_usd, 0) AS mv_usd_today,
        COALESCE(pr.mv_usd, 0) AS mv_usd_prior,
        COALESCE(f.cash_flow_usd, 0) AS cash_flow_usd,
        COALESCE(td.mv_usd, 0) - COALESCE(pr.mv_usd, 0) - COALESCE(f.cash_flow_usd, 0) AS daily_pnl_usd
    FROM today AS td
    FULL OUTER JOIN prior AS pr
      ON pr.book_code = td.book_code
     AND pr.isin = td.isin
    LEFT JOIN flows AS f
      ON f.book_code = COALESCE(td.book_code, pr.book_code)
     AND f.isin = COALESCE(td.isin, pr.isin)
    JOIN ref.book_hierarchy AS bh
      ON bh.book_code = COALESCE(td.book_code, pr.book_code);
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION pnl.fn_attribute_pnl(p_as_of date, p_prior date)
RETURNS void AS $$
BEGIN
    DELETE FROM pnl.pnl_attribution WHERE pnl_date = p_as_of;

    INSERT INTO pnl.pnl_attribution (pnl_date, book_code, isin, total_pnl_usd, fx_pnl_usd, market_pnl_usd)
    SELECT
        d.pnl_date,
        d.book_code,
        d.isin,
        d.daily_pnl_usd AS total_pnl_usd,
        COALESCE(pv.market_value_local * (fx_t.usd_rate - fx_p.usd_rate), 0) AS fx_pnl_usd,
        d.daily_pnl_usd - COALESCE(pv.market_value_local * (fx_t.usd_rate - fx_p.usd_rate), 0) AS market_pnl_usd
    FROM pnl.daily_pnl AS d
    LEFT JOIN (
        SELECT v.book_code, v.isin, v.position_ccy, SUM(v.market_value_local) AS market_value_local
        FROM pos.eod_valuations AS v
        WHERE v.as_of_date = p_prior
        GROUP BY v.book_code, v.isin, v.position_ccy
    ) AS pv
      ON pv.book_code = d.book_code
     AND pv.isin = d.isin
    LEFT JOIN ref.fx_daily AS fx_t
      ON fx_t.ccy = pv.position_ccy
     AND fx_t.as_of_date = p_as_of
    LEFT JOIN ref.fx_daily AS fx_p
      ON fx_p.ccy = pv.position_ccy
     AND fx_p.as_of_date = p_prior
    WHERE d.pnl_date = p_as_of;
END;
$$ LANGUAGE plpgsql;

-- Mark positions to market (local currency), then convert to USD with the daily FX fixing.

CREATE OR REPLACE FUNCTION pos.fn_value_positions(p_as_of date)
RETURNS void AS $$
DECLARE
    v_unpriced integer;
BEGIN
    DELETE FROM pos.eod_valuations WHERE as_of_date = p_as_of;

    INSERT INTO pos.eod_valuations (as_of_date, book_code, isin, cpty_lei, position_ccy, net_quantity, close_price,
                                    contract_multiplier, notional_local, market_value_local, unrealised_pnl_local)
    SELECT
        p.as_of_date,
        p.book_code,
        p.isin,
        p.cpty_lei,
        p.position_ccy,
        p.net_quantity,
        mp.close_price,
        im.contract_multiplier,
        p.notional_local,
        p.net_quantity * mp.close_price * im.contract_multiplier AS market_value_local,
        p.net_quantity * mp.close_price * im.contract_multiplier - p.notional_local AS unrealised_pnl_local
    FROM pos.positions AS p
    JOIN stg.market_prices AS mp
      ON mp.isin = p.isin
     AND mp.price_date = p.as_of_date
    JOIN ref.instrument_master AS im
      ON im.isin = p.isin
    WHERE p.as_of_date = p_as_of;

    SELECT count(*) INTO v_unpriced
    FROM pos.positions AS p
    WHERE p.as_of_date = p_as_of
      AND NOT EXISTS (SELECT 1 FROM stg.market_prices AS mp WHERE mp.isin = p.isin AND mp.price_date = p_as_of);

    IF v_unpriced > 0 THEN
        RAISE WARNING '% positions without a close price on %', v_unpriced, p_as_of;
    END IF;

    DELETE FROM pos.positions_usd WHERE as_of_date = p_as_of;

    INSERT INTO pos.positions_usd (as_of_date, book_code, desk_name, legal_entity, isin, asset_class, cpty_lei,
                                   position_ccy, net_quantity, fx_rate_usd, market_value_local, market_value_usd,
                                   notional_usd, unrealised_pnl_usd)
    SELECT
        v.as_of_date,
        v.book_code,
        bh.desk_name,
        bh.legal_entity,
        v.isin,
        im.asset_class,
        v.cpty_lei,
        v.position_ccy,
        v.net_quantity,
        fx.usd_rate AS fx_rate_usd,
        v.market_value_local,
        v.market_value_local * fx.usd_rate AS market_value_usd,
        v.notional_local * fx.usd_rate AS notional_usd,
        v.unrealised_pnl_local * fx.usd_rate AS unrealised_pnl_usd
    FROM pos.eod_valuations AS v
    JOIN ref.fx_daily AS fx
      ON fx.ccy = v.position_ccy
     AND fx.as_of_date = v.as_of_date
    JOIN ref.book_hierarchy AS bh
      ON bh.book_code = v.book_code
    JOIN ref.instrument_master AS im
      ON im.isin = v.isin
    WHERE v.as_of_date = p_as_of;
END;
$$ LANGUAGE plpgsql;

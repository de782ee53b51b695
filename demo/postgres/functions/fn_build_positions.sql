-- Net the harmonised trades (both venues) into positions per book / ISIN / counterparty.

CREATE OR REPLACE FUNCTION pos.fn_build_positions(p_as_of date)
RETURNS void AS $$
BEGIN
    DELETE FROM pos.positions WHERE as_of_date = p_as_of;

    INSERT INTO pos.positions (as_of_date, book_code, isin, cpty_lei, position_ccy, net_quantity, avg_cost_price,
                               notional_local, fees_local, trade_count)
    SELECT
        p_as_of AS as_of_date,
        t.book_code,
        t.isin,
        t.cpty_lei,
        t.trade_ccy AS position_ccy,
        SUM(t.signed_qty) AS net_quantity,
        SUM(t.signed_qty * t.price) / NULLIF(SUM(t.signed_qty), 0) AS avg_cost_price,
        SUM(t.notional_local) AS notional_local,
        SUM(t.fee_local) AS fees_local,
        COUNT(*) AS trade_count
    FROM stg.trades AS t
    WHERE t.trade_date <= p_as_of
    GROUP BY t.book_code, t.isin, t.cpty_lei, t.trade_ccy
    HAVING SUM(t.signed_qty) <> 0;
END;
$$ LANGUAGE plpgsql;

-- Loaders for the ref schema (called by the positions batch before pos.fn_build_positions).

CREATE OR REPLACE FUNCTION ref.fn_load_instrument_master(p_as_of date)
RETURNS void AS $$
BEGIN
    TRUNCATE TABLE ref.instrument_master;

    INSERT INTO ref.instrument_master (instrument_id, isin, ticker, instrument_name, asset_class, instrument_type,
                                       issuer_lei, instrument_ccy, maturity_date, contract_multiplier, risk_curve_id,
                                       years_to_maturity)
    SELECT
        i.instrument_id,
        i.isin,
        i.ticker,
        i.instrument_name,
        i.asset_class,
        i.instrument_type,
        i.issuer_lei,
        i.instrument_ccy,
        i.maturity_date,
        i.contract_multiplier,
        i.risk_curve_id,
        CASE WHEN i.maturity_date IS NULL THEN NULL ELSE (i.maturity_date - p_as_of) / 365.25 END AS years_to_maturity
    FROM stg.instruments AS i;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION ref.fn_load_counterparty_master()
RETURNS void AS $$
BEGIN
    INSERT INTO ref.counterparty_master (cpty_lei, cpty_name, country_code, country_region, sector_code, internal_rating,
                                         rating_rank, pd_1y, lgd, is_investment_grade, ultimate_parent_lei,
                                         is_high_risk_country)
    SELECT
        c.cpty_lei,
        c.cpty_name,
        c.country_code,
        cr.region,
        c.sector_code,
        c.internal_rating,
        rs.rating_rank,
        rs.pd_1y,
        rs.lgd,
        rs.is_investment_grade,
        c.ultimate_parent_lei,
        COALESCE(cr.is_high_risk, false)
    FROM stg.counterparties AS c
    JOIN raw.rating_scale AS rs ON rs.internal_rating = c.internal_rating
    LEFT JOIN stg.country_risk AS cr ON cr.country_code = c.country_code
    WHERE c.is_active
    ON CONFLICT (cpty_lei) DO UPDATE SET
        cpty_name = EXCLUDED.cpty_name,
        internal_rating = EXCLUDED.internal_rating,
        rating_rank = EXCLUDED.rating_rank,
        pd_1y = EXCLUDED.pd_1y,
        lgd = EXCLUDED.lgd,
        ultimate_parent_lei = EXCLUDED.ultimate_parent_lei;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION ref.fn_load_book_hierarchy()
RETURNS void AS $$
BEGIN
    DELETE FROM ref.book_hierarchy;
    INSERT INTO ref.book_hierarchy (book_code, desk_name, business_line, legal_entity, region, is_trading_book)
    SELECT b.book_code, b.desk_name, b.business_line, b.legal_entity, b.region, b.is_trading_book
    FROM stg.books AS b;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION ref.fn_load_fx_daily(p_as_of date)
RETURNS void AS $$
DECLARE
    v_missing integer;
BEGIN
    DELETE FROM ref.fx_daily WHERE as_of_date = p_as_of;

    INSERT INTO ref.fx_daily (as_of_date, ccy, usd_rate, rate_source)
    SELECT p_as_of, r.ccy, r.usd_rate, r.rate_source
    FROM stg.fx_rates AS r
    WHERE r.rate_date = p_as_of;

    -- roll forward yesterday's rate for any currency without a fixing today
    INSERT INTO ref.fx_daily (as_of_date, ccy, usd_rate, rate_source)
    SELECT p_as_of, prev.ccy, prev.usd_rate, 'ROLLED'
    FROM ref.fx_daily AS prev
    WHERE prev.as_of_date = p_as_of - 1
      AND NOT EXISTS (
          SELECT 1 FROM ref.fx_daily AS cur WHERE cur.as_of_date = p_as_of AND cur.ccy = prev.ccy
      );

    SELECT count(*) INTO v_missing FROM ref.fx_daily WHERE as_of_date = p_as_of AND rate_source = 'ROLLED';
    IF v_missing > 0 THEN
        RAISE WARNING 'fx_daily %: % currencies rolled from prior day', p_as_of, v_missing;
    END IF;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION ref.fn_fx_to_usd(p_amount numeric, p_ccy char(3), p_date date)
RETURNS numeric AS $$
    SELECT p_amount * fx.usd_rate
    FROM ref.fx_daily AS fx
    WHERE fx.ccy = p_ccy AND fx.as_of_date = p_date
$$ LANGUAGE sql STABLE;

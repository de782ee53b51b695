-- Instruments that are still alive.

CREATE OR REPLACE VIEW ref.v_instrument_master_active AS
SELECT *
FROM ref.instrument_master
WHERE maturity_date IS NULL
   OR maturity_date >= CURRENT_DATE;

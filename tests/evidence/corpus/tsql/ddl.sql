CREATE TABLE ledger.holdings (holding_id INT, book_code VARCHAR(10), units DECIMAL(18,4), instrument_id INT);
CREATE TABLE ledger.quotes (instrument_id INT, quote_px DECIMAL(18,6), quote_ccy CHAR(3));
CREATE TABLE ledger.fx_spot (ccy CHAR(3), eur_rate DECIMAL(18,8));
CREATE TABLE solvency.book_value (book_code VARCHAR(10), value_eur DECIMAL(18,2), buffer_eur DECIMAL(18,2));

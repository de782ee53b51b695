INSERT INTO solvency.book_value (book_code, value_eur)
SELECT book_code, units FROM ledger.holdings;
INSERT INTO solvency.book_value (book_code, value_eur)
SELEC book_code, units FROM ledger.holdings;

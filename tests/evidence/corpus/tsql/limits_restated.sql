-- the same table, restated by the limits team
CREATE TABLE solvency.limits (book_code VARCHAR(10), cap_eur DECIMAL(18,2));

CREATE TABLE solvency.limits (book_code VARCHAR(10), cap_eur DECIMAL(18,2));

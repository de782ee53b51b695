CREATE VIEW mart.capped_books AS
SELECT l.book_code, LEAST(b.value_eur, l.cap_eur) AS capped_eur
FROM solvency.limits l
JOIN solvency.book_value b ON b.book_code = l.book_code;

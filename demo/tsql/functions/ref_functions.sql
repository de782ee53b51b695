-- Inline table-valued helper functions.

CREATE FUNCTION ref.fn_business_days (@from_date DATE, @to_date DATE, @calendar_code VARCHAR(8))
RETURNS TABLE
AS
RETURN (
    SELECT c.cal_date
    FROM raw.business_calendar AS c
    WHERE c.calendar_code = @calendar_code
      AND c.is_business_day = 1
      AND c.cal_date BETWEEN @from_date AND @to_date
)
GO

CREATE FUNCTION ref.fn_books_for_desk (@desk_name VARCHAR(50))
RETURNS TABLE
AS
RETURN (
    SELECT b.book_code, b.book_name, b.legal_entity, b.region
    FROM stg.books AS b
    WHERE b.desk_name = @desk_name
      AND b.is_trading_book = 1
)
GO

-- Market data for the risk engine: discount factors and daily log returns.

CREATE OR ALTER PROCEDURE stg.usp_stage_yield_curves
    @business_date DATE
AS
BEGIN
    SET NOCOUNT ON;

    DELETE FROM stg.yield_curves WHERE curve_date = @business_date;

    INSERT INTO stg.yield_curves (curve_date, curve_id, tenor_days, zero_rate, discount_factor)
    SELECT
        yc.curve_date,
        yc.curve_id,
        yc.tenor_days,
        yc.zero_rate,
        EXP(-yc.zero_rate * yc.tenor_days / 365.0) AS discount_factor
    FROM raw.yield_curves AS yc
    WHERE yc.curve_date = @business_date;
END
GO

CREATE OR ALTER PROCEDURE stg.usp_stage_risk_factor_returns
    @from_date DATE,
    @to_date DATE
AS
BEGIN
    SET NOCOUNT ON;

    DELETE FROM stg.risk_factor_returns WHERE obs_date BETWEEN @from_date AND @to_date;

    INSERT INTO stg.risk_factor_returns (obs_date, risk_factor_id, factor_value, log_return)
    SELECT r.obs_date, r.risk_factor_id, r.factor_value, r.log_return
    FROM (
        SELECT
            h.obs_date,
            h.risk_factor_id,
            h.factor_value,
            LOG(h.factor_value / NULLIF(LAG(h.factor_value) OVER (PARTITION BY h.risk_factor_id ORDER BY h.obs_date), 0)) AS log_return
        FROM raw.risk_factor_history AS h
        WHERE h.obs_date BETWEEN DATEADD(DAY, -7, @from_date) AND @to_date
    ) AS r
    WHERE r.obs_date >= @from_date;
END
GO

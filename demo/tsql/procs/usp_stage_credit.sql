-- Credit inputs: collateral after haircut, active netting sets, credit limits.

CREATE OR ALTER PROCEDURE stg.usp_stage_collateral
    @business_date DATE
AS
BEGIN
    SET NOCOUNT ON;

    DELETE FROM stg.collateral WHERE valuation_date = @business_date;

    INSERT INTO stg.collateral (agreement_id, cpty_lei, collateral_type, market_value, collateral_ccy, haircut_pct, adjusted_value, valuation_date)
    SELECT
        cb.agreement_id,
        cb.cpty_lei,
        cb.collateral_type,
        cb.market_value,
        cb.collateral_ccy,
        cb.haircut_pct,
        cb.market_value * (1 - cb.haircut_pct) AS adjusted_value,
        cb.valuation_date
    FROM raw.collateral_balances AS cb
    WHERE cb.valuation_date = @business_date;
END
GO

CREATE OR ALTER PROCEDURE stg.usp_stage_netting_sets
    @business_date DATE
AS
BEGIN
    SET NOCOUNT ON;

    MERGE INTO stg.netting_sets AS tgt
    USING (
        SELECT
            na.agreement_id AS netting_set_id,
            na.cpty_lei,
            na.agreement_type,
            na.csa_flag AS has_csa,
            ISNULL(na.threshold_amt, 0) AS threshold_amt,
            ISNULL(na.threshold_ccy, 'USD') AS threshold_ccy
        FROM raw.netting_agreements AS na
        WHERE na.effective_date <= @business_date
          AND (na.termination_date IS NULL OR na.termination_date > @business_date)
    ) AS src
        ON tgt.netting_set_id = src.netting_set_id
    WHEN MATCHED THEN
        UPDATE SET tgt.cpty_lei = src.cpty_lei, tgt.agreement_type = src.agreement_type, tgt.has_csa = src.has_csa,
                   tgt.threshold_amt = src.threshold_amt, tgt.threshold_ccy = src.threshold_ccy
    WHEN NOT MATCHED BY TARGET THEN
        INSERT (netting_set_id, cpty_lei, agreement_type, has_csa, threshold_amt, threshold_ccy)
        VALUES (src.netting_set_id, src.cpty_lei, src.agreement_type, src.has_csa, src.threshold_amt, src.threshold_ccy)
    WHEN NOT MATCHED BY SOURCE THEN
        DELETE;
END
GO

CREATE OR ALTER PROCEDURE stg.usp_stage_credit_limits
AS
BEGIN
    SET NOCOUNT ON;

    TRUNCATE TABLE stg.credit_limits;

    INSERT INTO stg.credit_limits (cpty_lei, limit_type, limit_amount, limit_ccy)
    SELECT l.cpty_lei, l.limit_type, l.limit_amount, l.limit_ccy
    FROM (
        SELECT
            cl.cpty_lei,
            cl.limit_type,
            cl.limit_amount,
            cl.limit_ccy,
            RANK() OVER (PARTITION BY cl.cpty_lei, cl.limit_type ORDER BY cl.approved_date DESC) AS rk
        FROM raw.credit_limits AS cl
    ) AS l
    WHERE l.rk = 1;
END
GO

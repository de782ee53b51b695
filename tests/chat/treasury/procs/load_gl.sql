CREATE PROCEDURE core.load_gl_entries
AS
BEGIN
    INSERT INTO core.gl_entries (posting_id, acct_no, entity_cd, amt_usd, value_dt)
    SELECT p.posting_id, p.acct_no, p.entity_cd, p.post_amt * fx.spot_rt, p.value_dt
    FROM inbound.gl_postings p
    JOIN inbound.fx_spot fx ON fx.from_ccy = p.post_ccy AND fx.to_ccy = 'USD';
END
GO

CREATE VIEW core.v_gl_daily AS
SELECT g.entity_cd, g.value_dt, SUM(g.amt_usd) AS daily_amt_usd
FROM core.gl_entries g
GROUP BY g.entity_cd, g.value_dt;
GO
CREATE VIEW calc.v_entity_position AS
SELECT d.entity_cd, d.value_dt, d.daily_amt_usd AS position_usd
FROM core.v_gl_daily d;
GO
CREATE VIEW calc.v_entity_liquidity AS
SELECT p.entity_cd, p.value_dt, p.position_usd, o.total_outflow_usd, p.position_usd - o.total_outflow_usd AS liquidity_gap_usd
FROM calc.v_entity_position p
CROSS JOIN (SELECT SUM(outflow_amt) AS total_outflow_usd FROM calc.outflows) o;
GO
CREATE VIEW outbound.lcr_report AS
SELECT l.entity_cd, l.value_dt, l.liquidity_gap_usd, l.liquidity_gap_usd / NULLIF(l.total_outflow_usd, 0) AS coverage_ratio
FROM calc.v_entity_liquidity l;
GO
CREATE VIEW outbound.treasury_board_pack AS
SELECT r.entity_cd, r.coverage_ratio
FROM outbound.lcr_report r;
GO
CREATE VIEW calc.v_segment_outflows AS
SELECT o.segment_cd, SUM(o.outflow_amt) AS segment_outflow_amt
FROM calc.outflows o
GROUP BY o.segment_cd;
GO

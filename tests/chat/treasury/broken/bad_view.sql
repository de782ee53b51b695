-- work in progress: this view does not parse yet
CREATE VIEW calc.v_broken_forecast AS
SELECT f.entity_cd,, f.amount
FROM calc.forecast f
WHERE ;

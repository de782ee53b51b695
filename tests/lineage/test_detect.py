"""detect_dialect: per-dialect samples, an accuracy table, the neutral fallback, robustness."""

from __future__ import annotations

import pytest
import sqlglot

from finlineage.lineage.detect import DIALECTS, detect_dialect, dialect_scores

TSQL = [
    """SET NOCOUNT ON;
SELECT TOP 100 t.trade_id, t.notional FROM dbo.trades t WITH (NOLOCK) WHERE t.trade_date = @as_of
GO""",
    """DECLARE @as_of DATE = GETDATE();
SELECT book, SUM(qty) AS qty INTO #pos FROM [risk].[trades] GROUP BY book;
SELECT * FROM #pos;""",
    """CREATE OR ALTER PROCEDURE risk.usp_load_fx @as_of DATE
AS
BEGIN
    BEGIN TRY
        INSERT INTO risk.fx_rates (ccy, rate) SELECT ccy, rate FROM stage.fx WHERE d = @as_of
    END TRY
    BEGIN CATCH
        RAISERROR('fx load failed', 16, 1)
    END CATCH
END""",
    """UPDATE p SET p.mtm = p.qty * f.rate
OUTPUT inserted.position_id, deleted.mtm INTO audit.mtm_changes
FROM risk.positions p CROSS APPLY (SELECT TOP 1 rate FROM ref.fx_rates r WHERE r.ccy = p.ccy ORDER BY d DESC) f""",
    """CREATE TABLE dbo.trades (
    trade_id INT IDENTITY(1,1) PRIMARY KEY,
    counterparty NVARCHAR(200) NOT NULL,
    booked_at DATETIME2 DEFAULT SYSDATETIME()
)""",
    """IF @@ROWCOUNT = 0
    EXEC dbo.usp_notify @msg = N'no trades loaded'""",
]

POSTGRES = [
    """CREATE OR REPLACE FUNCTION risk.refresh_positions() RETURNS void AS $$
BEGIN
  INSERT INTO risk.positions SELECT book, sum(qty) FROM risk.trades GROUP BY book;
END;
$$ LANGUAGE plpgsql;""",
    """SELECT trade_id, notional::numeric(18,2), trade_ts::date FROM risk.trades WHERE counterparty ILIKE '%bank%'""",
    """CREATE TABLE risk.trades (id BIGSERIAL PRIMARY KEY, attrs JSONB, booked_at TIMESTAMPTZ DEFAULT now())""",
    """INSERT INTO risk.positions (book, qty) VALUES ('FX1', 10)
ON CONFLICT (book) DO UPDATE SET qty = EXCLUDED.qty RETURNING id""",
    """SELECT DISTINCT ON (ccy) ccy, rate, rate_date FROM ref.fx_rates ORDER BY ccy, rate_date DESC""",
    """DO $$ BEGIN RAISE NOTICE 'positions: %', (SELECT count(*) FROM risk.positions); END $$;""",
]

SNOWFLAKE = [
    """CREATE OR REPLACE TRANSIENT TABLE stage.trades_raw (payload VARIANT, loaded_at TIMESTAMP_NTZ)""",
    """SELECT t.value:ccy::string AS ccy, t.value:amount::number(18,2) AS amount
FROM raw.trades r, LATERAL FLATTEN(input => r.payload:legs) t""",
    """COPY INTO raw.fx_rates FROM @fx_stage/2024/ FILE_FORMAT = (TYPE = 'CSV')""",
    """SELECT book, trade_id, notional FROM risk.trades
QUALIFY ROW_NUMBER() OVER (PARTITION BY book ORDER BY notional DESC) = 1""",
    """CREATE OR REPLACE PROCEDURE risk.load_positions()
RETURNS VARCHAR LANGUAGE SQL AS $$
BEGIN
  LET n NUMBER := (SELECT COUNT(*) FROM risk.trades);
  RETURN IFF(n > 0, 'ok', 'empty');
END;
$$""",
    """SELECT OBJECT_CONSTRUCT('ccy', ccy, 'rate', rate) FROM ref.fx_rates WHERE rate_date = TRY_TO_DATE('2024-01-31')""",
]

BIGQUERY = [
    """SELECT book, SUM(qty) AS qty FROM `fin-prod.risk.trades` WHERE trade_date = CURRENT_DATE() GROUP BY book""",
    """DECLARE as_of DATE DEFAULT CURRENT_DATE();
CREATE TEMP TABLE pos AS SELECT * FROM `fin-prod.risk.positions` WHERE as_of = as_of;""",
    """SELECT * EXCEPT (payload), SAFE_CAST(notional AS FLOAT64) AS notional FROM `fin-prod.raw.trades`""",
    """CREATE TABLE `fin-prod.risk.pnl` (book STRING, pnl FLOAT64, legs ARRAY<STRUCT<ccy STRING, amt NUMERIC>>)
PARTITION BY DATE(booked_at) OPTIONS (description = 'daily pnl')""",
    """SELECT ccy, rate FROM `fin-prod.ref.fx_rates_*` WHERE _TABLE_SUFFIX BETWEEN '20240101' AND '20240131'""",
    """SELECT t.book, leg.ccy FROM risk.trades AS t, UNNEST(t.legs) AS leg WHERE SAFE_DIVIDE(leg.amt, t.qty) > 1.5
AND t.id IN (SELECT id FROM `fin-prod.risk.flagged`)""",
]

SPARK = [
    """INSERT OVERWRITE TABLE risk.positions PARTITION (as_of = '2024-01-31')
SELECT book, sum(qty) FROM risk.trades GROUP BY book""",
    """CREATE TABLE risk.trades (trade_id BIGINT, book STRING, notional DECIMAL(18,2)) USING DELTA
PARTITIONED BY (book)""",
    """SELECT t.trade_id, leg.ccy FROM risk.trades t LATERAL VIEW explode(t.legs) l AS leg""",
    """SELECT book, collect_list(trade_id) AS ids FROM risk.trades GROUP BY book DISTRIBUTE BY book""",
    """MERGE INTO risk.positions p USING updates u ON p.book = u.book
WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *""",
    """CREATE TABLE raw.fx (ccy STRING, rate DOUBLE) USING PARQUET LOCATION 's3://fin-lake/raw/fx'
TBLPROPERTIES ('quality' = 'bronze')""",
]

ORACLE = [
    """CREATE TABLE risk.trades (trade_id NUMBER(12) PRIMARY KEY, book VARCHAR2(30), booked DATE DEFAULT SYSDATE)""",
    """SELECT NVL(rate, 1) FROM ref.fx_rates WHERE ccy = 'EUR' AND ROWNUM = 1""",
    """CREATE OR REPLACE PROCEDURE risk.load_positions(p_as_of IN DATE) IS
  v_cnt NUMBER;
BEGIN
  SELECT COUNT(*) INTO v_cnt FROM risk.trades WHERE trade_date = p_as_of;
  DBMS_OUTPUT.PUT_LINE(v_cnt);
END;
/""",
    """SELECT TO_CHAR(SYSDATE, 'YYYY-MM-DD') FROM dual""",
    """DECLARE
  v_rate ref.fx_rates.rate%TYPE;
BEGIN
  SELECT rate INTO v_rate FROM ref.fx_rates WHERE ccy = 'USD';
EXCEPTION WHEN NO_DATA_FOUND THEN
  RAISE_APPLICATION_ERROR(-20001, 'no rate');
END;
/""",
    """SELECT trade_id, LEVEL FROM risk.trade_links START WITH parent_id IS NULL CONNECT BY PRIOR trade_id = parent_id""",
]

MYSQL = [
    """CREATE TABLE `trades` (`id` INT UNSIGNED NOT NULL AUTO_INCREMENT, `book` VARCHAR(20), PRIMARY KEY (`id`))
ENGINE=InnoDB DEFAULT CHARSET=utf8mb4""",
    """INSERT INTO `positions` (`book`, `qty`) VALUES ('FX1', 10) ON DUPLICATE KEY UPDATE `qty` = VALUES(`qty`)""",
    """DELIMITER //
CREATE PROCEDURE load_positions()
BEGIN
  INSERT INTO positions SELECT book, SUM(qty) FROM trades GROUP BY book;
END //
DELIMITER ;""",
    """SELECT `book`, GROUP_CONCAT(`trade_id`) FROM `trades` WHERE `trade_date` = CURDATE() GROUP BY `book` LIMIT 0, 50""",
    """SELECT DATE_FORMAT(trade_ts, '%Y-%m') AS month, IFNULL(SUM(notional), 0) FROM `trades` GROUP BY month""",
    """REPLACE INTO `fx_rates` (`ccy`, `rate`) SELECT `ccy`, `rate` FROM `fx_stage` WHERE STR_TO_DATE(`d`, '%Y%m%d') = CURDATE()""",
]

TABLE = {
    "tsql": TSQL,
    "postgres": POSTGRES,
    "snowflake": SNOWFLAKE,
    "bigquery": BIGQUERY,
    "spark": SPARK,
    "oracle": ORACLE,
    "mysql": MYSQL,
}

CASES = [(d, i, s) for d, samples in TABLE.items() for i, s in enumerate(samples)]


@pytest.mark.parametrize(("dialect", "idx", "sql"), CASES, ids=[f"{d}-{i}" for d, i, _ in CASES])
def test_each_sample_is_detected(dialect: str, idx: int, sql: str) -> None:
    assert detect_dialect(sql) == dialect, dialect_scores(sql)


def test_accuracy_over_table() -> None:
    assert all(len(samples) >= 5 for samples in TABLE.values())
    per_dialect = {}
    for d, samples in TABLE.items():
        per_dialect[d] = sum(detect_dialect(s) == d for s in samples) / len(samples)
    overall = sum(detect_dialect(s) == d for d, _, s in CASES) / len(CASES)
    assert overall >= 0.95, per_dialect
    assert min(per_dialect.values()) >= 0.8, per_dialect


@pytest.mark.parametrize(
    "sql",
    [
        "",
        "   ",
        "SELECT 1",
        "SELECT trade_id, notional FROM trades WHERE notional > 100",
        "INSERT INTO positions (book, qty) SELECT book, SUM(qty) FROM trades GROUP BY book",
        "-- only a comment with VARCHAR2 and AUTO_INCREMENT inside\nSELECT a FROM t",
    ],
)
def test_neutral_default(sql: str) -> None:
    d = detect_dialect(sql)
    assert d == ""
    sqlglot.Dialect.get_or_raise(d or None)  # a name sqlglot accepts


def test_returns_names_sqlglot_accepts() -> None:
    for d in DIALECTS:
        assert sqlglot.Dialect.get_or_raise(d) is not None


@pytest.mark.parametrize(
    "sql",
    [
        "\x00\x01\x02binary\xff" * 100,
        "((((((" * 10000,
        "'" * 5001,
        "$$" * 3001,
        "`" * 999,
        "[" * 10000,
        "/*" * 4000,
    ],
)
def test_garbage_never_raises(sql: str) -> None:
    assert detect_dialect(sql) in ("", *DIALECTS)


def test_non_string_input() -> None:
    assert detect_dialect(None) == ""  # type: ignore[arg-type]


@pytest.mark.timeout(60)  # a hang fails the test; speed is not asserted here
def test_large_input_is_detected() -> None:
    sql = "\n".join(POSTGRES) * 400  # ~200 KB
    assert detect_dialect(sql) == "postgres"


def test_mixed_evidence_picks_strongest() -> None:
    sql = "SELECT NVL(a, 0) FROM `fin-prod.risk.trades` WHERE SAFE_CAST(x AS INT64) > 0"
    assert detect_dialect(sql) == "bigquery"


def test_detection_stays_linear_on_many_one_line_statements_with_as() -> None:
    """A file of one-line `CREATE VIEW … AS SELECT … AS …;` statements once made the Oracle
    declaration-section rule backtrack exponentially (ingestion with dialect auto never ended).
    Each input here must come back, with the neutral answer for this plain SQL."""
    chain = "".join(f"CREATE VIEW m.v{i} AS SELECT k, a + 0 AS a FROM m.v{i - 1};\n" for i in range(1, 400))
    assert detect_dialect(chain) == ""
    declarations = "CREATE PROCEDURE p AS\n" + "".join(f"x{i} NUMBER(10) := {i};\n" for i in range(400))
    assert detect_dialect(declarations + "SELECT 1;") == "oracle"  # NUMBER(10) and := are Oracle
    # a real declaration section followed by BEGIN still counts as evidence for Oracle
    assert (
        dialect_scores("CREATE OR REPLACE PROCEDURE p IS\n  v NUMBER;\nBEGIN\n  NULL;\nEND p;\n")["oracle"]
        > 0
    )

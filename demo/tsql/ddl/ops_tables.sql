-- Operational control tables written by the ingestion procedures.

CREATE TABLE ops.load_log (
    load_id        INT IDENTITY(1, 1) NOT NULL PRIMARY KEY,
    proc_name      VARCHAR(128)   NOT NULL,
    step_name      VARCHAR(64)    NOT NULL,
    row_count      INT            NULL,
    status         VARCHAR(10)    NOT NULL,   -- OK / FAILED
    error_message  NVARCHAR(4000) NULL,
    logged_at      DATETIME2(3)   NOT NULL
);

CREATE TABLE ops.rejected_trades (
    source_venue    VARCHAR(8)     NOT NULL,
    source_id       VARCHAR(40)    NOT NULL,
    reject_reason   VARCHAR(100)   NOT NULL,
    isin            CHAR(12)       NULL,
    rejected_at     DATETIME2(3)   NOT NULL
);

CREATE TABLE ops.fx_missing_rates (
    rate_date    DATE          NOT NULL,
    ccy          CHAR(3)       NOT NULL,
    detected_at  DATETIME2(3)  NOT NULL
);

CREATE TABLE ops.venue_recon (
    recon_date    DATE         NOT NULL,
    source_venue  VARCHAR(8)   NOT NULL,
    raw_count     INT          NOT NULL,
    staged_count  INT          NOT NULL,
    break_count   INT          NOT NULL
);
GO

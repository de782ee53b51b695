"""Canonical names across dialects: one spelling per object, whatever the dialect or quoting."""

from __future__ import annotations

import pytest

from finlineage.lineage import extract
from finlineage.lineage.names import canonical_dotted

from .helpers import direct


@pytest.mark.parametrize(
    "dialect", ["snowflake", "oracle", "postgres", "tsql", "mysql", "bigquery", "spark", ""]
)
def test_unquoted_names_are_lower_case_in_every_dialect(dialect: str) -> None:
    res = extract(
        "INSERT INTO Crd.Exposure_Net (Exposure_Net_Of_Collateral) SELECT GROSS - COLLATERAL FROM CRD.EXPOSURE",
        dialect,
    )
    st = res.statements[0]
    assert st.target_tables == ("crd.exposure_net",)
    assert st.source_tables == ("crd.exposure",)
    assert direct(st) == {
        "crd.exposure_net.exposure_net_of_collateral": {"crd.exposure.gross", "crd.exposure.collateral"}
    }


def test_oracle_procedure_names_calls_objects_and_temps_are_lower_case() -> None:
    res = extract(
        """CREATE GLOBAL TEMPORARY TABLE CRD.GTT_EXP (ACCT NUMBER, EXP NUMBER) ON COMMIT DELETE ROWS;
CREATE OR REPLACE PROCEDURE CRD.LOAD_EXPOSURE AS
BEGIN
  INSERT INTO CRD.GTT_EXP (ACCT, EXP) SELECT ACCT_ID, GROSS FROM CRD.EXPOSURE;
  INSERT INTO CRD.EXPOSURE_NET (ACCT, EXPOSURE_NET_OF_COLLATERAL) SELECT ACCT, EXP FROM CRD.GTT_EXP;
  CRD.AUDIT_PKG.LOG_RUN('LOAD_EXPOSURE');
END;
/""",
        "oracle",
    )
    assert {o.name for o in res.objects} == {"crd.gtt_exp", "crd.load_exposure"}
    procs = {s.process for s in res.statements if s.process}
    assert procs == {"crd.load_exposure"}
    assert ("crd.audit_pkg.log_run",) in [s.calls for s in res.statements]
    names = {t for s in res.statements for t in (*s.source_tables, *s.target_tables)}
    assert names == {"crd.gtt_exp", "crd.exposure", "crd.exposure_net"}
    assert all(t == t.lower() for s in res.statements for t in s.temporary_tables)


def test_snowflake_quoted_names_keep_case_unless_upper() -> None:
    res = extract(
        'INSERT INTO "Treasury"."CashPos" SELECT "ACCT", "Amount" FROM "TREASURY".RAW_CASH', "snowflake"
    )
    st = res.statements[0]
    assert st.target_tables == ("Treasury.CashPos",)
    assert st.source_tables == ("treasury.raw_cash",)
    assert direct(st) == {
        "Treasury.CashPos.acct": {"treasury.raw_cash.acct"},
        "Treasury.CashPos.Amount": {"treasury.raw_cash.Amount"},
    }


def test_snowflake_and_postgres_files_join_on_the_same_name() -> None:
    sf = extract("INSERT INTO FIN.GL_BALANCES SELECT ACCT, BAL FROM FIN.GL_RAW", "snowflake")
    pg = extract("INSERT INTO rpt.trial_balance SELECT acct, bal FROM fin.gl_balances", "postgres")
    assert sf.statements[0].target_tables[0] == pg.statements[0].source_tables[0] == "fin.gl_balances"


def test_canonical_dotted() -> None:
    assert canonical_dotted("CRD.LOAD_EXPOSURE", "oracle") == "crd.load_exposure"
    assert canonical_dotted("CRD.LoadExposure", "snowflake") == "crd.LoadExposure"  # quoted part kept
    assert canonical_dotted("risk.LoadVar", "postgres") == "risk.LoadVar"  # capitals only when quoted
    assert canonical_dotted("Risk.LoadVar", "mysql") == "risk.loadvar"
    assert canonical_dotted("", "oracle") == ""

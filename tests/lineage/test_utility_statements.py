"""Statements without column lineage in procedural code: recognised, not `unsupported`;
USE qualifies later statements; T-SQL INSERT ... EXEC keeps its target."""

from __future__ import annotations

import pytest
import sqlglot

from finlineage.lineage import extract

from .helpers import codes, rollup_direct


@pytest.mark.parametrize(
    "sql,dialect,kind,targets",
    [
        ("REFRESH MATERIALIZED VIEW risk.mv_exposure", "postgres", "refresh", ("risk.mv_exposure",)),
        (
            "REFRESH MATERIALIZED VIEW CONCURRENTLY risk.mv_exposure WITH DATA",
            "postgres",
            "refresh",
            ("risk.mv_exposure",),
        ),
        ("REFRESH MATERIALIZED VIEW risk.mv_exposure", "redshift", "refresh", ("risk.mv_exposure",)),
        ("REFRESH MATERIALIZED VIEW risk.mv_exposure", "databricks", "refresh", ("risk.mv_exposure",)),
        ("REFRESH TABLE risk.positions", "spark", "refresh", ()),  # metadata cache only
        ("ANALYZE gl.fees", "postgres", "analyze", ()),
        ("VACUUM (ANALYZE) gl.fees", "postgres", "vacuum", ()),
        ("GRANT SELECT ON gl.fees TO auditor", "postgres", "grant", ()),
        ("COMMENT ON TABLE gl.fees IS 'fees booked per day'", "postgres", "comment", ()),
        ("ANALYZE TABLE gl.fees COMPUTE STATISTICS", "oracle", "analyze", ()),
        ("UPDATE STATISTICS dbo.trades", "tsql", "update_statistics", ()),
    ],
)
def test_no_lineage_statements_are_recognised(
    sql: str, dialect: str, kind: str, targets: tuple[str, ...]
) -> None:
    res = extract(sql, dialect)
    st = res.statements[0]
    assert st.type == kind
    assert st.target_tables == targets
    assert st.source_tables == ()
    assert st.column_edges == ()
    assert not {"unsupported_statement", "parse_error"} & codes(res)


def test_refresh_inside_plpgsql_function() -> None:
    res = extract(
        """CREATE FUNCTION risk.nightly() RETURNS void AS $$
BEGIN
  INSERT INTO risk.exposure_hist SELECT * FROM risk.exposure;
  REFRESH MATERIALIZED VIEW risk.mv_exposure;
  ANALYZE risk.exposure_hist;
END $$ LANGUAGE plpgsql;""",
        "postgres",
    )
    kinds = [(s.type, s.target_tables, s.process) for s in res.statements]
    assert ("refresh", ("risk.mv_exposure",), "risk.nightly") in kinds
    assert ("analyze", (), "risk.nightly") in kinds
    assert "unsupported_statement" not in codes(res)


def test_tsql_use_sets_database_for_later_statements() -> None:
    res = extract(
        """INSERT INTO stage.trades SELECT * FROM raw.trades;
USE FinanceDW;
INSERT INTO mart.trades (trade_id) SELECT trade_id FROM stage.trades;
INSERT INTO #t SELECT trade_id FROM positions;""",
        "tsql",
    )
    first, use, second, third = res.statements
    assert use.type == "use" and not use.diagnostics
    assert first.target_tables == ("stage.trades",)
    assert second.target_tables == ("financedw.mart.trades",)
    assert second.source_tables == ("financedw.stage.trades",)
    assert third.source_tables == ("financedw.dbo.positions",)  # one-part names: the default schema
    assert third.target_tables == ("#t",)  # temporaries are never qualified


def test_mysql_and_spark_use_qualify_one_part_names() -> None:
    for dialect in ("mysql", "spark"):
        res = extract("USE ledger; INSERT INTO fees SELECT acct, fee FROM ledger_raw.fees", dialect)
        assert res.statements[1].target_tables == ("ledger.fees",)
        assert res.statements[1].source_tables == ("ledger_raw.fees",)


def test_snowflake_use_database_and_schema() -> None:
    res = extract(
        """USE DATABASE finance;
INSERT INTO gl.balances SELECT acct, bal FROM raw_bal;
USE SCHEMA finance.treasury;
INSERT INTO cash SELECT acct, amt FROM gl.cash_moves;
USE ROLE sysadmin;
INSERT INTO cash2 SELECT acct FROM cash;""",
        "snowflake",
    )
    ins = [s for s in res.statements if s.type == "insert"]
    assert ins[0].target_tables == ("finance.gl.balances",)
    assert ins[0].source_tables == ("finance.public.raw_bal",)
    assert ins[1].target_tables == ("finance.treasury.cash",)
    assert ins[1].source_tables == ("finance.gl.cash_moves",)
    assert ins[2].target_tables == ("finance.treasury.cash2",)  # USE ROLE changes no names


def test_tsql_insert_exec_keeps_the_target() -> None:
    res = extract(
        """CREATE PROCEDURE risk.load_positions @as_of DATE AS
BEGIN
  INSERT INTO #pos (acct, qty) EXEC risk.get_positions @as_of = @as_of;
  INSERT INTO risk.positions_hist (acct, qty) SELECT acct, qty FROM #pos;
  INSERT risk.limits EXECUTE [risk].[get_limits];
END""",
        "tsql",
    )
    ex = [s for s in res.statements if s.calls]
    assert [(s.type, s.target_tables, s.calls) for s in ex] == [
        ("insert", ("#pos",), ("risk.get_positions",)),
        ("insert", ("risk.limits",), ("risk.get_limits",)),
    ]
    assert ex[0].temporary_tables == ("#pos",)
    assert {e.target for e in ex[0].column_edges} == {"#pos.acct", "#pos.qty"}
    assert [d.code for d in ex[0].diagnostics] == ["procedure_result_set"]
    assert "risk.get_positions" in ex[0].diagnostics[0].message
    assert set(res.rollup.target_tables) == {"risk.positions_hist", "risk.limits"}
    # the temp table's rows come from the procedure: no table sources, but the write is kept
    assert rollup_direct(res)["risk.positions_hist.qty"] == set()


def test_set_search_path_and_current_schema_qualify_later_names() -> None:
    # the script splitter drops SET today: the engine's rule, statement by statement
    from finlineage.lineage.names import SchemaIndex, canonicalize
    from finlineage.lineage.statements import Context, analyze_statement

    def run(sqls: list[str], dialect: str) -> list[tuple[str, tuple[str, ...]]]:
        ctx = Context(dialect=dialect, schema=SchemaIndex(dialect))
        out = []
        for i, q in enumerate(sqls):
            r = analyze_statement(canonicalize(sqlglot.parse_one(q, read=dialect), dialect), ctx, i)
            out.append((r.type, tuple(r.target_tables)))
        return out

    assert run(['SET search_path TO "$user", Risk, public', "INSERT INTO var_out SELECT 1"], "postgres") == [
        ("set", ()),
        ("insert", ("risk.var_out",)),
    ]
    assert run(["SET search_path = public", "INSERT INTO var_out SELECT 1"], "postgres")[1] == (
        "insert",
        ("var_out",),
    )
    assert run(
        ["ALTER SESSION SET CURRENT_SCHEMA = CRD", "INSERT INTO EXPOSURE SELECT 1 FROM DUAL"], "oracle"
    ) == [
        ("set", ()),
        ("insert", ("crd.exposure",)),
    ]

"""Every column edge carries its OpenLineage transformation subtype (contract C1)."""

from __future__ import annotations

from finlineage.lineage import extract
from finlineage.lineage.model import DIRECT_SUBTYPES, INDIRECT_SUBTYPES, ColumnEdge


def _edges(sql: str, dialect: str = "", **kw: object) -> list[ColumnEdge]:
    res = extract(sql, dialect, **kw)  # type: ignore[arg-type]
    return [e for st in res.statements for e in st.column_edges]


def _by(edges: list[ColumnEdge], target: str) -> dict[tuple[str, str], set[str]]:
    out: dict[tuple[str, str], set[str]] = {}
    for e in edges:
        if e.target == target:
            out.setdefault((e.kind, e.subtype), set()).update(e.sources)
    return out


def test_direct_subtypes_identity_transformation_aggregation() -> None:
    sql = """
    INSERT INTO desk_totals (desk, total, label)
    SELECT b.desk, SUM(b.notional), UPPER(b.desk_name) FROM bookings b GROUP BY b.desk, b.desk_name
    """
    edges = _edges(sql)
    assert _by(edges, "desk_totals.desk")[("direct", "IDENTITY")] == {"bookings.desk"}
    assert _by(edges, "desk_totals.total")[("direct", "AGGREGATION")] == {"bookings.notional"}
    assert _by(edges, "desk_totals.label")[("direct", "TRANSFORMATION")] == {"bookings.desk_name"}
    assert _by(edges, "desk_totals.total")[("indirect", "GROUP_BY")] == {
        "bookings.desk",
        "bookings.desk_name",
    }


def test_join_filter_sort_are_separate_indirect_edges() -> None:
    sql = """
    INSERT INTO settled
    SELECT p.pay_id, p.amount FROM payments p
    JOIN accounts a ON a.acct_no = p.acct_no
    WHERE a.status = 'open'
    ORDER BY p.value_date
    """
    got = _by(_edges(sql), "settled.amount")
    assert got[("direct", "IDENTITY")] == {"payments.amount"}
    assert got[("indirect", "JOIN")] == {"accounts.acct_no", "payments.acct_no"}
    assert got[("indirect", "FILTER")] == {"accounts.status"}
    assert got[("indirect", "SORT")] == {"payments.value_date"}


def test_window_columns_are_indirect_window_never_direct() -> None:
    sql = """
    CREATE TABLE ranked_fx AS
    SELECT SUM(rate) OVER (PARTITION BY ccy_pair ORDER BY fixing_ts) AS run_rate FROM fx_fixings
    """
    got = _by(_edges(sql, "postgres"), "ranked_fx.run_rate")
    assert got[("direct", "AGGREGATION")] == {"fx_fixings.rate"}
    assert got[("indirect", "WINDOW")] == {"fx_fixings.ccy_pair", "fx_fixings.fixing_ts"}


def test_window_through_a_derived_table_stays_indirect() -> None:
    sql = """
    INSERT INTO latest_quote
    SELECT q.px FROM (SELECT px, ROW_NUMBER() OVER (PARTITION BY isin ORDER BY ts DESC) AS rn FROM quotes) q
    WHERE q.rn = 1
    """
    got = _by(_edges(sql, "snowflake"), "latest_quote.px")
    assert got[("direct", "IDENTITY")] == {"quotes.px"}
    assert ("direct", "WINDOW") not in got
    assert {"quotes.isin", "quotes.ts"} <= got.get(("indirect", "FILTER"), set()) | got.get(
        ("indirect", "WINDOW"), set()
    )


def test_case_conditions_are_conditional_and_values_direct() -> None:
    sql = """
    INSERT INTO risk_bucket (loan_id, bucket)
    SELECT loan_id, CASE WHEN ltv > 0.8 THEN grade_hi ELSE grade_lo END FROM loans
    """
    got = _by(_edges(sql, "tsql"), "risk_bucket.bucket")
    assert got[("indirect", "CONDITIONAL")] == {"loans.ltv"}
    assert got[("direct", "TRANSFORMATION")] >= {"loans.grade_hi", "loans.grade_lo"}


def test_iif_condition_is_conditional() -> None:
    got = _by(
        _edges("INSERT INTO flags (f) SELECT IIF(qty > 0, 'long', 'short') FROM positions", "tsql"), "flags.f"
    )
    assert got[("indirect", "CONDITIONAL")] == {"positions.qty"}


def test_aggregate_through_cte_keeps_aggregation() -> None:
    sql = """
    WITH s AS (SELECT cpty, MAX(exposure) AS peak FROM exposures GROUP BY cpty)
    INSERT INTO peaks SELECT cpty, peak FROM s
    """
    edges = _edges(sql)
    assert _by(edges, "peaks.peak")[("direct", "AGGREGATION")] == {"exposures.exposure"}
    assert _by(edges, "peaks.cpty")[("direct", "IDENTITY")] == {"exposures.cpty"}


def test_every_edge_has_a_valid_subtype_across_statement_kinds() -> None:
    schema = {"ledger": {"acct": "int", "amt": "int"}, "staging": {"acct": "int", "amt": "int"}}
    sql = """
    UPDATE ledger SET amt = s.amt FROM staging s WHERE s.acct = ledger.acct;
    MERGE INTO ledger l USING staging s ON l.acct = s.acct
      WHEN MATCHED THEN UPDATE SET amt = l.amt + s.amt
      WHEN NOT MATCHED THEN INSERT (acct, amt) VALUES (s.acct, s.amt);
    INSERT INTO ledger VALUES (1, 2);
    SELECT acct, COUNT(*) AS n FROM ledger GROUP BY acct
    """
    edges = _edges(sql, "tsql", schema=schema)
    assert edges
    for e in edges:
        allowed = DIRECT_SUBTYPES if e.kind == "direct" else INDIRECT_SUBTYPES
        assert e.subtype in allowed, e
    keys = [(e.target, e.kind, e.subtype) for e in edges]
    # one edge per (target, kind, subtype) per statement: the MERGE writes amt twice (two branches)
    assert keys.count(("ledger.amt", "indirect", "JOIN")) >= 1

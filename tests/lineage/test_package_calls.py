"""Oracle packages in one file (spec + body): routines are `schema.package.member`, and calls
that leave out the package or the schema (PL/SQL resolves them in the enclosing package, then
in the caller's schema) name the routine the script defines there."""

from __future__ import annotations

from finlineage.lineage import extract

from .helpers import direct

_SCRIPT = """CREATE OR REPLACE PACKAGE ops.settle AS
  c_fee CONSTANT NUMBER := 2;
  PROCEDURE post_one(p_id NUMBER);
  FUNCTION fee_of(p_id NUMBER) RETURN NUMBER;
  PROCEDURE run_all;
END settle;
/
CREATE OR REPLACE PACKAGE BODY ops.settle AS
  FUNCTION fee_of(p_id NUMBER) RETURN NUMBER IS
    v NUMBER;
  BEGIN
    SELECT f.amount INTO v FROM ops.fees f WHERE f.id = p_id;
    RETURN v;
  END fee_of;
  PROCEDURE post_one(p_id NUMBER) IS
  BEGIN
    INSERT INTO ops.ledger (id, fee) SELECT t.id, t.qty * c_fee FROM ops.trades t WHERE t.id = p_id;
  END post_one;
  PROCEDURE run_all IS
  BEGIN
    FOR r IN (SELECT x.id FROM ops.trades x) LOOP
      post_one(r.id);
      settle.post_one(r.id);
      ops.settle.post_one(p_id => r.id);
    END LOOP;
    purge_stale;
  END run_all;
END settle;
/
CREATE OR REPLACE PROCEDURE ops.nightly IS
BEGIN
  ops.settle.run_all;
  settle.run_all();
  audit.stamp(1);
END;
/
"""


def test_spec_and_body_give_each_member_once_as_package_member() -> None:
    res = extract(_SCRIPT, "oracle")
    assert [(o.name, o.kind) for o in res.objects] == [
        ("ops.settle.fee_of", "function"),
        ("ops.settle.post_one", "procedure"),
        ("ops.settle.run_all", "procedure"),
        ("ops.nightly", "procedure"),
    ]
    # the spec's declarations are no statements and no calls
    assert all(s.line_start > 7 for s in res.statements)
    assert {s.process for s in res.statements} == {
        "ops.settle.fee_of",
        "ops.settle.post_one",
        "ops.settle.run_all",
        "ops.nightly",
    }


def test_calls_name_the_package_member_however_they_are_qualified() -> None:
    res = extract(_SCRIPT, "oracle")
    calls = [(s.process, s.calls) for s in res.statements if s.type == "call"]
    assert calls == [
        ("ops.settle.run_all", ("ops.settle.post_one",)),
        ("ops.settle.run_all", ("ops.settle.post_one",)),
        ("ops.settle.run_all", ("ops.settle.post_one",)),
        ("ops.settle.run_all", ("purge_stale",)),  # defined nowhere in the script: as written
        ("ops.nightly", ("ops.settle.run_all",)),
        ("ops.nightly", ("ops.settle.run_all",)),
        ("ops.nightly", ("audit.stamp",)),
    ]


def test_package_constant_and_member_parameters_flow_through_every_call_form() -> None:
    res = extract(_SCRIPT, "oracle")
    ins = next(s for s in res.statements if s.target_tables == ("ops.ledger",))
    assert direct(ins) == {"ops.ledger.id": {"ops.trades.id"}, "ops.ledger.fee": {"ops.trades.qty"}}
    # p_id is bound from r.id by all three calls: a filter source, never a column named p_id
    assert all("p_id" not in x for e in ins.column_edges for x in e.sources)
    assert all("\x00" not in x for e in ins.column_edges for x in e.sources)


def test_spec_without_schema_and_body_with_schema_are_one_package() -> None:
    res = extract(
        """CREATE OR REPLACE PACKAGE fxp AS
  g_mid NUMBER;
  PROCEDURE load_mid;
  PROCEDURE revalue;
END fxp;
/
CREATE OR REPLACE PACKAGE BODY treasury.fxp AS
  PROCEDURE load_mid IS
  BEGIN
    SELECT q.mid INTO g_mid FROM treasury.quotes q;
  END load_mid;
  PROCEDURE revalue IS
  BEGIN
    UPDATE treasury.holdings SET eur_value = nominal * g_mid;
  END revalue;
END fxp;
/""",
        "oracle",
    )
    assert [o.name for o in res.objects] == ["treasury.fxp.load_mid", "treasury.fxp.revalue"]
    upd = next(s for s in res.statements if s.type == "update")
    # g_mid is the spec's package variable, not a column of the updated table
    assert direct(upd) == {
        "treasury.holdings.eur_value": {"treasury.holdings.nominal", "treasury.quotes.mid"}
    }

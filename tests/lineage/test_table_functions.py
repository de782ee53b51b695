"""Table-valued functions read like tables: an inline function defined in the script is its
RETURN query (lineage reaches the tables it reads, through FROM and CROSS/OUTER APPLY); a
function defined elsewhere gives no phantom object or columns."""

from __future__ import annotations

from finlineage.lineage import extract

from .helpers import direct, indirect

INLINE_TVF = """CREATE FUNCTION mkt.fn_open_orders (@desk VARCHAR(8))
RETURNS TABLE
AS
RETURN (SELECT o.order_id, o.qty * o.px AS notional FROM mkt.orders AS o WHERE o.desk_code = @desk);
GO
"""


def _by_target(sql: str, dialect: str = "tsql") -> dict[str, set[str]]:
    res = extract(sql, dialect)
    out: dict[str, set[str]] = {}
    for st in res.statements:
        for t, s in direct(st).items():
            out.setdefault(t, set()).update(s)
    return out


def test_procedure_reading_an_inline_function_reaches_its_tables() -> None:
    sql = INLINE_TVF + (
        "CREATE PROCEDURE mkt.usp_load AS\nBEGIN\n"
        "    INSERT INTO mkt.desk_orders (order_id, notional)\n"
        "    SELECT f.order_id, f.notional FROM mkt.fn_open_orders('FX') AS f;\nEND\nGO\n"
    )
    res = extract(sql, "tsql")
    load = res.statements[-1]
    assert "mkt.fn_open_orders('FX') AS f" in load.sql  # evidence is the text as written
    assert set(load.source_tables) == {"mkt.orders", "mkt.fn_open_orders"}
    assert direct(load) == {
        "mkt.desk_orders.order_id": {"mkt.orders.order_id"},
        "mkt.desk_orders.notional": {"mkt.orders.qty", "mkt.orders.px"},
    }
    assert indirect(load)["mkt.desk_orders.order_id"] == {"mkt.orders.desk_code"}
    subtypes = {e.target: e.subtype for e in res.rollup.column_edges if e.kind == "direct"}
    assert subtypes["mkt.desk_orders.order_id"] == "IDENTITY"
    assert subtypes["mkt.desk_orders.notional"] == "TRANSFORMATION"
    # the function keeps its own lineage
    assert direct(res.statements[0])["mkt.fn_open_orders.order_id"] == {"mkt.orders.order_id"}


def test_cross_and_outer_apply_of_a_qualified_inline_function() -> None:
    sql = INLINE_TVF + (
        "CREATE VIEW mkt.v_desks AS\n"
        "SELECT d.desk_code, a.order_id, b.notional FROM mkt.desks AS d\n"
        "CROSS APPLY mkt.fn_open_orders(d.desk_code) AS a\n"
        "OUTER APPLY mkt.fn_open_orders(d.desk_code) b\nGO\n"
    )
    edges = _by_target(sql)
    assert edges["mkt.v_desks.desk_code"] == {"mkt.desks.desk_code"}
    assert edges["mkt.v_desks.order_id"] == {"mkt.orders.order_id"}
    assert edges["mkt.v_desks.notional"] == {"mkt.orders.qty", "mkt.orders.px"}


def test_star_over_a_function_with_declared_columns() -> None:
    sql = (
        "CREATE FUNCTION mkt.fn_px()\nRETURNS TABLE (id INT, price NUMERIC)\nLANGUAGE plpgsql AS $$\n"
        "BEGIN\n    RETURN QUERY SELECT q.sym_id, q.last FROM mkt.quotes AS q;\nEND;\n$$;\n"
        "INSERT INTO mkt.px_copy SELECT * FROM mkt.fn_px() AS p;\n"
    )
    edges = _by_target(sql, "postgres")
    assert edges["mkt.px_copy.id"] == {"mkt.quotes.sym_id"}
    assert edges["mkt.px_copy.price"] == {"mkt.quotes.last"}


def test_a_function_defined_elsewhere_is_no_phantom_object() -> None:
    res = extract(
        INLINE_TVF + "INSERT INTO rpt.o (k, v) SELECT u.k, u.v FROM ref.fn_elsewhere(1) AS u"
        " CROSS APPLY dbo.fn_more(u.k) AS m\n",
        "tsql",
    )
    st = res.statements[-1]
    assert st.source_tables == ()
    assert all(not e.sources for e in st.column_edges)


def test_builtin_and_system_rowset_functions_are_not_objects() -> None:
    res = extract(
        "INSERT INTO rpt.o (v) SELECT s.value FROM t1 AS x CROSS APPLY STRING_SPLIT(x.csv, ',') AS s\n"
        "INSERT INTO rpt.p (n) SELECT d.session_id FROM sys.dm_exec_sessions() AS d\n",
        "tsql",
    )
    tables = {t for s in res.statements for t in s.source_tables}
    assert "string_split" not in tables and "sys.dm_exec_sessions" not in tables


def test_a_function_whose_columns_the_schema_knows_reads_like_a_view_of_them() -> None:
    """Defined in another file that declared its result columns (the ingest passes them as the
    schema): the function is the relation read, in FROM, in CROSS APPLY and under `*`."""
    schema = {"ref.fn_elsewhere": {"k": "int", "v": "money"}, "dbo.fn_more": {"w": None}}
    res = extract(
        "INSERT INTO rpt.o (k, v, w) SELECT u.k, u.v * 2, m.w FROM ref.fn_elsewhere(1) AS u"
        " CROSS APPLY dbo.fn_more(u.k) AS m\n"
        "INSERT INTO rpt.s SELECT * FROM ref.fn_elsewhere(2) AS s\n"
        "INSERT INTO rpt.r (a) SELECT r.kk FROM ref.fn_elsewhere(3) AS r (kk, vv)\n",
        "tsql",
        schema=schema,
    )
    first, star, renamed = res.statements
    assert set(first.source_tables) == {"ref.fn_elsewhere", "dbo.fn_more"}
    edges = direct(first)
    assert edges["rpt.o.k"] == {"ref.fn_elsewhere.k"}
    assert edges["rpt.o.v"] == {"ref.fn_elsewhere.v"}
    assert edges["rpt.o.w"] == {"dbo.fn_more.w"}
    assert direct(star) == {"rpt.s.k": {"ref.fn_elsewhere.k"}, "rpt.s.v": {"ref.fn_elsewhere.v"}}
    assert direct(renamed) == {"rpt.r.a": {"ref.fn_elsewhere.k"}}
    assert not [d for s in res.statements for d in s.diagnostics if d.code == "table_function_unknown"]


def test_a_function_nothing_knows_is_named_in_a_warning() -> None:
    res = extract(
        "INSERT INTO rpt.o (k) SELECT u.k FROM ref.fn_elsewhere(1) AS u\n"
        "INSERT INTO rpt.p (n) SELECT d.session_id FROM sys.dm_exec_sessions() AS d\n",
        "tsql",
    )
    first, system = res.statements
    assert [(d.code, d.line) for d in first.diagnostics] == [("table_function_unknown", 1)]
    assert "ref.fn_elsewhere" in first.diagnostics[0].message
    assert not system.diagnostics  # the engine's own rowset functions: nothing to say

"""T-SQL triggers: the pseudo-tables `inserted` and `deleted` hold rows of the table the trigger
fires on (`CREATE TRIGGER t ON schema.tbl AFTER ...`); they are never catalog tables of their own.
Triggers of other dialects keep their NEW/OLD row records."""

from __future__ import annotations

from finlineage.lineage import extract

from .helpers import direct

TSQL_TRIGGER = """CREATE TRIGGER ops.trg_book_audit ON ops.bookings AFTER INSERT, UPDATE, DELETE AS
BEGIN
    INSERT INTO ops.booking_log (booking_id, qty) SELECT i.booking_id, i.qty FROM inserted AS i;
    INSERT INTO ops.booking_gone (booking_id) SELECT booking_id FROM deleted;
    UPDATE b SET b.touched = 1 FROM ops.bookings AS b JOIN inserted AS n ON n.booking_id = b.booking_id;
END
GO
"""


def test_inserted_and_deleted_are_the_trigger_table() -> None:
    res = extract(TSQL_TRIGGER, "tsql")
    sources = {t for s in res.statements for t in s.source_tables}
    assert sources == {"ops.bookings"}
    assert not {t for s in res.statements for t in s.target_tables} & {"inserted", "deleted"}
    first, second = res.statements[0], res.statements[1]
    assert direct(first) == {
        "ops.booking_log.booking_id": {"ops.bookings.booking_id"},
        "ops.booking_log.qty": {"ops.bookings.qty"},
    }
    assert direct(second) == {"ops.booking_gone.booking_id": {"ops.bookings.booking_id"}}
    assert {e.subtype for e in first.column_edges} == {"IDENTITY"}


def test_trigger_table_in_brackets_and_for_clause() -> None:
    sql = (
        "CREATE TRIGGER [ops].[trg_x] ON [ops].[Bookings] FOR INSERT AS\n"
        "INSERT INTO ops.copy_t (k) SELECT k FROM INSERTED\nGO\n"
    )
    res = extract(sql, "tsql")
    assert res.statements[0].source_tables == ("ops.bookings",)


def test_a_table_named_inserted_outside_a_trigger_or_schema_qualified_stays_a_table() -> None:
    res = extract(
        "INSERT INTO a.t (k) SELECT k FROM inserted\nGO\n"
        "CREATE TRIGGER ops.trg ON ops.bookings AFTER INSERT AS\n"
        "INSERT INTO a.u (k) SELECT k FROM arch.inserted\nGO\n",
        "tsql",
    )
    assert [s.source_tables for s in res.statements] == [("inserted",), ("arch.inserted",)]


def test_ddl_trigger_on_database_has_no_table() -> None:
    res = extract(
        "CREATE TRIGGER trg_ddl ON DATABASE FOR CREATE_TABLE AS\n"
        "INSERT INTO audit.ddl_log (k) SELECT k FROM deleted\nGO\n",
        "tsql",
    )
    assert "database" not in {t for s in res.statements for t in s.source_tables}


def test_mysql_new_row_still_reads_the_trigger_table() -> None:
    sql = (
        "CREATE TRIGGER trg_b AFTER INSERT ON bookings FOR EACH ROW\n"
        "INSERT INTO booking_log (booking_id) VALUES (NEW.booking_id);\n"
    )
    res = extract(sql, "mysql")
    edges = {t: s for st in res.statements for t, s in direct(st).items()}
    assert edges == {"booking_log.booking_id": {"bookings.booking_id"}}

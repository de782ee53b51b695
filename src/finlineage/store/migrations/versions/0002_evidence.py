"""evidence: statement spans, edge subtypes, run/file error states, snapshot removals

* ``statements``: one row per statement of a stored file version (span, kind, routine, the
  object it defines);
* ``table_edges`` / ``column_edges``: ``subtype``, ``formula``, ``steps``;
* ``files``: ``error_line`` / ``error_column`` of the first parse error;
* ``runs``: status ``completed_with_errors`` (column widened) and ``files_removed``.

Existing data is kept: new columns are nullable (or default 0). On SQLite the widened CHECK
constraint of ``runs.status`` is rewritten in place (SQLite's documented procedure for changing a
CHECK constraint with ``writable_schema``) instead of recreating ``runs``: recreating a table that
files and edges reference would fire their ``ON DELETE SET NULL`` and lose every run link.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD = ("queued", "running", "completed", "failed", "cancelled", "interrupted")
_NEW = ("queued", "running", "completed", "completed_with_errors", "failed", "cancelled", "interrupted")


def _in(values: tuple[str, ...]) -> str:
    return f"status IN ({', '.join(repr(v) for v in values)})"


def _pk() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _sqlite_rewrite_check(old: str, new: str) -> None:
    bind = op.get_bind()
    sql = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'runs'"
    ).scalar()
    if sql is None or old not in sql:
        raise RuntimeError("runs: the status CHECK constraint is not the expected one")
    version = int(bind.exec_driver_sql("PRAGMA schema_version").scalar() or 0)
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    try:
        bind.exec_driver_sql(
            "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'runs'",
            (sql.replace(old, new),),
        )
        bind.exec_driver_sql(f"PRAGMA schema_version = {version + 1}")
    finally:
        bind.exec_driver_sql("PRAGMA writable_schema = OFF")


def _set_run_statuses(values: tuple[str, ...], previous: tuple[str, ...]) -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_rewrite_check(_in(previous), _in(values))
        return
    op.drop_constraint(op.f("ck_runs_status"), "runs", type_="check")
    op.alter_column("runs", "status", type_=sa.String(32), existing_type=sa.String(16))
    op.create_check_constraint(op.f("ck_runs_status"), "runs", _in(values))


def upgrade() -> None:
    op.create_table(
        "statements",
        sa.Column("id", _pk(), autoincrement=True, nullable=False),
        sa.Column("file_id", _pk(), nullable=False),
        sa.Column("statement_index", sa.Integer(), nullable=False),
        sa.Column("line_start", sa.Integer(), nullable=False),
        sa.Column("line_end", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("target", sa.String(length=700), nullable=True),
        sa.Column("process_object_id", _pk(), nullable=True),
        sa.Column("object_id", _pk(), nullable=True),
        sa.ForeignKeyConstraint(
            ["object_id"], ["objects.id"], name=op.f("fk_statements_object_id_objects"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["file_id"], ["files.id"], name=op.f("fk_statements_file_id_files"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["process_object_id"],
            ["objects.id"],
            name=op.f("fk_statements_process_object_id_objects"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statements")),
        sa.UniqueConstraint("file_id", "statement_index", name=op.f("uq_statements_file_id_statement_index")),
    )
    op.create_index(op.f("ix_statements_process_object_id"), "statements", ["process_object_id"])
    op.create_index(op.f("ix_statements_object_id"), "statements", ["object_id"])
    for table in ("table_edges", "column_edges"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("subtype", sa.String(length=24), nullable=True))
            batch.add_column(sa.Column("formula", sa.Text(), nullable=True))
            batch.add_column(sa.Column("steps", sa.Text(), nullable=True))
    with op.batch_alter_table("files") as batch:
        batch.add_column(sa.Column("error_line", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("error_column", sa.Integer(), nullable=True))
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("files_removed", sa.Integer(), nullable=False, server_default="0"))
    _set_run_statuses(_NEW, _OLD)
    # existing edges: their statement spans become statement rows (one per file and index)
    op.execute(
        "INSERT INTO statements (file_id, statement_index, line_start, line_end, type, process_object_id) "
        "SELECT file_id, statement_index, MIN(line_start), MAX(line_end), 'unknown', MIN(process_object_id) "
        "FROM (SELECT file_id, statement_index, line_start, line_end, process_object_id FROM table_edges "
        "      UNION ALL "
        "      SELECT file_id, statement_index, line_start, line_end, process_object_id FROM column_edges) e "
        "WHERE file_id IS NOT NULL AND statement_index IS NOT NULL "
        "AND line_start IS NOT NULL AND line_end IS NOT NULL "
        "GROUP BY file_id, statement_index"
    )


def downgrade() -> None:
    op.execute("UPDATE runs SET status = 'completed' WHERE status = 'completed_with_errors'")
    _set_run_statuses(_OLD, _NEW)
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column("runs", "status", type_=sa.String(16), existing_type=sa.String(32))
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("files_removed")
    with op.batch_alter_table("files") as batch:
        batch.drop_column("error_column")
        batch.drop_column("error_line")
    for table in ("column_edges", "table_edges"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("steps")
            batch.drop_column("formula")
            batch.drop_column("subtype")
    op.drop_index(op.f("ix_statements_object_id"), table_name="statements")
    op.drop_index(op.f("ix_statements_process_object_id"), table_name="statements")
    op.drop_table("statements")

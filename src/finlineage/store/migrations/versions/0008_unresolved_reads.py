"""unresolved reads: relations a file read whose columns nothing had declared yet

``unresolved_reads``: one row per (stored file version, relation it read with unknown columns),
today table-valued functions defined in no file yet. When a later ingest declares that relation,
the reading files are re-resolved (``store.ingest_writes.dependent_files``), as files reading a
table are when its DDL arrives. Existing data needs no change: files parsed before this revision
re-resolve as before (through their table edges) and record their unresolved reads when next parsed.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "unresolved_reads",
        sa.Column("id", PK, autoincrement=True, nullable=False),
        sa.Column("project_id", PK, nullable=False),
        sa.Column("file_id", PK, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_unresolved_reads_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["file_id"], ["files.id"], name=op.f("fk_unresolved_reads_file_id_files"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unresolved_reads")),
    )
    op.create_index(op.f("ix_unresolved_reads_file_id"), "unresolved_reads", ["file_id"])
    op.create_index(op.f("ix_unresolved_reads_project_id_name"), "unresolved_reads", ["project_id", "name"])


def downgrade() -> None:
    op.drop_index(op.f("ix_unresolved_reads_project_id_name"), table_name="unresolved_reads")
    op.drop_index(op.f("ix_unresolved_reads_file_id"), table_name="unresolved_reads")
    op.drop_table("unresolved_reads")

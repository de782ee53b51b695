"""security: run attempt numbers (fencing of stale workers' writes)

* ``runs.attempt``: incremented each time a worker takes the run; every write of that worker's
  execution is checked against it, so a worker that froze past its lock and lost the run to another
  cannot write any more. Existing runs get 0.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN on both backends (SQLite supports it with a constant default): the runs
    # table is never recreated, so nothing referencing it is touched.
    op.add_column("runs", sa.Column("attempt", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("attempt")

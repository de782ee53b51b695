"""dbt docs: descriptions of objects and columns, and the parsed text of generated-from files

* ``objects.description`` and ``columns.description`` (Text, nullable): documentation that comes
  with the code (a dbt model's / source's ``description``, its columns' descriptions). Existing rows
  get NULL (nothing was documented before).
* ``files.parse_sha256`` (nullable): the content digest of the text the engine parsed when that is
  not the file's own text. A dbt model file is Jinja; what the engine parses is dbt's compiled SQL,
  while the stored file (``sha256``, the evidence) stays the original ``.sql`` the user wrote.
  Re-resolution re-parses that blob. Existing rows get NULL (the file itself was parsed).

All three are plain ADD COLUMNs of nullable columns on both backends (SQLite supports them
without recreating the table, so nothing referencing these tables is touched); the downgrade is a
plain DROP COLUMN on both (SQLite >= 3.35), for the same reason.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ADDED = (
    ("objects", "description", sa.Text()),
    ("columns", "description", sa.Text()),
    ("files", "parse_sha256", sa.String(64)),
)


def _has(table: str, column: str) -> bool:
    return column in {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}


def upgrade() -> None:
    for table, column, type_ in _ADDED:
        if not _has(table, column):  # "if absent": a store created from the models already has it
            op.add_column(table, sa.Column(column, type_, nullable=True))


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite >= 3.35 has it): recreating ``objects`` the batch way would
    # drop the old table, and with foreign keys on, every column row would go with it.
    for table, column, _ in reversed(_ADDED):
        if _has(table, column):
            op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
